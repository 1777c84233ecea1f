"""Collecting invoices through payment processors: routes, collections, their attempts, and
the one way a collection is settled.

A collection charges the invoice's open amount at the processors of its route, primary
first. One attempt is three steps: claim (a transaction: the row locked with SKIP LOCKED,
PROCESSING, a lease), the processor call (no transaction open), and the outcome (a
transaction, under the row lock, and only while the lease is ours). A worker that dies
mid-call leaves the row PROCESSING; once the lease ends the sweep makes it UNKNOWN, since
the charge may have gone out.

What comes next (``_next``):

- SUCCEEDED: ``settle``, which posts the PAYMENT entry once.
- DECLINED: dunning: again after the receivables policy's ``dunning_days`` (3, 5, 7),
  from the primary, with a new idempotency key; FAILED after the last.
- FAILED (technical): again on the same processor with the same idempotency key after
  TECHNICAL_DELAYS; after the last, UNKNOWN, so that leaving the processor goes through a
  status query like a timeout does (a 5xx can come after the charge).
- UNKNOWN, PENDING (a timeout, processing): UNKNOWN. The next attempt asks the same
  processor about this idempotency key and nothing else; only NOT_FOUND or CANCELLED
  moves on to the next processor (new key), and a processor that cannot be asked is
  asked again, never skipped. So a customer is never charged twice.

The webhook path (``settle_from_webhook``, from ``integration/processing.py``) and the
status path both end in ``settle``, under the collection's row lock (taken after the
account's, the order of every path to a payment): the first posts the payment and sets
``payment_entry_id``, the second finds it set and does nothing. The
ledger entry's idempotency key ``collection:<reference>``, owned by the system actor
(no API caller can reach that namespace), backs it up.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from redis.exceptions import RedisError
from tortoise.expressions import F, Q, Subquery
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from ccm_gateway.alert.models import AlertSeverity
from ccm_gateway.alert.service import raise_alert
from ccm_gateway.audit import service as audit
from ccm_gateway.billing import allocation
from ccm_gateway.billing.models import Invoice, InvoiceStatus, ReceivablesPolicy
from ccm_gateway.collection.adapters import (
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    CredentialMissing,
    adapter_for,
)
from ccm_gateway.collection.models import (
    AttemptOutcome,
    Collection,
    CollectionAttempt,
    CollectionRoute,
    CollectionStatus,
)
from ccm_gateway.config import Settings
from ccm_gateway.customer import service as customer_service
from ccm_gateway.customer.models import Customer, ExternalRef
from ccm_gateway.errors import BadInput, CCMError, Conflict, NotFound
from ccm_gateway.integration import service as integration_service
from ccm_gateway.integration.models import Integration, IntegrationKind
from ccm_gateway.integration.profiles.model import CollectSpec
from ccm_gateway.kit import idempotency
from ccm_gateway.kit.batch import many_per_key, one_per_key
from ccm_gateway.kit.ids import parse_uuid
from ccm_gateway.kit.locking import lock_key
from ccm_gateway.kit.money import currency_exponent
from ccm_gateway.kit.pagination import Page, Window, page_newest_first
from ccm_gateway.kit.secrets import SecretBox
from ccm_gateway.ledger import service as ledger_service
from ccm_gateway.ledger.models import EntryKind
from ccm_gateway.outbound.http import new_client
from ccm_gateway.outbound.models import OutboundEndpoint, credentials_context
from ccm_gateway.outbound.urls import parse_url
from ccm_gateway.principal import SYSTEM_ACTOR, Actor, Principal, readable_by
from ccm_gateway.queue import enqueue_job
from ccm_gateway.site import service as site_service

log = logging.getLogger("ccm_gateway.collection")

ATTEMPT_JOB = "collection.attempt"
MAX_ROUTE = 5
DEFAULT_DUNNING_DAYS = (3, 5, 7)
# Retries of a technical failure on the same processor, same key, seconds after each.
TECHNICAL_DELAYS = (2, 10, 30)
# Status queries of an UNKNOWN charge, seconds after each; the last repeats.
STATUS_DELAYS = (1, 5, 30, 120, 600)
# Longer than any attempt takes: a Stripe charge is two requests of at most 60 s each.
LEASE = timedelta(seconds=180)
BATCH = 20
WAITING = (CollectionStatus.PENDING, CollectionStatus.RETRYING, CollectionStatus.UNKNOWN)
IN_PROGRESS = (*WAITING, CollectionStatus.PROCESSING)
OPEN_INVOICE = (InvoiceStatus.OPEN, InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.OVERDUE)
# The ledger's keyed writes of collections are the system's own: no API caller is one.
COLLECTION_ACTOR = Actor(type=SYSTEM_ACTOR.type, id="collection")


def payment_key(reference: str) -> str:
    return f"collection:{reference}"


def attempt_key(collection: Collection) -> str:
    """The idempotency key of the current charge: one per dunning round and processor, so a
    retry of a technical failure or a status query names the same charge."""
    return f"{collection.reference}-{collection.declines}-{collection.route_index}"


def _stream(collection: Collection) -> str:
    return audit.customer_stream(collection.customer_id)


def snapshot(c: Collection) -> dict[str, Any]:
    return {"invoice_id": str(c.invoice_id), "reference": c.reference,
            "status": str(c.status), "amount_minor": c.amount_minor, "currency": c.currency,
            "route": list(c.route), "route_index": c.route_index, "declines": c.declines,
            "attempts": c.attempts,
            "next_attempt_at": c.next_attempt_at.isoformat() if c.next_attempt_at else None,
            "payment_entry_id": str(c.payment_entry_id) if c.payment_entry_id else None,
            "processor_payment_id": c.processor_payment_id, "last_error": c.last_error}


# --- routes -------------------------------------------------------------------------


async def get_route(route_id: Any, field: str = "id") -> CollectionRoute:
    found = await CollectionRoute.get_or_none(id=parse_uuid(route_id, field))
    if found is None:
        raise NotFound(f"collection route {route_id} not found", field=field)
    return found


async def list_routes(currency: str | None = None) -> list[CollectionRoute]:
    query = CollectionRoute.all()
    if currency is not None:
        query = query.filter(currency=currency)
    return await query.order_by("currency", "site_id")


async def _check_processors(integration_ids: Sequence[Any]) -> list[str]:
    field = "integrationIds"
    if not integration_ids or len(integration_ids) > MAX_ROUTE:
        raise BadInput(f"{field} must name 1 to {MAX_ROUTE} integrations", field=field)
    ids = [str(parse_uuid(i, field)) for i in integration_ids]
    if len(set(ids)) != len(ids):
        raise BadInput(f"{field} names an integration twice", field=field)
    found = {str(i.id): i for i in await Integration.filter(id__in=ids, deleted_at__isnull=True)}
    for integration_id in ids:
        integration = found.get(integration_id)
        if integration is None:
            raise NotFound(f"integration {integration_id} not found", field=field)
        if integration.kind != IntegrationKind.PAYMENT_PROCESSOR:
            raise BadInput(f"integration {integration.slug} is not a payment processor",
                           field=field)
        if not integration.enabled:
            raise BadInput(f"integration {integration.slug} is disabled", field=field)
        profile = await integration_service.resolve_profile(integration.profile)
        if profile.collect is None:
            raise BadInput(f"integration {integration.slug}'s profile {profile.name} has no "
                           "collect section: nothing to charge through", field=field)
    return ids


def _route_query(site_id: Any, currency: str) -> QuerySet[CollectionRoute]:
    # NULL site ids never collide in a unique constraint: the lock serialises them.
    if site_id is None:
        return CollectionRoute.filter(site_id__isnull=True, currency=currency)
    return CollectionRoute.filter(site_id=site_id, currency=currency)


async def set_route(actor: Actor, *, site_id: Any, currency: str,
                    integration_ids: Sequence[Any],
                    expected_version: int | None) -> CollectionRoute:
    """Create or replace the route of (site, currency); in the caller's transaction."""
    currency_exponent(currency, field="currency")
    if site_id is not None:
        site_id = parse_uuid(site_id, "siteId")
        await site_service.require_site(site_id)
    ids = await _check_processors(integration_ids)
    await lock_key(f"collection_route:{site_id}:{currency}")
    route = await _route_query(site_id, currency).select_for_update().first()
    if expected_version is not None and expected_version != (route.version if route else 0):
        raise Conflict(f"the route is at version {route.version if route else 0}, not "
                       f"{expected_version}", field="expectedVersion")
    before = None
    if route is None:
        route = await CollectionRoute.create(id=uuid.uuid4(), site_id=site_id,
                                             currency=currency, integration_ids=ids)
    else:
        before = {"integration_ids": list(route.integration_ids), "version": route.version}
        route.integration_ids = ids
        route.version += 1
        await route.save(update_fields=["integration_ids", "version", "updated_at"])
    await audit.record(actor, "collection_route.set", object_type="collection_route",
                       object_id=route.id, before=before,
                       after={"site_id": str(site_id) if site_id else None,
                              "currency": currency, "integration_ids": ids,
                              "version": route.version})
    return route


