"""A processor's payment carries our invoice number where its profile says (Stripe: the
PaymentIntent's metadata.invoice_number): through a real signed callback, the payment pays
that invoice first; an unknown number does not refuse the payment."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction
from webhook_kit import payment_intent, settled, stripe_event

from ccm_gateway.billing import service as billing_service
from ccm_gateway.billing.models import Invoice, InvoiceStatus, PaymentAllocation
from ccm_gateway.integration.models import InboundStatus
from ccm_gateway.principal import SYSTEM_ACTOR

CHARGE = """mutation($input: PostLedgerEntryInput!) { postLedgerEntry(input: $input) {
    __typename } }"""


async def invoice_of(gql: Any, customer: str, amount: str, days_ago: int) -> Invoice:
    at = datetime.now(UTC) - timedelta(days=days_ago)
    await gql(CHARGE, {"input": {"customerId": customer, "kind": "CHARGE",
                                 "amount": {"amount": amount, "currency": "USD"},
                                 "occurredAt": (at - timedelta(hours=1)).isoformat()}})
    async with in_transaction():
        [invoice] = await billing_service.issue_invoice(
            SYSTEM_ACTOR, uuid.UUID(customer), at, issuer="CCM", now=at)
    return invoice


def paying(customer_ref: str, amount: int, invoice_number: str | None) -> dict[str, Any]:
    intent = payment_intent(customer_ref, amount)
    if invoice_number is not None:
        intent["metadata"] = {"invoice_number": invoice_number}
    return stripe_event("payment_intent.succeeded", intent)


async def test_a_signed_payment_pays_the_invoice_its_metadata_names(
        gql, make_integration, linked_customer, send_stripe):
    hook = await make_integration("stripe")
    ref = f"cus_{uuid.uuid4().hex[:10]}"
    customer = await linked_customer(hook, ref)
    older = await invoice_of(gql, customer, "40.00", days_ago=3)
    newer = await invoice_of(gql, customer, "25.00", days_ago=1)

    response = await send_stripe(hook, paying(ref, 2500, newer.number))
    event = await settled(response.json()["id"])

    assert event.status == InboundStatus.APPLIED, event.last_error
    assert (await Invoice.get(id=newer.id)).status == InvoiceStatus.PAID
    assert (await Invoice.get(id=older.id)).status == InvoiceStatus.OPEN
    [row] = await PaymentAllocation.filter(invoice_id=newer.id)
    assert (row.amount_minor, row.by_reference) == (2500, True)


async def test_an_unknown_invoice_number_still_applies_the_payment_oldest_first(
        gql, make_integration, linked_customer, send_stripe):
    hook = await make_integration("stripe")
    ref = f"cus_{uuid.uuid4().hex[:10]}"
    customer = await linked_customer(hook, ref)
    older = await invoice_of(gql, customer, "40.00", days_ago=3)

    response = await send_stripe(hook, paying(ref, 1000, "CCM-1999-999999"))
    event = await settled(response.json()["id"])

    assert event.status == InboundStatus.APPLIED, event.last_error
    [row] = await PaymentAllocation.filter(invoice_id=older.id)
    assert (row.amount_minor, row.by_reference) == (1000, False)
    assert (await Invoice.get(id=older.id)).status == InvoiceStatus.PARTIALLY_PAID
