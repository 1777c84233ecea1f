"""Terms enforced: voiding through a credit note, OVERDUE past the due date (an alert and an
invoice.overdue event, once), ON_HOLD once an invoice is the segment's D days overdue, and
the previous status back when the overdue invoices are paid."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from billing_kit import ago, charge, issue_one, pay, post, reload
from testkit import eventually
from tortoise.transactions import in_transaction

from ccm_gateway.alert.models import Alert
from ccm_gateway.audit.models import AuditEvent
from ccm_gateway.billing import allocation
from ccm_gateway.billing import service as billing_service
from ccm_gateway.billing.models import (
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    OverdueHold,
    ReceivablesPolicy,
)
from ccm_gateway.customer.models import Customer, CustomerStatus
from ccm_gateway.errors import BadInput, Conflict
from ccm_gateway.kit import standard_webhooks
from ccm_gateway.kit.secrets import SecretBox
from ccm_gateway.ledger import service as ledger_service
from ccm_gateway.ledger.models import CreditAccount, EntryKind, LedgerEntry
from ccm_gateway.outbound.models import OutboundDelivery, OutboundEndpoint
from ccm_gateway.principal import SYSTEM_ACTOR

CREDIT_CHECK = """query($id: ID!) { creditCheck(customerId: $id,
    amount: {amount: "1.00", currency: "USD"}) { approved reason } }"""
UPDATE = """mutation($input: UpdateCustomerInput!) { updateCustomer(input: $input) {
    status } }"""


def segment() -> str:
    return f"terms-{uuid.uuid4().hex[:8]}"


async def void(invoice: Invoice, reason: str = "issued in error", **kwargs: Any) -> Invoice:
    async with in_transaction():
        return await billing_service.void_invoice(SYSTEM_ACTOR, invoice.id, reason, **kwargs)


async def issued_days_ago(gql: Any, customer: str, amount: str, days: int) -> Invoice:
    """An invoice issued ``days`` ago, of a charge a day before that."""
    issued_at = datetime.now(UTC) - timedelta(days=days)
    await charge(gql, customer, amount, at=issued_at - timedelta(days=1))
    async with in_transaction():
        [invoice] = await billing_service.issue_invoice(
            SYSTEM_ACTOR, uuid.UUID(customer), issued_at, issuer="CCM", now=issued_at)
    return invoice


async def hold_policy(days: int | None) -> str:
    name = segment()
    async with in_transaction():
        await billing_service.set_policy(SYSTEM_ACTOR, billing_service.PolicyChange(
            segment=name, overdue_hold_days=days, dunning_days=[3, 5, 7], auto_collect=False,
            invoice_per_site=False))
    return name


async def enforce() -> None:
    while await billing_service.mark_overdue():
        pass
    while await billing_service.hold_overdue_customers():
        pass


async def status_of(customer: str) -> CustomerStatus:
    return CustomerStatus((await Customer.get(id=uuid.UUID(customer))).status)


async def actions(customer: str) -> list[str]:
    return [a.action for a in await AuditEvent.filter(object_id=customer).order_by("id")
            if a.action.startswith("customer.overdue")]


# --- voiding --------------------------------------------------------------------


async def test_a_void_credits_what_is_still_owed_and_keeps_what_was_paid(
        gql: Any, make_customer: Any) -> None:
    customer = await make_customer()
    await charge(gql, customer, "100.00")
    invoice = await issue_one(customer)
    await pay(gql, customer, "30.00")

    voided = await void(invoice)

    note = await LedgerEntry.get(id=voided.credit_note_entry_id)
    assert (note.kind, note.amount_minor) == (EntryKind.CREDIT_NOTE, -7000)
    assert (voided.status, voided.paid_minor, voided.credited_minor) == \
        (InvoiceStatus.VOID, 3000, 7000)
    assert voided.voided_at is not None and voided.void_reason == "issued in error"
    account = await CreditAccount.get(customer_id=uuid.UUID(customer))
    assert account.posted_balance_minor == 0  # 100 charged, 30 paid, 70 credited


async def test_a_void_invoice_cannot_be_voided_again_or_paid(
        gql: Any, make_customer: Any) -> None:
    customer = await make_customer()
    await charge(gql, customer, "10.00")
    invoice = await void(await issue_one(customer))

    with pytest.raises(Conflict, match="void already"):
        await void(invoice)
    paying = await post(gql, customer, "PAYMENT", "10.00", invoiceNumber=invoice.number)
    assert paying.error_code == "BAD_USER_INPUT"
    assert "void" in paying.errors[0]["message"]


async def test_a_stale_version_or_a_blank_reason_voids_nothing(
        gql: Any, make_customer: Any) -> None:
    customer = await make_customer()
    await charge(gql, customer, "10.00")
    invoice = await issue_one(customer)
    with pytest.raises(Conflict, match="version"):
        await void(invoice, expected_version=invoice.version + 1)
    with pytest.raises(BadInput):
        await void(invoice, reason="  ")
    assert (await reload(invoice)).status == InvoiceStatus.OPEN
    assert not await LedgerEntry.filter(kind=EntryKind.CREDIT_NOTE,
                                        account_id=invoice.account_id).exists()


async def test_the_credit_note_of_a_void_is_never_a_line(gql: Any, make_customer: Any) -> None:
    customer = await make_customer()
    await charge(gql, customer, "10.00", at=ago(days=2))
    voided = await void(await issue_one(customer, up_to=ago(days=1)))
    await charge(gql, customer, "4.00", at=ago(seconds=30))

    invoice = await issue_one(customer, up_to=datetime.now(UTC))

    assert invoice.total_minor == 400
    assert not await InvoiceLine.filter(entry_id=voided.credit_note_entry_id).exists()


# --- overdue --------------------------------------------------------------------


async def subscribed_endpoint(gql: Any, settings: Any, segment_name: str) -> OutboundEndpoint:
    result = await gql("""mutation($input: CreateIntegrationInput!) {
        createIntegration(input: $input) { integration { id } } }""", {"input": {
        "slug": f"erp-{uuid.uuid4().hex[:10]}", "name": "ERP", "kind": "ERP",
        "profile": "standard-webhooks", "segments": [segment_name]}})
    integration = result.data["createIntegration"]["integration"]
    endpoint_id = uuid.uuid4()
    box = SecretBox.from_settings(settings)
    return await OutboundEndpoint.create(
        id=endpoint_id, integration_id=integration["id"], url="http://127.0.0.1:9/hook",
        event_types=["invoice.issued", "invoice.paid", "invoice.overdue", "invoice.voided"],
        secret=box.encrypt(standard_webhooks.new_secret(),
                           context=f"outbound_endpoint:{endpoint_id}:secret"))


async def test_past_due_becomes_overdue_once_with_an_alert_and_an_event(
        gql: Any, make_customer: Any, settings: Any) -> None:
    name = segment()
    endpoint = await subscribed_endpoint(gql, settings, name)
    customer = await make_customer(segment=name)
    invoice = await issued_days_ago(gql, customer, "50.00", days=40)  # net 30: 10 days late

    await enforce()
    await enforce()

    overdue = await reload(invoice)
    assert (overdue.status, overdue.overdue_at is not None) == (InvoiceStatus.OVERDUE, True)
    [alert] = await Alert.filter(kind="invoice.overdue", customer_id=uuid.UUID(customer))
    assert alert.details["number"] == invoice.number
    assert alert.details["outstanding_minor"] == 5000

    async def sent() -> list[str]:
        rows = await OutboundDelivery.filter(endpoint_id=endpoint.id).order_by("created_at")
        return [r.event_type for r in rows]

    assert await eventually(lambda: _has(sent, "invoice.overdue"))
    deliveries = await OutboundDelivery.filter(endpoint_id=endpoint.id,
                                               event_type="invoice.overdue")
    assert len(deliveries) == 1
    data = deliveries[0].payload["data"]
    assert (data["number"], data["status"], data["outstanding"]) == \
        (invoice.number, "OVERDUE", {"amount": "50.00", "currency": "USD"})
    assert "invoice.issued" in await sent()


async def _has(read: Any, event_type: str) -> bool:
    return event_type in await read()


async def test_an_invoice_not_yet_due_stays_open(gql: Any, make_customer: Any) -> None:
    customer = await make_customer()
    invoice = await issued_days_ago(gql, customer, "5.00", days=29)
    await enforce()
    assert (await reload(invoice)).status == InvoiceStatus.OPEN


async def test_a_paid_overdue_invoice_is_paid(gql: Any, make_customer: Any) -> None:
    customer = await make_customer()
    invoice = await issued_days_ago(gql, customer, "20.00", days=31)
    await enforce()
    await pay(gql, customer, "5.00")
    assert (await reload(invoice)).status == InvoiceStatus.OVERDUE  # partly paid, still late
    await pay(gql, customer, "15.00")
    assert (await reload(invoice)).status == InvoiceStatus.PAID


# --- holds ----------------------------------------------------------------------


async def test_d_days_overdue_puts_the_customer_on_hold_and_payment_releases_it(
        gql: Any, make_customer: Any) -> None:
    customer = await make_customer(segment=await hold_policy(5))
    invoice = await issued_days_ago(gql, customer, "80.00", days=36)  # 6 days overdue

    await enforce()

    assert await status_of(customer) == CustomerStatus.ON_HOLD
    hold = await OverdueHold.get(customer_id=uuid.UUID(customer))
    assert (hold.previous_status, hold.invoice_id) == ("active", invoice.id)
    check = (await gql(CREDIT_CHECK, {"id": customer})).data["creditCheck"]
    assert check == {"approved": False, "reason": "ACCOUNT_ON_HOLD"}

    await pay(gql, customer, "80.00")

    assert await status_of(customer) == CustomerStatus.ACTIVE
    assert not await OverdueHold.exists(customer_id=uuid.UUID(customer))
    assert await actions(customer) == ["customer.overdue_hold", "customer.overdue_release"]
    assert (await gql(CREDIT_CHECK, {"id": customer})).data["creditCheck"]["approved"]


async def test_fewer_than_d_days_overdue_is_no_hold(gql: Any, make_customer: Any) -> None:
    customer = await make_customer(segment=await hold_policy(10))
    await issued_days_ago(gql, customer, "80.00", days=36)
    await enforce()
    assert await status_of(customer) == CustomerStatus.ACTIVE


async def test_no_hold_days_means_never_on_hold(gql: Any, make_customer: Any) -> None:
    customer = await make_customer(segment=await hold_policy(None))
    await issued_days_ago(gql, customer, "80.00", days=100)
    await enforce()
    assert await status_of(customer) == CustomerStatus.ACTIVE


async def test_a_status_changed_by_hand_meanwhile_is_left_alone(
        gql: Any, make_customer: Any) -> None:
    customer = await make_customer(segment=await hold_policy(1))
    await issued_days_ago(gql, customer, "80.00", days=36)
    await enforce()
    version = (await Customer.get(id=uuid.UUID(customer))).version
    blocked = await gql(UPDATE, {"input": {"id": customer, "expectedVersion": version,
                                           "status": "BLOCKED"}})
    assert blocked.data["updateCustomer"]["status"] == "BLOCKED"

    await pay(gql, customer, "80.00")

    assert await status_of(customer) == CustomerStatus.BLOCKED
    assert not await OverdueHold.exists(customer_id=uuid.UUID(customer))


async def test_voiding_the_overdue_invoice_releases_the_hold(
        gql: Any, make_customer: Any) -> None:
    customer = await make_customer(segment=await hold_policy(1))
    invoice = await issued_days_ago(gql, customer, "80.00", days=36)
    await enforce()
    assert await status_of(customer) == CustomerStatus.ON_HOLD

    await void(invoice)

    assert await status_of(customer) == CustomerStatus.ACTIVE


async def test_the_default_policy_holds_segments_without_their_own(
        gql: Any, make_customer: Any) -> None:
    # A year of grace, so that no other test's customer is late enough to be held by it;
    # a default some other test set is put back afterwards.
    existing = await ReceivablesPolicy.get_or_none(segment="*")
    if existing is not None:
        kept = existing.overdue_hold_days
        await ReceivablesPolicy.filter(id=existing.id).update(overdue_hold_days=365)
    default = existing or await ReceivablesPolicy.create(
        segment="*", overdue_hold_days=365, dunning_days=[3], auto_collect=False)
    try:
        plain = await make_customer(segment=segment())
        own = await make_customer(segment=await hold_policy(None))
        for customer in (plain, own):
            await issued_days_ago(gql, customer, "10.00", days=400)  # 370 days late

        await enforce()

        assert await status_of(plain) == CustomerStatus.ON_HOLD
        assert await status_of(own) == CustomerStatus.ACTIVE  # its own policy: never
    finally:
        if existing is None:
            await ReceivablesPolicy.filter(id=default.id).delete()
        else:
            await ReceivablesPolicy.filter(id=default.id).update(overdue_hold_days=kept)


async def test_a_refund_after_a_void_leaves_the_invoice_void_with_nothing_outstanding(
        gql: Any, make_customer: Any) -> None:
    customer = await make_customer()
    customer_id = uuid.UUID(customer)
    await charge(gql, customer, "100.00")
    invoice = await issue_one(customer)
    async with in_transaction():
        await ledger_service.post_entry(SYSTEM_ACTOR, customer_id, EntryKind.PAYMENT, 3000,
                                        "USD", external_ref="pi_void")
    await void(invoice)

    async with in_transaction():
        await ledger_service.refund_payment(SYSTEM_ACTOR, customer_id, payment_ref="pi_void",
                                            amount_minor=1000)

    after = await reload(invoice)
    assert (after.status, after.paid_minor) == (InvoiceStatus.VOID, 2000)
    assert allocation.outstanding_minor(after) == 0
    account = await CreditAccount.get(customer_id=customer_id)
    assert account.posted_balance_minor == 1000  # the refunded 10.00 is owed on account
