"""GraphQL for the audit log."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from ccm_gateway.audit import models
from ccm_gateway.audit import service as audit_service
from ccm_gateway.graphql.common import Connection, CtxInfo, page_size, requires
from ccm_gateway.principal import Permission as P


@strawberry.type
class AuditEvent:
    id: strawberry.ID
    stream: str
    seq: int
    actor_type: str
    actor_id: str
    action: str
    object_type: str
    object_id: str
    before: JSON | None
    after: JSON | None
    request_id: str | None
    created_at: datetime
    prev_hash: str
    hash: str

    @classmethod
    def of(cls, m: models.AuditEvent) -> AuditEvent:
        return cls(id=strawberry.ID(str(m.id)), stream=m.stream, seq=m.seq,
                   actor_type=m.actor_type, actor_id=m.actor_id, action=m.action,
                   object_type=m.object_type, object_id=m.object_id,
                   before=None if m.before is None else JSON(m.before),
                   after=None if m.after is None else JSON(m.after),
                   request_id=m.request_id, created_at=m.created_at, prev_hash=m.prev_hash,
                   hash=m.hash)


@strawberry.input
class AuditFilter:
    object_id: str | None = None
    action: str | None = None
    actor_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@strawberry.type
class AuditQuery:
    @strawberry.field(extensions=requires(P.AUDIT_READ), description="Newest first.")
    async def audit_log(self, info: CtxInfo, first: int | None = None, after: str | None = None,
                        filter: AuditFilter | None = None) -> Connection[AuditEvent]:
        # The log spans every customer; a partner sees only its own customers.
        info.context.principal.require_unscoped("read the audit log")
        flt = filter or AuditFilter()
        page = await audit_service.list_events(
            audit_service.AuditFilter(object_id=flt.object_id, action=flt.action,
                                      actor_id=flt.actor_id, since=flt.since, until=flt.until),
            first=page_size(info, first), after=after,
            max_page_size=info.context.settings.max_page_size)
        return Connection.of(page, AuditEvent.of)