async def route_for(site_id: Any, currency: str) -> list[str] | None:
    """The site's route in ``currency``, else the route of every site."""
    if site_id is not None:
        own = await _route_query(site_id, currency).first()
        if own is not None:
            return list(own.integration_ids)
    default = await _route_query(None, currency).first()
    return list(default.integration_ids) if default else None


# --- reading ------------------------------------------------------------------------


def readable_collections(principal: Principal) -> QuerySet[Collection]:
    if principal.partner_id is None:
        return Collection.all()
    return Collection.filter(customer_id__in=Subquery(
        customer_service.readable_customers(principal).values("id")))


async def get_readable_collection(principal: Principal, collection_id: Any,
                                  field: str = "id") -> Collection:
    found = await readable_collections(principal).get_or_none(
        id=parse_uuid(collection_id, field))
    if found is None:
        raise NotFound(f"collection {collection_id} not found", field=field)
    return found


async def page_collections(principal: Principal, *, invoice_id: Any, customer_id: Any,
                           status: CollectionStatus | None, window: Window,
                           max_page_size: int) -> Page:
    """Newest first."""
    window.check(max_page_size)
    query = readable_collections(principal)
    if invoice_id is not None:
        query = query.filter(invoice_id=invoice_id)
    if customer_id is not None:
        query = query.filter(customer_id=customer_id)
    if status is not None:
        query = query.filter(status=status)
    return await page_newest_first(query, time_field="created_at", window=window,
                                   id_type=uuid.UUID)


