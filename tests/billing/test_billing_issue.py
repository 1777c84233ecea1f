"""Issuing: the unbilled billable entries before upTo gathered onto an invoice numbered
without gaps per issuer and year; per site when the policy says so; nothing posted to the
ledger, so exposure is unchanged; the cron at each invoicing cycle, idempotent."""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from billing_kit import ago, charge, issue, issue_one, pay, posted, unique_issuer
from tortoise.transactions import in_transaction

from ccm_gateway.billing import service as billing_service
from ccm_gateway.billing.models import Invoice, InvoiceCounter, InvoiceLine, InvoiceStatus
from ccm_gateway.errors import BadInput, NotFound
from ccm_gateway.ledger.models import CreditAccount, InvoicingCycle, LedgerEntry
from ccm_gateway.principal import SYSTEM_ACTOR

REVERSE = """mutation($input: ReverseLedgerEntryInput!) { reverseLedgerEntry(input: $input) {
    id } }"""
ON_POSTGRES = os.environ.get("CCM_TEST_BACKEND") == "postgres"


async def lines(invoice: Invoice) -> list[tuple[str, int]]:
    rows = await InvoiceLine.filter(invoice_id=invoice.id).order_by("occurred_at", "id")
    return [(str(r.entry_id), r.amount_minor) for r in rows]


async def test_numbers_run_per_issuer_and_year_from_one(gql: Any, make_customer: Any) -> None:
    issuer, other = unique_issuer(), unique_issuer()
    numbers = []
    for name in (issuer, issuer, other, issuer):
        customer = await make_customer()
        await charge(gql, customer, "10.00")
        numbers.append((await issue_one(customer, issuer=name)).number)
    year = datetime.now(UTC).year
    assert numbers == [f"{issuer}-{year}-000001", f"{issuer}-{year}-000002",
                       f"{other}-{year}-000001", f"{issuer}-{year}-000003"]


async def test_a_failed_issue_burns_no_number(gql: Any, make_customer: Any) -> None:
    issuer = unique_issuer()
    empty, customer = await make_customer(), await make_customer()
    with pytest.raises(BadInput, match="nothing to invoice"):
        await issue(empty, issuer=issuer)
    await charge(gql, customer, "10.00")
    invoice = await issue_one(customer, issuer=issuer)
    assert invoice.sequence == 1
    assert (await InvoiceCounter.get(issuer=issuer)).last_sequence == 1


async def test_an_invoice_gathers_the_unbilled_billable_entries_before_up_to(
        gql: Any, make_customer: Any) -> None:
    customer = await make_customer()
    first = await charge(gql, customer, "100.00", at=ago(days=5))
    billed = await issue_one(customer, up_to=ago(days=4))
    second = await charge(gql, customer, "40.00", at=ago(days=3))
    external = await posted(gql, customer, "INVOICE", "25.00",
                            occurredAt=ago(days=3).isoformat())
    credit = await posted(gql, customer, "CREDIT_NOTE", "5.00",
                          occurredAt=ago(days=2).isoformat())
    later = await charge(gql, customer, "7.00", at=ago(hours=1))
    await pay(gql, customer, "1.00")  # payments are allocated, never lines
    up_to = ago(days=1)

    invoice = await issue_one(customer, up_to=up_to)

    assert await lines(billed) == [(first, 10000)]
    assert await lines(invoice) == [(second, 4000), (external, 2500), (credit, -500)]
    assert (invoice.total_minor, invoice.period_end, invoice.currency) == (6000, up_to, "USD")
    assert invoice.period_start == (await LedgerEntry.get(id=second)).occurred_at
    rest = await issue_one(customer)
    assert await lines(rest) == [(later, 700)]


async def test_the_reversal_of_a_billed_charge_is_a_line_of_the_next_invoice(
        gql: Any, make_customer: Any) -> None:
    customer = await make_customer()
    entry = await charge(gql, customer, "30.00", at=ago(days=2))
    await issue_one(customer, up_to=ago(days=1))
    reversal = (await gql(REVERSE, {"input": {"entryId": entry}})).data["reverseLedgerEntry"]
    await charge(gql, customer, "50.00", at=ago(seconds=30))

    invoice = await issue_one(customer, up_to=datetime.now(UTC))

    assert (reversal["id"], -3000) in await lines(invoice)
    assert invoice.total_minor == 2000


async def test_due_date_is_issue_date_plus_the_net_days_in_force(
        gql: Any, make_customer: Any) -> None:
    customer = await make_customer(netDays=14)
    await charge(gql, customer, "10.00")
    invoice = await issue_one(customer)
    assert invoice.net_days == 14
    assert invoice.due_at - invoice.issued_at == timedelta(days=14)


async def test_issuing_posts_nothing_and_leaves_exposure_as_it_was(
        gql: Any, make_customer: Any) -> None:
    customer = await make_customer()
    await charge(gql, customer, "60.00")
    await charge(gql, customer, "40.00")
    before = await CreditAccount.get(customer_id=uuid.UUID(customer))
    entries = await LedgerEntry.filter(account_id=before.id).count()

    await issue_one(customer)

    after = await CreditAccount.get(customer_id=uuid.UUID(customer))
    assert (after.posted_balance_minor, after.held_minor) == (10000, 0)
    assert (before.posted_balance_minor, before.held_minor) == (10000, 0)
    assert await LedgerEntry.filter(account_id=before.id).count() == entries


