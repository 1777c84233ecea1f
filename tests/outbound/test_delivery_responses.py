"""How the engine reads a receiver's answers: 2xx, 5xx, 410, 429 with Retry-After, 3xx,
refused connections, an exhausted schedule; and what each attempt records."""

from __future__ import annotations

from datetime import timedelta

from receiver import Answer

from ccm_gateway.alert.models import Alert
from ccm_gateway.outbound.models import (
    DeliveryStatus,
    OutboundAttempt,
    OutboundDelivery,
    OutboundEndpoint,
)


async def _attempts(delivery: OutboundDelivery) -> list[OutboundAttempt]:
    return await OutboundAttempt.filter(delivery_id=delivery.id).order_by("id")


async def test_a_delivery_is_signed_and_verified_by_standardwebhooks(
        make_endpoint, make_delivery, make_engine, receiver):
    endpoint = await make_endpoint()
    delivery = await make_delivery(endpoint, data={"entryId": "e1", "amount": {
        "amount": "12.50", "currency": "USD"}})
    await make_engine().drain(endpoint.id)

    [request] = receiver.on("/hook")
    assert request.verified and request.webhook_id == delivery.webhook_id
    assert request.json() == delivery.payload
    assert request.headers["content-type"] == "application/json"
    await delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempts == 1
    assert delivery.delivered_at is not None and delivery.last_status_code == 200
    [attempt] = await _attempts(delivery)
    assert (attempt.target, attempt.url, attempt.status_code, attempt.succeeded,
            attempt.error_class) == ("primary", endpoint.url, 200, True, None)


async def test_5xx_is_retried_with_the_same_webhook_id_until_a_2xx(
        make_endpoint, make_delivery, make_engine, receiver):
    receiver.script("/hook", Answer(500, "boom"), Answer(502))
    endpoint = await make_endpoint()
    delivery = await make_delivery(endpoint)
    await make_engine(schedule="0,0,0,0").drain(endpoint.id)

    requests = receiver.on("/hook")
    assert [r.status for r in requests] == [500, 502, 200]
    assert {r.webhook_id for r in requests} == {delivery.webhook_id}
    assert all(r.verified for r in requests)
    await delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempts == 3
    attempts = await _attempts(delivery)
    assert [(a.status_code, a.error_class) for a in attempts] == [
        (500, "HTTPStatus"), (502, "HTTPStatus"), (200, None)]
    assert attempts[0].response_excerpt == "boom"


async def test_a_failure_waits_for_the_next_delay_of_the_schedule(
        make_endpoint, make_delivery, make_engine, receiver, clock):
    receiver.answer("/hook", Answer(500))
    endpoint = await make_endpoint()
    delivery = await make_delivery(endpoint)
    engine = make_engine(schedule="0,5,300")
    await engine.drain(endpoint.id)

    await delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.RETRYING and delivery.attempts == 1
    assert delivery.next_attempt_at == engine.now() + timedelta(seconds=5)
    await engine.drain(endpoint.id)  # not due yet: nothing is sent
    assert len(receiver.on("/hook")) == 1

    clock.now += 5
    await engine.drain(endpoint.id)
    await delivery.refresh_from_db()
    assert delivery.attempts == 2
    assert delivery.next_attempt_at == engine.now() + timedelta(seconds=300)
    clock.now += 300
    await engine.drain(endpoint.id)
    await delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 3
    assert delivery.next_attempt_at is None and delivery.last_status_code == 500


async def test_jitter_keeps_each_delay_within_20_percent(
        make_endpoint, make_delivery, make_engine, receiver):
    receiver.answer("/hook", Answer(503))
    endpoint = await make_endpoint()
    delivery = await make_delivery(endpoint)
    for jitter, expected in ((-1.0, 80), (1.0, 120)):
        engine = make_engine(schedule="0,100", jitter=lambda j=jitter: j)
        await OutboundDelivery.filter(id=delivery.id).update(
            status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=None)
        await engine.drain(endpoint.id)
        await delivery.refresh_from_db()
        assert delivery.next_attempt_at == engine.now() + timedelta(seconds=expected)


async def test_retry_after_of_429_and_503_is_clamped_to_1x_2x_the_scheduled_delay(
        make_endpoint, make_delivery, make_engine, receiver):
    endpoint = await make_endpoint()
    engine = make_engine(schedule="0,10")
    for status, retry_after, expected in ((429, 15, 15), (503, 100, 20), (429, 1, 10),
                                          (503, None, 10)):
        receiver.script("/hook", Answer(status, retry_after=retry_after))
        delivery = await make_delivery(endpoint)
        await engine.drain(endpoint.id)
        await delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.RETRYING, status
        assert delivery.next_attempt_at == engine.now() + timedelta(seconds=expected), (
            status, retry_after)


