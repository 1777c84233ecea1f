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

from ccm_gateway.errors import NotFound
from ccm_gateway.graphql.common import (
    After,
    Before,
    Connection,
    CtxInfo,
    First,
    Last,
    Node,
    requires,
    window,
)
from ccm_gateway.integration import inbox, models
from ccm_gateway.integration import service as integration_service
from ccm_gateway.kit.ids import derived_id, parse_uuid
from ccm_gateway.outbound import health as outbound_health
from ccm_gateway.principal import Permission as P

# The models' enums are the GraphQL enums (strawberry exposes an Enum under its
# class name, with the members' names as values), registered with a description.
strawberry.enum(models.IntegrationKind, description="What kind of system an integration is.")
IntegrationKind = models.IntegrationKind
strawberry.enum(models.InboundStatus, description="Where an inbound event is in its processing.")
InboundStatus = models.InboundStatus


def _not_partner(info: CtxInfo) -> None:
    info.context.principal.require_unscoped("see or manage integrations")



@strawberry.type(description="How fast an integration may call: a token bucket.")
class RateLimit:
    per_second: int = strawberry.field(description="Sustained calls per second.")
    burst: int = strawberry.field(description="Calls allowed at once above that.")


@strawberry.interface(description="How deliveries to outbound endpoints are doing: attempts "
                                  "over the last 24 hours, and what still has to go out.")
class OutboundFigures:
    attempts_last_24h: int = strawberry.field(
        description="Delivery attempts in 24 h, primary and fallback URL alike.")
    succeeded_last_24h: int = strawberry.field(description="Of those, the ones answered 2xx.")
    success_rate_last_24h: float | None = strawberry.field(
        description="succeededLast24h / attemptsLast24h; null when nothing was attempted.")
    last_success_at: datetime | None = strawberry.field(
        description="When an attempt last succeeded; null: never.")
    last_failure_at: datetime | None = strawberry.field(
        description="When an attempt last failed; null: never.")
    unsent_deliveries: int = strawberry.field(
        description="Deliveries still to go out: waiting for an attempt, or one in flight.")
    oldest_unsent_change_at: datetime | None = strawberry.field(
        description="When the change behind the oldest unsent delivery was made: how far "
                    "behind the receiver is; null when nothing is unsent.")
    failed_last_24h: int = strawberry.field(
        description="Deliveries given up on (FAILED) in 24 h; recoverOutboundEndpoint sends "
                    "them again.")

    @staticmethod
    def figures(f: outbound_health.Figures) -> dict[str, Any]:
        """The interface's fields of ``f``, as keyword arguments of an implementing type."""
        return {"attempts_last_24h": f.attempts, "succeeded_last_24h": f.succeeded,
                "success_rate_last_24h": f.success_rate, "last_success_at": f.last_success_at,
                "last_failure_at": f.last_failure_at, "unsent_deliveries": f.unsent,
                "oldest_unsent_change_at": f.oldest_unsent_change_at,
                "failed_last_24h": f.failed}


@strawberry.type(description="The integration's outbound endpoints together (deleted ones "
                             "not counted).")
class IntegrationOutboundHealth(OutboundFigures):
    endpoints: int = strawberry.field(description="Its endpoints, not deleted.")
    enabled_endpoints: int = strawberry.field(description="Of those, the enabled ones.")


@strawberry.type(description="Figures over the last 24 hours, and what waits for an admin.")
class IntegrationHealth:
    _integration_id: strawberry.Private[Any]
    last_event_at: datetime | None = strawberry.field(
        description="When its last callback arrived; null: never.")
    received_last_24h: int = strawberry.field(description="Callbacks received in 24 h.")
    failed_last_24h: int = strawberry.field(
        description="Dead, parked or waiting for a retry, of those received in 24 h.")
    failure_rate: float = strawberry.field(
        description="failedLast24h / receivedLast24h; 0 when none were received.")
    dead_letters: int = strawberry.field(description="Events given up on, awaiting replay.")
    parked: int = strawberry.field(
        description="Events waiting for data (a customer ref, site or FX rate); replay them.")

    @strawberry.field(description="What it is sent: its outbound endpoints' deliveries.")
    async def outbound(self, info: CtxInfo) -> IntegrationOutboundHealth:
        found = await info.context.loaders.of(outbound_health.integration_figures_by_id).load(
            self._integration_id)
        return IntegrationOutboundHealth(endpoints=found.endpoints,
                                         enabled_endpoints=found.enabled,
                                         **OutboundFigures.figures(found.figures))


