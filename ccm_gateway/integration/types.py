"""GraphQL for integrations, their inbox and protocol profiles.

A signing secret is returned once, by the mutation that generates it; no query
shows a secret. Integrations are global (not a partner's), so partner
principals can neither see nor manage them.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON
from tortoise.transactions import in_transaction

from ccm_gateway.graphql.common import Connection, CtxInfo, page_size, requires
from ccm_gateway.integration import inbox, models
from ccm_gateway.integration import service as integration_service
from ccm_gateway.kit.ids import parse_uuid
from ccm_gateway.kit.secrets import SecretBox
from ccm_gateway.principal import Permission as P

# The models' enums are the GraphQL enums (as in ledger/types.py).
IntegrationKind = models.IntegrationKind
InboundStatus = models.InboundStatus


def _not_partner(info: CtxInfo) -> None:
    info.context.principal.require_unscoped("see or manage integrations")


def _box(info: CtxInfo) -> SecretBox:
    return SecretBox.from_settings(info.context.settings)


@strawberry.type
class RateLimit:
    per_second: int
    burst: int


@strawberry.type(description="Figures over the last 24 hours, and what waits for an admin.")
class IntegrationHealth:
    last_event_at: datetime | None
    received_last_24h: int
    failed_last_24h: int = strawberry.field(
        description="Dead, parked or waiting for a retry, of those received in 24 h.")
    failure_rate: float
    dead_letters: int
    parked: int


@strawberry.type(description="An external system that calls POST /webhooks/{slug}.")
class Integration:
    _m: strawberry.Private[models.Integration]
    id: strawberry.ID
    slug: str
    name: str
    kind: IntegrationKind
    profile: str
    ref_system: str = strawberry.field(
        description="The ExternalRef system its customer ids resolve through.")
    segments: list[str]
    rate_limit: RateLimit
    enabled: bool
    secret_overlap_seconds: int
    previous_secret_expires_at: datetime | None
    deleted_at: datetime | None
    version: int
    created_at: datetime

    @classmethod
    def of(cls, m: models.Integration) -> Integration:
        expires = m.previous_secret_expires_at if m.previous_secret else None
        return cls(_m=m, id=strawberry.ID(str(m.id)), slug=m.slug, name=m.name,
                   kind=IntegrationKind(str(m.kind)), profile=m.profile,
                   ref_system=m.ref_system, segments=list(m.segments),
                   rate_limit=RateLimit(per_second=m.rate_limit_per_second,
                                        burst=m.rate_limit_burst),
                   enabled=m.enabled, secret_overlap_seconds=m.secret_overlap_seconds,
                   previous_secret_expires_at=expires, deleted_at=m.deleted_at,
                   version=m.version, created_at=m.created_at)

    @strawberry.field
    async def health(self, info: CtxInfo) -> IntegrationHealth:
        h = await info.context.loaders.of(integration_service.health_by_id).load(self._m.id)
        return IntegrationHealth(last_event_at=h.last_event_at, received_last_24h=h.received,
                                 failed_last_24h=h.failed, failure_rate=h.failure_rate,
                                 dead_letters=h.dead_letters, parked=h.parked)


@strawberry.type(description="The integration, and its signing secret when we generated it "
                             "(shown this once; null when you supplied the secret).")
class IntegrationWithSecret:
    integration: Integration
    secret: str | None


@strawberry.type(description="A verified callback in the inbox.")
class InboundEvent:
    _m: strawberry.Private[models.InboundEvent]
    id: strawberry.ID
    integration_id: strawberry.ID
    external_id: str = strawberry.field(description="The vendor's event id.")
    event_type: str | None
    canonical_type: str | None
    status: InboundStatus
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    customer_id: strawberry.ID | None
    occurred_at: datetime | None
    received_at: datetime
    applied_at: datetime | None
    result: JSON | None
    payload_retained: bool

    @classmethod
    def of(cls, m: models.InboundEvent) -> InboundEvent:
        return cls(_m=m, id=strawberry.ID(str(m.id)),
                   integration_id=strawberry.ID(str(m.integration_id)),
                   external_id=m.external_id, event_type=m.event_type,
                   canonical_type=m.canonical_type, status=InboundStatus(str(m.status)),
                   attempts=m.attempts, last_error=m.last_error,
                   next_attempt_at=m.next_attempt_at,
                   customer_id=strawberry.ID(str(m.customer_id)) if m.customer_id else None,
                   occurred_at=m.occurred_at, received_at=m.received_at,
                   applied_at=m.applied_at,
                   result=JSON(m.result) if m.result is not None else None,
                   payload_retained=m.payload is not None)

    @strawberry.field(extensions=requires(P.INTEGRATION_WRITE),
                      description="The raw callback as received (UTF-8, undecodable bytes "
                                  "replaced), for inspecting a dead letter before replaying "
                                  "it; null once retention deleted it.")
    def payload(self) -> str | None:
        raw = self._m.payload
        return None if raw is None else bytes(raw).decode("utf-8", errors="replace")


@strawberry.type(description="How a vendor's callbacks are verified and read.")
class ProtocolProfile:
    name: str
    description: str
    source: str = strawberry.field(description="shipped (a file in webhooks/) or uploaded")
    scheme: str
    body_format: str
    tolerance_seconds: int
    event_types: list[str] = strawberry.field(description="Vendor event types it maps.")
    text: str | None = strawberry.field(description="The YAML of an uploaded profile.")

    @classmethod
    def of(cls, info: integration_service.ProfileInfo) -> ProtocolProfile:
        p = info.profile
        return cls(name=p.name, description=p.description, source=info.source,
                   scheme=p.scheme, body_format=p.body_format,
                   tolerance_seconds=p.tolerance_seconds, event_types=list(p.mapped_types()),
                   text=info.text)


@strawberry.input
class RateLimitInput:
    per_second: int
    burst: int


@strawberry.input
class CreateIntegrationInput:
    slug: str
    name: str
    kind: IntegrationKind
    profile: str
    segments: list[str] = strawberry.field(description="Segments it may write; ['*'] = all.")
    ref_system: str | None = strawberry.field(default=None, description="Default: the slug.")
    rate_limit: RateLimitInput | None = None
    secret: str | None = strawberry.field(
        default=None, description="The vendor's signing secret; omit to have one generated.")
    secret_overlap_seconds: int | None = None


@strawberry.input
class UpdateIntegrationInput:
    id: strawberry.ID
    expected_version: int | None = None
    name: str | None = None
    profile: str | None = None
    ref_system: str | None = None
    segments: list[str] | None = None
    rate_limit: RateLimitInput | None = None
    secret_overlap_seconds: int | None = None


@strawberry.input
class SetIntegrationEnabledInput:
    id: strawberry.ID
    enabled: bool


@strawberry.input
class DeleteIntegrationInput:
    id: strawberry.ID


@strawberry.input
class RotateIntegrationSecretInput:
    id: strawberry.ID
    secret: str | None = strawberry.field(default=None,
                                          description="Omit to have one generated.")
    overlap_seconds: int | None = strawberry.field(
        default=None, description="How long the old secret still verifies; default: the "
                                  "integration's secretOverlapSeconds.")


@strawberry.input
class UploadProtocolProfileInput:
    source: str = strawberry.field(description="The profile's YAML (or JSON).")


@strawberry.input
class ReplayInboundEventInput:
    ids: list[strawberry.ID]


@strawberry.input
class InboundEventFilter:
    integration_id: strawberry.ID | None = None
    status: InboundStatus | None = None
    received_after: datetime | None = None
    received_before: datetime | None = None


def _id(value: Any, field: str = "id") -> Any:
    return parse_uuid(str(value), field)


async def _enqueue_replayed(info: CtxInfo, events: list[models.InboundEvent]) -> None:
    queue = info.context.queue
    for event in events:
        if event.status == models.InboundStatus.RECEIVED:
            # A fresh job id: arq refuses one whose earlier result it still keeps.
            run = f"replay-{uuid.uuid4().hex[:12]}"
            await inbox.enqueue(queue, event.id, job_id=inbox.job_id_for(event.id, run=run))


@strawberry.type
class IntegrationQuery:
    @strawberry.field(extensions=requires(P.INTEGRATION_READ), description="By slug.")
    async def integrations(self, info: CtxInfo, include_deleted: bool = False,
                           first: int | None = None,
                           after: str | None = None) -> Connection[Integration]:
        _not_partner(info)
        page = await integration_service.page_integrations(
            include_deleted=include_deleted, first=page_size(info, first), after=after,
            max_page_size=info.context.settings.max_page_size)
        return Connection.of(page, Integration.of)

    @strawberry.field(extensions=requires(P.INTEGRATION_READ))
    async def integration(self, info: CtxInfo, id: strawberry.ID) -> Integration:
        _not_partner(info)
        return Integration.of(await integration_service.get_integration(_id(id)))

    @strawberry.field(extensions=requires(P.INTEGRATION_READ), description="Newest first.")
    async def inbound_events(self, info: CtxInfo, filter: InboundEventFilter | None = None,
                             first: int | None = None,
                             after: str | None = None) -> Connection[InboundEvent]:
        _not_partner(info)
        f = filter or InboundEventFilter()
        flt = inbox.EventFilter(
            integration_id=_id(f.integration_id, "filter.integrationId")
            if f.integration_id else None,
            status=models.InboundStatus(f.status.value) if f.status else None,
            received_after=f.received_after, received_before=f.received_before)
        page = await inbox.page_events(flt, first=page_size(info, first), after=after,
                                       max_page_size=info.context.settings.max_page_size)
        return Connection.of(page, InboundEvent.of)

    @strawberry.field(extensions=requires(P.INTEGRATION_READ))
    async def inbound_event(self, info: CtxInfo, id: strawberry.ID) -> InboundEvent:
        _not_partner(info)
        return InboundEvent.of(await inbox.get_event(_id(id)))

    @strawberry.field(extensions=requires(P.INTEGRATION_READ))
    async def protocol_profiles(self, info: CtxInfo) -> list[ProtocolProfile]:
        _not_partner(info)
        return [ProtocolProfile.of(p) for p in await integration_service.list_profiles()]


@strawberry.type
class IntegrationMutation:
    @strawberry.mutation(extensions=requires(P.INTEGRATION_WRITE))
    async def create_integration(self, info: CtxInfo,
                                 input: CreateIntegrationInput) -> IntegrationWithSecret:
        _not_partner(info)
        rate = input.rate_limit
        async with in_transaction():
            created = await integration_service.create_integration(
                info.context.actor, _box(info), slug=input.slug, name=input.name,
                kind=models.IntegrationKind(input.kind.value), profile=input.profile,
                segments=input.segments, ref_system=input.ref_system,
                rate_limit_per_second=rate.per_second if rate else 50,
                rate_limit_burst=rate.burst if rate else 100, secret=input.secret,
                secret_overlap_seconds=(input.secret_overlap_seconds
                                        if input.secret_overlap_seconds is not None
                                        else integration_service.DEFAULT_OVERLAP_SECONDS))
        return IntegrationWithSecret(integration=Integration.of(created.integration),
                                     secret=created.secret)

    @strawberry.mutation(extensions=requires(P.INTEGRATION_WRITE))
    async def update_integration(self, info: CtxInfo,
                                 input: UpdateIntegrationInput) -> Integration:
        _not_partner(info)
        rate = input.rate_limit
        async with in_transaction():
            updated = await integration_service.update_integration(
                info.context.actor, _id(input.id), name=input.name, profile=input.profile,
                ref_system=input.ref_system, segments=input.segments,
                rate_limit_per_second=rate.per_second if rate else None,
                rate_limit_burst=rate.burst if rate else None,
                secret_overlap_seconds=input.secret_overlap_seconds,
                expected_version=input.expected_version)
        return Integration.of(updated)

    @strawberry.mutation(extensions=requires(P.INTEGRATION_WRITE))
    async def set_integration_enabled(self, info: CtxInfo,
                                      input: SetIntegrationEnabledInput) -> Integration:
        _not_partner(info)
        async with in_transaction():
            changed = await integration_service.set_enabled(info.context.actor, _id(input.id),
                                                            input.enabled)
        return Integration.of(changed)

    @strawberry.mutation(extensions=requires(P.INTEGRATION_WRITE),
                         description="Disables it for good; the record and its inbox stay.")
    async def delete_integration(self, info: CtxInfo,
                                 input: DeleteIntegrationInput) -> Integration:
        _not_partner(info)
        async with in_transaction():
            deleted = await integration_service.delete_integration(info.context.actor,
                                                                   _id(input.id))
        return Integration.of(deleted)

    @strawberry.mutation(extensions=requires(P.INTEGRATION_WRITE))
    async def rotate_integration_secret(
            self, info: CtxInfo, input: RotateIntegrationSecretInput) -> IntegrationWithSecret:
        _not_partner(info)
        async with in_transaction():
            rotated = await integration_service.rotate_secret(
                info.context.actor, _box(info), _id(input.id), secret=input.secret,
                overlap_seconds=input.overlap_seconds)
        return IntegrationWithSecret(integration=Integration.of(rotated.integration),
                                     secret=rotated.secret)

    @strawberry.mutation(extensions=requires(P.INTEGRATION_WRITE),
                         description="Add or replace an uploaded profile (not a shipped one).")
    async def upload_protocol_profile(self, info: CtxInfo,
                                      input: UploadProtocolProfileInput) -> ProtocolProfile:
        _not_partner(info)
        async with in_transaction():
            profile = await integration_service.upload_profile(info.context.actor, input.source)
        return ProtocolProfile.of(integration_service.ProfileInfo(profile, "uploaded",
                                                                  input.source))

    @strawberry.mutation(extensions=requires(P.INTEGRATION_WRITE),
                         description="Queue dead, parked or ignored events again. Applied "
                                     "or pending ones are left as they are, so repeating a "
                                     "replay is safe; the ledger applies each event once.")
    async def replay_inbound_event(self, info: CtxInfo,
                                   input: ReplayInboundEventInput) -> list[InboundEvent]:
        _not_partner(info)
        ids = [_id(i, "ids") for i in input.ids]
        async with in_transaction():
            events = await inbox.replay(info.context.actor, ids)
        await _enqueue_replayed(info, events)  # after commit, never before
        return [InboundEvent.of(e) for e in events]