async def attempts_by_collection(collection_ids: list[Any]) -> list[list[CollectionAttempt]]:
    rows = await CollectionAttempt.filter(collection_id__in=collection_ids).order_by("id")
    return many_per_key(rows, collection_ids, "collection_id")


async def invoices_by_id(invoice_ids: list[Any]) -> list[Invoice | None]:
    return one_per_key(await Invoice.filter(id__in=invoice_ids), invoice_ids, "id")


# --- starting a collection ----------------------------------------------------------


def _new_reference() -> str:
    return f"col_{secrets.token_hex(12)}"


def _owed(invoice: Invoice) -> int:
    return invoice.total_minor - invoice.paid_minor - invoice.credited_minor


async def _start(actor: Actor, invoice: Invoice, trigger: str,
                 now: datetime) -> Collection:
    """A collection of the locked ``invoice``'s open amount; CONFLICT when it cannot be."""
    if invoice.status in (InvoiceStatus.PAID, InvoiceStatus.VOID):
        raise Conflict(f"invoice {invoice.number} is {InvoiceStatus(invoice.status).name}: "
                       "nothing to collect", field="invoiceId")
    owed = _owed(invoice)
    if owed <= 0:
        raise Conflict(f"invoice {invoice.number} has nothing left to pay", field="invoiceId")
    running = await Collection.filter(invoice_id=invoice.id, status__in=IN_PROGRESS).first()
    if running is not None:
        raise Conflict(f"collection {running.reference} of invoice {invoice.number} is "
                       f"{CollectionStatus(running.status).name} already", field="invoiceId")
    route = await route_for(invoice.site_id, invoice.currency)
    if not route:
        raise Conflict(f"no collection route for {invoice.currency}: set one with "
                       "setCollectionRoute", field="invoiceId")
    collection = await Collection.create(
        id=uuid.uuid4(), invoice_id=invoice.id, customer_id=invoice.customer_id,
        amount_minor=owed, currency=invoice.currency, trigger=trigger,
        reference=_new_reference(), route=route, next_attempt_at=now)
    await audit.record(actor, "collection.create", object_type="collection",
                       object_id=collection.id, after=snapshot(collection),
                       stream=_stream(collection))
    return collection


async def _locked_invoice(invoice_id: Any) -> Invoice:
    invoice = await Invoice.filter(id=invoice_id).select_for_update().first()
    if invoice is None:
        raise NotFound(f"invoice {invoice_id} not found", field="invoiceId")
    return invoice


