"""Outbound endpoints and their deliveries, as admins manage and inspect them.

An endpoint's signing secret (Standard Webhooks, ``whsec_``) is generated here, shown
once by the mutation that makes it, and stored only as a SecretBox ciphertext under
``secret_context(id)``; its credentials for the vendor's API likewise under
``credentials_context(id)``, and never shown at all. Every URL it calls out to is
checked when it is saved (``outbound/urls.py``; the connection checks again).

Resending never sends a receiver an older state after a newer one: a ``credit.updated``
delivery is not sent again as it was; its customer's current state is queued instead,
as a fresh outbox message, which gets a higher version than anything sent before.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any, Literal

from ccm_gateway.audit.service import record
from ccm_gateway.customer.models import Customer
from ccm_gateway.errors import BadInput, Conflict, NotFound
from ccm_gateway.integration import service as integration_service
from ccm_gateway.integration.models import Integration
from ccm_gateway.kit import outbox, standard_webhooks
from ccm_gateway.kit.batch import many_per_key, one_per_key
from ccm_gateway.kit.pagination import Keyset, Page, Window, aware_datetime, page
from ccm_gateway.kit.pagination import page_newest_first as page_newest
from ccm_gateway.kit.secrets import SecretBox
from ccm_gateway.kit.text import check_text, clean_text
from ccm_gateway.kit.timestamps import check_aware
from ccm_gateway.ledger import service as ledger_service
from ccm_gateway.outbound.models import (
    DeliveryStatus,
    OutboundAttempt,
    OutboundDelivery,
    OutboundEndpoint,
    credentials_context,
    secret_context,
)
from ccm_gateway.outbound.urls import check_url
from ccm_gateway.principal import Actor
from ccm_gateway.sync import payloads

DEFAULT_TIMEOUT_SECONDS = 10
MAX_TIMEOUT_SECONDS = 30
MAX_RATE_PER_SECOND = 1000
MAX_DESCRIPTION = 500
MAX_TOKEN = 4096
MAX_RESEND = 100
MAX_RECOVERY = timedelta(days=14)
# Ids per UPDATE ... IN (...): well under SQLite's limit of bound variables.
CHUNK = 500


class Unchanged(Enum):
    """An update's "leave it as it is", for fields where None means "clear it"."""

    KEEP = "keep"


KEEP = Unchanged.KEEP
Keep = Literal[Unchanged.KEEP]


# --- credentials ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BearerToken:
    token: str


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    """OAuth 2.0 client credentials: a token from ``token_url``, cached until it expires."""

    token_url: str
    client_id: str
    client_secret: str
    scope: str | None = None


Credentials = BearerToken | ClientCredentials
BEARER = "bearer"
CLIENT_CREDENTIALS = "oauth2_client_credentials"


def _visible_ascii(value: str, field: str, *, max_length: int = MAX_TOKEN,
                   spaces: bool = False) -> str:
    """A value that goes into a header or a form as it is: printable ASCII only, so it can
    neither break a header line nor smuggle one in."""
    lowest = " " if spaces else "!"
    if not 1 <= len(value) <= max_length or not all(lowest <= c <= "~" for c in value):
        raise BadInput(f"{field} must be 1 to {max_length} printable ASCII characters"
                       + ("" if spaces else " without spaces"), field=field)
    return value


async def _credentials_plain(credentials: Credentials, *, prod: bool) -> str:
    """The JSON stored (encrypted) for ``credentials``, after checking every part."""
    if isinstance(credentials, BearerToken):
        token = _visible_ascii(credentials.token, "credentials.bearerToken")
        return json.dumps({"type": BEARER, "token": token})
    where = "credentials.oauth2ClientCredentials"
    token_url = await check_url(credentials.token_url, f"{where}.tokenUrl", prod=prod)
    client_id = _visible_ascii(credentials.client_id, f"{where}.clientId", max_length=500)
    client_secret = _visible_ascii(credentials.client_secret, f"{where}.clientSecret")
    scope = credentials.scope.strip() if credentials.scope else None
    if scope:
        _visible_ascii(scope, f"{where}.scope", max_length=1000, spaces=True)
    return json.dumps({"type": CLIENT_CREDENTIALS, "token_url": token_url,
                       "client_id": client_id, "client_secret": client_secret,
                       "scope": scope or None})


