"""The inbox: verified callbacks stored before they are acknowledged (invariant 5).

``receive`` inserts the callback (unique per integration + vendor event id) and
only then is the 2xx sent; the queue message that follows only wakes a worker.
If it is lost, ``sweep`` finds the event in the database and enqueues it again,
so the database alone guarantees progress.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.exceptions import RedisError
from tortoise import connections
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from ccm_gateway.audit.service import record
from ccm_gateway.errors import BadInput, Conflict, NotFound
from ccm_gateway.integration.models import (
    InboundEvent,
    InboundStatus,
    Integration,
)
from ccm_gateway.integration.profiles.model import Profile
from ccm_gateway.integration.profiles.normalise import normalise
from ccm_gateway.integration.profiles.reading import envelope, parse_body
from ccm_gateway.kit.pagination import Page, Window, page_newest_first
from ccm_gateway.kit.timestamps import utc_bound
from ccm_gateway.principal import Actor
from ccm_gateway.queue import enqueue_job, jobs_waiting

log = logging.getLogger("ccm_gateway.integration.inbox")

PROCESS_JOB = "process_inbound"
MAX_REPLAY = 500


@dataclass(frozen=True, slots=True)
class Received:
    event_id: uuid.UUID
    status: str
    duplicate: bool
    result: dict[str, Any] | None = None


async def receive(queue: Any, integration: Integration, profile: Profile,
                  headers: Mapping[str, str], body: bytes, content_type: str,
                  now: datetime) -> Received:
    """Store a verified callback; a vendor event id seen before returns the first one.

    Raises ``MalformedBody`` before anything is stored, for a mapped event whose
    fields do not read too: told now, the vendor can fix it, where a stored event that
    processing cannot read would only go dead. The worker normalises it again."""
    document = parse_body(profile, body)
    env = envelope(profile, headers, document)
    normalise(profile, env.event_type, document, env.occurred_at)
    event_id = uuid.uuid4()
    event_type = (env.event_type or "")[:200] or None
    if not await _insert(event_id, integration.id, env.external_id, event_type,
                         content_type[:100], body, env.occurred_at, now):
        first = await InboundEvent.get(integration_id=integration.id,
                                       external_id=env.external_id)
        return Received(first.id, str(first.status), True, first.result)
    await enqueue(queue, event_id)
    return Received(event_id, InboundStatus.RECEIVED.value, False)


# The hottest statement of the edge, written out on PostgreSQL: building it through the
# ORM cost about a quarter of a callback's CPU. The CTE makes Tortoise fetch the
# RETURNING row (it runs a bare INSERT without reading rows).
_INSERT_PG = """
WITH new AS (
  INSERT INTO "inbound_event" ("id", "integration_id", "external_id", "event_type",
    "status", "content_type", "payload", "occurred_at", "received_at", "attempts")
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0)
  ON CONFLICT ("integration_id", "external_id") DO NOTHING
  RETURNING "id")