async def collect_invoice(actor: Actor, invoice_id: Any, *,
                          idempotency_key: str | None) -> Collection:
    """Start collecting the invoice's open amount (its first attempt is the worker's);
    in the caller's transaction. The same key again answers the same collection."""
    request = {"invoice_id": str(invoice_id)}

    async def run() -> dict[str, Any]:
        invoice = await _locked_invoice(invoice_id)
        collection = await _start(actor, invoice, "api", datetime.now(UTC))
        return {"collection_id": str(collection.id)}

    outcome = await idempotency.run_once(actor, "collection.collect", idempotency_key,
                                         request, run)
    return await Collection.get(id=outcome["collection_id"])


async def enqueue_attempt(queue: Any, collection_id: Any) -> None:
    """Wake a worker for the collection's attempt; best effort (the sweep finds it)."""
    if queue is None:
        return
    try:
        await enqueue_job(queue, ATTEMPT_JOB, (str(collection_id),),
                          job_id=f"{ATTEMPT_JOB}:{collection_id}:{time.time_ns()}")
    except (RedisError, OSError) as exc:
        log.warning("could not enqueue collection %s (the sweep will): %s", collection_id,
                    exc.__class__.__name__)


async def _policy(customer: Customer) -> ReceivablesPolicy | None:
    found = await ReceivablesPolicy.filter(segment__in=[customer.segment, "*"])
    own = [p for p in found if p.segment == customer.segment]
    return (own or found)[0] if found else None


async def start_due_collections(now: datetime | None = None) -> list[Any]:
    """Collections of the invoices due today (UTC) whose customer holds a payment method at
    a processor of the route (an ExternalRef in its ref system) and whose segment's
    receivables policy has auto_collect on; one transaction each. An invoice with any
    collection already is left alone."""
    now = now or datetime.now(UTC)
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    due = await Invoice.filter(status__in=OPEN_INVOICE, due_at__gte=start,
                               due_at__lt=start + timedelta(days=1)) \
        .exclude(id__in=Subquery(Collection.all().values("invoice_id"))) \
        .order_by("due_at").values_list("id", flat=True)
    started = []
    for invoice_id in due:
        try:
            async with in_transaction():
                invoice = await _locked_invoice(invoice_id)
                if await Collection.exists(invoice_id=invoice.id):
                    continue
                customer = await Customer.get(id=invoice.customer_id)
                policy = await _policy(customer)
                if policy is not None and not policy.auto_collect:
                    continue
                route = await route_for(invoice.site_id, invoice.currency) or []
                systems = await Integration.filter(id__in=route).values_list("ref_system",
                                                                             flat=True)
                if not await ExternalRef.exists(customer_id=customer.id,
                                                system__in=list(systems)):
                    continue
                collection = await _start(SYSTEM_ACTOR, invoice, "due_date", now)
                started.append(collection.id)
        except CCMError as exc:
            log.info("invoice %s not collected on its due date: %s", invoice_id, exc)
    return started


# --- attempts -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Claimed:
    collection: Collection
    asks_status: bool  # it was UNKNOWN: ask the processor before anything else
    lease_until: datetime


async def recover_leases(now: datetime | None = None) -> int:
    """UNKNOWN for the collections whose worker's lease ran out mid-attempt: the charge
    may have gone out."""
    now = now or datetime.now(UTC)
    recovered = 0
    async with in_transaction():
        rows = await Collection.filter(status=CollectionStatus.PROCESSING,
                                       lease_until__lt=now).select_for_update(skip_locked=True)
        for c in rows:
            before = snapshot(c)
            c.status, c.next_attempt_at, c.lease_until = CollectionStatus.UNKNOWN, now, None
            c.version += 1
            await c.save(update_fields=["status", "next_attempt_at", "lease_until", "version",
                                        "updated_at"])
            await audit.record(SYSTEM_ACTOR, "collection.lease_expired",
                               object_type="collection", object_id=c.id, before=before,
                               after=snapshot(c), stream=_stream(c))
            recovered += 1
    return recovered


