"""Collecting through the generic JSON processor its profile's collect section describes
(webhooks/generic-psp.yaml), alone and as the fallback of a Stripe-like primary."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from collection_kit import attempts, collect, drive, make_invoice, payments, reload
from processors import API_KEY

from ccm_gateway.collection.models import AttemptOutcome, CollectionStatus


async def test_the_json_adapter_charges_with_the_profiles_body_and_key_header(
        gql: Any, settings: Any, make_processor: Any, make_payer: Any, route: Any) -> None:
    psp = await make_processor("json")
    customer_id, ref = await make_payer(psp)
    invoice = await make_invoice(customer_id, 125050, site_id=await route(psp))

    made = await collect(gql, invoice)
    await drive(settings, made["id"])

    done = await reload(made["id"])
    assert done.status == CollectionStatus.SUCCEEDED
    (request,) = psp.fake.requests("/api/charges")
    assert request.json() == {"amount_cents": 125050, "currency": "USD", "customer": ref,
                              "reference": done.reference,
                              "description": f"invoice {invoice.number}"}
    assert request.headers["x-request-key"] == f"{done.reference}-0-0"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert done.processor_payment_id == psp.fake.charges[0]["id"]
    assert len(await payments(customer_id)) == 1


async def test_a_json_decline_reads_the_profiles_decline_code(
        gql: Any, settings: Any, make_processor: Any, make_payer: Any, route: Any) -> None:
    psp = await make_processor("json")
    psp.fake.program.decline = 1
    customer_id, _ = await make_payer(psp)
    invoice = await make_invoice(customer_id, 990, site_id=await route(psp))

    made = await collect(gql, invoice)
    await drive(settings, made["id"])

    retrying = await reload(made["id"])
    assert retrying.status == CollectionStatus.RETRYING and retrying.declines == 1
    (attempt,) = await attempts(made["id"])
    assert attempt.outcome == AttemptOutcome.DECLINED
    assert (attempt.error or "").startswith("do_not_honor")


async def test_a_json_timeout_before_charging_is_looked_up_then_falls_back_to_stripe(
        gql: Any, settings: Any, make_processor: Any, make_payer: Any, route: Any) -> None:
    psp = await make_processor("json")
    stripe = await make_processor("stripe")
    psp.fake.program.hang_before_charge = 1
    customer_id, _ = await make_payer(psp, stripe)
    invoice = await make_invoice(customer_id, 4321, site_id=await route(psp, stripe))

    made = await collect(gql, invoice)
    await drive(settings, made["id"])
    await drive(settings, made["id"], after=timedelta(seconds=2))
    await drive(settings, made["id"], after=timedelta(seconds=3))

    done = await reload(made["id"])
    assert done.status == CollectionStatus.SUCCEEDED
    (lookup,) = psp.fake.requests("/api/charges/lookup")
    assert lookup.query == f"key={done.reference}-0-0" and lookup.status == 404
    assert psp.fake.charges == [] and len(stripe.fake.charges) == 1
    assert [(a.kind, a.outcome) for a in await attempts(done.id)] == [
        ("charge", AttemptOutcome.UNKNOWN), ("status", AttemptOutcome.CANCELLED),
        ("charge", AttemptOutcome.SUCCEEDED)]


async def test_a_json_timeout_after_charging_is_found_by_the_lookup(
        gql: Any, settings: Any, make_processor: Any, make_payer: Any, route: Any) -> None:
    psp = await make_processor("json")
    stripe = await make_processor("stripe")
    psp.fake.program.hang_after_charge = 1
    customer_id, _ = await make_payer(psp, stripe)
    invoice = await make_invoice(customer_id, 1234, site_id=await route(psp, stripe))

    made = await collect(gql, invoice)
    await drive(settings, made["id"])
    await drive(settings, made["id"], after=timedelta(seconds=2))

    done = await reload(made["id"])
    assert done.status == CollectionStatus.SUCCEEDED
    assert len(psp.fake.charges) == 1 and stripe.fake.requests("/v1/payment_intents") == []
    assert len(await payments(customer_id)) == 1