def credentials_type(box: SecretBox, endpoint: OutboundEndpoint) -> str | None:
    """``bearer``, ``oauth2_client_credentials`` or None; never the credentials."""
    if not endpoint.credentials:
        return None
    stored = json.loads(box.decrypt(endpoint.credentials,
                                    context=credentials_context(endpoint.id)))
    kind: str = stored["type"]
    return kind


# --- checks -------------------------------------------------------------------------


def _check_event_types(event_types: Sequence[str]) -> list[str]:
    if not event_types:
        raise BadInput(f"eventTypes must name at least one of {', '.join(payloads.ALL_TYPES)}",
                       field="eventTypes")
    unknown = [t for t in event_types if t not in payloads.ALL_TYPES]
    if unknown:
        raise BadInput(f"eventTypes: {unknown[0][:64]!r} is not an event type; known: "
                       f"{', '.join(payloads.ALL_TYPES)}", field="eventTypes")
    return list(dict.fromkeys(event_types))


def _check_timeout(seconds: int) -> int:
    if not 1 <= seconds <= MAX_TIMEOUT_SECONDS:
        raise BadInput(f"timeoutSeconds must be between 1 and {MAX_TIMEOUT_SECONDS}",
                       field="timeoutSeconds")
    return seconds


def _check_rate(per_second: int | None) -> int | None:
    if per_second is not None and not 1 <= per_second <= MAX_RATE_PER_SECOND:
        raise BadInput(f"rateLimitPerSecond must be between 1 and {MAX_RATE_PER_SECOND}, or "
                       "null for no limit of the endpoint's own", field="rateLimitPerSecond")
    return per_second


def _clean_description(description: str | None) -> str | None:
    if description is None or not description.strip():
        return None
    return clean_text(description, "description", MAX_DESCRIPTION)


async def _check_fallback(fallback_url: str | None, url: str, *, prod: bool) -> str | None:
    if fallback_url is None:
        return None
    await check_url(fallback_url, "fallbackUrl", prod=prod)
    if fallback_url == url:
        raise BadInput("fallbackUrl must differ from url: it takes over when url fails",
                       field="fallbackUrl")
    return fallback_url


def describe(box: SecretBox, e: OutboundEndpoint) -> dict[str, Any]:
    """What the audit log keeps of an endpoint: never a secret or a credential."""
    return {"integration_id": str(e.integration_id), "url": e.url,
            "fallback_url": e.fallback_url, "event_types": list(e.event_types),
            "timeout_seconds": e.timeout_seconds,
            "rate_limit_per_second": e.rate_limit_per_second, "description": e.description,
            "credentials_type": credentials_type(box, e), "enabled": e.enabled,
            "disabled_reason": e.disabled_reason,
            "previous_secret_expires_at": _iso(e.previous_secret_expires_at)
            if e.previous_secret else None,
            "deleted_at": _iso(e.deleted_at), "version": e.version}


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


# --- endpoints --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WithSecret:
    endpoint: OutboundEndpoint
    secret: str  # shown this once


async def _live_integration(integration_id: Any) -> Integration:
    try:
        integration = await integration_service.get_integration(integration_id, lock=True)
    except NotFound:
        raise NotFound(f"integration {integration_id} not found",
                       field="integrationId") from None
    if integration.deleted_at is not None:
        raise Conflict(f"integration {integration.slug} is deleted", field="integrationId")
    return integration


async def create_endpoint(
    actor: Actor, box: SecretBox, *, prod: bool, integration_id: Any, url: str,
    event_types: Sequence[str], fallback_url: str | None = None,
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS, rate_limit_per_second: int | None = None,
    description: str | None = None, credentials: Credentials | None = None,
) -> WithSecret:
    """A new endpoint with a generated signing secret, in the caller's transaction."""
    url = await check_url(url, "url", prod=prod)
    fallback_url = await _check_fallback(fallback_url, url, prod=prod)
    types = _check_event_types(event_types)
    _check_timeout(timeout_seconds)
    _check_rate(rate_limit_per_second)
    description = _clean_description(description)
    plain_credentials = await _credentials_plain(credentials, prod=prod) if credentials else None
    integration = await _live_integration(integration_id)
    endpoint_id = uuid.uuid4()
    secret = standard_webhooks.new_secret()
    endpoint = await OutboundEndpoint.create(
        id=endpoint_id, integration_id=integration.id, url=url, fallback_url=fallback_url,
        event_types=types, timeout_seconds=timeout_seconds,
        rate_limit_per_second=rate_limit_per_second, description=description,
        secret=box.encrypt(secret, context=secret_context(endpoint_id)),
        credentials=box.encrypt(plain_credentials, context=credentials_context(endpoint_id))
        if plain_credentials else None)
    await record(actor, "outbound_endpoint.create", object_type="outbound_endpoint",
                 object_id=endpoint.id, after=describe(box, endpoint))
    return WithSecret(endpoint, secret)