SELECT "id" FROM new"""


async def _insert(event_id: uuid.UUID, integration_id: Any, external_id: str,
                  event_type: str | None, content_type: str, body: bytes,
                  occurred_at: datetime | None, now: datetime) -> bool:
    """Store a new inbox row; False when this vendor event id is there already."""
    connection = connections.get("default")
    if connection.capabilities.dialect == "postgres":
        _, rows = await connection.execute_query(_INSERT_PG, [
            event_id, integration_id, external_id, event_type,
            InboundStatus.RECEIVED.value, content_type, body, occurred_at, now])
        return bool(rows)
    try:
        await InboundEvent.create(
            id=event_id, integration_id=integration_id, external_id=external_id,
            event_type=event_type, status=InboundStatus.RECEIVED, content_type=content_type,
            payload=body, occurred_at=occurred_at, received_at=now)
    except IntegrityError:
        return False
    return True


async def enqueue(queue: Any, event_id: Any, *, defer_seconds: float = 0,
                  job_id: str | None = None) -> None:
    """Wake a worker; best effort (the sweep enqueues again whatever this loses).
    ``job_id`` defaults to the id of a newly received event's job (``job_id_for``).

    One round trip (``enqueue_job``): the inbox's event ids, and so its job ids, are
    unique already."""
    try:
        await enqueue_job(queue, PROCESS_JOB, (str(event_id),),
                          job_id=job_id or job_id_for(event_id, InboundStatus.RECEIVED),
                          defer_seconds=defer_seconds)
    except (RedisError, OSError) as exc:
        log.warning("could not enqueue inbound event %s (the sweep will): %s", event_id,
                    exc.__class__.__name__)


# --- reading ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EventFilter:
    integration_id: Any = None
    status: InboundStatus | None = None
    received_after: datetime | None = None
    received_before: datetime | None = None


async def page_events(flt: EventFilter, *, window: Window, max_page_size: int) -> Page:
    """Newest first."""
    window.check(max_page_size)
    query = InboundEvent.all()
    if flt.integration_id is not None:
        query = query.filter(integration_id=flt.integration_id)
    if flt.status is not None:
        query = query.filter(status=flt.status)
    received_after = utc_bound(flt.received_after, "receivedAfter")
    received_before = utc_bound(flt.received_before, "receivedBefore")
    if received_after is not None:
        query = query.filter(received_at__gte=received_after)
    if received_before is not None:
        query = query.filter(received_at__lt=received_before)
    return await page_newest_first(query, time_field="received_at", window=window,
                                   id_type=uuid.UUID)


async def get_event(event_id: Any) -> InboundEvent:
    event = await InboundEvent.get_or_none(id=event_id)
    if event is None:
        raise NotFound(f"inbound event {event_id} not found", field="id")
    return event


# --- replay, sweep, retention -----------------------------------------------------

REPLAYABLE = (InboundStatus.DEAD, InboundStatus.PARKED, InboundStatus.IGNORED)


async def replay(actor: Actor, event_ids: Sequence[Any]) -> list[InboundEvent]:
    """Queue dead, parked or ignored events again (in the caller's transaction; the caller
    enqueues after commit). Events already applied or waiting stay as they are, so a
    replay can be repeated safely; the ledger's idempotency key keeps the effect single."""
    ids = list(dict.fromkeys(str(i) for i in event_ids))
    if not 1 <= len(ids) <= MAX_REPLAY:
        raise BadInput(f"ids must list 1 to {MAX_REPLAY} events", field="ids")
    events = {str(e.id): e for e in await InboundEvent.filter(id__in=ids).select_for_update()}
    missing = [i for i in ids if i not in events]
    if missing:
        raise NotFound(f"inbound event {missing[0]} not found", field="ids")
    for event in events.values():
        if event.status not in REPLAYABLE:
            continue
        if event.payload is None:
            raise Conflict(f"inbound event {event.id}: its payload was deleted by retention; "
                           "it cannot be replayed", field="ids")
        before = {"status": str(event.status), "attempts": event.attempts}
        event.status = InboundStatus.RECEIVED
        event.attempts = 0
        event.next_attempt_at = None
        await event.save(update_fields=["status", "attempts", "next_attempt_at"])
        await record(actor, "inbound_event.replay", object_type="inbound_event",
                     object_id=event.id, before=before, after={"status": "received"})
    return [events[i] for i in ids]


async def sweep(queue: Any, *, older_than: timedelta, now: datetime | None = None,
                batch: int = 1000) -> int:
    """Enqueue events that should be in progress but whose queue message is gone.

    An event whose own job still waits in the queue is left to it: under a backlog,
    re-enqueueing those would only add no-op jobs. A job held by a worker that died
    keeps its in-progress mark for about an hour, so a held job counts as gone."""
    now = now or datetime.now(UTC)
    cutoff = now - older_than
    due = await InboundEvent.filter(
        Q(status=InboundStatus.RECEIVED, received_at__lt=cutoff)
        | Q(status=InboundStatus.RETRYING, next_attempt_at__lt=cutoff)
    ).order_by("received_at").limit(batch).values_list("id", "status", "attempts")
    if not due:
        return 0
    waiting = await jobs_waiting(queue, [job_id_for(event_id, InboundStatus(status), attempts)
                                         for event_id, status, attempts in due])
    stamp = now.strftime("%Y%m%d%H%M")
    swept = 0
    for (event_id, _, _), waits in zip(due, waiting, strict=True):
        if waits:
            continue
        # A per-sweep job id: a job held by a dead worker keeps its record under the
        # old id, and enqueue() leaves an existing record as it is.
        await enqueue(queue, event_id, job_id=job_id_for(event_id, run=f"sweep{stamp}"))
        swept += 1
    return swept


def job_id_for(event_id: Any, status: InboundStatus = InboundStatus.RECEIVED,
               attempts: int = 0, *, run: str | None = None) -> str:
    """The job that receive() or a scheduled retry enqueues for an event in this state;
    the sweep checks it to tell a queued event from one whose message was lost.

    ``run`` names a one-off job beside those (a sweep's, a replay's), which a record left
    under the event's usual id cannot block."""
    if run is not None:
        return f"inbound:{event_id}:{run}"
    if status == InboundStatus.RETRYING:
        return f"inbound:{event_id}:try{attempts}"
    return f"inbound:{event_id}"


async def purge_payloads(*, older_than_days: int, now: datetime | None = None,
                         batch: int = 5000) -> int:
    """Delete raw payloads of settled events past retention; metadata stays."""
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(days=older_than_days)
    total = 0
    while True:
        ids = await InboundEvent.filter(
            received_at__lt=cutoff, payload__isnull=False,
            status__in=[InboundStatus.APPLIED, InboundStatus.IGNORED, InboundStatus.DEAD],
        ).limit(batch).values_list("id", flat=True)
        if not ids:
            return total
        total += await InboundEvent.filter(id__in=list(ids)).update(payload=None)