async def claim(now: datetime, *, collection_id: Any = None,
                batch: int = BATCH) -> list[Claimed]:
    """Due collections, each PROCESSING under a lease of this caller's; rows another worker
    holds locked are skipped, so no two workers attempt one collection at once."""
    lease_until = now + LEASE
    async with in_transaction():
        query = Collection.filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
                                  status__in=WAITING)
        if collection_id is not None:
            query = query.filter(id=collection_id)
        rows = await query.order_by("next_attempt_at").limit(batch) \
            .select_for_update(skip_locked=True)
        claimed = []
        for c in rows:
            # Conditional: on SQLite (no row locks) a second claimer updates nothing.
            if await Collection.filter(id=c.id, status=c.status).update(
                    status=CollectionStatus.PROCESSING, lease_until=lease_until,
                    attempts=F("attempts") + 1):
                claimed.append(Claimed(c, c.status == CollectionStatus.UNKNOWN, lease_until))
                c.attempts += 1
    return claimed


@dataclass(frozen=True, slots=True)
class _Target:
    integration: Integration
    spec: CollectSpec | None = None
    credential: str | None = None
    customer_ref: str | None = None
    problem: str | None = None  # why it cannot be used now


async def _credential(box: SecretBox, integration: Integration, spec: CollectSpec) -> str | None:
    if spec.auth.credential == "integration_secret":
        return integration_service.current_secret(box, integration)
    if spec.auth.credential != "endpoint_credentials":
        return None
    endpoint = await OutboundEndpoint.filter(
        integration_id=integration.id, deleted_at__isnull=True, enabled=True,
        credentials__isnull=False).order_by("created_at").first()
    if endpoint is None or endpoint.credentials is None:
        raise CredentialMissing(f"integration {integration.slug} has no enabled outbound "
                                "endpoint with credentials")
    stored = json.loads(box.decrypt(endpoint.credentials,
                                    context=credentials_context(endpoint.id)))
    if stored.get("type") != "bearer":
        raise CredentialMissing(f"integration {integration.slug}'s endpoint credentials are "
                                f"{stored.get('type')}; collection uses a bearer token")
    return str(stored["token"])


def _url_problem(spec: CollectSpec, *, prod: bool) -> str | None:
    """Why the collect section's URLs may not be called here (prod: https only; the
    connection itself is checked against private addresses by the client)."""
    urls = [spec.url] if spec.url else [c.url for c in (spec.charge, spec.status) if c]
    for url in urls:
        try:
            parse_url(url, "collect.url", prod=prod)
        except BadInput as exc:
            return exc.message
    return None


async def _target(box: SecretBox, collection: Collection, *, prod: bool) -> _Target | None:
    if collection.route_index >= len(collection.route):
        return None
    integration = await Integration.get_or_none(id=collection.route[collection.route_index])
    if integration is None:
        return None
    if integration.deleted_at is not None or not integration.enabled:
        return _Target(integration, problem=f"integration {integration.slug} is disabled")
    try:
        profile = await integration_service.resolve_profile(integration.profile)
    except NotFound as exc:
        return _Target(integration, problem=exc.message)
    if profile.collect is None:
        return _Target(integration, problem=f"profile {profile.name} has no collect section")
    refused = _url_problem(profile.collect, prod=prod)
    if refused is not None:
        return _Target(integration, problem=refused)
    ref = await ExternalRef.filter(customer_id=collection.customer_id,
                                   system=integration.ref_system).first()
    if ref is None:
        return _Target(integration, problem=f"the customer has no {integration.ref_system} "
                                            "reference (no payment method there)")
    try:
        credential = await _credential(box, integration, profile.collect)
    except CredentialMissing as exc:
        return _Target(integration, problem=str(exc))
    return _Target(integration, profile.collect, credential, ref.external_id)


async def run_due(settings: Settings, *, now: datetime | None = None,
                  collection_id: Any = None, client: httpx.AsyncClient | None = None) -> int:
    """Recover expired leases, then attempt every due collection (or just
    ``collection_id``); how many were attempted."""
    now = now or datetime.now(UTC)
    await recover_leases(now)
    claimed = await claim(now, collection_id=collection_id)
    if not claimed:
        return 0
    box = SecretBox.from_settings(settings)
    if client is None:
        async with new_client(prod=settings.is_prod, max_connections=BATCH) as own:
            for item in claimed:
                await attempt(box, item, own, now=now, prod=settings.is_prod)
    else:
        for item in claimed:
            await attempt(box, item, client, now=now, prod=settings.is_prod)
    return len(claimed)


