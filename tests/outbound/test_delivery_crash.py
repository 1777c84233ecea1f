"""A delivery worker SIGKILLed in the middle of a burst, then started again.

A separate `ccm-gateway worker` process (on a Redis database of its own, the session
database's PostgreSQL) sends alongside the session app's embedded worker. Midway through
a burst of committed changes (holds, which change customers' credit state, and events
written to the outbox) it is killed with SIGKILL, and later a new one starts. Changes
rolled back in the same burst must send nothing. At the end every committed event has
reached the receiver with a 2xx at least once, each customer's last state received is
its latest, and no customer's version ever went down at the receiver.

What the killed worker had claimed stays SENDING until the sweep sends it again
(CCM_OUTBOUND_STUCK_MARGIN_SECONDS=2 here). Only on PostgreSQL + Redis, like
tests/integration/test_webhook_crash.py, whose process helpers this reuses.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from receiver import Answer, Received
from testkit import eventually
from tortoise.transactions import in_transaction

from ccm_gateway.kit import outbox
from ccm_gateway.outbound.models import DeliveryStatus, OutboundDelivery, OutboundStream

BACKEND = os.environ.get("CCM_TEST_BACKEND", "sqlite")

pytestmark = pytest.mark.skipif(
    BACKEND != "postgres",
    reason="needs PostgreSQL + Redis and a separate worker process to kill "
           "(CCM_TEST_BACKEND=postgres)")

sys.path.insert(0, str(Path(__file__).parent.parent / "integration"))
from test_webhook_crash import (  # noqa: E402
    Processes,
    _claim_redis_db,
    _wait_worker_started,
)

CUSTOMERS = 4
CHANGES_PER_CUSTOMER = 30
KILL_AFTER_REQUESTS = 40
SETTLE_TIMEOUT = 120.0

AUTHORIZE = """
mutation($input: AuthorizeCreditInput!) {
  authorizeCredit(input: $input) { __typename }
}"""


async def test_a_killed_delivery_worker_loses_nothing_and_sends_no_version_backwards(
        settings, gql, make_customer, make_endpoint, integration, receiver, tmp_path):
    assert settings.redis_url
    receiver.answer("/hook", Answer(200, delay=0.2))
    endpoint = await make_endpoint(event_types=("credit.updated", "ledger.entry.posted"),
                                   timeout_seconds=1)
    customers = [await make_customer(segment=integration["segment"])
                 for _ in range(CUSTOMERS)]

    redis_url, crash_redis = await _claim_redis_db(settings.redis_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCM_")}
    env.update({
        "CCM_DATABASE_URL": settings.database_url, "CCM_REDIS_URL": redis_url,
        "CCM_SECRET_KEY": settings.secret_key, "CCM_EMBEDDED_WORKER": "false",
        "CCM_OUTBOUND_RETRY_SCHEDULE": "0,1,1,1,1,1,1,1,1,1",
        "CCM_OUTBOUND_STUCK_MARGIN_SECONDS": "2", "CCM_LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1"})
    processes = Processes(env, tmp_path)
    committed: set[str] = set()
    rolled_back: set[str] = set()
    stats: dict[str, Any] = {}
    try:
        first = processes.start("worker-1", "worker")
        await _wait_worker_started(processes, first)

        async def changes(customer_id: str) -> None:
            for i in range(CHANGES_PER_CUSTOMER):
                result = await gql(AUTHORIZE, {"input": {
                    "customerId": customer_id,
                    "amount": {"amount": "0.10", "currency": "USD"}}})
                assert result.data["authorizeCredit"]["__typename"] == "Hold"
                # The app wakes its own worker's dispatcher; the separate worker is woken
                # too, so that both take their share.
                await outbox.wake(crash_redis)
                marker = uuid.uuid4().hex
                with contextlib.suppress(RuntimeError):
                    async with in_transaction():
                        await outbox.record(customer_id=customer_id,
                                            event_type="ledger.entry.posted",
                                            data={"marker": marker})
                        if i % 5 == 4:
                            rolled_back.add(marker)
                            raise RuntimeError("rolled back")
                        committed.add(marker)
                await outbox.wake(crash_redis)

        async def crash() -> None:
            await receiver.wait_for(lambda: len(receiver.requests) >= KILL_AFTER_REQUESTS,
                                    timeout=60)
            first.send_signal(signal.SIGKILL)
            await asyncio.to_thread(first.wait, 10)
            stats["sending_at_kill"] = await OutboundDelivery.filter(
                endpoint_id=endpoint.id, status=DeliveryStatus.SENDING).count()
            stats["received_at_kill"] = len(receiver.requests)
            stats["jobs_of_killed"] = processes.log_of(first).read_text(
                errors="replace").count("outbound.deliver")
            await asyncio.sleep(1)
            stats["sending_1s_after_kill"] = await OutboundDelivery.filter(
                endpoint_id=endpoint.id, status=DeliveryStatus.SENDING).count()
            processes.start("worker-2", "worker")

        await asyncio.gather(*(changes(c) for c in customers), crash())
        assert first.returncode == -signal.SIGKILL

        def markers(requests: list[Received]) -> set[str]:
            return {r.json()["data"].get("marker") for r in requests
                    if r.json()["type"] == "ledger.entry.posted"}

        async def settled() -> bool:
            if not committed <= markers(receiver.answered("/hook")):
                return False
            seen = _states(receiver.answered("/hook"))
            for customer_id in customers:
                stream = await OutboundStream.get_or_none(endpoint_id=endpoint.id,
                                                          customer_id=customer_id)
                if (stream is None or not seen.get(customer_id)
                        or seen[customer_id][-1] != stream.latest_version):
                    return False
            return True

        started = time.monotonic()
        await eventually(settled, timeout=SETTLE_TIMEOUT, interval=0.5)
        stats["settled_after_s"] = round(time.monotonic() - started, 1)
        statuses = await OutboundDelivery.filter(endpoint_id=endpoint.id) \
            .values_list("status", flat=True)
        stats["statuses"] = {str(s): statuses.count(s) for s in set(statuses)}
        stats["requests"] = len(receiver.requests)
        stats["repeats"] = len(receiver.requests) - len({r.webhook_id
                                                         for r in receiver.requests})

        assert not markers(receiver.requests) & rolled_back
        assert all(r.verified for r in receiver.requests)
        for customer_id, versions in _states(receiver.requests).items():
            assert versions == sorted(versions), (customer_id, versions)
        print(f"outbound crash test: {stats}")
    except BaseException:
        print(f"outbound crash test stats: {stats}")
        print(processes.tails())
        raise
    finally:
        processes.stop_all()
        with contextlib.suppress(Exception):
            await crash_redis.flushdb()
        await crash_redis.aclose()


def _states(requests: list[Received]) -> dict[str, list[int]]:
    versions: dict[str, list[int]] = defaultdict(list)
    for request in sorted(requests, key=lambda r: r.order):
        body = request.json()
        if body["type"] == "credit.updated":
            versions[body["data"]["customerId"]].append(body["data"]["version"])
    return versions
