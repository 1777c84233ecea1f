"""The per-endpoint rate limit across processes, SSRF refusal at connect time in prod, and
the credentials an endpoint sends to its vendor's API."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import httpcore
import pytest
from receiver import Answer, TokenServer

from ccm_gateway.outbound import http, urls
from ccm_gateway.outbound.models import DeliveryStatus, OutboundAttempt, OutboundDelivery


async def test_the_rate_limit_holds_across_two_processes(make_endpoint, make_delivery,
                                                         make_engine, receiver, clock):
    rate = 5
    endpoint = await make_endpoint(rate_limit_per_second=rate)
    deliveries = [await make_delivery(endpoint) for _ in range(12)]
    first, second = make_engine(), make_engine()  # two processes sharing one Redis

    async def drain(engine):
        while await OutboundDelivery.filter(
                endpoint_id=endpoint.id, status__in=("pending", "retrying")).exists():
            await engine.drain(endpoint.id)
            clock.now += 1  # a send rescheduled by the limiter is due again
            await asyncio.sleep(0.05)

    await asyncio.wait_for(asyncio.gather(drain(first), drain(second)), 60)
    arrivals = sorted(r.at for r in receiver.on("/hook"))
    assert len(arrivals) == len(deliveries)
    # Never more than the rate (burst 1) in any second, with one of slack for the
    # network between the limiter's decision and the arrival.
    for i, start in enumerate(arrivals):
        assert sum(1 for t in arrivals[i:] if t < start + 1.0) <= rate + 1, arrivals
    for delivery in deliveries:
        await delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempts == 1


async def test_in_prod_a_host_resolving_to_loopback_is_refused_when_connecting(
        make_endpoint, make_delivery, make_engine, receiver):
    endpoint = await make_endpoint(url=f"https://localhost:{receiver.port}/hook")
    delivery = await make_delivery(endpoint)
    await make_engine(env="prod", schedule="0,60").drain(endpoint.id)

    [attempt] = await OutboundAttempt.filter(delivery_id=delivery.id)
    assert attempt.error_class == "RefusedAddress" and not attempt.succeeded
    assert receiver.requests == []
    await delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.RETRYING
    assert "loopback" in (delivery.last_error or "")


async def test_in_prod_an_http_url_is_refused_before_connecting(
        make_endpoint, make_delivery, make_engine, receiver):
    endpoint = await make_endpoint()  # http://127.0.0.1:<port>/hook
    delivery = await make_delivery(endpoint)
    await make_engine(env="prod", schedule="0,60").drain(endpoint.id)
    [attempt] = await OutboundAttempt.filter(delivery_id=delivery.id)
    assert attempt.error_class == "RefusedURL"
    assert receiver.requests == []


async def test_the_checked_backend_connects_to_the_address_it_checked(monkeypatch):
    """DNS rebinding: the answer checked is the address connected to, and a name with
    one private answer among public ones is refused."""
    connected: list[str] = []

    class Recording(httpcore.AsyncNetworkBackend):
        async def connect_tcp(self, host, port, timeout=None, local_address=None,
                              socket_options=None):
            connected.append(host)
            raise httpcore.ConnectError("test: not really connecting")

    answers = {"vendor.example": ["93.184.215.14"],
               "rebind.example": ["93.184.215.14", "10.0.0.7"]}

    async def resolve(host, port):
        return answers[host]

    monkeypatch.setattr(urls, "resolve", resolve)
    backend = http.CheckedBackend(Recording())
    with pytest.raises(httpcore.ConnectError):
        await backend.connect_tcp("vendor.example", 443)
    assert connected == ["93.184.215.14"]
    with pytest.raises(urls.RefusedAddress, match=r"10\.0\.0\.7"):
        await backend.connect_tcp("rebind.example", 443)
    assert connected == ["93.184.215.14"]


async def test_a_static_bearer_token_is_sent(make_endpoint, make_delivery, make_engine,
                                             receiver):
    endpoint = await make_endpoint(credentials={"type": "bearer", "token": "tok-123"})
    await make_delivery(endpoint)
    await make_engine().drain(endpoint.id)
    [request] = receiver.on("/hook")
    assert request.headers["authorization"] == "Bearer tok-123" and request.verified


async def test_oauth_client_credentials_tokens_are_cached_and_refetched_on_401(
        make_endpoint, make_delivery, make_engine, receiver):
    tokens = TokenServer("client-1", "s3cret", expires_in=3600)
    receiver.handle("/token", tokens)
    receiver.handle("/hook", lambda r: Answer(200 if tokens.authorized(r) else 401))
    endpoint = await make_endpoint(credentials={
        "type": "oauth2_client_credentials", "token_url": receiver.url("/token"),
        "client_id": "client-1", "client_secret": "s3cret", "scope": "sync"})
    engine = make_engine(schedule="0,60")
    for _ in range(5):
        await make_delivery(endpoint)
    await engine.drain(endpoint.id)
    assert len(tokens.issued) == 1 and tokens.scopes == ["sync"]
    assert [r.status for r in receiver.on("/hook")] == [200] * 5

    tokens.revoked.add(tokens.issued[0])  # the vendor drops the token before it expires
    delivery = await make_delivery(endpoint)
    await engine.drain(endpoint.id)
    assert len(tokens.issued) == 2
    await delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempts == 1
    assert [r.status for r in receiver.on("/hook")][-2:] == [401, 200]


async def test_a_token_endpoint_refusing_the_client_fails_the_attempt(
        make_endpoint, make_delivery, make_engine, receiver):
    receiver.handle("/token", TokenServer("client-1", "right"))
    endpoint = await make_endpoint(credentials={
        "type": "oauth2_client_credentials", "token_url": receiver.url("/token"),
        "client_id": "client-1", "client_secret": "wrong"})
    delivery = await make_delivery(endpoint)
    await make_engine(schedule="0,60").drain(endpoint.id)
    [attempt] = await OutboundAttempt.filter(delivery_id=delivery.id)
    assert attempt.error_class == "TokenError"
    assert receiver.on("/hook") == []
    assert "wrong" not in (attempt.response_excerpt or "") + str(
        (await OutboundDelivery.get(id=delivery.id)).last_error)


def test_settings_validate_the_outbound_retry_schedule(settings):
    from ccm_gateway.errors import ConfigError

    replace(settings, outbound_retry_schedule="0,5,300").validate()
    for bad in ("", "5,x", "-1", ",".join(["1"] * 21), "700000"):
        with pytest.raises(ConfigError, match="CCM_OUTBOUND_RETRY_SCHEDULE"):
            replace(settings, outbound_retry_schedule=bad).validate()
