"""The fallback URL and the circuit breaker: which URL an attempt goes to."""

from __future__ import annotations

import pytest
from receiver import Answer

from ccm_gateway.outbound import breaker as breaker_module
from ccm_gateway.outbound.breaker import CircuitBreaker
from ccm_gateway.outbound.models import DeliveryStatus, OutboundAttempt


async def test_a_slow_answer_past_the_timeout_sends_the_next_attempt_to_the_fallback(
        make_endpoint, make_delivery, make_engine, receiver):
    receiver.script("/hook", Answer(200, delay=3))
    endpoint = await make_endpoint(fallback_url=receiver.url("/fallback"), timeout_seconds=1)
    delivery = await make_delivery(endpoint)
    await make_engine(schedule="0,0").drain(endpoint.id)

    attempts = await OutboundAttempt.filter(delivery_id=delivery.id).order_by("id")
    assert [(a.target, a.url, a.error_class) for a in attempts] == [
        ("primary", endpoint.url, "ReadTimeout"),
        ("fallback", endpoint.fallback_url, None)]
    [request] = receiver.on("/fallback")
    assert request.verified and request.webhook_id == delivery.webhook_id
    await delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED


async def test_three_primary_failures_in_a_row_hand_over_to_the_fallback(
        make_endpoint, make_delivery, make_engine, receiver):
    receiver.answer("/hook", Answer(500))
    endpoint = await make_endpoint(fallback_url=receiver.url("/fallback"))
    delivery = await make_delivery(endpoint)
    await make_engine(schedule="0,0,0,0,0").drain(endpoint.id)

    attempts = await OutboundAttempt.filter(delivery_id=delivery.id).order_by("id")
    assert [a.target for a in attempts] == ["primary", "primary", "primary", "fallback"]
    assert [r.webhook_id for r in receiver.on("/fallback")] == [delivery.webhook_id]
    await delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.primary_failures == 3


async def test_the_breaker_opens_after_10_failures_in_a_row_and_half_opens_after_30s(
        engine_queue, clock):
    breaker = CircuitBreaker(engine_queue, clock=clock)
    url = "https://vendor.example/hook"
    assert await breaker.record(url, [False] * 9) == ""
    assert (await breaker.acquire(url, 5, probe_lease_seconds=20)).allowed == 5
    assert await breaker.record(url, [False]) == "opened"
    assert await breaker.state(url) == "open"
    permit = await breaker.acquire(url, 5, probe_lease_seconds=20)
    assert permit.allowed == 0 and permit.retry_at == pytest.approx(clock.now + 30)

    clock.now += 30
    assert await breaker.state(url) == "half_open"
    probe = await breaker.acquire(url, 5, probe_lease_seconds=20)
    assert probe.allowed == 1 and probe.state == "half_open"
    assert (await breaker.acquire(url, 5, probe_lease_seconds=20)).allowed == 0  # one probe
    assert await breaker.record(url, [False]) == "opened"  # the probe failed
    assert (await breaker.acquire(url, 1, probe_lease_seconds=20)).retry_at == pytest.approx(
        clock.now + 30)

    clock.now += 30
    assert (await breaker.acquire(url, 3, probe_lease_seconds=20)).allowed == 1
    assert await breaker.record(url, [True]) == "closed"
    assert await breaker.state(url) == "closed"
    assert (await breaker.acquire(url, 3, probe_lease_seconds=20)).allowed == 3
    assert await breaker.record(url, [False] * 9) == ""  # the count started again


async def test_the_breaker_opens_at_70_percent_failures_over_5_minutes(engine_queue, clock):
    breaker = CircuitBreaker(engine_queue, clock=clock)
    pattern = [False, False, True, False, False, True, False, False, True]
    below, at = "https://vendor.example/60", "https://vendor.example/70"
    for outcome in pattern:  # 9 attempts: too few to judge, whatever their failures
        assert await breaker.record(below, [outcome]) == ""
        assert await breaker.record(at, [outcome]) == ""
        clock.now += 20
    assert await breaker.record(below, [True]) == ""  # 6 of 10 failed
    assert await breaker.state(below) == "closed"
    assert await breaker.record(at, [False]) == "opened"  # 7 of 10 failed
    assert await breaker.state(at) == "open"


async def test_failures_older_than_5_minutes_no_longer_count(engine_queue, clock):
    breaker = CircuitBreaker(engine_queue, clock=clock)
    url = "https://vendor.example/old"
    assert await breaker.record(url, [False] * 9) == ""
    clock.now += breaker_module.WINDOW_SECONDS + breaker_module.BUCKET_SECONDS
    # Counted with the 9 old failures this would be 9 of 10.
    assert await breaker.record(url, [True]) == ""
    assert await breaker.state(url) == "closed"


async def test_while_the_primary_breaker_is_open_deliveries_go_to_the_fallback(
        make_endpoint, make_delivery, make_engine, receiver, clock):
    receiver.answer("/hook", Answer(500))
    endpoint = await make_endpoint(fallback_url=receiver.url("/fallback"))
    engine = make_engine(schedule="0,60")
    for _ in range(10):
        await make_delivery(endpoint)
    await engine.drain(endpoint.id)  # 10 primary failures at once open its breaker
    assert await engine.breaker.state(endpoint.url) == "open"

    fresh = await make_delivery(endpoint)
    await engine.drain(endpoint.id)
    [attempt] = await OutboundAttempt.filter(delivery_id=fresh.id)
    assert attempt.target == "fallback" and attempt.succeeded
    assert len(receiver.on("/hook")) == 10


async def test_with_no_other_url_an_open_breaker_makes_deliveries_wait_uncounted(
        make_endpoint, make_delivery, make_engine, receiver, clock):
    receiver.script("/hook", *[Answer(503)] * 10)
    endpoint = await make_endpoint()
    engine = make_engine(schedule="0,60")
    for _ in range(10):
        await make_delivery(endpoint)
    await engine.drain(endpoint.id)
    opened_at = clock.now

    waiting = await make_delivery(endpoint)
    await engine.drain(endpoint.id)
    await waiting.refresh_from_db()
    assert waiting.status == DeliveryStatus.PENDING and waiting.attempts == 0
    assert waiting.next_attempt_at is not None  # when the breaker half-opens (to the µs)
    assert abs(waiting.next_attempt_at.timestamp() - (opened_at + 30)) < 0.001
    assert await OutboundAttempt.filter(delivery_id=waiting.id).count() == 0
    assert len(receiver.on("/hook")) == 10

    clock.now = opened_at + 30  # half-open: the probe succeeds and closes the breaker
    await engine.drain(endpoint.id)
    await waiting.refresh_from_db()
    assert waiting.status == DeliveryStatus.SUCCEEDED and waiting.attempts == 1
    assert await engine.breaker.state(endpoint.url) == "closed"
    assert engine.metrics is not None
    text = await engine.metrics.render()
    label = f'endpoint="{endpoint.id}",target="primary"'
    assert f'outbound_circuit_transitions_total{{{label},transition="opened"}} 1' in text
    assert f'outbound_circuit_transitions_total{{{label},transition="closed"}} 1' in text
