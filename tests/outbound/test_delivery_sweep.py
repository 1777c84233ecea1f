"""The ``outbound.sweep`` cron (what a lost queue message or a killed worker leaves) and
``outbound.retention`` (settled delivery records past their days)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from arq.constants import job_key_prefix

from ccm_gateway.outbound.delivery import (
    STUCK_TIMEOUTS,
    SWEEP_GRACE_SECONDS,
    deliver_job_id,
    purge,
)
from ccm_gateway.outbound.models import (
    AttemptTarget,
    DeliveryStatus,
    OutboundAttempt,
    OutboundDelivery,
    OutboundEndpoint,
)


async def test_a_delivery_stuck_in_sending_is_sent_again(make_endpoint, make_delivery,
                                                         make_engine, receiver, clock):
    endpoint = await make_endpoint(timeout_seconds=2)
    engine = make_engine()
    delivery = await make_delivery(endpoint)
    claim = await engine.claim(endpoint.id)  # claimed, then the worker dies
    assert claim is not None and claim.deliveries
    fresh = await make_delivery(endpoint, status=DeliveryStatus.SENDING)

    clock.now += STUCK_TIMEOUTS * 2 + engine.settings.outbound_stuck_margin_seconds + 1
    await OutboundDelivery.filter(id=fresh.id).update(updated_at=engine.now())
    result = await engine.sweep()
    assert result["reset"] >= 1
    await delivery.refresh_from_db()
    await fresh.refresh_from_db()
    assert delivery.status == DeliveryStatus.RETRYING and delivery.attempts == 0
    assert fresh.status == DeliveryStatus.SENDING  # its worker may still be on it
    assert await engine.queue.exists(
        job_key_prefix + deliver_job_id(endpoint.id, f"s{int(clock()) // 5}"))
    await engine.drain(endpoint.id)
    await delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert [r.webhook_id for r in receiver.on("/hook")] == [delivery.webhook_id]


async def test_overdue_deliveries_wake_their_endpoint(make_endpoint, make_delivery,
                                                      make_engine, clock):
    endpoint = await make_endpoint()
    engine = make_engine()
    await make_delivery(endpoint)
    await engine.sweep()
    tag = f"s{int(clock()) // 5}"
    assert not await engine.queue.exists(job_key_prefix + deliver_job_id(endpoint.id, tag))
    clock.now += SWEEP_GRACE_SECONDS + 5
    await engine.sweep()
    tag = f"s{int(clock()) // 5}"
    assert await engine.queue.exists(job_key_prefix + deliver_job_id(endpoint.id, tag))


async def test_waiting_deliveries_of_a_disabled_or_deleted_endpoint_are_skipped(
        make_endpoint, make_delivery, make_engine):
    engine = make_engine()
    disabled, deleted = await make_endpoint(), await make_endpoint()
    first, second = await make_delivery(disabled), await make_delivery(deleted)
    await OutboundEndpoint.filter(id=disabled.id).update(enabled=False)
    await OutboundEndpoint.filter(id=deleted.id).update(deleted_at=datetime.now(UTC))
    await engine.sweep()
    for delivery in (first, second):
        await delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.SKIPPED and delivery.attempts == 0


async def test_a_retry_is_scheduled_as_a_deferred_job(make_endpoint, make_delivery,
                                                      make_engine, receiver, clock):
    from receiver import Answer

    receiver.script("/hook", Answer(500))
    endpoint = await make_endpoint()
    engine = make_engine(schedule="0,30")
    delivery = await make_delivery(endpoint)
    await engine.drain(endpoint.id)
    await delivery.refresh_from_db()
    assert delivery.next_attempt_at == engine.now() + timedelta(seconds=30)
    job_id = deliver_job_id(endpoint.id, f"r{int(clock() + 30)}")
    score = await engine.queue.zscore(engine.queue.default_queue_name, job_id)
    assert score is not None and abs(score / 1000 - (clock.now + 30)) < 5


async def test_retention_deletes_settled_deliveries_and_their_attempts_and_keeps_the_rest(
        make_endpoint, make_delivery):
    endpoint = await make_endpoint()
    now = datetime.now(UTC)
    old, recent = now - timedelta(days=31), now - timedelta(days=29)
    settled = {status: await make_delivery(endpoint, status=status) for status in (
        DeliveryStatus.SUCCEEDED, DeliveryStatus.FAILED, DeliveryStatus.SUPERSEDED,
        DeliveryStatus.SKIPPED)}
    waiting = {status: await make_delivery(endpoint, status=status) for status in (
        DeliveryStatus.PENDING, DeliveryStatus.RETRYING, DeliveryStatus.SENDING)}
    young = await make_delivery(endpoint, status=DeliveryStatus.SUCCEEDED)
    for delivery in [*settled.values(), *waiting.values()]:
        await OutboundAttempt.create(delivery=delivery, attempted_at=old,
                                     target=AttemptTarget.PRIMARY, url=endpoint.url,
                                     status_code=500, duration_ms=3, succeeded=False)
    ids = [d.id for d in [*settled.values(), *waiting.values()]]
    # auto_now would overwrite updated_at on save: set it with an update.
    await OutboundDelivery.filter(id__in=ids).update(updated_at=old)
    await OutboundDelivery.filter(id=young.id).update(updated_at=recent)

    assert await purge(older_than_days=30, batch=2) == len(settled)

    left = set(await OutboundDelivery.filter(endpoint_id=endpoint.id)
               .values_list("id", flat=True))
    assert left == {*(d.id for d in waiting.values()), young.id}
    assert not await OutboundAttempt.filter(
        delivery_id__in=[d.id for d in settled.values()]).exists()
    assert await OutboundAttempt.filter(
        delivery_id__in=[d.id for d in waiting.values()]).count() == len(waiting)
