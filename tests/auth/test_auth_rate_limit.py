"""Rate limiting: GCRA per principal on /graphql, stored in the queue's Redis."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from testkit import Clock

from ccm_gateway.app import create_app
from ccm_gateway.config import Settings
from ccm_gateway.customer.models import Customer
from ccm_gateway.errors import ConfigError
from ccm_gateway.kit.ratelimit import Decision, RateLimiter

QUERY = {"query": "{ sites { id } }"}
CREATE_CUSTOMER = """
mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { id } }"""
BURST = 3


def customer_input(name: str) -> dict[str, Any]:
    return {"query": CREATE_CUSTOMER, "variables": {"input": {
        "name": name, "segment": "haulage", "currency": "USD",
        "creditLimit": {"amount": "100.00", "currency": "USD"}}}}


@contextlib.asynccontextmanager
async def app_with(app: Any, settings: Settings, rate: int,
                   burst: int) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """An app of its own with these limits, on the session app's database and queue.

    Its lifespan is not run: Tortoise allows one global context per process and
    the session app holds it. It shares the session app's queue (fakeredis or
    Redis), which its lifespan would have opened.
    """
    own = create_app(replace(settings, rate_limit_per_second=rate, rate_limit_burst=burst))
    own.state.queue = app.state.queue
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=own),
                                 base_url="http://ccm.test") as c:
        yield c, own.state.tokens


@pytest.fixture
async def limited(app: Any, settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """BURST requests at once, then one per 100 seconds (slow enough that a busy CI
    machine cannot refill the bucket between the requests of one test)."""
    async with app_with(app, settings, 0.01, BURST) as pair:
        yield pair


def bearer(tokens: Any, subject: str, kind: str = "user") -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens.issue(subject, ['admin'], kind=kind)}"}


# --- over HTTP ------------------------------------------------------------------------


async def test_a_burst_passes_and_the_next_request_is_refused_and_changes_nothing(limited):
    c, tokens = limited
    headers = bearer(tokens, f"burst-{uuid.uuid4().hex}")
    names = [f"Rate {uuid.uuid4().hex}" for _ in range(BURST + 1)]
    for name in names[:BURST]:
        response = await c.post("/graphql", json=customer_input(name), headers=headers)
        assert response.status_code == 200, response.text
        assert not response.json().get("errors")

    refused = await c.post("/graphql", json=customer_input(names[BURST]), headers=headers)

    assert refused.status_code == 429
    retry_after = int(refused.headers["retry-after"])
    assert 90 <= retry_after <= 100
    body = refused.json()
    assert set(body) == {"errors"}
    [error] = body["errors"]
    assert error["extensions"] == {"code": "RATE_LIMITED", "retryAfter": retry_after,
                                   "requestId": refused.headers["x-request-id"]}
    assert "rate limit" in error["message"]
    assert await Customer.filter(name__in=names[:BURST]).count() == BURST
    assert not await Customer.filter(name=names[BURST]).exists()


async def test_one_principal_spike_does_not_limit_another(limited):
    c, tokens = limited
    subject = f"spike-{uuid.uuid4().hex}"
    spiking = bearer(tokens, subject)
    for _ in range(BURST):
        assert (await c.post("/graphql", json=QUERY, headers=spiking)).status_code == 200
    assert (await c.post("/graphql", json=QUERY, headers=spiking)).status_code == 429

    other = bearer(tokens, f"calm-{uuid.uuid4().hex}")
    # Same subject, other kind: a different principal, a different bucket.
    same_name_client = bearer(tokens, subject, kind="client")
    for headers in (other, same_name_client):
        for _ in range(BURST):
            assert (await c.post("/graphql", json=QUERY, headers=headers)).status_code == 200


async def test_unauthenticated_requests_are_not_counted_per_principal(limited):
    c, tokens = limited
    for _ in range(BURST + 2):
        response = await c.post("/graphql", json=QUERY, headers={"Authorization": "Bearer x"})
        assert response.status_code == 401
    headers = bearer(tokens, f"after-401-{uuid.uuid4().hex}")
    for _ in range(BURST):
        assert (await c.post("/graphql", json=QUERY, headers=headers)).status_code == 200


async def test_a_rate_of_zero_turns_limiting_off(app, settings):
    async with app_with(app, settings, 0, 0) as (c, tokens):
        headers = bearer(tokens, f"unlimited-{uuid.uuid4().hex}")
        for _ in range(10):
            assert (await c.post("/graphql", json=QUERY, headers=headers)).status_code == 200


class DownRedis:
    """A queue whose Redis is unreachable."""

    def register_script(self, script: str) -> Any:
        async def call(**kwargs: Any) -> Any:
            raise RedisConnectionError("Connection refused")

        return call


async def test_an_unreachable_redis_fails_open(app, settings, caplog):
    own = create_app(replace(settings, rate_limit_per_second=1, rate_limit_burst=1))
    own.state.queue = DownRedis()
    headers = bearer(own.state.tokens, f"down-{uuid.uuid4().hex}")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=own),
                                 base_url="http://ccm.test") as c:
        for _ in range(3):
            assert (await c.post("/graphql", json=QUERY, headers=headers)).status_code == 200
    assert "rate limiter unavailable" in caplog.text


# --- GCRA timing, on the session queue's Redis (fakeredis or Redis) with a fake clock ----


@pytest.fixture
def clock() -> Clock:
    return Clock(1_000_000.0)


@pytest.fixture
def limiter(app: Any, clock: Clock) -> RateLimiter:
    # A fresh prefix per test: Redis is shared with the session app and other runs.
    return RateLimiter(app.state.queue, rate_per_second=10, burst=5,
                       prefix=f"test:{uuid.uuid4().hex}:", clock=clock)


async def test_a_full_bucket_allows_the_burst_then_refuses_for_one_interval(limiter):
    decisions = [await limiter.hit("k") for _ in range(5)]
    assert [d.allowed for d in decisions] == [True] * 5
    assert [d.remaining for d in decisions] == [4, 3, 2, 1, 0]
    assert all(d.retry_after_seconds == 0 for d in decisions)

    refused = await limiter.hit("k")
    assert refused == Decision(allowed=False, retry_after_seconds=0.1, remaining=0)
    # A refused request does not use up anything: the wait stays the same.
    assert (await limiter.hit("k")).retry_after_seconds == 0.1


async def test_tokens_refill_at_the_rate(limiter, clock):
    for _ in range(5):
        assert (await limiter.hit("k")).allowed
    clock.now += 0.05  # half an interval: nothing yet
    half = await limiter.hit("k")
    assert not half.allowed
    assert half.retry_after_seconds == pytest.approx(0.05)

    clock.now += 0.05  # one interval: exactly one more
    assert (await limiter.hit("k")).allowed
    assert not (await limiter.hit("k")).allowed

    clock.now += 0.3  # three intervals: three more
    assert [(await limiter.hit("k")).allowed for _ in range(4)] == [True, True, True, False]


async def test_a_long_idle_refills_only_up_to_the_burst(limiter, clock):
    for _ in range(5):
        assert (await limiter.hit("k")).allowed
    clock.now += 3600
    assert [(await limiter.hit("k")).allowed for _ in range(6)] == [True] * 5 + [False]


async def test_a_steady_rate_is_allowed_forever(limiter, clock):
    for _ in range(50):
        assert (await limiter.hit("k")).allowed
        clock.now += 0.1


async def test_keys_are_independent(limiter):
    for _ in range(5):
        assert (await limiter.hit("a")).allowed
    assert not (await limiter.hit("a")).allowed
    assert (await limiter.hit("b")).allowed


async def test_keys_expire_when_the_bucket_is_full_again(limiter, app):
    for _ in range(3):
        await limiter.hit("k")
    ttl_ms = await app.state.queue.pttl(limiter.prefix + "k")
    assert 0 < ttl_ms <= 300  # three requests at 10/s refill in 300 ms


async def test_rate_and_burst_can_be_given_per_call(limiter, clock):
    assert [(await limiter.hit("hook", rate_per_second=1, burst=2)).allowed
            for _ in range(3)] == [True, True, False]
    refused = await limiter.hit("hook", rate_per_second=1, burst=2)
    assert refused.retry_after_seconds == 1.0
    clock.now += 1
    assert (await limiter.hit("hook", rate_per_second=1, burst=2)).allowed


async def test_a_fractional_rate_works(limiter, clock):
    # One request every 3 s, like a slow integration.
    assert (await limiter.hit("slow", rate_per_second=1 / 3, burst=1)).allowed
    refused = await limiter.hit("slow", rate_per_second=1 / 3, burst=1)
    assert refused.retry_after_seconds == 3.0
    clock.now += 3
    assert (await limiter.hit("slow", rate_per_second=1 / 3, burst=1)).allowed


async def test_the_limiter_refuses_impossible_limits(limiter):
    with pytest.raises(ValueError, match="burst"):
        await limiter.hit("k", burst=0)
    with pytest.raises(ValueError, match="rate"):
        await limiter.hit("k", rate_per_second=-1)


def test_retry_after_header_is_whole_seconds_rounded_up_and_at_least_one():
    assert Decision(False, 0.001, 0).retry_after_header == 1
    assert Decision(False, 1.0, 0).retry_after_header == 1
    assert Decision(False, 1.2, 0).retry_after_header == 2


# --- settings ----------------------------------------------------------------------------


def test_rate_limit_settings_from_the_environment():
    settings = Settings.from_env({"CCM_RATE_LIMIT_PER_SECOND": "5",
                                  "CCM_RATE_LIMIT_BURST": "20"})
    assert (settings.rate_limit_per_second, settings.rate_limit_burst) == (5, 20)
    off = Settings.from_env({"CCM_RATE_LIMIT_PER_SECOND": "0", "CCM_RATE_LIMIT_BURST": "0"})
    assert off.rate_limit_per_second == 0


@pytest.mark.parametrize(("env", "named"), [
    ({"CCM_RATE_LIMIT_PER_SECOND": "-1"}, "CCM_RATE_LIMIT_PER_SECOND"),
    ({"CCM_RATE_LIMIT_PER_SECOND": "2000000"}, "CCM_RATE_LIMIT_PER_SECOND"),
    ({"CCM_RATE_LIMIT_PER_SECOND": "fast"}, "CCM_RATE_LIMIT_PER_SECOND"),
    ({"CCM_RATE_LIMIT_BURST": "0"}, "CCM_RATE_LIMIT_BURST"),
])
def test_bad_rate_limit_settings_are_named(env, named):
    with pytest.raises(ConfigError, match=named):
        Settings.from_env(env)