async def attempt(box: SecretBox, claimed: Claimed, client: httpx.AsyncClient, *,
                  now: datetime, prod: bool) -> None:
    """One call at the collection's current processor, then its outcome."""
    collection = claimed.collection
    key = attempt_key(collection)
    if not claimed.asks_status and await _cancelled(claimed, now):
        return
    target = await _target(box, collection, prod=prod)
    started_at = datetime.now(UTC)
    kind = "status" if claimed.asks_status else "charge"
    if target is None:
        result = ChargeResult(ChargeStatus.FAILED, error="the route has no such processor")
    elif target.problem is not None or target.spec is None or target.customer_ref is None:
        result = ChargeResult(ChargeStatus.FAILED, error=target.problem)
    else:
        adapter = adapter_for(target.spec, client, target.credential)
        if claimed.asks_status:
            result = await adapter.status(collection.reference, key,
                                          collection.processor_payment_id)
        else:
            invoice = await Invoice.get(id=collection.invoice_id)
            result = await adapter.charge(ChargeRequest(
                reference=collection.reference, idempotency_key=key,
                amount_minor=collection.amount_minor, currency=collection.currency,
                customer_ref=target.customer_ref,
                description=f"invoice {invoice.number}", invoice_number=invoice.number))
    integration_id = target.integration.id if target else None
    unusable = target is None or target.problem is not None
    await _record(claimed, kind, integration_id, key, result, started_at,
                  unusable=unusable, now=now)


async def _cancelled(claimed: Claimed, now: datetime) -> bool:
    """CANCELLED, before a new charge, when the invoice was paid or voided meanwhile (a
    pending status query is still asked: that charge may have gone out)."""
    async with in_transaction():
        invoice = await Invoice.get(id=claimed.collection.invoice_id)
        if invoice.status not in (InvoiceStatus.PAID, InvoiceStatus.VOID):
            return False
        c = await Collection.filter(id=claimed.collection.id).select_for_update().first()
        if c is None or c.status != CollectionStatus.PROCESSING:
            return True
        before = snapshot(c)
        c.status, c.next_attempt_at, c.lease_until = CollectionStatus.CANCELLED, None, None
        c.last_error = f"the invoice is {InvoiceStatus(invoice.status).name}"
        c.version += 1
        await c.save(update_fields=["status", "next_attempt_at", "lease_until", "last_error",
                                    "version", "updated_at"])
        await audit.record(COLLECTION_ACTOR, "collection.cancel", object_type="collection",
                           object_id=c.id, before=before, after=snapshot(c),
                           stream=_stream(c))
    return True


_OUTCOMES = {ChargeStatus.SUCCEEDED: AttemptOutcome.SUCCEEDED,
             ChargeStatus.DECLINED: AttemptOutcome.DECLINED,
             ChargeStatus.CANCELLED: AttemptOutcome.CANCELLED,
             # Recorded as CANCELLED: the processor has no such payment, nothing charged.
             ChargeStatus.NOT_FOUND: AttemptOutcome.CANCELLED,
             ChargeStatus.PENDING: AttemptOutcome.UNKNOWN,
             ChargeStatus.UNKNOWN: AttemptOutcome.UNKNOWN,
             ChargeStatus.FAILED: AttemptOutcome.FAILED}


