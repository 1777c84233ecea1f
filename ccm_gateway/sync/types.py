"""GraphQL for outbound endpoints and their deliveries.

An endpoint's signing secret is returned once, by the mutation that makes it (create,
rotate); its credentials are never returned, only their kind. Endpoints belong to
integrations, which are global, so partner principals can neither see nor manage them.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
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
from ccm_gateway.integration.types import Integration, OutboundFigures
from ccm_gateway.kit.ids import parse_uuid
from ccm_gateway.outbound import health as outbound_health
from ccm_gateway.outbound import models
from ccm_gateway.outbound.delivery import wake_deliverers
from ccm_gateway.principal import Permission as P
from ccm_gateway.sync import service as sync_service

strawberry.enum(models.DeliveryStatus, name="OutboundDeliveryStatus",
                description="Where an outbound delivery is.")
DeliveryStatus = models.DeliveryStatus
strawberry.enum(models.AttemptTarget, name="OutboundAttemptTarget",
                description="Which of an endpoint's URLs an attempt went to.")
AttemptTarget = models.AttemptTarget
strawberry.enum(outbound_health.CircuitState,
                description="A URL's circuit breaker: CLOSED lets deliveries through, OPEN "
                            "holds them (or sends them to the fallback), HALF_OPEN lets one "
                            "probe through.")
CircuitState = outbound_health.CircuitState


@strawberry.enum(description="What an endpoint authenticates to the vendor's API with.")
class OutboundCredentialsType(Enum):
    BEARER = sync_service.BEARER
    OAUTH2_CLIENT_CREDENTIALS = sync_service.CLIENT_CREDENTIALS


def _not_partner(info: CtxInfo) -> None:
    info.context.principal.require_unscoped("see or manage outbound endpoints")



def _id(value: Any, field: str = "id") -> Any:
    return parse_uuid(str(value), field)


def _unset(value: Any) -> Any:
    return sync_service.KEEP if value is strawberry.UNSET else value


@strawberry.type(description="How deliveries to one endpoint are doing.")
class OutboundEndpointHealth(OutboundFigures):
    circuit_state: CircuitState | None = strawberry.field(
        description="The primary URL's circuit breaker; null when the queue's Redis, which "
                    "keeps it, does not answer.")
    fallback_circuit_state: CircuitState | None = strawberry.field(
        description="The fallback URL's breaker; null without a fallback (or Redis).")
    disabled_reason: str | None = strawberry.field(
        description="Why it is disabled (by whom, or after failing for days); null: enabled.")
    failing_since: datetime | None = strawberry.field(
        description="Since when every attempt has failed; null after a success.")


@strawberry.type(description="Where an integration receives signed deliveries (Standard "
                             "Webhooks).")
class OutboundEndpoint(Node):
    _m: strawberry.Private[models.OutboundEndpoint]
    integration_id: strawberry.ID = strawberry.field(description="The integration it serves.")
    url: str = strawberry.field(description="Where deliveries go.")
    fallback_url: str | None = strawberry.field(
        description="Where they go after 3 failures in a row of url, or a timeout.")
    event_types: list[str] = strawberry.field(description="The event types it receives.")
    timeout_seconds: int = strawberry.field(description="How long an attempt may take.")
    rate_limit_per_second: int | None = strawberry.field(
        description="Deliveries per second at most, across all workers; null: no limit of "
                    "its own.")
    description: str | None = strawberry.field(description="What it is for.")
    enabled: bool = strawberry.field(description="Deliveries are made to it.")
    disabled_reason: str | None = strawberry.field(description="Why it is disabled.")
    previous_secret_expires_at: datetime | None = strawberry.field(
        description="Until when deliveries also carry a signature with the rotated-out "
                    "secret; null: no overlap is running.")
    deleted_at: datetime | None = strawberry.field(description="When it was deleted, if it was.")
    version: int = strawberry.field(
        description="Rises with every change; pass it as expectedVersion to update.")
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def of(cls, m: models.OutboundEndpoint) -> OutboundEndpoint:
        return cls(_m=m, id=strawberry.ID(str(m.id)),
                   integration_id=strawberry.ID(str(m.integration_id)), url=m.url,
                   fallback_url=m.fallback_url, event_types=list(m.event_types),
                   timeout_seconds=m.timeout_seconds,
                   rate_limit_per_second=m.rate_limit_per_second, description=m.description,
                   enabled=m.enabled, disabled_reason=m.disabled_reason,
                   previous_secret_expires_at=m.previous_secret_expires_at
                   if m.previous_secret else None,
                   deleted_at=m.deleted_at, version=m.version, created_at=m.created_at,
                   updated_at=m.updated_at)

    @strawberry.field(description="What it authenticates to the vendor's API with; null: "
                                  "nothing. The credentials themselves are never shown.")
    def credentials_type(self, info: CtxInfo) -> OutboundCredentialsType | None:
        kind = sync_service.credentials_type(info.context.secret_box, self._m)
        return OutboundCredentialsType(kind) if kind else None

    @strawberry.field(description="The integration it serves.")
    async def integration(self, info: CtxInfo) -> Integration | None:
        found = await info.context.loaders.of(sync_service.integrations_by_id).load(
            self._m.integration_id)
        return Integration.of(found) if found is not None else None

    @strawberry.field(description="How its deliveries are doing.")
    async def health(self, info: CtxInfo) -> OutboundEndpointHealth:
        m, loaders, queue = self._m, info.context.loaders, info.context.queue
        figures = await loaders.of(outbound_health.endpoint_figures_by_id).load(m.id)
        states: list[CircuitState | None] = [None, None]
        if queue is not None:
            circuits = loaders.of(outbound_health.circuit_states_by_key)
            urls = [m.url, *([m.fallback_url] if m.fallback_url else [])]
            found = await circuits.load_many([(queue, url) for url in urls])
            states[:len(found)] = found
        return OutboundEndpointHealth(
            circuit_state=states[0], fallback_circuit_state=states[1],
            disabled_reason=m.disabled_reason, failing_since=m.failing_since,
            **OutboundFigures.figures(figures))


@strawberry.type(description="The endpoint, and its signing secret, shown this once.")
class OutboundEndpointWithSecret:
    endpoint: OutboundEndpoint = strawberry.field(description="The endpoint.")
    secret: str = strawberry.field(
        description="The Standard Webhooks signing secret (whsec_...), shown this once: "
                    "give it to the receiver to verify webhook-signature.")


@strawberry.type(description="One try at sending a delivery.")
class OutboundAttempt:
    attempted_at: datetime = strawberry.field(description="When it was made.")
    target: AttemptTarget = strawberry.field(description="The primary URL or the fallback.")
    url: str = strawberry.field(description="The URL it went to.")
    status_code: int | None = strawberry.field(
        description="The HTTP status answered; null: no answer (timeout, refused, ...).")
    duration_ms: int = strawberry.field(description="How long it took.")
    response_excerpt: str | None = strawberry.field(
        description="The start of the answer's body, at most 2 KiB.")
    error_class: str | None = strawberry.field(
        description="What went wrong, e.g. ConnectTimeout or http_503; null on success.")
    succeeded: bool = strawberry.field(description="Answered 2xx.")

    @classmethod
    def of(cls, m: models.OutboundAttempt) -> OutboundAttempt:
        return cls(attempted_at=m.attempted_at, target=AttemptTarget(str(m.target)), url=m.url,
                   status_code=m.status_code, duration_ms=m.duration_ms,
                   response_excerpt=m.response_excerpt, error_class=m.error_class,
                   succeeded=m.succeeded)


@strawberry.type(description="One message to one endpoint, with every attempt at it.")
class OutboundDelivery(Node):
    _m: strawberry.Private[models.OutboundDelivery]
    endpoint_id: strawberry.ID = strawberry.field(description="The endpoint it goes to.")
    webhook_id: str = strawberry.field(
        description="Its webhook-id header: the same on every attempt, so a receiver can "
                    "drop a repeat.")
    event_type: str = strawberry.field(description="e.g. credit.updated.")
    customer_id: strawberry.ID | None = strawberry.field(
        description="The customer it is about, if one.")
    version: str | None = strawberry.field(
        description="credit.updated: the state's version, a decimal string (it outgrows a "
                    "GraphQL Int); it only rises per customer.")
    payload: JSON = strawberry.field(
        description="The body sent, {type, timestamp, data}: the same on every attempt.")
    status: DeliveryStatus = strawberry.field(description="Where it is.")
    attempt_count: int = strawberry.field(description="How many attempts were made.")
    next_attempt_at: datetime | None = strawberry.field(
        description="When it is tried next; null: not scheduled.")
    last_status_code: int | None = strawberry.field(
        description="The HTTP status of its last attempt.")
    last_error: str | None = strawberry.field(description="Why its last attempt failed.")
    changed_at: datetime = strawberry.field(
        description="When the change it tells of was committed.")
    created_at: datetime = strawberry.field(description="When it was queued.")
    delivered_at: datetime | None = strawberry.field(description="When a 2xx came back.")

    @classmethod
    def of(cls, m: models.OutboundDelivery) -> OutboundDelivery:
        return cls(_m=m, id=strawberry.ID(str(m.id)),
                   endpoint_id=strawberry.ID(str(m.endpoint_id)), webhook_id=m.webhook_id,
                   event_type=m.event_type,
                   customer_id=strawberry.ID(str(m.customer_id)) if m.customer_id else None,
                   version=str(m.version) if m.version is not None else None,
                   payload=JSON(m.payload), status=DeliveryStatus(str(m.status)),
                   attempt_count=m.attempts, next_attempt_at=m.next_attempt_at,
                   last_status_code=m.last_status_code, last_error=m.last_error,
                   changed_at=m.changed_at, created_at=m.created_at,
                   delivered_at=m.delivered_at)

    @strawberry.field(description="Every attempt, oldest first.")
    async def attempts(self, info: CtxInfo) -> list[OutboundAttempt]:
        rows = await info.context.loaders.of(sync_service.attempts_by_delivery).load(self._m.id)
        return [OutboundAttempt.of(r) for r in rows]

    @strawberry.field(description="The endpoint it goes to.")
    async def endpoint(self, info: CtxInfo) -> OutboundEndpoint | None:
        found = await info.context.loaders.of(sync_service.endpoints_by_id).load(
            self._m.endpoint_id)
        return OutboundEndpoint.of(found) if found is not None else None


# --- inputs -----------------------------------------------------------------------


@strawberry.input(description="OAuth 2.0 client credentials: a token is fetched from tokenUrl "
                              "and cached until it expires.")
class OAuth2ClientCredentialsInput:
    token_url: str
    client_id: str
    client_secret: str
    scope: str | None = None


@strawberry.input(one_of=True, description="Credentials for the vendor's API, sent with each "
                                           "delivery: exactly one kind. Never shown again.")
class OutboundCredentialsInput:
    bearer_token: str | None = strawberry.UNSET
    oauth2_client_credentials: OAuth2ClientCredentialsInput | None = strawberry.UNSET


def _credentials(given: OutboundCredentialsInput | None) -> sync_service.Credentials | None:
    """The one kind given (one_of: GraphQL lets exactly one through, and not null)."""
    if given is None:
        return None
    oauth = given.oauth2_client_credentials
    if oauth:
        return sync_service.ClientCredentials(oauth.token_url, oauth.client_id,
                                              oauth.client_secret, oauth.scope)
    return sync_service.BearerToken(given.bearer_token or "")


@strawberry.input(description="A new outbound endpoint.")
class CreateOutboundEndpointInput:
    integration_id: strawberry.ID
    url: str = strawberry.field(description="In prod: https, resolving to public addresses.")
    event_types: list[str] = strawberry.field(
        description="credit.updated, ledger.entry.posted, alert.raised, credit.snapshot.")
    fallback_url: str | None = None
    timeout_seconds: int = strawberry.field(default=sync_service.DEFAULT_TIMEOUT_SECONDS,
                                            description="1 to 30.")
    rate_limit_per_second: int | None = strawberry.field(
        default=None, description="1 to 1000; null: no limit of its own.")
    description: str | None = None
    credentials: OutboundCredentialsInput | None = None


@strawberry.input(description="Fields left out stay as they are; fallbackUrl, "
                              "rateLimitPerSecond, description and credentials given as null "
                              "are cleared.")
class UpdateOutboundEndpointInput:
    id: strawberry.ID
    expected_version: int
    url: str | None = None
    event_types: list[str] | None = None
    timeout_seconds: int | None = None
    fallback_url: str | None = strawberry.UNSET
    rate_limit_per_second: int | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    credentials: OutboundCredentialsInput | None = strawberry.UNSET


@strawberry.input(description="Whether deliveries are made to an endpoint.")
class SetOutboundEndpointEnabledInput:
    id: strawberry.ID
    enabled: bool


@strawberry.input(description="A new signing secret for an endpoint.")
class RotateOutboundEndpointSecretInput:
    id: strawberry.ID
    overlap_seconds: int | None = strawberry.field(
        default=None, description="How long deliveries also carry a signature with the old "
                                  "secret; default one day, 0: not at all.")


@strawberry.input(description="An endpoint to delete.")
class DeleteOutboundEndpointInput:
    id: strawberry.ID


@strawberry.input(description="Deliveries to send again now.")
class ResendOutboundDeliveryInput:
    ids: list[strawberry.ID]


@strawberry.input(description="Send again what an endpoint failed to receive.")
class RecoverOutboundEndpointInput:
    endpoint_id: strawberry.ID
    since: datetime = strawberry.field(
        description="Deliveries that failed and were queued since then; at most 14 days "
                    "back.")


@strawberry.input(description="Narrow the deliveries; every field given must match.")
class OutboundDeliveryFilter:
    endpoint_id: strawberry.ID | None = None
    status: DeliveryStatus | None = None
    event_type: str | None = None
    customer_id: strawberry.ID | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None


@strawberry.type(description="What a resend queued.")
class ResendOutboundDeliveryPayload:
    deliveries: list[OutboundDelivery] = strawberry.field(
        description="Event deliveries, due now with their webhook-id (one in flight is left "
                    "to finish and not listed).")
    refreshed_customer_ids: list[strawberry.ID] = strawberry.field(
        description="Customers whose credit.updated deliveries were asked for: each one's "
                    "current state is queued afresh, with a higher version, instead of the "
                    "old state going out again.")


@strawberry.type(description="What a recovery queued.")
class RecoverOutboundEndpointPayload:
    endpoint: OutboundEndpoint = strawberry.field(description="The endpoint.")
    resent: int = strawberry.field(description="Failed event deliveries, due again now.")
    refreshed_customers: int = strawberry.field(
        description="Customers whose failed credit.updated deliveries are replaced by their "
                    "current state, queued afresh.")


async def _wake(info: CtxInfo, resent: sync_service.Resent) -> None:
    """After commit, never before: a deliverer woken early would not see the rows."""
    if resent.endpoint_ids and info.context.queue is not None:
        await wake_deliverers(info.context.queue, resent.endpoint_ids)


@strawberry.type
class SyncQuery:
    @strawberry.field(extensions=requires(P.INTEGRATION_READ),
                      description="Outbound endpoints, oldest first, of one integration or "
                                  "all. Not for partner principals.")
    async def outbound_endpoints(self, info: CtxInfo, integration_id: strawberry.ID | None = None,
                                 include_deleted: bool = False, first: First = None,
                                 after: After = None, last: Last = None,
                                 before: Before = None) -> Connection[OutboundEndpoint]:
        _not_partner(info)
        page = await sync_service.page_endpoints(
            integration_id=_id(integration_id, "integrationId") if integration_id else None,
            include_deleted=include_deleted, window=window(info, first, after, last, before),
            max_page_size=info.context.settings.max_page_size)
        return Connection.of(page, OutboundEndpoint.of)

    @strawberry.field(extensions=requires(P.INTEGRATION_READ),
                      description="An outbound endpoint by id; null when there is none. Not "
                                  "for partner principals.")
    async def outbound_endpoint(self, info: CtxInfo, id: strawberry.ID) -> OutboundEndpoint | None:
        _not_partner(info)
        try:
            return OutboundEndpoint.of(await sync_service.get_endpoint(_id(id)))
        except NotFound:
            return None

    @strawberry.field(extensions=requires(P.INTEGRATION_READ),
                      description="Outbound deliveries, newest first. Not for partner "
                                  "principals.")
    async def outbound_deliveries(self, info: CtxInfo,
                                  filter: OutboundDeliveryFilter | None = None,
                                  first: First = None, after: After = None, last: Last = None,
                                  before: Before = None) -> Connection[OutboundDelivery]:
        _not_partner(info)
        f = filter or OutboundDeliveryFilter()
        flt = sync_service.DeliveryFilter(
            endpoint_id=_id(f.endpoint_id, "filter.endpointId") if f.endpoint_id else None,
            status=models.DeliveryStatus(f.status.value) if f.status else None,
            event_type=f.event_type,
            customer_id=_id(f.customer_id, "filter.customerId") if f.customer_id else None,
            created_after=f.created_after, created_before=f.created_before)
        page = await sync_service.page_deliveries(
            flt, window=window(info, first, after, last, before),
            max_page_size=info.context.settings.max_page_size)
        return Connection.of(page, OutboundDelivery.of)

    @strawberry.field(extensions=requires(P.INTEGRATION_READ),
                      description="An outbound delivery by id, with its attempts; null when "
                                  "there is none. Not for partner principals.")
    async def outbound_delivery(self, info: CtxInfo, id: strawberry.ID) -> OutboundDelivery | None:
        _not_partner(info)
        try:
            return OutboundDelivery.of(await sync_service.get_delivery(_id(id)))
        except NotFound:
            return None


@strawberry.type
class SyncMutation:
    @strawberry.mutation(extensions=requires(P.INTEGRATION_WRITE),
                         description="Add an outbound endpoint; its signing secret is shown "
                                     "once.")
    async def create_outbound_endpoint(
            self, info: CtxInfo, input: CreateOutboundEndpointInput) -> OutboundEndpointWithSecret:
        _not_partner(info)
        box = info.context.secret_box
        async with in_transaction():
            created = await sync_service.create_endpoint(
                info.context.actor, box, prod=info.context.settings.is_prod,
                integration_id=_id(input.integration_id, "integrationId"), url=input.url,
                event_types=input.event_types, fallback_url=input.fallback_url,
                timeout_seconds=input.timeout_seconds,
                rate_limit_per_second=input.rate_limit_per_second,
                description=input.description, credentials=_credentials(input.credentials))
        return OutboundEndpointWithSecret(endpoint=OutboundEndpoint.of(created.endpoint),
                                          secret=created.secret)

    @strawberry.mutation(extensions=requires(P.INTEGRATION_WRITE),
                         description="Change an outbound endpoint at expectedVersion.")
    async def update_outbound_endpoint(self, info: CtxInfo,
                                       input: UpdateOutboundEndpointInput) -> OutboundEndpoint:
        _not_partner(info)
        box = info.context.secret_box
        credentials = _unset(input.credentials)
        async with in_transaction():
            updated = await sync_service.update_endpoint(
                info.context.actor, box, _id(input.id), prod=info.context.settings.is_prod,
                expected_version=input.expected_version, url=input.url,
                event_types=input.event_types, timeout_seconds=input.timeout_seconds,
                fallback_url=_unset(input.fallback_url),
                rate_limit_per_second=_unset(input.rate_limit_per_second),
                description=_unset(input.description),
                credentials=credentials if credentials is sync_service.KEEP
                else _credentials(credentials))
        return OutboundEndpoint.of(updated)

    @strawberry.mutation(extensions=requires(P.INTEGRATION_WRITE),
                         description="Start or stop deliveries to an endpoint; enabling "
                                     "clears why it was disabled.")
    async def set_outbound_endpoint_enabled(
            self, info: CtxInfo, input: SetOutboundEndpointEnabledInput) -> OutboundEndpoint:
        _not_partner(info)
        box = info.context.secret_box
        async with in_transaction():
            changed = await sync_service.set_enabled(info.context.actor, box, _id(input.id),
                                                     input.enabled)
        return OutboundEndpoint.of(changed)

    @strawberry.mutation(extensions=requires(P.INTEGRATION_WRITE),
                         description="Replace an endpoint's signing secret (shown once); "
                                     "during the overlap deliveries carry both signatures.")
    async def rotate_outbound_endpoint_secret(
            self, info: CtxInfo,
            input: RotateOutboundEndpointSecretInput) -> OutboundEndpointWithSecret:
        _not_partner(info)
        box = info.context.secret_box
        async with in_transaction():
            rotated = await sync_service.rotate_secret(info.context.actor, box, _id(input.id),
                                                       overlap_seconds=input.overlap_seconds)
        return OutboundEndpointWithSecret(endpoint=OutboundEndpoint.of(rotated.endpoint),
                                          secret=rotated.secret)

    @strawberry.mutation(extensions=requires(P.INTEGRATION_WRITE),
                         description="Stop deliveries to an endpoint for good; it and its "
                                     "deliveries stay on record, what still waited is "
                                     "skipped.")
    async def delete_outbound_endpoint(self, info: CtxInfo,
                                       input: DeleteOutboundEndpointInput) -> OutboundEndpoint:
        _not_partner(info)
        box = info.context.secret_box
        async with in_transaction():
            deleted = await sync_service.delete_endpoint(info.context.actor, box,
                                                         _id(input.id))
        return OutboundEndpoint.of(deleted)

    @strawberry.mutation(extensions=requires(P.INTEGRATION_WRITE),
                         description="Send deliveries again now. An event goes again as it "
                                     "was (same webhook-id); for a credit.updated the "
                                     "customer's current state is sent instead, so a "
                                     "receiver never gets an older state after a newer one. "
                                     "A credit.snapshot is not resent.")
    async def resend_outbound_delivery(
            self, info: CtxInfo,
            input: ResendOutboundDeliveryInput) -> ResendOutboundDeliveryPayload:
        _not_partner(info)
        ids = [_id(i, "ids") for i in input.ids]
        async with in_transaction():
            resent = await sync_service.resend(info.context.actor, ids)
        await _wake(info, resent)
        return ResendOutboundDeliveryPayload(
            deliveries=[OutboundDelivery.of(d) for d in resent.deliveries],
            refreshed_customer_ids=[strawberry.ID(str(c))
                                    for c in resent.refreshed_customer_ids])

    @strawberry.mutation(extensions=requires(P.INTEGRATION_WRITE),
                         description="Send again every delivery that failed for an endpoint "
                                     "since a time (at most 14 days back), as "
                                     "resendOutboundDelivery would.")
    async def recover_outbound_endpoint(
            self, info: CtxInfo,
            input: RecoverOutboundEndpointInput) -> RecoverOutboundEndpointPayload:
        _not_partner(info)
        endpoint_id = _id(input.endpoint_id, "endpointId")
        async with in_transaction():
            resent = await sync_service.recover(info.context.actor, endpoint_id, input.since)
            endpoint = await sync_service.get_endpoint(endpoint_id)
        await _wake(info, resent)
        return RecoverOutboundEndpointPayload(
            endpoint=OutboundEndpoint.of(endpoint), resent=len(resent.deliveries),
            refreshed_customers=len(resent.refreshed_customer_ids))