async def get_endpoint(endpoint_id: Any, *, lock: bool = False,
                       field: str = "id") -> OutboundEndpoint:
    query = OutboundEndpoint.filter(id=endpoint_id)
    if lock:
        query = query.select_for_update()
    endpoint = await query.first()
    if endpoint is None:
        raise NotFound(f"outbound endpoint {endpoint_id} not found", field=field)
    return endpoint


async def _live_endpoint(endpoint_id: Any, field: str = "id") -> OutboundEndpoint:
    endpoint = await get_endpoint(endpoint_id, lock=True, field=field)
    if endpoint.deleted_at is not None:
        raise Conflict(f"outbound endpoint {endpoint.id} is deleted", field=field)
    return endpoint


async def _save(actor: Actor, box: SecretBox, action: str, endpoint: OutboundEndpoint,
                before: dict[str, Any], *fields: str) -> OutboundEndpoint:
    endpoint.version += 1
    await endpoint.save(update_fields=[*fields, "version", "updated_at"])
    await record(actor, action, object_type="outbound_endpoint", object_id=endpoint.id,
                 before=before, after=describe(box, endpoint))
    return endpoint


async def update_endpoint(
    actor: Actor, box: SecretBox, endpoint_id: Any, *, prod: bool, expected_version: int,
    url: str | None = None, event_types: Sequence[str] | None = None,
    timeout_seconds: int | None = None, fallback_url: str | Keep | None = KEEP,
    rate_limit_per_second: int | Keep | None = KEEP, description: str | Keep | None = KEEP,
    credentials: Credentials | Keep | None = KEEP,
) -> OutboundEndpoint:
    """Change what is given (None clears a field that may be empty; KEEP leaves it); the
    secret changes by rotation only."""
    endpoint = await _live_endpoint(endpoint_id)
    if expected_version != endpoint.version:
        raise Conflict(f"outbound endpoint is at version {endpoint.version}, not "
                       f"{expected_version}; reload and retry", field="expectedVersion")
    before = describe(box, endpoint)
    changed: list[str] = []
    if url is not None:
        endpoint.url = await check_url(url, "url", prod=prod)
        changed.append("url")
    if fallback_url is not KEEP:
        endpoint.fallback_url = fallback_url
        changed.append("fallback_url")
    if "url" in changed or "fallback_url" in changed:
        endpoint.fallback_url = await _check_fallback(endpoint.fallback_url, endpoint.url,
                                                      prod=prod)
    if event_types is not None:
        endpoint.event_types = _check_event_types(event_types)
        changed.append("event_types")
    if timeout_seconds is not None:
        endpoint.timeout_seconds = _check_timeout(timeout_seconds)
        changed.append("timeout_seconds")
    if rate_limit_per_second is not KEEP:
        endpoint.rate_limit_per_second = _check_rate(rate_limit_per_second)
        changed.append("rate_limit_per_second")
    if description is not KEEP:
        endpoint.description = _clean_description(description)
        changed.append("description")
    if credentials is not KEEP:
        endpoint.credentials = box.encrypt(
            await _credentials_plain(credentials, prod=prod),
            context=credentials_context(endpoint.id)) if credentials else None
        changed.append("credentials")
    if not changed:
        return endpoint
    return await _save(actor, box, "outbound_endpoint.update", endpoint, before, *changed)


async def set_enabled(actor: Actor, box: SecretBox, endpoint_id: Any,
                      enabled: bool) -> OutboundEndpoint:
    """Enabling clears why it was disabled and its run of failures: a fresh start, so a
    breaker-worn endpoint is not auto-disabled again at its first failure."""
    endpoint = await _live_endpoint(endpoint_id)
    if endpoint.enabled == enabled:
        return endpoint
    before = describe(box, endpoint)
    endpoint.enabled = enabled
    endpoint.disabled_reason = None if enabled else f"disabled by {actor.type} {actor.id}"
    endpoint.failing_since = None if enabled else endpoint.failing_since
    return await _save(actor, box, "outbound_endpoint.enable" if enabled
                       else "outbound_endpoint.disable", endpoint, before, "enabled",
                       "disabled_reason", "failing_since")


