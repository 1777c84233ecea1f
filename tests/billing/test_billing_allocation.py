"""Payments applied to invoices in the ledger's write path: by reference, else oldest first;
an overpayment stays customer credit that the next invoice consumes; partial payments; an
entry allocated exactly once; refunds and reversals take back what they undo."""

from __future__ import annotations

import uuid
from typing import Any

from billing_kit import ago, charge, issue_one, pay, post, posted, reload

from ccm_gateway.billing.models import InvoiceStatus, PaymentAllocation
from ccm_gateway.ledger.models import CreditAccount

REFUND = """
mutation($input: PostLedgerEntryInput!) { postLedgerEntry(input: $input) { __typename } }"""


async def allocations(entry_id: str) -> list[tuple[str, int, bool]]:
    rows = await PaymentAllocation.filter(entry_id=uuid.UUID(entry_id)) \
        .prefetch_related("invoice").order_by("id")
    return [(r.invoice.number, r.amount_minor, r.by_reference) for r in rows]


async def test_a_payment_naming_an_invoice_pays_it_first(gql: Any, make_customer: Any) -> None:
    customer = await make_customer()
    await charge(gql, customer, "100.00", at=ago(days=3))
    older = await issue_one(customer, up_to=ago(days=2))
    await charge(gql, customer, "50.00", at=ago(days=1))
    newer = await issue_one(customer)

    payment = await pay(gql, customer, "50.00", invoiceNumber=newer.number)

    assert await allocations(payment) == [(newer.number, 5000, True)]
    assert (await reload(newer)).status == InvoiceStatus.PAID
    assert (await reload(older)).status == InvoiceStatus.OPEN


async def test_a_payment_without_reference_pays_the_oldest_invoice_first(
        gql: Any, make_customer: Any) -> None:
    customer = await make_customer()
    await charge(gql, customer, "100.00", at=ago(days=3))
    older = await issue_one(customer, up_to=ago(days=2))
    await charge(gql, customer, "50.00", at=ago(days=1))
    newer = await issue_one(customer)

    payment = await pay(gql, customer, "120.00")

    assert await allocations(payment) == [(older.number, 10000, False),
                                          (newer.number, 2000, False)]
    older, newer = await reload(older), await reload(newer)
    assert (older.status, older.paid_minor, older.paid_at is not None) == \
        (InvoiceStatus.PAID, 10000, True)
    assert (newer.status, newer.paid_minor, newer.paid_at) == \
        (InvoiceStatus.PARTIALLY_PAID, 2000, None)


async def test_a_reference_pays_its_invoice_and_the_rest_goes_oldest_first(
        gql: Any, make_customer: Any) -> None:
    customer = await make_customer()
    await charge(gql, customer, "100.00", at=ago(days=3))
    older = await issue_one(customer, up_to=ago(days=2))
    await charge(gql, customer, "50.00", at=ago(days=1))
    newer = await issue_one(customer)

    payment = await pay(gql, customer, "80.00", invoiceNumber=newer.number)

    assert await allocations(payment) == [(newer.number, 5000, True),
                                          (older.number, 3000, False)]


async def test_statuses_move_open_partially_paid_paid(gql: Any, make_customer: Any) -> None:
    customer = await make_customer()
    await charge(gql, customer, "100.00")
    invoice = await issue_one(customer)
    assert invoice.status == InvoiceStatus.OPEN

    await pay(gql, customer, "40.00")
    assert (await reload(invoice)).status == InvoiceStatus.PARTIALLY_PAID
    await pay(gql, customer, "60.00")
    paid = await reload(invoice)
    assert (paid.status, paid.paid_minor) == (InvoiceStatus.PAID, 10000)