async def test_per_site_customers_get_one_invoice_per_site(
        gql: Any, make_customer: Any, make_site: Any) -> None:
    segment = f"sites-{uuid.uuid4().hex[:8]}"
    async with in_transaction():
        await billing_service.set_policy(SYSTEM_ACTOR, billing_service.PolicyChange(
            segment=segment, overdue_hold_days=None, dunning_days=[3], auto_collect=False,
            invoice_per_site=True))
    customer = await make_customer(segment=segment)
    north, south = await make_site(), await make_site()
    await charge(gql, customer, "10.00", siteId=north)
    await charge(gql, customer, "20.00", siteId=south)
    await charge(gql, customer, "30.00", siteId=north)
    await charge(gql, customer, "5.00")

    invoices = await issue(customer)

    by_site = {str(i.site_id) if i.site_id else None: i.total_minor for i in invoices}
    assert by_site == {north: 4000, south: 2000, None: 500}


async def test_a_site_asked_for_invoices_only_that_site(
        gql: Any, make_customer: Any, make_site: Any) -> None:
    customer = await make_customer()
    north, south = await make_site(), await make_site()
    await charge(gql, customer, "10.00", siteId=north)
    await charge(gql, customer, "20.00", siteId=south)

    invoice = await issue_one(customer, site_id=uuid.UUID(north))

    assert (str(invoice.site_id), invoice.total_minor) == (north, 1000)
    with pytest.raises(NotFound):
        await issue(customer, site_id=uuid.uuid4())


async def test_up_to_in_the_future_or_nothing_to_invoice_is_bad_input(
        make_customer: Any) -> None:
    customer = await make_customer()
    with pytest.raises(BadInput, match="future"):
        await issue(customer, up_to=datetime.now(UTC) + timedelta(hours=1))
    with pytest.raises(BadInput, match="nothing to invoice"):
        await issue(customer)
    with pytest.raises(NotFound):
        await issue(str(uuid.uuid4()))


@pytest.mark.parametrize(("cycle", "now", "expected"), [
    (InvoicingCycle.MONTHLY, datetime(2026, 3, 17, 9, 30, tzinfo=UTC),
     datetime(2026, 3, 1, tzinfo=UTC)),
    (InvoicingCycle.WEEKLY, datetime(2026, 3, 19, 9, 30, tzinfo=UTC),  # a Thursday
     datetime(2026, 3, 16, tzinfo=UTC)),
    (InvoicingCycle.BIWEEKLY, datetime(2026, 3, 19, 9, 30, tzinfo=UTC),
     datetime(2026, 3, 9, tzinfo=UTC)),  # even weeks after Monday 2024-01-01
    (InvoicingCycle.BIWEEKLY, datetime(2026, 3, 12, 9, 30, tzinfo=UTC),
     datetime(2026, 3, 9, tzinfo=UTC)),
    (InvoicingCycle.PER_TRANSACTION, datetime(2026, 3, 19, 9, 30, 5, tzinfo=UTC),
     datetime(2026, 3, 19, 9, tzinfo=UTC)),
])
def test_period_boundaries(cycle: InvoicingCycle, now: datetime, expected: datetime) -> None:
    assert billing_service.period_end(cycle, now) == expected


async def test_the_cron_issues_at_the_cycle_once(gql: Any, make_customer: Any) -> None:
    monthly = await make_customer(invoicingCycle="MONTHLY")
    hourly = await make_customer(invoicingCycle="PER_TRANSACTION")
    now = datetime.now(UTC)
    month_start = billing_service.period_end(InvoicingCycle.MONTHLY, now)
    hour_start = billing_service.period_end(InvoicingCycle.PER_TRANSACTION, now)
    before_month = await charge(gql, monthly, "10.00", at=month_start - timedelta(days=1))
    await charge(gql, monthly, "99.00", at=max(month_start, now - timedelta(seconds=5)))
    await charge(gql, hourly, "3.00", at=hour_start - timedelta(minutes=5))
    issuer = unique_issuer()

    await billing_service.issue_due_invoices(issuer=issuer, now=now)
    again = await billing_service.issue_due_invoices(issuer=issuer, now=now)

    assert again == 0
    [m] = await Invoice.filter(customer_id=uuid.UUID(monthly))
    assert (await lines(m), m.period_end) == ([(before_month, 1000)], month_start)
    [h] = await Invoice.filter(customer_id=uuid.UUID(hourly))
    assert (h.total_minor, h.period_end) == (300, hour_start)


@pytest.mark.skipif(not ON_POSTGRES, reason="SQLite runs one writer at a time: no race")
async def test_concurrent_issues_number_without_gaps_or_duplicates(
        gql: Any, make_customer: Any) -> None:
    issuer = unique_issuer()
    customers = [await make_customer() for _ in range(20)]
    for customer in customers:
        await charge(gql, customer, "10.00")
    empty = [await make_customer() for _ in range(5)]  # fail and roll back among them

    async def one(customer: str) -> Any:
        try:
            return await issue(customer, issuer=issuer)
        except BadInput:
            return None

    results = await asyncio.gather(*(one(c) for c in [*customers, *empty]))

    assert sum(r is None for r in results) == 5
    sequences = sorted(i.sequence for r in results if r for i in r)
    assert sequences == list(range(1, 21))
    assert (await InvoiceCounter.get(issuer=issuer)).last_sequence == 20


async def test_an_entry_is_on_one_invoice_even_when_issued_at_once(
        gql: Any, make_customer: Any) -> None:
    customer = await make_customer()
    await charge(gql, customer, "10.00")

    async def one() -> Any:
        try:
            return await issue(customer)
        except BadInput:
            return None

    results = await asyncio.gather(*(one() for _ in range(4)))

    assert sum(r is not None for r in results) == 1
    assert await Invoice.filter(customer_id=uuid.UUID(customer)).count() == 1
    assert (await Invoice.get(customer_id=uuid.UUID(customer))).status == InvoiceStatus.OPEN
