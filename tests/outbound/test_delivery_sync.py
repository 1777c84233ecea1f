"""End to end through the session app: changes made over GraphQL reach a loopback
receiver as signed deliveries, sent by the app's own worker (dispatcher and
``outbound.deliver``), with more delivery processes joining in."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from receiver import Answer, Received
from testkit import eventually
from tortoise.transactions import in_transaction

from ccm_gateway.kit import standard_webhooks
from ccm_gateway.ledger import service as ledger_service
from ccm_gateway.ledger.models import EntryKind
from ccm_gateway.outbound.delivery import Engine
from ccm_gateway.outbound.models import DeliveryStatus, OutboundDelivery, OutboundStream
from ccm_gateway.principal import SYSTEM_ACTOR

AUTHORIZE = """
mutation($input: AuthorizeCreditInput!) {
  authorizeCredit(input: $input) { __typename ... on Hold { id } }
}"""


async def _authorize(gql: Any, customer_id: str, amount: str = "1.00") -> None:
    result = await gql(AUTHORIZE, {"input": {"customerId": customer_id,
                                             "amount": {"amount": amount, "currency": "USD"}}})
    assert result.data["authorizeCredit"]["__typename"] == "Hold"


async def _latest_version(endpoint_id: Any, customer_id: str) -> int:
    stream = await OutboundStream.get_or_none(endpoint_id=endpoint_id, customer_id=customer_id)
    return stream.latest_version if stream is not None else -1  # not dispatched yet


async def _caught_up(receiver: Any, endpoint_id: Any, customer_id: str) -> bool:
    """The receiver took the customer's latest state."""
    latest = await _latest_version(endpoint_id, customer_id)
    seen = _states(receiver.answered("/hook")).get(customer_id, [])
    return bool(seen) and seen[-1] == latest


def _states(requests: list[Received]) -> dict[str, list[int]]:
    versions: dict[str, list[int]] = defaultdict(list)
    for request in sorted(requests, key=lambda r: r.order):
        body = request.json()
        if body["type"] == "credit.updated":
            versions[body["data"]["customerId"]].append(body["data"]["version"])
    return versions


async def test_changes_reach_the_receiver_signed_with_both_secrets_during_a_rotation(
        gql, make_customer, make_endpoint, integration, receiver):
    previous = standard_webhooks.new_secret()
    endpoint = await make_endpoint(
        event_types=("credit.updated", "ledger.entry.posted"), previous_secret=previous,
        previous_secret_expires_at=datetime.now(UTC) + timedelta(hours=1))
    receiver.secrets.append(previous)
    customer_id = await make_customer(segment=integration["segment"])
    await _authorize(gql, customer_id)

    await eventually(lambda: _caught_up(receiver, endpoint.id, customer_id), timeout=20)
    requests = receiver.on("/hook")
    assert requests and all(r.verified_by == [True, True] for r in requests)
    assert all(len(r.headers["webhook-signature"].split(" ")) == 2 for r in requests)
    state = requests[-1].json()
    assert state["data"]["customerId"] == customer_id
    assert state["data"]["held"] == {"amount": "1.00", "currency": "USD"}


async def test_an_expired_previous_secret_no_longer_signs(
        gql, make_customer, make_endpoint, integration, receiver):
    previous = standard_webhooks.new_secret()
    endpoint = await make_endpoint(
        event_types=("credit.updated",), previous_secret=previous,
        previous_secret_expires_at=datetime.now(UTC) - timedelta(seconds=1))
    receiver.secrets.append(previous)
    customer_id = await make_customer(segment=integration["segment"])
    await _authorize(gql, customer_id)
    await eventually(lambda: _caught_up(receiver, endpoint.id, customer_id), timeout=20)
    assert all(r.verified_by == [True, False] for r in receiver.on("/hook"))
    assert all(len(r.headers["webhook-signature"].split(" ")) == 1
               for r in receiver.on("/hook"))


async def _done(endpoint_id: Any) -> bool:
    return not await OutboundDelivery.filter(
        endpoint_id=endpoint_id,
        status__in=(DeliveryStatus.PENDING, DeliveryStatus.RETRYING, DeliveryStatus.SENDING),
    ).exists()