@strawberry.type(description="An external system that calls POST /webhooks/{slug}.")
class Integration(Node):
    _m: strawberry.Private[models.Integration]
    slug: str = strawberry.field(description="Its part of the webhook URL.")
    name: str = strawberry.field(description="Display name.")
    kind: IntegrationKind = strawberry.field(
        description="What kind of system it is.")
    profile: str = strawberry.field(description="The name of its protocol profile.")
    ref_system: str = strawberry.field(
        description="The ExternalRef system its customer ids resolve through.")
    segments: list[str] = strawberry.field(
        description="The customer segments it may write; ['*'] = all.")
    rate_limit: RateLimit = strawberry.field(description="How fast it may call.")
    enabled: bool = strawberry.field(description="Its callbacks are accepted.")
    secret_overlap_seconds: int = strawberry.field(
        description="How long a rotated-out secret still verifies, by default.")
    previous_secret_expires_at: datetime | None = strawberry.field(
        description="When the rotated-out secret stops verifying; null: none is active.")
    sync_frequency_seconds: int | None = strawberry.field(
        description="Scheduled sync (a credit.snapshot push, and a pull where its profile "
                    "has one) every this many seconds; null: off.")
    last_synced_at: datetime | None = strawberry.field(
        description="When its last scheduled sync started; null: never.")
    deleted_at: datetime | None = strawberry.field(description="When it was deleted, if it was.")
    version: int = strawberry.field(
        description="Rises with every change; pass it as expectedVersion to update.")
    created_at: datetime = strawberry.field(description="When it was created.")

    @classmethod
    def of(cls, m: models.Integration) -> Integration:
        expires = m.previous_secret_expires_at if m.previous_secret else None
        return cls(_m=m, id=strawberry.ID(str(m.id)), slug=m.slug, name=m.name,
                   kind=IntegrationKind(str(m.kind)), profile=m.profile,
                   ref_system=m.ref_system, segments=list(m.segments),
                   rate_limit=RateLimit(per_second=m.rate_limit_per_second,
                                        burst=m.rate_limit_burst),
                   enabled=m.enabled, secret_overlap_seconds=m.secret_overlap_seconds,
                   previous_secret_expires_at=expires,
                   sync_frequency_seconds=m.sync_frequency_seconds,
                   last_synced_at=m.last_synced_at, deleted_at=m.deleted_at,
                   version=m.version, created_at=m.created_at)

    @strawberry.field(description="Its recent callbacks.")
    async def health(self, info: CtxInfo) -> IntegrationHealth:
        h = await info.context.loaders.of(integration_service.health_by_id).load(self._m.id)
        return IntegrationHealth(_integration_id=self._m.id,
                                 last_event_at=h.last_event_at, received_last_24h=h.received,
                                 failed_last_24h=h.failed, failure_rate=h.failure_rate,
                                 dead_letters=h.dead_letters, parked=h.parked)


@strawberry.type(description="The integration, and its signing secret when we generated it "
                             "(shown this once; null when you supplied the secret).")
class IntegrationWithSecret:
    integration: Integration = strawberry.field(description="The integration.")
    secret: str | None = strawberry.field(
        description="The generated signing secret, shown this once; null when supplied.")