async def rotate_secret(actor: Actor, box: SecretBox, endpoint_id: Any, *,
                        overlap_seconds: int | None = None) -> WithSecret:
    """A new signing secret; until the overlap ends, deliveries carry a signature with the
    old one too, so the receiver can switch at its own pace (0: no overlap)."""
    overlap = (integration_service.DEFAULT_OVERLAP_SECONDS if overlap_seconds is None
               else overlap_seconds)
    integration_service.check_overlap(overlap, "overlapSeconds")
    endpoint = await _live_endpoint(endpoint_id)
    before = describe(box, endpoint)
    secret = standard_webhooks.new_secret()
    endpoint.previous_secret = endpoint.secret if overlap else None
    endpoint.previous_secret_expires_at = (datetime.now(UTC) + timedelta(seconds=overlap)
                                           if overlap else None)
    endpoint.secret = box.encrypt(secret, context=secret_context(endpoint.id))
    await _save(actor, box, "outbound_endpoint.rotate_secret", endpoint, before,
                "secret", "previous_secret", "previous_secret_expires_at")
    return WithSecret(endpoint, secret)


async def delete_endpoint(actor: Actor, box: SecretBox, endpoint_id: Any) -> OutboundEndpoint:
    """Stop for good and keep the row, which its deliveries refer to; what still waits is
    skipped."""
    endpoint = await get_endpoint(endpoint_id, lock=True)
    if endpoint.deleted_at is not None:
        return endpoint
    before = describe(box, endpoint)
    endpoint.enabled = False
    endpoint.deleted_at = datetime.now(UTC)
    await OutboundDelivery.filter(endpoint_id=endpoint.id, status__in=(
        DeliveryStatus.PENDING, DeliveryStatus.RETRYING)).update(
        status=DeliveryStatus.SKIPPED, next_attempt_at=None)
    return await _save(actor, box, "outbound_endpoint.delete", endpoint, before, "enabled",
                       "deleted_at")


ENDPOINT_ORDER = Keyset(("created_at", "id"), (aware_datetime, uuid.UUID))


async def page_endpoints(*, integration_id: Any, include_deleted: bool, window: Window,
                         max_page_size: int) -> Page:
    """Oldest first."""
    window.check(max_page_size)
    query = OutboundEndpoint.all()
    if integration_id is not None:
        query = query.filter(integration_id=integration_id)
    if not include_deleted:
        query = query.filter(deleted_at__isnull=True)
    return await page(query, ENDPOINT_ORDER, window)


async def endpoints_by_id(endpoint_ids: list[Any]) -> list[OutboundEndpoint | None]:
    """Batch function (DataLoader): each endpoint, in key order."""
    return one_per_key(await OutboundEndpoint.filter(id__in=endpoint_ids), endpoint_ids, "id")


async def integrations_by_id(integration_ids: list[Any]) -> list[Integration | None]:
    """Batch function (DataLoader): each endpoint's integration, in key order."""
    return one_per_key(await Integration.filter(id__in=integration_ids), integration_ids, "id")


# --- deliveries -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeliveryFilter:
    endpoint_id: Any = None
    status: DeliveryStatus | None = None
    event_type: str | None = None
    customer_id: Any = None
    created_after: datetime | None = None
    created_before: datetime | None = None


async def page_deliveries(flt: DeliveryFilter, *, window: Window, max_page_size: int) -> Page:
    """Newest first."""
    window.check(max_page_size)
    check_aware(flt.created_after, "filter.createdAfter")
    check_aware(flt.created_before, "filter.createdBefore")
    check_text(flt.event_type, "filter.eventType", max_length=64)
    query = OutboundDelivery.all()
    if flt.endpoint_id is not None:
        query = query.filter(endpoint_id=flt.endpoint_id)
    if flt.status is not None:
        query = query.filter(status=flt.status)
    if flt.event_type is not None:
        query = query.filter(event_type=flt.event_type)
    if flt.customer_id is not None:
        query = query.filter(customer_id=flt.customer_id)
    if flt.created_after is not None:
        query = query.filter(created_at__gte=flt.created_after)
    if flt.created_before is not None:
        query = query.filter(created_at__lt=flt.created_before)
    return await page_newest(query, time_field="created_at", window=window, id_type=uuid.UUID)


