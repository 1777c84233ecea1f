"""The dispatcher: outbox messages become deliveries, one per subscribed endpoint that
may see the customer, and are deleted in the same transaction.

State (``credit.updated``) is kept per (endpoint, customer) in an ``OutboundStream``:
a newer state supersedes an older one still waiting, and a state older than one
already dispatched is dropped, so a receiver's versions only rise. Events
(``ledger.entry.posted``, ``alert.raised``) each become a delivery of their own.

One dispatcher runs at a time (a transaction lock); a batch of 500 messages takes a few
queries, whatever its size.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from redis.exceptions import RedisError
from tortoise.transactions import in_transaction

from ccm_gateway.customer.models import Customer, ExternalRef
from ccm_gateway.integration.models import Integration
from ccm_gateway.kit import outbox
from ccm_gateway.kit.locking import lock_key
from ccm_gateway.kit.outbox import OutboxMessage
from ccm_gateway.ledger.models import CreditAccount
from ccm_gateway.outbound.models import (
    WAITING_STATUSES,
    DeliveryStatus,
    OutboundDelivery,
    OutboundEndpoint,
    OutboundStream,
)
from ccm_gateway.sync import payloads

log = logging.getLogger("ccm_gateway.outbound")

BATCH = 500
# The dispatcher looks on its own this often, wake or not (a lost wake costs this).
IDLE_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class Target:
    """An endpoint as the dispatcher needs it."""

    endpoint_id: Any
    integration_id: Any
    event_types: frozenset[str]
    segments: frozenset[str]
    ref_system: str

    def sees(self, segment: str | None, message: OutboxMessage) -> bool:
        """May this endpoint receive data about the message's customer?"""
        if message.customer_id is not None:
            return segment is not None and ("*" in self.segments or segment in self.segments)
        if message.integration_id is not None:
            return bool(message.integration_id == self.integration_id)
        return "*" in self.segments


async def live_targets() -> list[Target]:
    """Enabled endpoints of enabled integrations."""
    rows = await OutboundEndpoint.filter(enabled=True, deleted_at=None).order_by("id")
    if not rows:
        return []
    integrations = {i.id: i for i in await Integration.filter(
        id__in={r.integration_id for r in rows}, enabled=True, deleted_at=None)}
    return [Target(r.id, r.integration_id, frozenset(r.event_types),
                   frozenset(integrations[r.integration_id].segments),
                   integrations[r.integration_id].ref_system)
            for r in rows if r.integration_id in integrations]


def new_webhook_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


# Given each batch once its transaction has committed (the live subscriptions' publisher).
AfterCommit = Callable[[Sequence[OutboxMessage]], Awaitable[None]]


async def dispatch_once(limit: int = BATCH, *,
                        after_commit: AfterCommit | None = None) -> tuple[int, set[Any]]:
    """Dispatch up to ``limit`` messages; (how many, the endpoints given deliveries)."""
    async with in_transaction():
        await lock_key("outbound.dispatch")
        messages = await OutboxMessage.all().order_by("id").limit(limit).select_for_update()
        if not messages:
            return 0, set()
        woken = await _fan_out(messages, await live_targets())
        await OutboxMessage.filter(id__in=[m.id for m in messages]).delete()
    if after_commit is not None:
        await after_commit(messages)
    return len(messages), woken


async def _fan_out(messages: Sequence[OutboxMessage], targets: Sequence[Target]) -> set[Any]:
    if not targets:
        return set()
    customer_ids = {m.customer_id for m in messages if m.customer_id is not None}
    customers = {c.id: c for c in await Customer.filter(id__in=customer_ids)}
    now = datetime.now(UTC)
    deliveries: list[OutboundDelivery] = []
    # (endpoint, customer) -> the newest message that changed the customer's state
    states: dict[tuple[Any, Any], OutboxMessage] = {}
    for message in messages:
        customer = customers.get(message.customer_id) if message.customer_id else None
        segment = customer.segment if customer is not None else None
        for target in targets:
            if not target.sees(segment, message):
                continue
            if message.event_type and message.event_type in target.event_types \
                    and _goes_outbound(message):
                deliveries.append(OutboundDelivery(
                    id=uuid.uuid4(), endpoint_id=target.endpoint_id,
                    webhook_id=new_webhook_id(), event_type=message.event_type,
                    customer_id=message.customer_id, alert_id=_alert_id(message),
                    payload=payloads.envelope(message.event_type, message.created_at,
                                              message.data or {}),
                    changed_at=message.created_at))
            if message.state_changed and payloads.STATE_TYPE in target.event_types:
                states[(target.endpoint_id, message.customer_id)] = message
    if states:
        deliveries += await _state_deliveries(states, customers, targets, now)
    if deliveries:
        await OutboundDelivery.bulk_create(deliveries)
    return {d.endpoint_id for d in deliveries}


def _goes_outbound(message: OutboxMessage) -> bool:
    """An alert whose rule left out the outbound channel is not delivered to endpoints."""
    if message.event_type != "alert.raised" or not message.data:
        return True
    return "outbound" in message.data.get("channels", ("outbound",))


