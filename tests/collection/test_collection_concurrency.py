"""Two workers never attempt one collection at once, a worker that dies mid-charge is
recovered without charging again, and two settlements of one payment post it once.
Row locks (SKIP LOCKED) only exist on PostgreSQL: run with CCM_TEST_BACKEND=postgres to
prove it there; on SQLite one writer at a time gives the same answers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from collection_kit import attempts, collect, make_invoice, payments, reload
from tortoise.transactions import in_transaction

from ccm_gateway.collection import service as collection_service
from ccm_gateway.collection.adapters import ChargeRequest, ChargeStatus, adapter_for
from ccm_gateway.collection.models import AttemptOutcome, CollectionStatus
from ccm_gateway.integration import service as integration_service
from ccm_gateway.integration.models import Integration
from ccm_gateway.kit.secrets import SecretBox
from ccm_gateway.principal import SYSTEM_ACTOR


async def test_workers_racing_for_one_collection_charge_it_once(
        gql: Any, settings: Any, make_processor: Any, make_payer: Any, route: Any) -> None:
    stripe = await make_processor("stripe")
    customer_id, _ = await make_payer(stripe)
    invoice = await make_invoice(customer_id, 6400, site_id=await route(stripe))
    made = await collect(gql, invoice)

    claimed = await asyncio.gather(*(
        collection_service.run_due(settings, collection_id=made["id"]) for _ in range(6)))

    done = await reload(made["id"])
    assert done.status == CollectionStatus.SUCCEEDED
    assert sum(claimed) <= 1  # the embedded worker may have taken it first
    assert len(stripe.fake.requests("/v1/payment_intents")) == 1
    assert len(stripe.fake.charges) == 1 and len(await payments(customer_id)) == 1
    assert [a.outcome for a in await attempts(done.id)] == [AttemptOutcome.SUCCEEDED]
    assert done.attempts == 1


async def test_a_worker_lost_mid_charge_is_recovered_by_a_status_query_not_a_charge(
        gql: Any, settings: Any, make_processor: Any, make_payer: Any, route: Any) -> None:
    stripe = await make_processor("stripe")
    fallback = await make_processor("stripe")
    customer_id, stripe_customer = await make_payer(stripe, fallback)
    site_id = await route(stripe, fallback)
    invoice = await make_invoice(customer_id, 5100, site_id=site_id)
    # Claimed by a worker that sends the charge and dies before recording anything.
    collection = await collection_service._start(SYSTEM_ACTOR, invoice, "api",
                                                 datetime.now(UTC) + timedelta(hours=1))
    later = datetime.now(UTC) + timedelta(hours=1)
    (lost,) = await collection_service.claim(later, collection_id=collection.id)
    integration = await Integration.get(id=stripe.integration_id)
    spec = (await integration_service.resolve_profile(integration.profile)).collect
    assert spec is not None
    async with httpx.AsyncClient() as client:
        box = SecretBox.from_settings(settings)
        credential = await collection_service._credential(box, integration, spec)
        sent = await adapter_for(spec, client, credential).charge(ChargeRequest(
            reference=collection.reference, idempotency_key=collection_service.attempt_key(
                lost.collection), amount_minor=5100, currency="USD",
            customer_ref=stripe_customer))
    assert sent.status == ChargeStatus.SUCCEEDED

    during = await collection_service.run_due(settings, collection_id=collection.id,
                                              now=later + timedelta(seconds=60))
    recovered = await collection_service.run_due(
        settings, collection_id=collection.id,
        now=later + collection_service.LEASE + timedelta(seconds=1))

    assert during == 0  # the lease still holds
    assert recovered == 1
    done = await reload(collection.id)
    assert done.status == CollectionStatus.SUCCEEDED
    assert len(stripe.fake.charges) == 1 and fallback.fake.requests("/v1/payment_intents") == []
    assert [(a.kind, a.outcome) for a in await attempts(done.id)] == [
        ("status", AttemptOutcome.SUCCEEDED)]
    assert len(await payments(customer_id)) == 1


async def test_two_settlements_of_one_collection_post_one_payment(
        settings: Any, make_processor: Any, make_payer: Any, route: Any) -> None:
    stripe = await make_processor("stripe")
    customer_id, _ = await make_payer(stripe)
    invoice = await make_invoice(customer_id, 2200, site_id=await route(stripe))
    collection = await collection_service._start(SYSTEM_ACTOR, invoice, "api",
                                                 datetime.now(UTC) + timedelta(days=1))

    async def settle(source: str) -> bool:
        async with in_transaction():
            return await collection_service.settle(collection.id, payment_id="pi_race",
                                                   actor=SYSTEM_ACTOR, source=source)

    posted = await asyncio.gather(*(settle(f"racer-{i}") for i in range(5)))

    assert sorted(posted) == [False] * 4 + [True]
    (payment,) = await payments(customer_id)
    assert (await reload(collection.id)).payment_entry_id == payment.id
