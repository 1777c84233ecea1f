"""A processor's payment.succeeded callback for one of our collections settles it exactly
once, whether it lands before, after or instead of the status query's answer."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

from collection_kit import Processor, attempts, collect, drive, make_invoice, payments, reload
from integration.webhook_kit import stripe_event, stripe_headers
from testkit import eventually

from ccm_gateway.audit.models import AuditEvent
from ccm_gateway.billing.models import Invoice, InvoiceStatus, PaymentAllocation
from ccm_gateway.collection.models import AttemptOutcome, CollectionStatus
from ccm_gateway.integration.models import InboundEvent, InboundStatus
from ccm_gateway.integration.verification import verify_inbox


async def send_succeeded(client: Any, processor: Processor, intent: dict[str, Any]) -> str:
    body = stripe_event("payment_intent.succeeded", intent)
    text = json.dumps(body)
    response = await client.post(f"/webhooks/{processor.slug}", content=text,
                                 headers=stripe_headers(text, processor.secret))
    assert response.status_code == 202, response.text
    return str(body["id"])


async def applied(processor: Processor, external_id: str) -> InboundEvent:
    async def check() -> InboundEvent | None:
        event = await InboundEvent.get_or_none(integration__slug=processor.slug,
                                               external_id=external_id)
        return event if event is not None and event.status == InboundStatus.APPLIED else None

    return await eventually(check)


async def settled_by(collection_id: Any) -> list[str]:
    rows = await AuditEvent.filter(object_id=str(collection_id), action="collection.succeeded")
    return [r.actor_type for r in rows]


async def assert_paid_once(invoice_id: Any, entry_id: Any, total_minor: int) -> None:
    invoice = await Invoice.get(id=invoice_id)
    assert (invoice.status, invoice.paid_minor) == (InvoiceStatus.PAID, total_minor)
    allocations = await PaymentAllocation.filter(invoice_id=invoice_id)
    assert [(a.entry_id, a.amount_minor) for a in allocations] == [(entry_id, total_minor)]


async def test_a_webhook_while_the_status_query_is_in_flight_settles_once(
        gql: Any, client: Any, settings: Any, make_processor: Any, make_payer: Any,
        route: Any) -> None:
    stripe = await make_processor("stripe", timeout=4)
    stripe.fake.program.hang_after_charge = 1
    stripe.fake.program.hang_seconds = 5.0
    # The status query is answered once the webhook has been applied.
    stripe.fake.program.status_gate = asyncio.Event()
    customer_id, _ = await make_payer(stripe)
    invoice = await make_invoice(customer_id, 3100, site_id=await route(stripe))
    made = await collect(gql, invoice)
    await drive(settings, made["id"])
    assert (await reload(made["id"])).status == CollectionStatus.UNKNOWN

    asking = asyncio.create_task(drive(settings, made["id"], after=timedelta(seconds=2)))
    await stripe.fake.receiver.wait_for(
        lambda: bool(stripe.fake.requests("/v1/payment_intents/search")))
    event = await applied(stripe, await send_succeeded(client, stripe,
                                                       stripe.fake.charges[0]))
    stripe.fake.program.status_gate.set()
    await asking
    done = await reload(made["id"])

    assert done.status == CollectionStatus.SUCCEEDED
    (payment,) = await payments(customer_id)
    assert payment.id == done.payment_entry_id
    assert event.result == {"collection_id": str(done.id), "entry_id": str(payment.id)}
    assert [(a.kind, a.outcome) for a in await attempts(done.id)] == [
        ("charge", AttemptOutcome.UNKNOWN), ("status", AttemptOutcome.SUCCEEDED)]
    assert await settled_by(done.id) == ["integration"]  # the webhook came first
    # verify counts the collection's payment as the event's one effect.
    _, problems = await verify_inbox()
    assert [p for p in problems if p.object_id in (str(event.id), str(payment.id))] == []
    assert len(stripe.fake.charges) == 1
    await assert_paid_once(invoice.id, payment.id, 3100)


async def test_a_webhook_after_the_charge_answer_changes_nothing(
        gql: Any, client: Any, settings: Any, make_processor: Any, make_payer: Any,
        route: Any) -> None:
    stripe = await make_processor("stripe")
    customer_id, _ = await make_payer(stripe)
    invoice = await make_invoice(customer_id, 2600, site_id=await route(stripe))
    made = await collect(gql, invoice)
    await drive(settings, made["id"])
    await eventually(lambda: _succeeded(made["id"]))

    event = await applied(stripe, await send_succeeded(client, stripe,
                                                       stripe.fake.charges[0]))
    again = await applied(stripe, await send_succeeded(client, stripe,
                                                       stripe.fake.charges[0]))

    (payment,) = await payments(customer_id)
    assert event.result == again.result == {"collection_id": made["id"],
                                            "entry_id": str(payment.id)}
    assert await settled_by(made["id"]) == ["system"]
    await assert_paid_once(invoice.id, payment.id, 2600)


async def test_a_webhook_alone_settles_a_collection_whose_answer_never_came(
        gql: Any, client: Any, settings: Any, make_processor: Any, make_payer: Any,
        route: Any) -> None:
    stripe = await make_processor("stripe")
    stripe.fake.program.hang_after_charge = 1
    # A status query (the embedded worker's sweep may start one) is never answered.
    stripe.fake.program.status_gate = asyncio.Event()
    customer_id, _ = await make_payer(stripe)
    invoice = await make_invoice(customer_id, 1800, site_id=await route(stripe))
    made = await collect(gql, invoice)
    await drive(settings, made["id"])

    await applied(stripe, await send_succeeded(client, stripe, stripe.fake.charges[0]))
    assert await drive(settings, made["id"], after=timedelta(seconds=10)) == 0  # settled

    done = await reload(made["id"])
    assert done.status == CollectionStatus.SUCCEEDED
    assert done.processor_payment_id == stripe.fake.charges[0]["id"]
    (payment,) = await payments(customer_id)
    await assert_paid_once(invoice.id, payment.id, 1800)
    assert await settled_by(done.id) == ["integration"]
    assert len(stripe.fake.requests("/v1/payment_intents")) == 1


async def test_a_payment_without_our_reference_is_a_plain_payment(
        client: Any, make_processor: Any, make_payer: Any) -> None:
    stripe = await make_processor("stripe")
    customer_id, stripe_customer = await make_payer(stripe)
    intent = {"id": "pi_plain0001", "object": "payment_intent", "amount": 500,
              "amount_received": 500, "currency": "usd", "customer": stripe_customer,
              "status": "succeeded", "metadata": {}}

    event = await applied(stripe, await send_succeeded(client, stripe, intent))

    (payment,) = await payments(customer_id)
    assert event.result == {"entry_id": str(payment.id)}


async def _succeeded(collection_id: Any) -> bool:
    return (await reload(collection_id)).status == CollectionStatus.SUCCEEDED
