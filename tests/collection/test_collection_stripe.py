"""Collecting through a Stripe-like processor on loopback: success, declines and the
dunning schedule, 5xx retries with the same key, and timeouts after and before charging,
which never charge a customer twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from collection_kit import (
    attempts,
    collect,
    drive,
    make_invoice,
    payments,
    reload,
)
from testkit import eventually

from ccm_gateway.alert.models import Alert
from ccm_gateway.billing.models import Invoice, InvoiceStatus, PaymentAllocation
from ccm_gateway.collection.models import AttemptOutcome, CollectionStatus


async def settled(collection_id: Any) -> Any:
    async def check() -> Any:
        found = await reload(collection_id)
        return found if found.status == CollectionStatus.SUCCEEDED else None

    return await eventually(check)


async def test_a_collection_charges_the_invoice_once_and_posts_the_payment(
        gql: Any, settings: Any, make_processor: Any, make_payer: Any, route: Any) -> None:
    stripe = await make_processor("stripe")
    customer_id, stripe_customer = await make_payer(stripe)
    site_id = await route(stripe)
    invoice = await make_invoice(customer_id, 125050, site_id=site_id)

    made = await collect(gql, invoice)
    await drive(settings, made["id"])
    done = await settled(made["id"])

    assert made["amount"] == {"amount": "1250.50", "currency": "USD"}
    assert len(stripe.fake.charges) == 1
    (request,) = stripe.fake.requests("/v1/payment_intents")
    form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
    assert form["amount"] == "125050" and form["currency"] == "usd"
    assert form["customer"] == stripe_customer and form["payment_method"] == "pm_card_visa"
    assert form["off_session"] == "true" and form["confirm"] == "true"
    assert form["metadata[ccm_reference]"] == done.reference
    assert form["metadata[invoice_number]"] == invoice.number
    assert request.headers["idempotency-key"] == f"{done.reference}-0-0"
    (payment,) = await payments(customer_id)
    assert payment.amount_minor == -125050
    assert payment.id == done.payment_entry_id
    paid = await Invoice.get(id=invoice.id)
    assert (paid.status, paid.paid_minor) == (InvoiceStatus.PAID, 125050)
    (allocation,) = await PaymentAllocation.filter(entry_id=payment.id)
    assert (allocation.invoice_id, allocation.amount_minor) == (invoice.id, 125050)
    assert allocation.by_reference
    assert payment.external_ref == stripe.fake.charges[0]["id"]
    (attempt,) = await attempts(done.id)
    assert attempt.outcome == AttemptOutcome.SUCCEEDED and attempt.kind == "charge"
    assert attempt.processor_payment_id == stripe.fake.charges[0]["id"]
    assert attempt.status_code == 200 and attempt.latency_ms >= 0


async def test_a_declined_collection_follows_the_dunning_schedule_then_fails(
        gql: Any, settings: Any, make_processor: Any, make_payer: Any, route: Any) -> None:
    stripe = await make_processor("stripe")
    stripe.fake.program.decline = 4
    customer_id, _ = await make_payer(stripe)
    invoice = await make_invoice(customer_id, 5000, site_id=await route(stripe))

    made = await collect(gql, invoice)
    await drive(settings, made["id"])
    waits, ahead = [], timedelta(0)
    for day in (3, 5, 7):
        retrying = await reload(made["id"])
        assert retrying.status == CollectionStatus.RETRYING
        wait = retrying.next_attempt_at - (datetime.now(UTC) + ahead)
        waits.append(round(wait.total_seconds() / 86400))
        assert await drive(settings, made["id"], after=ahead + timedelta(days=day - 1)) == 0
        ahead += timedelta(days=day, seconds=1)
        assert await drive(settings, made["id"], after=ahead) == 1
    failed = await reload(made["id"])

    assert waits == [3, 5, 7]
    assert failed.status == CollectionStatus.FAILED and failed.declines == 4
    assert stripe.fake.charges == [] and await payments(customer_id) == []
    keys = [r.headers["idempotency-key"] for r in stripe.fake.requests("/v1/payment_intents")]
    assert keys == [f"{failed.reference}-{n}-0" for n in range(4)]  # a new charge each round
    rows = await attempts(made["id"])
    assert [a.outcome for a in rows] == [AttemptOutcome.DECLINED] * 4
    assert all(a.status_code == 402 for a in rows)
    alerts = await Alert.filter(kind="payment.failed", customer_id=customer_id)
    assert len(alerts) == 4
    assert "insufficient_funds" in (failed.last_error or "")


async def test_a_5xx_is_retried_on_the_same_processor_with_the_same_key(
        gql: Any, settings: Any, make_processor: Any, make_payer: Any, route: Any) -> None:
    stripe = await make_processor("stripe")
    fallback = await make_processor("stripe")
    stripe.fake.program.fail = 2
    customer_id, _ = await make_payer(stripe, fallback)
    invoice = await make_invoice(customer_id, 900, site_id=await route(stripe, fallback))

    made = await collect(gql, invoice)
    await drive(settings, made["id"])
    await drive(settings, made["id"], after=timedelta(seconds=3))
    await drive(settings, made["id"], after=timedelta(seconds=15))
    done = await settled(made["id"])

    requests = stripe.fake.requests("/v1/payment_intents")
    assert [r.status for r in requests] == [503, 503, 200]
    assert {r.headers["idempotency-key"] for r in requests} == {f"{done.reference}-0-0"}
    assert len(stripe.fake.charges) == 1 and fallback.fake.requests("/v1/payment_intents") == []
    assert len(await payments(customer_id)) == 1
    assert [a.outcome for a in await attempts(done.id)] == [
        AttemptOutcome.FAILED, AttemptOutcome.FAILED, AttemptOutcome.SUCCEEDED]


async def test_a_timeout_after_charging_is_settled_by_the_status_query_without_a_second_charge(
        gql: Any, settings: Any, make_processor: Any, make_payer: Any, route: Any) -> None:
    stripe = await make_processor("stripe")
    fallback = await make_processor("stripe")
    stripe.fake.program.hang_after_charge = 1
    customer_id, _ = await make_payer(stripe, fallback)
    invoice = await make_invoice(customer_id, 4200, site_id=await route(stripe, fallback))

    made = await collect(gql, invoice)
    await drive(settings, made["id"])
    unknown = await reload(made["id"])
    assert unknown.status in (CollectionStatus.UNKNOWN, CollectionStatus.SUCCEEDED)
    await drive(settings, made["id"], after=timedelta(seconds=2))
    done = await settled(made["id"])

    assert len(stripe.fake.charges) == 1
    assert fallback.fake.requests("/v1/payment_intents") == []  # never tried elsewhere
    assert len(stripe.fake.requests("/v1/payment_intents")) == 1  # nor charged again
    (payment,) = await payments(customer_id)
    assert payment.id == done.payment_entry_id
    rows = await attempts(done.id)
    assert [(a.kind, a.outcome) for a in rows] == [
        ("charge", AttemptOutcome.UNKNOWN), ("status", AttemptOutcome.SUCCEEDED)]
    assert done.processor_payment_id == stripe.fake.charges[0]["id"]


async def test_a_timeout_before_charging_falls_back_once_the_status_says_there_is_none(
        gql: Any, settings: Any, make_processor: Any, make_payer: Any, route: Any) -> None:
    stripe = await make_processor("stripe")
    fallback = await make_processor("stripe")
    stripe.fake.program.hang_before_charge = 1
    customer_id, _ = await make_payer(stripe, fallback)
    invoice = await make_invoice(customer_id, 777, site_id=await route(stripe, fallback))

    made = await collect(gql, invoice)
    await drive(settings, made["id"])
    await drive(settings, made["id"], after=timedelta(seconds=2))
    await drive(settings, made["id"], after=timedelta(seconds=3))
    done = await settled(made["id"])

    assert stripe.fake.charges == [] and len(fallback.fake.charges) == 1
    assert len(stripe.fake.requests("/v1/payment_intents/search")) >= 1
    rows = await attempts(done.id)
    assert [(a.kind, a.outcome) for a in rows] == [
        ("charge", AttemptOutcome.UNKNOWN), ("status", AttemptOutcome.CANCELLED),
        ("charge", AttemptOutcome.SUCCEEDED)]
    assert rows[2].integration_id != rows[0].integration_id
    assert rows[2].idempotency_key == f"{done.reference}-0-1"
    assert len(await payments(customer_id)) == 1