async def _record(claimed: Claimed, kind: str, integration_id: Any, key: str,
                  result: ChargeResult, started_at: datetime, *, unusable: bool,
                  now: datetime) -> None:
    async with in_transaction():
        # The account's lock first, as every writer of the account takes it: a success
        # posts a payment, and the webhook path comes here holding it.
        await ledger_service.lock_account(customer_id=claimed.collection.customer_id)
        c = await Collection.filter(id=claimed.collection.id).select_for_update().first()
        if c is None:
            return
        error = result.error
        if result.status == ChargeStatus.NOT_FOUND:
            error = "the processor has no payment for this key"
        if result.decline_code:
            error = f"{result.decline_code}: {error or 'declined'}"
        attempt_row = await CollectionAttempt.create(
            collection_id=c.id, integration_id=integration_id or uuid.UUID(int=0), kind=kind,
            idempotency_key=key, processor_payment_id=result.payment_id,
            outcome=_OUTCOMES[result.status], status_code=result.status_code,
            error=(error or None) and str(error)[:500], latency_ms=result.latency_ms,
            started_at=started_at)
        await audit.record(COLLECTION_ACTOR, f"collection.{kind}", object_type="collection",
                           object_id=c.id,
                           after={"reference": c.reference, "integration_id":
                                  str(integration_id) if integration_id else None,
                                  "idempotency_key": key, "outcome": str(attempt_row.outcome),
                                  "payment_id": result.payment_id,
                                  "status_code": result.status_code,
                                  "decline_code": result.decline_code, "error": error,
                                  "latency_ms": result.latency_ms},
                           stream=_stream(c))
        if result.status == ChargeStatus.SUCCEEDED:
            # Paid is paid, whoever holds the lease now.
            await _settle_locked(c, payment_id=result.payment_id, actor=COLLECTION_ACTOR,
                                 source=kind)
            return
        if c.status != CollectionStatus.PROCESSING or c.lease_until is None or \
                abs((c.lease_until - claimed.lease_until).total_seconds()) > 0.001:
            return  # settled by a webhook meanwhile, or the lease ran out: not ours
        before = snapshot(c)
        if result.payment_id and not c.processor_payment_id:
            c.processor_payment_id = result.payment_id
        alert = await _next(c, kind, key, result, unusable=unusable, now=now)
        c.lease_until = None
        c.last_error = error[:500] if error else None
        c.version += 1
        await c.save(update_fields=["status", "route_index", "declines", "next_attempt_at",
                                    "lease_until", "processor_payment_id", "last_error",
                                    "version", "updated_at"])
        await audit.record(COLLECTION_ACTOR, "collection.update", object_type="collection",
                           object_id=c.id, before=before, after=snapshot(c),
                           stream=_stream(c))
        if alert is not None:
            severity, message = alert
            await raise_alert("payment.failed", severity, message, customer_id=c.customer_id,
                              integration_id=integration_id,
                              details={"collection_id": str(c.id), "reference": c.reference,
                                       "invoice_id": str(c.invoice_id),
                                       "idempotency_key": key, "status": str(c.status),
                                       "decline_code": result.decline_code, "error": error})


async def _next(c: Collection, kind: str, key: str, result: ChargeResult, *,
                unusable: bool, now: datetime) -> tuple[AlertSeverity, str] | None:
    """Move ``c`` (locked) on after an attempt that did not succeed; the alert to raise."""
    status = result.status
    if status == ChargeStatus.DECLINED:
        return await _declined(c, result.decline_code or result.error or "declined", now)
    if kind == "charge" and unusable:
        # Nothing went out to that processor: on to the next one.
        return await _next_processor(c, result.error or "unusable", now)
    if kind == "status" and status in (ChargeStatus.CANCELLED, ChargeStatus.NOT_FOUND):
        return await _next_processor(c, "confirmed not charged", now)
    if kind == "charge" and status == ChargeStatus.CANCELLED:
        return await _next_processor(c, "the processor cancelled the payment", now)
    if kind == "charge" and status == ChargeStatus.FAILED:
        failures = await CollectionAttempt.filter(collection_id=c.id, idempotency_key=key,
                                                  kind="charge",
                                                  outcome=AttemptOutcome.FAILED).count()
        if failures <= len(TECHNICAL_DELAYS):
            c.status = CollectionStatus.RETRYING
            c.next_attempt_at = now + timedelta(seconds=TECHNICAL_DELAYS[failures - 1])
            return None
        # Out of retries here; a 5xx may have come after the charge: ask before leaving.
        c.status, c.next_attempt_at = CollectionStatus.UNKNOWN, now
        return None
    # Timed out, processing, or a status query that got no answer: ask (again), later.
    asked = await CollectionAttempt.filter(collection_id=c.id, idempotency_key=key,
                                           kind="status").count()
    c.status = CollectionStatus.UNKNOWN
    c.next_attempt_at = now + timedelta(seconds=STATUS_DELAYS[min(asked, len(STATUS_DELAYS)
                                                                  - 1)])
    if kind == "status" and asked == len(STATUS_DELAYS):
        return (AlertSeverity.CRITICAL, f"collection {c.reference}: the processor has not "
                f"said what became of charge {key} after {asked} status queries")
    return None


async def _dunning_days(customer_id: Any) -> list[int]:
    customer = await Customer.get(id=customer_id)
    policy = await _policy(customer)
    return list(policy.dunning_days) if policy and policy.dunning_days else \
        list(DEFAULT_DUNNING_DAYS)