async def test_an_overpayment_stays_credit_that_the_next_invoice_consumes(
        gql: Any, make_customer: Any) -> None:
    customer = await make_customer()
    await charge(gql, customer, "100.00", at=ago(days=3))
    first = await issue_one(customer, up_to=ago(days=2))
    payment = await pay(gql, customer, "130.00")
    assert await allocations(payment) == [(first.number, 10000, False)]

    await charge(gql, customer, "50.00", at=ago(days=1))
    second = await issue_one(customer)

    assert await allocations(payment) == [(first.number, 10000, False),
                                          (second.number, 3000, False)]
    second = await reload(second)
    assert (second.status, second.paid_minor) == (InvoiceStatus.PARTIALLY_PAID, 3000)


async def test_a_replayed_payment_allocates_nothing_new(gql: Any, make_customer: Any) -> None:
    customer = await make_customer()
    await charge(gql, customer, "100.00")
    invoice = await issue_one(customer)
    key = f"pay-{uuid.uuid4()}"

    first = await pay(gql, customer, "30.00", idempotencyKey=key)
    again = await pay(gql, customer, "30.00", idempotencyKey=key)

    assert first == again
    assert await allocations(first) == [(invoice.number, 3000, False)]
    assert (await reload(invoice)).paid_minor == 3000


async def test_the_reference_is_part_of_the_idempotent_request(
        gql: Any, make_customer: Any) -> None:
    customer = await make_customer()
    await charge(gql, customer, "100.00")
    invoice = await issue_one(customer)
    key = f"pay-{uuid.uuid4()}"
    await pay(gql, customer, "30.00", idempotencyKey=key)

    other = await post(gql, customer, "PAYMENT", "30.00", idempotencyKey=key,
                       invoiceNumber=invoice.number)

    assert other.error_code == "CONFLICT"


async def test_a_reversed_payment_reopens_what_it_paid(gql: Any, make_customer: Any) -> None:
    customer = await make_customer()
    await charge(gql, customer, "100.00")
    invoice = await issue_one(customer)
    payment = await pay(gql, customer, "100.00")
    assert (await reload(invoice)).status == InvoiceStatus.PAID

    result = await gql("""mutation($input: ReverseLedgerEntryInput!) {
        reverseLedgerEntry(input: $input) { id } }""", {"input": {"entryId": payment}})
    reversal = result.data["reverseLedgerEntry"]["id"]

    assert await allocations(reversal) == [(invoice.number, -10000, False)]
    reopened = await reload(invoice)
    assert (reopened.status, reopened.paid_minor, reopened.paid_at) == \
        (InvoiceStatus.OPEN, 0, None)


async def test_bad_invoice_references_are_refused_and_change_nothing(
        gql: Any, make_customer: Any) -> None:
    customer, other = await make_customer(), await make_customer()
    await charge(gql, other, "10.00")
    foreign = await issue_one(other)
    await charge(gql, customer, "10.00")
    own = await issue_one(customer)
    before = await CreditAccount.get(customer_id=uuid.UUID(customer))

    cases = [
        ({"invoiceNumber": "CCM-1999-000001"}, "NOT_FOUND"),
        ({"invoiceNumber": foreign.number}, "NOT_FOUND"),
        ({"invoiceNumber": "x" * 65}, "BAD_USER_INPUT"),
        ({"invoiceNumber": "bad\x00"}, "BAD_USER_INPUT"),
    ]
    for extra, code in cases:
        result = await post(gql, customer, "PAYMENT", "5.00", **extra)
        assert result.error_code == code, (extra, result.body)
        assert result.errors[0]["extensions"]["field"] == "invoiceNumber"
    charge_naming = await post(gql, customer, "CHARGE", "5.00", invoiceNumber=own.number)
    assert charge_naming.error_code == "BAD_USER_INPUT"

    after = await CreditAccount.get(customer_id=uuid.UUID(customer))
    assert after.posted_balance_minor == before.posted_balance_minor
    assert (await reload(own)).paid_minor == 0
    assert await posted(gql, customer, "PAYMENT", "1.00")  # the account still takes payments
