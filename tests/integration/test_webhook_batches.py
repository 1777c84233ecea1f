"""The worker applies waiting inbox events in batches: one transaction, a savepoint per event.
A bad event settles (or waits for its retry) on its own; the rest of its batch applies;
each event's effect happens once."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from webhook_kit import balance, entries, payment_intent, stripe_event

from ccm_gateway.integration import processing
from ccm_gateway.integration.models import InboundEvent, InboundStatus
from ccm_gateway.ledger.models import EntryKind
from ccm_gateway.verify import verify_all


async def _stored(hook: Any, event: dict[str, Any], seconds_ago: float) -> str:
    """An event in the inbox as the edge leaves it, with no job of its own queued (this
    test runs the batch itself)."""
    row = await InboundEvent.create(
        id=uuid.uuid4(), integration_id=hook.id, external_id=event["id"],
        event_type=event["type"], content_type="application/json",
        payload=json.dumps(event).encode(),
        received_at=datetime.now(UTC) - timedelta(seconds=seconds_ago))
    return str(row.id)


async def test_a_batch_applies_its_events_and_settles_the_bad_ones_alone(
        app, make_integration, linked_customer):
    hook = await make_integration("stripe")
    refs = {}
    for _ in range(2):
        ref = f"cus_{uuid.uuid4().hex[:8]}"
        refs[await linked_customer(hook, ref)] = ref
    first, second = refs
    good = [await _stored(hook, stripe_event("payment_intent.succeeded", payment_intent(
        refs[c], amount)), 3600 - n) for n, (c, amount) in enumerate(
            [(first, 100), (second, 200), (first, 300)])]
    unknown = await _stored(hook, stripe_event("payment_intent.succeeded", payment_intent(
        "cus_nobody", 50)), 3500)
    # A refund before its payment fails inside its savepoint and waits for a retry.
    early = await _stored(hook, stripe_event("charge.refunded", {
        "id": "ch_early", "amount_refunded": 70, "currency": "usd", "customer": refs[first],
        "payment_intent": "pi_not_yet"}), 3400)

    batch = await processing.process_batch(good[0], delays=(60,), queue=app.state.queue,
                                           limit=50)

    statuses = {e: (await InboundEvent.get(id=e)).status for e in [*good, unknown, early]}
    assert [statuses[e] for e in good] == [InboundStatus.APPLIED] * 3
    assert statuses[unknown] == InboundStatus.PARKED
    assert statuses[early] == InboundStatus.RETRYING
    # (Events of other tests still waiting may have joined the batch too.)
    ours = [o for o in batch.outcomes if o.integration_slug == hook.slug]
    assert sorted(str(o.status) for o in ours) == sorted(
        ["applied", "applied", "applied", "parked", "retrying"])
    # Its own job is the one running; the others' jobs are now no-ops to drop.
    assert f"inbound:{good[0]}" not in batch.dropped_jobs
    assert {f"inbound:{e}" for e in [*good[1:], unknown, early]} <= set(batch.dropped_jobs)
    assert await balance(first) == -400 and await balance(second) == -200
    assert [e.kind for e in await entries(first)] == [EntryKind.PAYMENT] * 2

    # The same job again, and the other events' jobs had they run: nothing more happens.
    for event_id in [*good, unknown]:
        again = await processing.process_batch(event_id, delays=(60,), queue=app.state.queue)
        assert [o for o in again.outcomes if o.integration_slug == hook.slug] == []
    assert await balance(first) == -400 and await balance(second) == -200
    assert (await verify_all())["ok"]


async def test_a_retrying_event_waits_for_its_own_job(app, make_integration, linked_customer):
    """Only received events join another event's batch: a retry runs when it is due."""
    hook = await make_integration("stripe")
    ref = f"cus_{uuid.uuid4().hex[:8]}"
    await linked_customer(hook, ref)
    waiting = await _stored(hook, stripe_event("charge.refunded", {
        "id": "ch_w", "amount_refunded": 70, "currency": "usd", "customer": ref,
        "payment_intent": "pi_w"}), 3000)
    first = await processing.process_batch(waiting, delays=(600,), queue=app.state.queue)
    assert [str(o.status) for o in first.outcomes if o.integration_slug == hook.slug] \
        == ["retrying"]
    payment = await _stored(hook, stripe_event("payment_intent.succeeded",
                                               payment_intent(ref, 500)), 2900)

    batch = await processing.process_batch(payment, delays=(600,), queue=app.state.queue)

    assert [str(o.status) for o in batch.outcomes if o.integration_slug == hook.slug] \
        == ["applied"]
    assert (await InboundEvent.get(id=waiting)).status == InboundStatus.RETRYING