@strawberry.type(description="A verified callback in the inbox.")
class InboundEvent(Node):
    _m: strawberry.Private[models.InboundEvent]
    integration_id: strawberry.ID = strawberry.field(description="The integration it came from.")
    external_id: str = strawberry.field(description="The vendor's event id.")
    event_type: str | None = strawberry.field(description="The vendor's event type.")
    canonical_type: str | None = strawberry.field(
        description="What its profile maps it to, e.g. payment.succeeded; null: unmapped.")
    status: InboundStatus = strawberry.field(
        description="Where it is in its processing.")
    attempts: int = strawberry.field(description="How many times it was processed.")
    last_error: str | None = strawberry.field(description="Why its last attempt failed.")
    next_attempt_at: datetime | None = strawberry.field(
        description="When it is retried; null: not scheduled.")
    customer_id: strawberry.ID | None = strawberry.field(
        description="The customer it resolved to, once resolved.")
    occurred_at: datetime | None = strawberry.field(description="When the vendor says it "
                                                                 "happened.")
    received_at: datetime = strawberry.field(description="When it arrived.")
    applied_at: datetime | None = strawberry.field(description="When the ledger applied it.")
    result: JSON | None = strawberry.field(description="What applying it did.")
    payload_retained: bool = strawberry.field(
        description="The raw callback is still kept (retention deletes it later).")

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
    id: strawberry.ID = strawberry.field(
        description="A UUID derived from its name, shipped or uploaded: a profile is known by "
                    "its name (integrations name theirs, an upload replaces by name).")
    name: str = strawberry.field(description="Its name, as integrations name it.")
    description: str = strawberry.field(description="What it is for.")
    source: str = strawberry.field(description="shipped (a file in webhooks/) or uploaded")
    scheme: str = strawberry.field(description="How callbacks are signed.")
    body_format: str = strawberry.field(description="json or form.")
    tolerance_seconds: int = strawberry.field(
        description="How far a callback's timestamp may be from now.")
    event_types: list[str] = strawberry.field(description="Vendor event types it maps.")
    text: str | None = strawberry.field(description="The YAML of an uploaded profile.")

    @classmethod
    def of(cls, info: integration_service.ProfileInfo) -> ProtocolProfile:
        p = info.profile
        return cls(id=strawberry.ID(str(derived_id("ProtocolProfile", p.name))), name=p.name,
                   description=p.description, source=info.source,
                   scheme=p.scheme, body_format=p.body_format,
                   tolerance_seconds=p.tolerance_seconds, event_types=list(p.mapped_types()),
                   text=info.text)


@strawberry.input(description="A token bucket.")
class RateLimitInput:
    per_second: int
    burst: int


@strawberry.input(description="A new integration.")
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
    sync_frequency_seconds: int | None = strawberry.field(
        default=None, description="Scheduled sync every this many seconds (60 to 86400); "
                                  "null or omitted: off.")


@strawberry.input(description="Fields left out stay as they are.")
class UpdateIntegrationInput:
    id: strawberry.ID
    expected_version: int | None = None
    name: str | None = None
    profile: str | None = None
    ref_system: str | None = None
    segments: list[str] | None = None
    rate_limit: RateLimitInput | None = None
    secret_overlap_seconds: int | None = None
    sync_frequency_seconds: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="Scheduled sync every this many seconds (60 to 86400); null turns it "
                    "off; omitted: unchanged.")


@strawberry.input(description="Whether an integration's callbacks are accepted.")
class SetIntegrationEnabledInput:
    id: strawberry.ID
    enabled: bool


@strawberry.input(description="An integration to delete.")
class DeleteIntegrationInput:
    id: strawberry.ID


@strawberry.input(description="A new signing secret.")
class RotateIntegrationSecretInput:
    id: strawberry.ID
    secret: str | None = strawberry.field(default=None,
                                          description="Omit to have one generated.")
    overlap_seconds: int | None = strawberry.field(
        default=None, description="How long the old secret still verifies; default: the "
                                  "integration's secretOverlapSeconds.")


@strawberry.input(description="A profile to add or replace.")
class UploadProtocolProfileInput:
    source: str = strawberry.field(description="The profile's YAML (or JSON).")


@strawberry.input(description="Inbound events to queue again.")
class ReplayInboundEventInput:
    ids: list[strawberry.ID]


