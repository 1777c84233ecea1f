"""Fixtures of the outbound delivery tests: a loopback receiver, endpoints stored as the
management API stores them (signing secret SecretBox-encrypted), deliveries, and an
engine of the test's own.

The test's engine runs on a queue of its own (an in-process Redis substitute), so its
breaker, rate limiter, metrics and deferred jobs are its own and the session app's
worker never runs them; its clock is a ``Clock`` the test moves. Endpoints are deleted
after each test, so the session app's dispatcher and sweep leave them alone."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from receiver import Receiver
from testkit import Clock

from ccm_gateway.kit import standard_webhooks
from ccm_gateway.kit.metrics import Metrics
from ccm_gateway.kit.secrets import SecretBox
from ccm_gateway.outbound.delivery import Engine
from ccm_gateway.outbound.models import (
    OutboundDelivery,
    OutboundEndpoint,
    credentials_context,
    secret_context,
)
from ccm_gateway.worker import open_queue

CREATE_INTEGRATION = """
mutation($input: CreateIntegrationInput!) {
  createIntegration(input: $input) { integration { id refSystem } }
}"""


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver() as r:
        yield r


@pytest.fixture
async def integration(gql: Any) -> dict[str, str]:
    """An integration that sees only customers of a segment of its own."""
    segment = f"seg-{uuid.uuid4().hex[:10]}"
    result = await gql(CREATE_INTEGRATION, {"input": {
        "slug": f"out-{uuid.uuid4().hex[:10]}", "name": "outbound test",
        "kind": "BUILDING_SYSTEM", "profile": "standard-webhooks", "segments": [segment]}})
    data = result.data["createIntegration"]["integration"]
    return {"id": data["id"], "segment": segment, "ref_system": data["refSystem"]}


@pytest.fixture
async def make_endpoint(settings: Any, integration: dict[str, str], receiver: Receiver):
    box = SecretBox.from_settings(settings)
    made: list[OutboundEndpoint] = []

    async def make(*, url: str | None = None, fallback_url: str | None = None,
                   event_types: tuple[str, ...] = ("ledger.entry.posted",),
                   previous_secret: str | None = None, credentials: dict[str, Any] | None = None,
                   **extra: Any) -> OutboundEndpoint:
        endpoint_id = uuid.uuid4()
        secret = standard_webhooks.new_secret()
        receiver.secrets.insert(0, secret)
        fields: dict[str, Any] = {
            "id": endpoint_id, "integration_id": integration["id"],
            "url": url or receiver.url("/hook"), "fallback_url": fallback_url,
            "event_types": list(event_types), "timeout_seconds": 5,
            "secret": box.encrypt(secret, context=secret_context(endpoint_id))} | extra
        if previous_secret is not None:
            fields["previous_secret"] = box.encrypt(previous_secret,
                                                    context=secret_context(endpoint_id))
        if credentials is not None:
            fields["credentials"] = box.encrypt(json.dumps(credentials),
                                                context=credentials_context(endpoint_id))
        endpoint = await OutboundEndpoint.create(**fields)
        endpoint.plain_secret = secret  # type: ignore[attr-defined]
        made.append(endpoint)
        return endpoint

    yield make
    for endpoint in made:
        await OutboundEndpoint.filter(id=endpoint.id).update(enabled=False,
                                                              deleted_at=datetime.now(UTC))


@pytest.fixture
def clock() -> Clock:
    # Whole seconds: the breaker keeps times in integer microseconds, and t + 30 s of a
    # fractional t can round to a microsecond short of "opened_at + 30 s" (still open).
    return Clock(float(int(time.time())))


@pytest.fixture
async def engine_queue(settings: Any) -> AsyncIterator[Any]:
    queue = await open_queue(replace(settings, redis_url=None))
    yield queue
    await queue.aclose()


@pytest.fixture
async def make_engine(settings: Any, engine_queue: Any, clock: Clock):
    """Engines on the test's own queue: ``make_engine(schedule="0,0,5")``; several
    share that queue, as worker processes share Redis."""
    engines: list[Engine] = []

    def make(*, schedule: str = "0,0,0,0,0", env: str = "dev", **options: Any) -> Engine:
        engine = Engine(replace(settings, outbound_retry_schedule=schedule, env=env),
                        engine_queue, Metrics(engine_queue), clock=clock,
                        jitter=options.pop("jitter", lambda: 0.0), **options)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        await engine.aclose()


@pytest.fixture
def make_delivery(clock: Clock):
    async def make(endpoint: OutboundEndpoint, *, event_type: str = "ledger.entry.posted",
                   data: dict[str, Any] | None = None, customer_id: Any = None,
                   version: int | None = None, **extra: Any) -> OutboundDelivery:
        now = datetime.fromtimestamp(clock(), UTC)
        return await OutboundDelivery.create(
            id=uuid.uuid4(), endpoint_id=endpoint.id,
            webhook_id=f"msg_{uuid.uuid4().hex}", event_type=event_type,
            customer_id=customer_id, version=version,
            payload={"type": event_type, "timestamp": now.isoformat(),
                     "data": data or {"n": uuid.uuid4().hex}},
            changed_at=now, next_attempt_at=now, **extra)

    return make