def _alert_id(message: OutboxMessage) -> Any:
    if message.event_type != "alert.raised" or not message.data:
        return None
    return message.data.get("alertId")


async def _state_deliveries(
    states: dict[tuple[Any, Any], OutboxMessage], customers: dict[Any, Customer],
    targets: Sequence[Target], now: datetime,
) -> list[OutboundDelivery]:
    endpoint_ids = {e for e, _ in states}
    customer_ids = {c for _, c in states}
    streams = await _lock_streams(endpoint_ids, customer_ids, set(states))
    fresh = {pair: m for pair, m in states.items() if m.id > streams[pair].latest_version}
    if not fresh:
        return []
    accounts = {a.customer_id: a for a in await CreditAccount.filter(customer_id__in=customer_ids)}
    by_endpoint = {t.endpoint_id: t for t in targets}
    systems = {by_endpoint[e].ref_system for e in endpoint_ids}
    refs: dict[tuple[Any, str], list[ExternalRef]] = defaultdict(list)
    for ref in await ExternalRef.filter(customer_id__in=customer_ids, system__in=systems) \
            .order_by("id"):
        refs[(ref.customer_id, ref.system)].append(ref)
    # A newer state replaces one still waiting; one being sent finishes first.
    for endpoint_id in endpoint_ids:
        waiting = [c for e, c in fresh if e == endpoint_id]
        await OutboundDelivery.filter(
            endpoint_id=endpoint_id, customer_id__in=waiting,
            event_type=payloads.STATE_TYPE, status__in=WAITING_STATUSES,
        ).update(status=DeliveryStatus.SUPERSEDED, next_attempt_at=None)
    made = []
    for (endpoint_id, customer_id), message in fresh.items():
        customer, account = customers.get(customer_id), accounts.get(customer_id)
        if customer is None or account is None:
            continue
        data = payloads.credit_state(customer, account,
                                     refs[(customer_id, by_endpoint[endpoint_id].ref_system)],
                                     message.id)
        made.append(OutboundDelivery(
            id=uuid.uuid4(), endpoint_id=endpoint_id, webhook_id=new_webhook_id(),
            event_type=payloads.STATE_TYPE, customer_id=customer_id, version=message.id,
            payload=payloads.envelope(payloads.STATE_TYPE, now, data),
            changed_at=message.created_at))
        stream = streams[(endpoint_id, customer_id)]
        await OutboundStream.filter(id=stream.id).update(latest_version=message.id)
    return made


async def _lock_streams(endpoint_ids: set[Any], customer_ids: set[Any],
                        pairs: set[tuple[Any, Any]]) -> dict[tuple[Any, Any], OutboundStream]:
    """The streams of ``pairs``, created where missing, locked until the transaction ends."""
    def query() -> Any:
        return OutboundStream.filter(endpoint_id__in=endpoint_ids,
                                     customer_id__in=customer_ids).order_by("id")

    found = {(s.endpoint_id, s.customer_id): s for s in await query().select_for_update()}
    missing = [OutboundStream(endpoint_id=e, customer_id=c) for e, c in pairs - found.keys()]
    if missing:
        await OutboundStream.bulk_create(missing, ignore_conflicts=True)
        found = {(s.endpoint_id, s.customer_id): s for s in await query().select_for_update()}
    return found


# --- the loop in each worker process ----------------------------------------------

Deliver = Callable[[set[Any]], Awaitable[None]]


async def run(queue: Any, on_deliveries: Deliver, *, idle_seconds: float = IDLE_SECONDS,
              after_commit: AfterCommit | None = None) -> None:
    """Dispatch whenever woken (``kit/outbox.wake``) and at least every ``idle_seconds``,
    until cancelled; ``on_deliveries`` gets the endpoints that were given deliveries,
    ``after_commit`` each dispatched batch."""
    while True:
        try:
            # Drain the wakes first: one pushed after this still wakes the next wait,
            # and the messages it announces committed before it was pushed.
            await queue.delete(outbox.WAKE_KEY)
            while True:
                count, woken = await dispatch_once(after_commit=after_commit)
                if woken:
                    await on_deliveries(woken)
                if count < BATCH:
                    break
            await queue.blpop([outbox.WAKE_KEY], timeout=idle_seconds)
        except asyncio.CancelledError:
            raise
        except (RedisError, OSError) as exc:
            log.warning("outbox dispatcher: queue unavailable: %s", exc.__class__.__name__)
            await asyncio.sleep(idle_seconds)
        except Exception:  # the loop must outlive any one bad pass; logged for the operator
            log.exception("outbox dispatcher pass failed")
            await asyncio.sleep(idle_seconds)


@contextlib.asynccontextmanager
async def running(queue: Any, on_deliveries: Deliver, *,
                  after_commit: AfterCommit | None = None) -> Any:
    task = asyncio.create_task(run(queue, on_deliveries, after_commit=after_commit),
                               name="outbox-dispatcher")
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
