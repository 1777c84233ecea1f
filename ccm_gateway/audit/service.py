"""Append audit events to per-stream hash chains, and verify the chains."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from time import monotonic
from typing import Any

from tortoise.transactions import in_transaction

from ccm_gateway.audit.models import AuditEvent
from ccm_gateway.kit.locking import key_of, lock_key
from ccm_gateway.kit.pagination import Keyset, Page, Window, page
from ccm_gateway.kit.timestamps import utc_bound
from ccm_gateway.principal import Actor

GENESIS_HASH = "0" * 64
SYSTEM_STREAM = "system"
# PostgreSQL: a stream's last link, for a caller that reads it in a statement of its own
# after taking the stream's lock (``stream_lock_key``).
LAST_LINK_SQL = ('SELECT "seq", "hash" FROM "audit_event" WHERE "stream" = {} '
                 'ORDER BY "seq" DESC LIMIT 1')


@dataclass(frozen=True, slots=True)
class Head:
    """A stream's last link: what the next event chains onto (seq 0 and the genesis hash
    for an empty stream)."""

    seq: int
    hash: str

    @classmethod
    def of(cls, row: Any) -> Head:
        """From a LAST_LINK_SQL row, or None for an empty stream."""
        return cls(0, GENESIS_HASH) if row is None else cls(row["seq"], row["hash"])


def customer_stream(customer_id: Any) -> str:
    """The audit stream of everything about one customer."""
    return f"customer:{customer_id}"


def stream_lock_key(stream: str) -> int:
    """The advisory lock ``record`` takes on ``stream``; a caller that takes it itself, in
    a statement before it reads the head, passes that head to ``record``."""
    return key_of(_lock_name(stream))


def _lock_name(stream: str) -> str:
    return f"audit:{stream}"


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def compute_hash(event: AuditEvent) -> str:
    body = {
        "stream": event.stream,
        "seq": event.seq,
        "actor_type": event.actor_type,
        "actor_id": event.actor_id,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "before": event.before,
        "after": event.after,
        "request_id": event.request_id,
        "created_at": event.created_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "prev_hash": event.prev_hash,
    }
    return hashlib.sha256(_canonical(body).encode()).hexdigest()


async def record(
    actor: Actor,
    action: str,
    *,
    object_type: str,
    object_id: Any,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    stream: str = SYSTEM_STREAM,
    head: Head | None = None,
) -> AuditEvent:
    """Append one event; call inside the transaction of the change it records.

    ``head``: the stream's last link, read by the caller in this transaction after it
    took the stream's lock (``stream_lock_key``), in a later statement than the lock so
    that it saw every append committed before; without it, the lock and the read are
    done here."""
    if head is None:
        # The stream lock orders appends so two writers never fork a chain; the
        # (stream, seq) unique constraint backs it up.
        await lock_key(_lock_name(stream))
        last = (
            await AuditEvent.filter(stream=stream)
            .order_by("-seq")
            .only("seq", "hash")
            .first()
        )
        head = Head(0, GENESIS_HASH) if last is None else Head(last.seq, last.hash)
    event = AuditEvent(
        stream=stream,
        seq=head.seq + 1,
        actor_type=actor.type,
        actor_id=actor.id,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        before=json.loads(_canonical(before)) if before is not None else None,
        after=json.loads(_canonical(after)) if after is not None else None,
        request_id=actor.request_id,
        created_at=datetime.now(UTC),
        prev_hash=head.hash,
    )
    event.hash = compute_hash(event)
    await event.save()
    return event


@dataclass(frozen=True, slots=True)
class ChainProblem:
    stream: str
    seq: int
    problem: str


@dataclass(frozen=True, slots=True)
class ChainCheck:
    """What one pass of ``check_chains`` found, and where a pass that ran out of time stops."""

    events_checked: int
    streams_checked: int
    streams_left: int
    problems: list[ChainProblem]
    # The last stream checked when ``streams_left`` > 0: pass it as ``after`` to go on.
    resume_after: str | None


async def verify_chains() -> tuple[int, list[ChainProblem]]:
    """Recompute every stream's chain; return the number of events checked and the breaks."""
    check = await check_chains()
    return check.events_checked, check.problems


async def check_chains(*, after: str | None = None,
                       time_budget_seconds: float | None = None) -> ChainCheck:
    """Recompute the chains of the streams named after ``after`` (every stream without it),
    in name order. With a time budget, stop after the stream during which it ran out; the
    caller goes on from ``resume_after``, so a log of any size is checked in bounded steps."""
    problems: list[ChainProblem] = []
    checked = 0
    deadline = None if time_budget_seconds is None else monotonic() + time_budget_seconds
    async with in_transaction() as conn:
        query = AuditEvent.all().using_db(conn)
        if after is not None:
            query = query.filter(stream__gt=after)
        streams = [s for (s,) in await query.distinct().order_by("stream").values_list("stream")]
        done = 0
        for stream in streams:
            prev_hash, expected_seq = GENESIS_HASH, 1
            async for event in _iter_stream(stream, conn):
                checked += 1
                if event.seq != expected_seq:
                    problems.append(ChainProblem(stream, event.seq,
                                                 f"sequence gap: expected {expected_seq}"))
                if event.prev_hash != prev_hash:
                    problems.append(ChainProblem(stream, event.seq, "previous hash does not match"))
                if compute_hash(event) != event.hash:
                    problems.append(ChainProblem(stream, event.seq, "content does not match hash"))
                prev_hash, expected_seq = event.hash, event.seq + 1
            done += 1
            if deadline is not None and monotonic() > deadline:
                break
    left = len(streams) - done
    return ChainCheck(checked, done, left, problems, streams[done - 1] if left else None)


async def _iter_stream(stream: str, conn: Any, batch: int = 1000) -> AsyncIterator[AuditEvent]:
    after = 0
    while True:
        rows = (
            await AuditEvent.filter(stream=stream, seq__gt=after)
            .using_db(conn)
            .order_by("seq")
            .limit(batch)
        )
        for row in rows:
            yield row
        if len(rows) < batch:
            return
        after = rows[-1].seq


@dataclass(frozen=True, slots=True)
class AuditFilter:
    object_id: str | None = None
    action: str | None = None
    actor_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


async def list_events(flt: AuditFilter, *, window: Window, max_page_size: int) -> Page:
    """Audit events, newest first."""
    window.check(max_page_size)
    since, until = utc_bound(flt.since, "since"), utc_bound(flt.until, "until")
    query = AuditEvent.all()
    if flt.object_id:
        query = query.filter(object_id=flt.object_id)
    if flt.action:
        query = query.filter(action=flt.action)
    if flt.actor_id:
        query = query.filter(actor_id=flt.actor_id)
    if since:
        query = query.filter(created_at__gte=since)
    if until:
        query = query.filter(created_at__lt=until)
    return await page(query, Keyset(("id",), (int,), descending=True), window)