async def test_410_disables_the_endpoint_fails_the_delivery_and_skips_the_rest(
        make_endpoint, make_delivery, make_engine, receiver, integration):
    receiver.script("/hook", Answer(410))
    endpoint = await make_endpoint(rate_limit_per_second=1000)
    gone = await make_delivery(endpoint)
    engine = make_engine()
    claim = await engine.claim(endpoint.id)
    assert claim is not None and [d.id for d in claim.deliveries] == [gone.id]
    waiting = await make_delivery(endpoint)  # arrived while the 410 was on its way
    await engine.record(claim, await engine.send(claim))

    await endpoint.refresh_from_db()
    assert not endpoint.enabled and "410" in (endpoint.disabled_reason or "")
    await gone.refresh_from_db()
    await waiting.refresh_from_db()
    assert gone.status == DeliveryStatus.FAILED and gone.last_status_code == 410
    assert waiting.status == DeliveryStatus.SKIPPED and waiting.attempts == 0
    alert = await Alert.filter(kind="outbound.endpoint_disabled",
                               integration_id=integration["id"]).first()
    assert alert is not None and alert.details["endpointId"] == str(endpoint.id)
    later = await make_delivery(endpoint)
    await engine.drain(endpoint.id)
    await later.refresh_from_db()
    assert later.status == DeliveryStatus.SKIPPED
    assert len(receiver.on("/hook")) == 1


async def test_a_redirect_is_a_failure_and_is_not_followed(
        make_endpoint, make_delivery, make_engine, receiver):
    receiver.script("/hook", Answer(307, location=receiver.url("/elsewhere")))
    endpoint = await make_endpoint()
    delivery = await make_delivery(endpoint)
    await make_engine(schedule="0,60").drain(endpoint.id)

    assert receiver.on("/elsewhere") == []
    [attempt] = await _attempts(delivery)
    assert (attempt.status_code, attempt.error_class, attempt.succeeded) == (
        307, "Redirect", False)
    await delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.RETRYING


async def test_a_refused_connection_is_retried(make_endpoint, make_delivery, make_engine,
                                                receiver, clock):
    endpoint = await make_endpoint()
    delivery = await make_delivery(endpoint)
    engine = make_engine(schedule="0,5")
    await receiver.refuse()
    await engine.drain(endpoint.id)
    await delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.RETRYING and delivery.attempts == 1
    [attempt] = await _attempts(delivery)
    assert attempt.error_class == "ConnectError" and attempt.status_code is None

    await receiver.accept()
    clock.now += 5
    await engine.drain(endpoint.id)
    await delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert [r.webhook_id for r in receiver.on("/hook")] == [delivery.webhook_id]
    await endpoint.refresh_from_db()
    assert endpoint.failing_since is None


async def test_a_response_excerpt_keeps_at_most_2_kib(make_endpoint, make_delivery,
                                                      make_engine, receiver):
    receiver.script("/hook", Answer(500, "é" * 5000))
    endpoint = await make_endpoint()
    delivery = await make_delivery(endpoint)
    await make_engine(schedule="0,60").drain(endpoint.id)
    [attempt] = await _attempts(delivery)
    assert attempt.response_excerpt is not None
    assert len(attempt.response_excerpt.encode()) <= 2048 + 3  # a cut character: U+FFFD
    assert attempt.response_excerpt.startswith("é" * 1000)


async def test_failing_for_5_days_disables_the_endpoint_with_an_alert(
        make_endpoint, make_delivery, make_engine, receiver, integration):
    receiver.answer("/hook", Answer(500))
    engine = make_engine(schedule="0,60")
    endpoint = await make_endpoint(failing_since=engine.now() - timedelta(days=4))
    await make_delivery(endpoint)
    await engine.drain(endpoint.id)
    await endpoint.refresh_from_db()
    assert endpoint.enabled  # 4 days: not yet

    await OutboundEndpoint.filter(id=endpoint.id).update(
        failing_since=engine.now() - timedelta(days=5, seconds=1))
    await make_delivery(endpoint)
    await engine.drain(endpoint.id)
    await endpoint.refresh_from_db()
    assert not endpoint.enabled and "failing continuously" in (endpoint.disabled_reason or "")
    assert await Alert.filter(kind="outbound.endpoint_disabled",
                              integration_id=integration["id"]).count() == 1


async def test_the_first_failure_starts_a_failing_run_and_a_success_ends_it(
        make_endpoint, make_delivery, make_engine, receiver):
    receiver.script("/hook", Answer(500))
    engine = make_engine(schedule="0,0")
    endpoint = await make_endpoint()
    first = await make_delivery(endpoint)
    claim = await engine.claim(endpoint.id)
    assert claim is not None
    await engine.record(claim, await engine.send(claim))
    await endpoint.refresh_from_db()
    assert endpoint.failing_since == engine.now()
    await engine.drain(endpoint.id)
    await endpoint.refresh_from_db()
    await first.refresh_from_db()
    assert first.status == DeliveryStatus.SUCCEEDED and endpoint.failing_since is None


async def test_outcomes_latency_and_lag_are_counted(make_endpoint, make_delivery, make_engine,
                                                    receiver):
    receiver.script("/hook", Answer(500))
    endpoint = await make_endpoint()
    await make_delivery(endpoint)
    engine = make_engine(schedule="0,0")
    await engine.drain(endpoint.id)
    assert engine.metrics is not None
    text = await engine.metrics.render()
    label = f'endpoint="{endpoint.id}"'
    assert f'outbound_deliveries_total{{{label},outcome="retrying"}} 1' in text
    assert f'outbound_deliveries_total{{{label},outcome="succeeded"}} 1' in text
    assert f'outbound_attempt_seconds_count{{{label},target="primary"}} 2' in text
    assert f'outbound_sync_lag_seconds_count{{{label}}} 1' in text