async def test_versions_only_rise_at_the_receiver_through_failures_fallbacks_and_processes(
        gql, make_customer, make_endpoint, integration, receiver, settings, engine_queue):
    rng = random.Random(12)
    failed_once: set[str] = set()

    def flaky(request: Received) -> Answer:
        # Each message fails at most once (so the test ends within one retry delay),
        # as a 5xx or an answer slower than the endpoint's timeout.
        if request.webhook_id not in failed_once and rng.random() < 0.3:
            failed_once.add(request.webhook_id or "")
            return Answer(500) if rng.random() < 0.7 else Answer(200, delay=1.5)
        return Answer(200)

    receiver.handle("/hook", flaky)
    receiver.handle("/fallback", flaky)
    endpoint = await make_endpoint(event_types=("credit.updated",), timeout_seconds=1,
                                   fallback_url=receiver.url("/fallback"))
    customers = [await make_customer(segment=integration["segment"]) for _ in range(4)]

    # Two more delivery processes join the app's worker, with retries one second apart.
    helpers = [Engine(replace(settings, outbound_retry_schedule="0,1,1,1,1,1,1,1"),
                      engine_queue, None) for _ in range(2)]
    stop = asyncio.Event()

    async def keep_draining(engine: Engine) -> None:
        while not stop.is_set():
            await engine.drain(endpoint.id)
            await asyncio.sleep(0.05)

    runners = [asyncio.create_task(keep_draining(e)) for e in helpers]
    try:
        async def burst(customer_id: str) -> None:
            for _ in range(25):
                await _authorize(gql, customer_id, "0.10")

        await asyncio.gather(*(burst(c) for c in customers))

        async def caught_up() -> bool:
            if not await _done(endpoint.id):
                return False
            seen = _states(receiver.answered("/hook") + receiver.answered("/fallback"))
            for customer_id in customers:
                latest = await _latest_version(endpoint.id, customer_id)
                if not seen.get(customer_id) or seen[customer_id][-1] != latest:
                    return False
            return True

        await eventually(caught_up, timeout=60, interval=0.2)
        # A last change, whose first attempt times out: its retry goes to the fallback,
        # with no newer state to supersede it.
        receiver.handle("/hook", lambda r: Answer(200))
        receiver.handle("/fallback", lambda r: Answer(200))
        receiver.script("/hook", Answer(200, delay=1.5))
        before = await _latest_version(endpoint.id, customers[0])
        await _authorize(gql, customers[0], "0.10")

        async def dispatched() -> bool:
            return await _latest_version(endpoint.id, customers[0]) > before

        await eventually(dispatched, timeout=20)
        await eventually(caught_up, timeout=60, interval=0.2)
    finally:
        stop.set()
        for runner in runners:
            with contextlib.suppress(Exception):
                await runner
        for engine in helpers:
            await engine.aclose()

    everything = receiver.on("/hook") + receiver.on("/fallback")
    assert all(r.verified for r in everything)
    for customer_id, versions in _states(everything).items():
        assert versions == sorted(versions), (customer_id, versions)
    assert failed_once, "no failure was injected"
    assert receiver.answered("/fallback"), "the fallback never took over"
    statuses = set(await OutboundDelivery.filter(endpoint_id=endpoint.id)
                   .values_list("status", flat=True))
    assert statuses <= {DeliveryStatus.SUCCEEDED, DeliveryStatus.SUPERSEDED}
    assert DeliveryStatus.SUPERSEDED in statuses  # a burst coalesces


async def test_a_burst_of_1000_changes_to_10_customers_coalesces_and_ends_on_each_latest(
        make_customer, make_endpoint, integration, receiver):
    """Latest state wins under a burst: the receiver sees each customer's versions only
    rise, ends with each one's latest state (its balance after all 100 charges), and gets
    far fewer than 1,000 deliveries."""
    receiver.handle("/hook", lambda r: Answer(200))
    endpoint = await make_endpoint(event_types=("credit.updated",))
    customers = [await make_customer(segment=integration["segment"], limit="100000.00")
                 for _ in range(10)]

    async def charges(customer_id: str) -> None:
        for _ in range(100):
            async with in_transaction():
                await ledger_service.post_entry(SYSTEM_ACTOR, customer_id, EntryKind.CHARGE,
                                                100, "USD")

    await asyncio.gather(*(charges(c) for c in customers))

    async def caught_up() -> bool:
        states = _latest_states(receiver.answered("/hook"))
        return all(states.get(c, {}).get("balance") == {"amount": "100.00", "currency": "USD"}
                   for c in customers)

    await eventually(caught_up, timeout=60, interval=0.2)
    versions = _states(receiver.answered("/hook"))
    for customer_id in customers:
        assert versions[customer_id] == sorted(versions[customer_id]), customer_id
        assert versions[customer_id][-1] == await _latest_version(endpoint.id, customer_id)
    sent = sum(len(versions[c]) for c in customers)
    assert sent < 1000, f"{sent} states sent for 1,000 changes: nothing coalesced"


def _latest_states(requests: list[Received]) -> dict[str, dict[str, Any]]:
    """Each customer's state in the last credit.updated the receiver answered."""
    latest: dict[str, dict[str, Any]] = {}
    for request in sorted(requests, key=lambda r: r.order):
        body = request.json()
        if body["type"] == "credit.updated":
            latest[body["data"]["customerId"]] = body["data"]
    return latest