async def get_delivery(delivery_id: Any) -> OutboundDelivery:
    delivery = await OutboundDelivery.get_or_none(id=delivery_id)
    if delivery is None:
        raise NotFound(f"outbound delivery {delivery_id} not found", field="id")
    return delivery


async def attempts_by_delivery(delivery_ids: list[Any]) -> list[list[OutboundAttempt]]:
    """Batch function (DataLoader): each delivery's attempts, oldest first, in key order."""
    rows = await OutboundAttempt.filter(delivery_id__in=delivery_ids).order_by("attempted_at",
                                                                               "id")
    return many_per_key(rows, delivery_ids, "delivery_id")


# --- sending again --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Resent:
    """What a resend or recovery queued; the caller wakes ``endpoint_ids`` after commit."""

    deliveries: list[OutboundDelivery]  # event deliveries, due now
    refreshed_customer_ids: list[Any]  # customers whose current state was queued afresh
    endpoint_ids: set[Any]


async def _sendable(endpoints: Sequence[OutboundEndpoint], field: str) -> dict[str, Integration]:
    """The endpoints' integrations; Conflict naming ``field`` unless every endpoint and its
    integration can send now (a resend to an endpoint that is off would only be skipped)."""
    integrations = {str(i.id): i for i in await Integration.filter(
        id__in={e.integration_id for e in endpoints})}
    for endpoint in endpoints:
        integration = integrations[str(endpoint.integration_id)]
        if endpoint.deleted_at is not None or not endpoint.enabled:
            state = "deleted" if endpoint.deleted_at else "disabled"
            raise Conflict(f"outbound endpoint {endpoint.id} is {state}; enable it first",
                           field=field)
        if integration.deleted_at is not None or not integration.enabled:
            raise Conflict(f"integration {integration.slug} is disabled or deleted",
                           field=field)
    return integrations


async def _outside_segments(deliveries: Sequence[OutboundDelivery],
                            endpoints: dict[str, OutboundEndpoint],
                            integrations: dict[str, Integration]) -> set[Any]:
    """Ids of the deliveries about a customer that their integration may no longer see (its
    segments changed, or the customer's): those are never sent again."""
    customer_ids = {d.customer_id for d in deliveries if d.customer_id is not None}
    segments = {str(c.id): c.segment for c in await Customer.filter(id__in=customer_ids)}
    hidden = set()
    for d in deliveries:
        if d.customer_id is None:
            continue
        allowed = integrations[str(endpoints[str(d.endpoint_id)].integration_id)].segments
        segment = segments.get(str(d.customer_id))
        if segment is None or (integration_service.ALL_SEGMENTS not in allowed
                               and segment not in allowed):
            hidden.add(d.id)
    return hidden


async def _refresh_states(customer_ids: set[Any]) -> list[Any]:
    """Queue each customer's current state as a fresh outbox message, under its account
    lock (as every state change is written), so its version is above any sent before."""
    ordered = sorted(customer_ids, key=str)  # one lock order for every caller
    for customer_id in ordered:
        await ledger_service.get_account(customer_id, lock=True)
        await outbox.record(customer_id=customer_id, state_changed=True)
    return ordered


async def _due_now(deliveries: Sequence[OutboundDelivery]) -> None:
    """Make these deliveries due now, from the primary URL again."""
    now = datetime.now(UTC)
    for start in range(0, len(deliveries), CHUNK):
        chunk = deliveries[start:start + CHUNK]
        await OutboundDelivery.filter(id__in=[d.id for d in chunk]).update(
            status=DeliveryStatus.PENDING, next_attempt_at=now, primary_failures=0,
            updated_at=now)
    for delivery in deliveries:
        delivery.status = DeliveryStatus.PENDING
        delivery.next_attempt_at = now
        delivery.primary_failures = 0


