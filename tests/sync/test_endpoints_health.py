"""Endpoint health in the listing (attempts over 24 h, last success and failure, circuit
states from the breakers, why it is disabled) and the outbound figures in
the integration's health."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis
from endpoint_kit import SET_ENABLED, make_attempt, make_delivery, make_endpoint, make_integration

from ccm_gateway.outbound.breaker import CONSECUTIVE_FAILURES, OPEN_SECONDS, CircuitBreaker
from ccm_gateway.outbound.health import CircuitState, circuit_states
from ccm_gateway.outbound.models import DeliveryStatus

FIGURES = """attemptsLast24h succeededLast24h successRateLast24h lastSuccessAt lastFailureAt
  unsentDeliveries oldestUnsentChangeAt failedLast24h"""
LIST = f"""
query($i: ID!, $first: Int, $after: String) {{
  outboundEndpoints(integrationId: $i, first: $first, after: $after) {{
    edges {{ node {{ id url health {{ {FIGURES} circuitState fallbackCircuitState
                                        disabledReason failingSince }} }} }}
    pageInfo {{ hasNextPage endCursor }} }} }}"""
INTEGRATION_HEALTH = f"""
query($i: ID!) {{ integration(id: $i) {{ health {{ receivedLast24h
  outbound {{ endpoints enabledEndpoints {FIGURES} }} }} }} }}"""


def _url() -> str:
    """A URL of its own: breakers are per URL, and Redis outlives a test."""
    return f"http://127.0.0.1:9/{uuid.uuid4().hex}"


def _at(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


@pytest.fixture
def redis(app):
    return app.state.queue


async def test_endpoint_health_counts_attempts_over_24_hours(gql, redis):
    partner = await make_integration(gql)
    fallback = _url()
    endpoint = (await make_endpoint(gql, partner.integration_id, url=_url(),
                                    fallbackUrl=fallback))["endpoint"]
    now = datetime.now(UTC)
    done = await make_delivery(endpoint["id"], status=DeliveryStatus.SUCCEEDED)
    await make_attempt(done, succeeded=False, at=now - timedelta(minutes=30),
                       error_class="ConnectError")
    await make_attempt(done, succeeded=True, at=now - timedelta(minutes=20))
    lost = await make_delivery(endpoint["id"], status=DeliveryStatus.FAILED)
    await make_attempt(lost, succeeded=False, at=now - timedelta(minutes=10), status_code=500)
    old = await make_delivery(endpoint["id"], status=DeliveryStatus.SUCCEEDED)
    await make_attempt(old, succeeded=True, at=now - timedelta(days=3))
    changed = now - timedelta(minutes=5)
    await make_delivery(endpoint["id"], status=DeliveryStatus.RETRYING, created_at=changed)
    await make_delivery(endpoint["id"], status=DeliveryStatus.PENDING)
    # The primary's breaker opened just now; the fallback's opened longer ago than it stays
    # open, so it lets a probe through.
    await CircuitBreaker(redis).record(endpoint["url"], [False] * CONSECUTIVE_FAILURES)
    long_ago = CircuitBreaker(redis, clock=lambda: time.time() - OPEN_SECONDS - 5)
    await long_ago.record(fallback, [False] * CONSECUTIVE_FAILURES)

    edges = (await gql(LIST, {"i": partner.integration_id})).data["outboundEndpoints"]["edges"]
    assert len(edges) == 1
    health = edges[0]["node"]["health"]
    assert health["attemptsLast24h"] == 3 and health["succeededLast24h"] == 1
    assert health["successRateLast24h"] == pytest.approx(1 / 3)
    assert _at(health["lastSuccessAt"]) == now - timedelta(minutes=20)
    assert _at(health["lastFailureAt"]) == now - timedelta(minutes=10)
    assert health["unsentDeliveries"] == 2
    assert _at(health["oldestUnsentChangeAt"]) == changed
    assert health["failedLast24h"] == 1
    assert health["circuitState"] == "OPEN" and health["fallbackCircuitState"] == "HALF_OPEN"
    assert health["disabledReason"] is None


async def test_a_new_endpoint_is_closed_with_no_rate_and_a_disabled_one_says_why(gql):
    partner = await make_integration(gql)
    endpoint = (await make_endpoint(gql, partner.integration_id, url=_url()))["endpoint"]
    await gql(SET_ENABLED, {"input": {"id": endpoint["id"], "enabled": False}})
    health = (await gql(LIST, {"i": partner.integration_id})
              ).data["outboundEndpoints"]["edges"][0]["node"]["health"]
    assert health["attemptsLast24h"] == 0 and health["successRateLast24h"] is None
    assert health["lastSuccessAt"] is None and health["lastFailureAt"] is None
    assert health["circuitState"] == "CLOSED"
    assert health["fallbackCircuitState"] is None  # no fallback
    assert health["disabledReason"] == "disabled by user test-admin"


async def test_the_listing_pages_oldest_first_with_one_query_per_relation(gql, count_queries):
    partner = await make_integration(gql)
    ids = [(await make_endpoint(gql, partner.integration_id))["endpoint"]["id"]
           for _ in range(3)]
    first = (await gql(LIST, {"i": partner.integration_id, "first": 2})
             ).data["outboundEndpoints"]
    assert [e["node"]["id"] for e in first["edges"]] == ids[:2]
    assert first["pageInfo"]["hasNextPage"]
    rest = (await gql(LIST, {"i": partner.integration_id, "first": 2,
                             "after": first["pageInfo"]["endCursor"]})).data["outboundEndpoints"]
    assert [e["node"]["id"] for e in rest["edges"]] == ids[2:]
    # The health of a page costs the same few queries however many endpoints it holds.
    before = count_queries.count
    await gql(LIST, {"i": partner.integration_id, "first": 1})
    one = count_queries.count - before
    before = count_queries.count
    await gql(LIST, {"i": partner.integration_id, "first": 3})
    assert count_queries.count - before == one


async def test_integration_health_shows_its_endpoints_outbound_figures(gql):
    partner = await make_integration(gql)
    first = (await make_endpoint(gql, partner.integration_id))["endpoint"]
    second = (await make_endpoint(gql, partner.integration_id))["endpoint"]
    await gql(SET_ENABLED, {"input": {"id": second["id"], "enabled": False}})
    now = datetime.now(UTC)
    one = await make_delivery(first["id"], status=DeliveryStatus.SUCCEEDED)
    await make_attempt(one, succeeded=True, at=now - timedelta(minutes=3))
    two = await make_delivery(second["id"], status=DeliveryStatus.FAILED)
    await make_attempt(two, succeeded=False, at=now - timedelta(minutes=2))
    await make_attempt(two, succeeded=False, at=now - timedelta(minutes=1))
    # Waiting on the enabled endpoint: the sweep skips a disabled endpoint's waiting
    # deliveries, and the embedded worker's sweep may run during the test.
    await make_delivery(first["id"], status=DeliveryStatus.PENDING)
    health = (await gql(INTEGRATION_HEALTH, {"i": partner.integration_id})
              ).data["integration"]["health"]
    outbound = health["outbound"]
    assert outbound["endpoints"] == 2 and outbound["enabledEndpoints"] == 1
    assert outbound["attemptsLast24h"] == 3 and outbound["succeededLast24h"] == 1
    assert outbound["successRateLast24h"] == pytest.approx(1 / 3)
    assert _at(outbound["lastSuccessAt"]) == now - timedelta(minutes=3)
    assert _at(outbound["lastFailureAt"]) == now - timedelta(minutes=1)
    assert outbound["unsentDeliveries"] == 1 and outbound["failedLast24h"] == 1


async def test_an_integration_without_endpoints_has_empty_outbound_figures(gql):
    partner = await make_integration(gql)
    outbound = (await gql(INTEGRATION_HEALTH, {"i": partner.integration_id})
                ).data["integration"]["health"]["outbound"]
    assert outbound == {"endpoints": 0, "enabledEndpoints": 0, "attemptsLast24h": 0,
                        "succeededLast24h": 0, "successRateLast24h": None,
                        "lastSuccessAt": None, "lastFailureAt": None, "unsentDeliveries": 0,
                        "oldestUnsentChangeAt": None, "failedLast24h": 0}


async def test_a_circuit_state_that_cannot_be_read_is_null(gql, redis):
    partner = await make_integration(gql)
    url = _url()
    await make_endpoint(gql, partner.integration_id, url=url)
    await redis.hset(CircuitBreaker(redis).key(url), "opened_at", "melted")
    health = (await gql(LIST, {"i": partner.integration_id})
              ).data["outboundEndpoints"]["edges"][0]["node"]["health"]
    assert health["circuitState"] is None
    # Nothing listens on port 1: the states are unknown, not closed.
    unreachable = aioredis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=1)
    try:
        assert await circuit_states(unreachable, [url, _url()]) == [None, None]
    finally:
        await unreachable.aclose()
    assert await circuit_states(redis, [_url()]) == [CircuitState.CLOSED]