@strawberry.input(description="Narrow the inbox; every field given must match.")
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
    @strawberry.field(extensions=requires(P.INTEGRATION_READ),
                      description="Integrations by slug. Not for partner principals.")
    async def integrations(self, info: CtxInfo, include_deleted: bool = False,
                           first: First = None, after: After = None, last: Last = None,
                           before: Before = None) -> Connection[Integration]:
        _not_partner(info)
        page = await integration_service.page_integrations(
            include_deleted=include_deleted, window=window(info, first, after, last, before),
            max_page_size=info.context.settings.max_page_size)
        return Connection.of(page, Integration.of)

    @strawberry.field(extensions=requires(P.INTEGRATION_READ),
                      description="An integration by id; null when there is none. Not for "
                                  "partner principals.")
    async def integration(self, info: CtxInfo, id: strawberry.ID) -> Integration | None:
        _not_partner(info)
        try:
            return Integration.of(await integration_service.get_integration(_id(id)))
        except NotFound:
            return None

    @strawberry.field(extensions=requires(P.INTEGRATION_READ),
                      description="The inbox, newest first. Not for partner principals.")
    async def inbound_events(self, info: CtxInfo, filter: InboundEventFilter | None = None,
                             first: First = None, after: After = None, last: Last = None,
                             before: Before = None) -> Connection[InboundEvent]:
        _not_partner(info)
        f = filter or InboundEventFilter()
        flt = inbox.EventFilter(
            integration_id=_id(f.integration_id, "filter.integrationId")
            if f.integration_id else None,
            status=models.InboundStatus(f.status.value) if f.status else None,
            received_after=f.received_after, received_before=f.received_before)
        page = await inbox.page_events(flt, window=window(info, first, after, last, before),
                                       max_page_size=info.context.settings.max_page_size)
        return Connection.of(page, InboundEvent.of)

    @strawberry.field(extensions=requires(P.INTEGRATION_READ),
                      description="An inbound event by id; null when there is none. Not for "
                                  "partner principals.")
    async def inbound_event(self, info: CtxInfo, id: strawberry.ID) -> InboundEvent | None:
        _not_partner(info)
        try:
            return InboundEvent.of(await inbox.get_event(_id(id)))
        except NotFound:
            return None

    @strawberry.field(extensions=requires(P.INTEGRATION_READ),
                      description="Every protocol profile, by name. Not for partner "
                                  "principals.")
    async def protocol_profiles(self, info: CtxInfo) -> list[ProtocolProfile]:
        _not_partner(info)
        return [ProtocolProfile.of(p) for p in await integration_service.list_profiles()]


@strawberry.type
class IntegrationMutation:
    @strawberry.mutation(extensions=requires(P.INTEGRATION_WRITE),
                         description="Add an integration; a generated secret is shown once.")
    async def create_integration(self, info: CtxInfo,
                                 input: CreateIntegrationInput) -> IntegrationWithSecret:
        _not_partner(info)
        rate = input.rate_limit
        async with in_transaction():
            created = await integration_service.create_integration(
                info.context.actor, info.context.secret_box, slug=input.slug, name=input.name,
                kind=models.IntegrationKind(input.kind.value), profile=input.profile,
                segments=input.segments, ref_system=input.ref_system,
                rate_limit_per_second=rate.per_second if rate else 50,
                rate_limit_burst=rate.burst if rate else 100, secret=input.secret,
                secret_overlap_seconds=(input.secret_overlap_seconds
                                        if input.secret_overlap_seconds is not None
                                        else integration_service.DEFAULT_OVERLAP_SECONDS),
                sync_frequency_seconds=input.sync_frequency_seconds)
        return IntegrationWithSecret(integration=Integration.of(created.integration),
                                     secret=created.secret)

    @strawberry.mutation(extensions=requires(P.INTEGRATION_WRITE),
                         description="Change an integration; fields left out stay.")
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
                expected_version=input.expected_version,
                sync_frequency_seconds=(integration_service.KEEP
                                        if input.sync_frequency_seconds is strawberry.UNSET
                                        else input.sync_frequency_seconds))
        return Integration.of(updated)

    @strawberry.mutation(extensions=requires(P.INTEGRATION_WRITE),
                         description="Accept or refuse an integration's callbacks.")
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

    @strawberry.mutation(extensions=requires(P.INTEGRATION_WRITE),
                         description="Replace an integration's signing secret; the old one "
                                     "verifies for an overlap.")
    async def rotate_integration_secret(
            self, info: CtxInfo, input: RotateIntegrationSecretInput) -> IntegrationWithSecret:
        _not_partner(info)
        async with in_transaction():
            rotated = await integration_service.rotate_secret(
                info.context.actor, info.context.secret_box, _id(input.id), secret=input.secret,
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