async def resend(actor: Actor, delivery_ids: Sequence[Any]) -> Resent:
    """Send these deliveries again now, in the caller's transaction (the caller wakes the
    deliverers after commit). An event goes again as it was, with its webhook-id; a
    ``credit.updated`` is replaced by the customer's current state; one in flight is left
    to finish."""
    ids = list(dict.fromkeys(str(i) for i in delivery_ids))
    if not 1 <= len(ids) <= MAX_RESEND:
        raise BadInput(f"ids must list 1 to {MAX_RESEND} deliveries", field="ids")
    found = {str(d.id): d for d in await OutboundDelivery.filter(id__in=ids).order_by("id")
             .select_for_update()}
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFound(f"outbound delivery {missing[0]} not found", field="ids")
    deliveries = [found[i] for i in ids]
    snapshot = next((d for d in deliveries if d.event_type == payloads.SNAPSHOT_TYPE), None)
    if snapshot is not None:
        raise BadInput(f"outbound delivery {snapshot.id} is a {payloads.SNAPSHOT_TYPE}, whose "
                       "states may be stale by now; the next scheduled sync sends fresh ones",
                       field="ids")
    endpoints = {str(e.id): e for e in await OutboundEndpoint.filter(
        id__in={d.endpoint_id for d in deliveries})}
    integrations = await _sendable(list(endpoints.values()), "ids")
    hidden = await _outside_segments(deliveries, endpoints, integrations)
    if hidden:
        raise Conflict(f"outbound delivery {sorted(map(str, hidden))[0]} is about a customer "
                       "its integration may no longer see", field="ids")
    states = {d.customer_id for d in deliveries if d.event_type == payloads.STATE_TYPE}
    events = [d for d in deliveries if d.event_type != payloads.STATE_TYPE
              and d.status != DeliveryStatus.SENDING]
    refreshed = await _refresh_states(states)
    for delivery in deliveries:
        state = delivery.event_type == payloads.STATE_TYPE
        if not state and delivery.status == DeliveryStatus.SENDING:
            continue
        await record(actor, "outbound_delivery.resend", object_type="outbound_delivery",
                     object_id=delivery.id, before={"status": str(delivery.status)},
                     after={"refreshed_customer_id": str(delivery.customer_id)} if state
                     else {"status": str(DeliveryStatus.PENDING)})
    await _due_now(events)
    return Resent(events, refreshed, {d.endpoint_id for d in events})


async def recover(actor: Actor, endpoint_id: Any, since: datetime, *,
                  now: datetime | None = None) -> Resent:
    """Send again every delivery of the endpoint that FAILED since ``since`` (at most
    MAX_RECOVERY back), as ``resend`` would; snapshots and deliveries about customers the
    integration may no longer see stay FAILED."""
    now = now or datetime.now(UTC)
    check_aware(since, "since")
    if since < now - MAX_RECOVERY:
        raise BadInput(f"since must be within the last {MAX_RECOVERY.days} days",
                       field="since")
    if since > now:
        raise BadInput("since must not be in the future", field="since")
    endpoint = await get_endpoint(endpoint_id, lock=True, field="endpointId")
    integrations = await _sendable([endpoint], "endpointId")
    failed = await OutboundDelivery.filter(
        endpoint_id=endpoint.id, status=DeliveryStatus.FAILED, created_at__gte=since,
    ).exclude(event_type=payloads.SNAPSHOT_TYPE).order_by("id").select_for_update()
    hidden = await _outside_segments(failed, {str(endpoint.id): endpoint}, integrations)
    sendable = [d for d in failed if d.id not in hidden]
    states = {d.customer_id for d in sendable if d.event_type == payloads.STATE_TYPE}
    events = [d for d in sendable if d.event_type != payloads.STATE_TYPE]
    refreshed = await _refresh_states(states)
    await _due_now(events)
    await record(actor, "outbound_endpoint.recover", object_type="outbound_endpoint",
                 object_id=endpoint.id, after={
                     "since": since.isoformat(), "resent": len(events),
                     "refreshed_customers": len(refreshed), "withheld": len(hidden)})
    return Resent(events, refreshed, {endpoint.id} if events else set())


async def reencrypt_endpoint_secrets(box: SecretBox) -> int:
    """Re-encrypt every endpoint's signing secrets and credentials under the current master
    key (keys rotate-master), in the caller's transaction."""
    count = 0
    for endpoint in await OutboundEndpoint.all().select_for_update():
        secret = secret_context(endpoint.id)
        changed = box.reencrypt_fields(endpoint, {
            "secret": secret, "previous_secret": secret,
            "credentials": credentials_context(endpoint.id)})
        if changed:
            await endpoint.save(update_fields=changed)
            count += len(changed)
    return count
