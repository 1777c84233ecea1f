"""The ``outbound.sweep`` cron: what a lost queue message or a killed worker leaves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from arq.constants import job_key_prefix

from ccm_gateway.outbound.delivery import STUCK_TIMEOUTS, SWEEP_GRACE_SECONDS, deliver_job_id
from ccm_gateway.outbound.models import DeliveryStatus, OutboundDelivery, OutboundEndpoint


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
