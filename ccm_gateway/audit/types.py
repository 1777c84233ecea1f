"""GraphQL for the audit log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from ccm_gateway.audit import models
from ccm_gateway.audit import service as audit_service
from ccm_gateway.graphql.common import (
    After,
    Before,
    Connection,
    CtxInfo,
    First,
    Last,
    requires,
    window,
)
from ccm_gateway.principal import Permission as P

# A tampered log can break thousands of links; the console needs the first few to point at.
MAX_BREAKS_SHOWN = 100
# One step of the chain check stops after this long, well inside a query's time budget
# (graphql/cost.py); the caller goes on from where it stopped.
CHAIN_CHECK_SECONDS = 4.0


@strawberry.type(description="One recorded change: who, what, when, before and after. "
                             "Append-only and hash-chained per stream.")
class AuditEvent:
    id: strawberry.ID = strawberry.field(
        description="The event's number; it never changes, as the event never does.")
    stream: str = strawberry.field(description="The hash chain it belongs to.")
    seq: int = strawberry.field(description="Its position in the stream, from 1.")
    actor_type: str = strawberry.field(description="user, client, integration or system.")
    actor_id: str = strawberry.field(description="Who made the change.")
    action: str = strawberry.field(description="What was done, e.g. customer.create.")
    object_type: str = strawberry.field(description="The kind of object changed.")
    object_id: str = strawberry.field(description="The id of the object changed.")
    before: JSON | None = strawberry.field(description="The object before; null on creation.")
    after: JSON | None = strawberry.field(description="The object after.")
    request_id: str | None = strawberry.field(
        description="The X-Request-ID of the request that made the change.")
    created_at: datetime = strawberry.field(description="When it was recorded.")
    prev_hash: str = strawberry.field(description="The hash of the stream's previous event.")
    hash: str = strawberry.field(description="SHA-256 over this event and prevHash.")

    @classmethod
    def of(cls, m: models.AuditEvent) -> AuditEvent:
        return cls(id=strawberry.ID(str(m.id)), stream=m.stream, seq=m.seq,
                   actor_type=m.actor_type, actor_id=m.actor_id, action=m.action,
                   object_type=m.object_type, object_id=m.object_id,
                   before=None if m.before is None else JSON(m.before),
                   after=None if m.after is None else JSON(m.after),
                   request_id=m.request_id, created_at=m.created_at, prev_hash=m.prev_hash,
                   hash=m.hash)


@strawberry.input(description="Narrow the audit log; every field given must match.")
class AuditFilter:
    object_id: str | None = None
    action: str | None = None
    actor_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@strawberry.type(description="One link of an audit stream that does not hold.")
class AuditChainBreak:
    stream: str = strawberry.field(description="The hash chain the link belongs to.")
    seq: int = strawberry.field(description="The position in the stream where it was found.")
    problem: str = strawberry.field(
        description="What does not hold: a sequence gap, a previous hash that does not match, "
                    "or content that does not match its hash.")


@strawberry.type(description="Audit streams' hash chains recomputed from their events, as "
                             "`ccm-gateway verify` does: every stream after `afterStream`, as "
                             "many as fit in a few seconds; go on from resumeAfterStream until "
                             "it is null.")
class AuditChainStatus:
    intact: bool = strawberry.field(
        description="True when no link of the streams checked here is broken.")
    events_checked: int = strawberry.field(description="How many events were recomputed.")
    streams_checked: int = strawberry.field(description="How many streams were recomputed.")
    streams_left: int = strawberry.field(
        description="Streams after the last one checked, still to check.")
    resume_after_stream: str | None = strawberry.field(
        description="The last stream checked: pass it as `afterStream` to check the streams "
                    "left; null: none is left.")
    break_count: int = strawberry.field(description="How many broken links were found.")
    breaks: list[AuditChainBreak] = strawberry.field(
        description=f"The first {MAX_BREAKS_SHOWN} broken links found; "
                    "`ccm-gateway verify` lists them all.")
    checked_at: datetime = strawberry.field(description="When the check ran.")


@strawberry.type
class AuditQuery:
    @strawberry.field(extensions=requires(P.AUDIT_READ),
                      description="The audit log, newest first. Not for partner principals.")
    async def audit_log(self, info: CtxInfo, first: First = None, after: After = None,
                        last: Last = None, before: Before = None,
                        filter: AuditFilter | None = None) -> Connection[AuditEvent]:
        # The log spans every customer; a partner sees only its own customers.
        info.context.principal.require_unscoped("read the audit log")
        flt = filter or AuditFilter()
        page = await audit_service.list_events(
            audit_service.AuditFilter(object_id=flt.object_id, action=flt.action,
                                      actor_id=flt.actor_id, since=flt.since, until=flt.until),
            window=window(info, first, after, last, before),
            max_page_size=info.context.settings.max_page_size)
        return Connection.of(page, AuditEvent.of)

    @strawberry.field(extensions=requires(P.AUDIT_READ),
                      description="Recompute the audit streams' hash chains (the check of "
                                  "`ccm-gateway verify`), in stream name order from after "
                                  "`afterStream`, for at most a few seconds. Not for "
                                  "partner principals.")
    async def audit_chain_status(
            self, info: CtxInfo,
            after_stream: Annotated[str | None, strawberry.argument(
                description="The resumeAfterStream of the previous step; null: from the "
                            "first stream.")] = None) -> AuditChainStatus:
        info.context.principal.require_unscoped("check the audit chain")
        check = await audit_service.check_chains(after=after_stream,
                                                 time_budget_seconds=CHAIN_CHECK_SECONDS)
        return AuditChainStatus(
            intact=not check.problems, events_checked=check.events_checked,
            streams_checked=check.streams_checked, streams_left=check.streams_left,
            resume_after_stream=check.resume_after, break_count=len(check.problems),
            breaks=[AuditChainBreak(stream=p.stream, seq=p.seq, problem=p.problem)
                    for p in check.problems[:MAX_BREAKS_SHOWN]],
            checked_at=datetime.now(UTC))