async def _declined(c: Collection, why: str, now: datetime) -> tuple[AlertSeverity, str]:
    """A dunning round is over: again from the primary after its days, or FAILED."""
    days = await _dunning_days(c.customer_id)
    c.declines += 1
    c.route_index = 0
    if c.declines <= len(days):
        c.status = CollectionStatus.RETRYING
        c.next_attempt_at = now + timedelta(days=days[c.declines - 1])
        return (AlertSeverity.WARNING, f"collection {c.reference} failed ({why}); retrying "
                f"in {days[c.declines - 1]} days ({c.declines} of {len(days)})")
    c.status, c.next_attempt_at = CollectionStatus.FAILED, None
    return (AlertSeverity.CRITICAL, f"collection {c.reference} failed for good ({why}) "
            f"after {len(days)} dunning retries")


async def _next_processor(c: Collection, why: str,
                          now: datetime) -> tuple[AlertSeverity, str] | None:
    if c.route_index + 1 < len(c.route):
        c.route_index += 1
        c.status, c.next_attempt_at = CollectionStatus.PENDING, now
        return (AlertSeverity.WARNING, f"collection {c.reference}: processor "
                f"{c.route_index} of the route failed ({why}); falling back to the next")
    return await _declined(c, f"every processor failed; last: {why}", now)


# --- settling -----------------------------------------------------------------------


async def _settle_locked(c: Collection, *, payment_id: str | None, actor: Actor,
                         source: str) -> bool:
    """Post the payment of ``c`` (its row locked) unless it is posted already."""
    if c.payment_entry_id is not None:
        return False
    before = snapshot(c)
    invoice = await Invoice.get(id=c.invoice_id)
    # Applied to its invoice first (a void one takes none: then oldest first, and what is
    # left over stays customer credit).
    entry = await ledger_service.post_entry(
        COLLECTION_ACTOR, c.customer_id, EntryKind.PAYMENT, c.amount_minor, c.currency,
        external_ref=payment_id, description=f"collection {c.reference}",
        idempotency_key=payment_key(c.reference),
        invoice_number=await allocation.payable_number(c.customer_id, invoice.number))
    if isinstance(entry, ledger_service.Declined):  # payments are never limit-checked
        raise RuntimeError(f"a payment was declined: {entry.message}")
    c.payment_entry_id = entry.id
    c.processor_payment_id = payment_id or c.processor_payment_id
    c.status, c.next_attempt_at, c.lease_until = CollectionStatus.SUCCEEDED, None, None
    c.last_error = None
    c.version += 1
    await c.save(update_fields=["payment_entry_id", "processor_payment_id", "status",
                                "next_attempt_at", "lease_until", "last_error", "version",
                                "updated_at"])
    await audit.record(actor, "collection.succeeded", object_type="collection",
                       object_id=c.id, before=before, after=snapshot(c) | {"source": source},
                       stream=_stream(c))
    return True


async def settle(collection_id: Any, *, payment_id: str | None, actor: Actor,
                 source: str) -> bool:
    """The one way a collection is paid, in the caller's transaction: True if this call
    posted the payment, False if it was posted already."""
    found = await Collection.get_or_none(id=collection_id)
    if found is None:
        raise NotFound(f"collection {collection_id} not found", field="collectionId")
    # Account, then collection: the order every path to a payment takes (``_record``).
    await ledger_service.lock_account(customer_id=found.customer_id)
    c = await Collection.filter(id=collection_id).select_for_update().get()
    return await _settle_locked(c, payment_id=payment_id, actor=actor, source=source)


async def settle_from_webhook(actor: Actor, reference: str, *, customer_id: Any,
                              payment_id: str | None) -> Collection | None:
    """A processor's ``payment.succeeded`` for our ``reference``: settle that collection;
    None when no collection of that customer has it (the event is a plain payment)."""
    found = await Collection.get_or_none(reference=reference, customer_id=customer_id)
    if found is None:
        return None
    await settle(found.id, payment_id=payment_id, actor=actor, source="webhook")
    return await Collection.get(id=found.id)


async def get_readable_invoice(principal: Principal, invoice_id: Any,
                               field: str = "invoiceId") -> Invoice:
    """An invoice of a customer ``principal`` may read; NotFound otherwise."""
    query = readable_by(principal, Invoice.all(), "customer__partner_id")
    found = await query.get_or_none(id=parse_uuid(invoice_id, field))
    if found is None:
        raise NotFound(f"invoice {invoice_id} not found", field=field)
    return found
