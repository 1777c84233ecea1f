"""Apply inbox events to the ledger: at-least-once processing, exactly-once effect.

One transaction per attempt: the event row is locked, the canonical event is
applied with the ledger idempotency key ``<integration slug>:<vendor event id>``,
and the event is marked in the same transaction, so a worker killed halfway
leaves nothing behind and the next attempt starts clean.

Outcomes:

- ``applied``  the ledger (or the reconciliation / gate record) has it
- ``ignored``  the profile does not map the vendor event type
- ``parked``   data we need is missing (customer reference, site, FX rate); an
               alert is raised and an admin replays it once the data is there
- ``retrying`` a transient failure (database, an out-of-order refund whose
               payment has not arrived); tried again on the retry schedule
- ``dead``     failed for good (segment not allowed, invalid data), or out of
               retries; an alert is raised and an admin may replay it
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise import connections
from tortoise.transactions import in_transaction

from ccm_gateway.alert.models import AlertSeverity
from ccm_gateway.alert.service import raise_alert
from ccm_gateway.audit.service import record
from ccm_gateway.billing import allocation as billing
from ccm_gateway.customer import service as customer_service
from ccm_gateway.customer.models import Customer
from ccm_gateway.db import data_error
from ccm_gateway.errors import CCMError
from ccm_gateway.fx import service as fx
from ccm_gateway.integration.inbox import enqueue, job_id_for
from ccm_gateway.integration.models import (
    AccessEvent,
    BalanceReport,
    InboundEvent,
    InboundStatus,
    Integration,
)
from ccm_gateway.integration.profiles.model import CanonicalEvent
from ccm_gateway.integration.profiles.normalise import normalise
from ccm_gateway.integration.profiles.reading import MalformedBody, parse_body
from ccm_gateway.integration.service import ALL_SEGMENTS, resolve_profile
from ccm_gateway.kit.money import currency_exponent
from ccm_gateway.ledger import service as ledger
from ccm_gateway.ledger.models import EntryKind, LedgerEntry
from ccm_gateway.principal import Actor
from ccm_gateway.site import service as site_service

log = logging.getLogger("ccm_gateway.integration.processing")

MAX_ERROR_LENGTH = 1000


class Parked(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class Rejected(Exception):
    """Trying again cannot help: dead-letter at once."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class RetryLater(Exception):
    """Expected to succeed later (e.g. a refund that arrived before its payment)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    status: InboundStatus
    integration_slug: str
    lag_seconds: float | None = None


def idempotency_key(integration_slug: str, external_id: str) -> str:
    """The ledger key of a vendor event, in its integration's own key namespace."""
    key = f"{integration_slug}:{external_id}"
    if len(key) <= 200:
        return key
    return f"{integration_slug}:sha256:{hashlib.sha256(external_id.encode()).hexdigest()}"


# Events one job applies in one transaction: its own and up to this many less one that
# are waiting too. Under a backlog this takes arq's per-job cost and one commit off
# nearly every event; a quiet queue still gets one event per job.
BATCH_SIZE = 20


async def process(event_id: Any, *, delays: tuple[int, ...], queue: Any,
                  now: datetime | None = None) -> Outcome | None:
    """One attempt at an inbox event; None when there was nothing to do."""
    now = now or datetime.now(UTC)
    try:
        async with in_transaction():
            event = await InboundEvent.filter(id=event_id).select_for_update().first()
            if event is None or event.status not in (InboundStatus.RECEIVED,
                                                     InboundStatus.RETRYING):
                return None  # settled already (a duplicate message, or a replay raced it)
            integration = await Integration.get(id=event.integration_id)
            (plan,) = await _plans([event], {integration.id: integration})
            outcome = await _attempt(plan, now)
            await _save_settled([event])
            return outcome
    except Exception as exc:  # noqa: BLE001 - the event must not be lost (logged below)
        _log_failure(event_id, exc)
        # Data the database refuses is refused on every try: dead-letter it at once.
        return await _retry_or_bury(event_id, exc, delays=() if data_error(exc) else delays,
                                    queue=queue, now=now)


@dataclass(slots=True)
class Batch:
    """What one ``process_batch`` did: an outcome per event it settled or deferred, and the
    events it took besides its own, whose queued jobs are now no-ops (``dropped_jobs``)."""

    outcomes: list[Outcome]
    dropped_jobs: list[str]


async def process_batch(event_id: Any, *, delays: tuple[int, ...], queue: Any,
                        limit: int = BATCH_SIZE) -> Batch:
    """Attempt ``event_id`` and up to ``limit - 1`` other received events in one transaction.

    Each event is locked (``FOR UPDATE SKIP LOCKED``: events another worker holds are
    its to settle, this one's own included) and applied in a savepoint of its own, so a
    failure rolls back that event alone, which is then scheduled for a retry in the same
    transaction. Events are applied in the order of their customers' ids, so that
    batches running side by side take the customers' locks in one order and never
    deadlock. Exactly-once holds as for one event: an event's effect commits with its
    settled status, under its row lock, and the ledger's idempotency key backs it up.

    Should the batch fail as a whole (the database lost, or a failure before the
    savepoints), it rolls back and each of its events gets an attempt of its own
    (``process``)."""
    claimed: list[Any] = [event_id]
    retries: list[tuple[Any, float, str]] = []
    try:
        async with in_transaction():
            events = await _claim(event_id, limit)
            claimed = [event.id for event in events]
            outcomes = await _apply_batch(events, delays, retries)
    except Exception as exc:  # noqa: BLE001 - every event gets its own attempt (logged)
        log.warning("a batch of %d inbound events failed (%s); trying each on its own",
                    len(claimed), exc.__class__.__name__)
        singles = [await process(e, delays=delays, queue=queue) for e in claimed]
        return Batch([o for o in singles if o is not None], [])
    for retry_id, delay, job_id in retries:
        await enqueue(queue, retry_id, defer_seconds=delay, job_id=job_id)
    own = str(event_id)
    return Batch(outcomes, [job_id_for(e) for e in claimed if str(e) != own])


async def _claim(event_id: Any, limit: int) -> list[InboundEvent]:
    own = await InboundEvent.filter(
        id=event_id, status__in=(InboundStatus.RECEIVED, InboundStatus.RETRYING),
    ).select_for_update(skip_locked=True).first()
    if limit <= 1:
        return [own] if own else []
    # Retrying events wait for their scheduled job; only received ones join a batch.
    others = await InboundEvent.filter(status=InboundStatus.RECEIVED).exclude(
        id=event_id).order_by("received_at").limit(limit - 1 if own else limit
                                                   ).select_for_update(skip_locked=True)
    return ([own] if own else []) + list(others)


async def _apply_batch(events: list[InboundEvent], delays: tuple[int, ...],
                       retries: list[tuple[Any, float, str]]) -> list[Outcome]:
    integrations: dict[Any, Integration] = {}
    for event in events:
        if event.integration_id not in integrations:
            integrations[event.integration_id] = await Integration.get(id=event.integration_id)
    plans = await _plans(events, integrations)
    plans.sort(key=lambda p: "" if p.customer is None else str(p.customer.id))
    outcomes, settled = [], []
    for plan in plans:
        now = datetime.now(UTC)
        try:
            outcomes.append(await _attempt(plan, now))
            settled.append(plan.event)
        except Exception as exc:  # noqa: BLE001 - its savepoint rolled back; retried (logged)
            _log_failure(plan.event.id, exc)
            outcome, retry = await _defer(plan.event, plan.integration, exc, now,
                                          delays=() if data_error(exc) else delays)
            outcomes.append(outcome)
            if retry is not None:
                retries.append(retry)
    await _save_settled(settled)
    return outcomes


def _log_failure(event_id: Any, exc: Exception) -> None:
    log.warning("inbound event %s failed: %s", event_id, exc.__class__.__name__,
                exc_info=not isinstance(exc, (RetryLater, CCMError)))


@dataclass(slots=True)
class _Plan:
    """An event read and its customer found, before anything is written."""

    event: InboundEvent
    integration: Integration
    canonical: CanonicalEvent | None = None
    customer: Customer | None = None
    refused: Parked | Rejected | None = None


async def _plans(events: list[InboundEvent],
                 integrations: dict[Any, Integration]) -> list[_Plan]:
    """Read each event and find its customer: one lookup per integration for them all."""
    plans = [_Plan(event, integrations[event.integration_id]) for event in events]
    wanted: dict[Any, set[str]] = {}
    for plan in plans:
        plan.event.attempts += 1
        try:
            plan.canonical = await _normalise(plan.event, plan.integration)
        except Rejected as refused:
            plan.refused = refused
            continue
        if plan.canonical is not None:
            wanted.setdefault(plan.integration.id, set()).add(plan.canonical.customer_ref)
    found = {integration_id: await _customers(integrations[integration_id], refs)
             for integration_id, refs in wanted.items()}
    for plan in plans:
        if plan.canonical is None or plan.refused is not None:
            continue
        ref = plan.canonical.customer_ref
        plan.customer = found[plan.integration.id].get(ref)
        if plan.customer is None:
            plan.refused = Parked("UNKNOWN_CUSTOMER", f"no customer has "
                                  f"{plan.integration.ref_system} reference {ref!r}; link it "
                                  "(linkExternalRef) and replay")
        else:
            plan.event.customer_id = plan.customer.id
    return plans


async def _attempt(plan: _Plan, now: datetime) -> Outcome:
    event, integration, refused = plan.event, plan.integration, plan.refused
    if refused is None:
        if plan.canonical is None:
            return await _settle(event, integration, InboundStatus.IGNORED, now,
                                 result={"ignored": event.event_type})
        try:
            async with in_transaction():  # a savepoint: a parked or dead event leaves no writes
                result = await _apply(event, integration, plan.canonical, plan.customer)
                return await _settle(event, integration, InboundStatus.APPLIED, now,
                                     result=result)
        except (Parked, Rejected) as exc:
            refused = exc
    if isinstance(refused, Parked):
        await _alert(integration, event, f"webhook.parked.{refused.reason.lower()}",
                     AlertSeverity.WARNING, str(refused))
        return await _settle(event, integration, InboundStatus.PARKED, now,
                             error=f"{refused.reason}: {refused}")
    await _alert(integration, event, "webhook.dead_letter", AlertSeverity.CRITICAL,
                 f"{refused.reason}: {refused}")
    return await _settle(event, integration, InboundStatus.DEAD, now,
                         error=f"{refused.reason}: {refused}")


async def _settle(event: InboundEvent, integration: Integration, status: InboundStatus,
                  now: datetime, *, result: dict[str, Any] | None = None,
                  error: str | None = None) -> Outcome:
    """Settle the event in memory; ``_save_settled`` writes it, in the same transaction."""
    event.status = status
    event.result = result
    event.last_error = error[:MAX_ERROR_LENGTH] if error else None
    event.next_attempt_at = None
    event.applied_at = now if status == InboundStatus.APPLIED else None
    lag = None
    if status == InboundStatus.APPLIED:
        lag = max((now - (event.occurred_at or event.received_at)).total_seconds(), 0.0)
    return Outcome(status, integration.slug, lag)


_SETTLED_FIELDS = ["status", "result", "last_error", "next_attempt_at", "applied_at",
                  "attempts", "canonical_type", "customer_id"]
# A batch's settled events in one statement on PostgreSQL, rather than one UPDATE each.
_SAVE_SETTLED_PG = """
UPDATE "inbound_event" AS e SET "status" = v.status, "result" = v.result::jsonb,
  "last_error" = v.last_error, "next_attempt_at" = NULL, "applied_at" = v.applied_at,
  "attempts" = v.attempts, "canonical_type" = v.canonical_type, "customer_id" = v.customer_id
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::int[],
            $7::text[], $8::uuid[])
  AS v(id, status, result, last_error, applied_at, attempts, canonical_type, customer_id)
WHERE e.id = v.id"""


async def _save_settled(events: list[InboundEvent]) -> None:
    if not events:
        return
    connection = connections.get("default")
    if connection.capabilities.dialect != "postgres":
        for event in events:
            await event.save(update_fields=_SETTLED_FIELDS)
        return
    await connection.execute_query(_SAVE_SETTLED_PG, [
        [e.id for e in events], [str(e.status) for e in events],
        [None if e.result is None else json.dumps(e.result) for e in events],
        [e.last_error for e in events], [e.applied_at for e in events],
        [e.attempts for e in events], [e.canonical_type for e in events],
        [e.customer_id for e in events]])


async def _retry_or_bury(event_id: Any, exc: Exception, *, delays: tuple[int, ...], queue: Any,
                         now: datetime) -> Outcome | None:
    """After a failed attempt, whose transaction rolled back: schedule the next try, or
    dead-letter after the last."""
    async with in_transaction():
        event = await InboundEvent.filter(id=event_id).select_for_update().first()
        if event is None or event.status not in (InboundStatus.RECEIVED, InboundStatus.RETRYING):
            return None
        integration = await Integration.get(id=event.integration_id)
        # The failed attempt's own update rolled back with it: count it here.
        event.attempts += 1
        outcome, retry = await _defer(event, integration, exc, now, delays=delays)
    if retry is not None:
        retry_id, delay, job_id = retry
        await enqueue(queue, retry_id, defer_seconds=delay, job_id=job_id)
    return outcome


async def _defer(event: InboundEvent, integration: Integration, exc: Exception,
                 now: datetime, *, delays: tuple[int, ...]
                 ) -> tuple[Outcome, tuple[Any, float, str] | None]:
    """Mark an event whose attempt (counted in ``attempts``) failed: retrying, with the job
    to enqueue once this commits (event id, delay, job id), or dead after the last try."""
    error = f"{exc.__class__.__name__}: {exc}"[:MAX_ERROR_LENGTH]
    retry = event.attempts - 1  # the first attempt is not a retry
    if retry >= len(delays):
        await _alert(integration, event, "webhook.dead_letter", AlertSeverity.CRITICAL,
                     f"gave up after {event.attempts} attempts: {error}")
        event.status = InboundStatus.DEAD
        event.next_attempt_at = None
        event.last_error = error
        await event.save(update_fields=["status", "attempts", "next_attempt_at",
                                        "last_error"])
        return Outcome(InboundStatus.DEAD, integration.slug), None
    # Full jitter on +-20 % so a burst that failed together does not retry together.
    delay = delays[retry] * random.uniform(0.8, 1.2)  # noqa: S311 - not security
    event.status = InboundStatus.RETRYING
    event.next_attempt_at = now + timedelta(seconds=delay)
    event.last_error = error
    await event.save(update_fields=["status", "attempts", "next_attempt_at", "last_error"])
    return (Outcome(InboundStatus.RETRYING, integration.slug),
            (event.id, delay, job_id_for(event.id, InboundStatus.RETRYING, event.attempts)))


async def _alert(integration: Integration, event: InboundEvent, kind: str,
                 severity: AlertSeverity, message: str) -> None:
    await raise_alert(kind, severity, f"{integration.slug}: {message}",
                      customer_id=event.customer_id, integration_id=integration.id,
                      details={"inbound_event_id": str(event.id),
                               "external_id": event.external_id,
                               "event_type": event.event_type})


async def _normalise(event: InboundEvent,
                     integration: Integration) -> CanonicalEvent | None:
    if event.payload is None:
        raise Rejected("PAYLOAD_DELETED", "the raw payload was deleted by retention")
    profile = await resolve_profile(integration.profile)
    try:
        document = parse_body(profile, bytes(event.payload))
        canonical = normalise(profile, event.event_type, document, event.occurred_at)
    except MalformedBody as exc:
        raise Rejected("MALFORMED", exc.message) from None
    if canonical is not None:
        event.canonical_type = canonical.type
    return canonical


# --- applying canonical events ------------------------------------------------------


async def _apply(event: InboundEvent, integration: Integration, canonical: CanonicalEvent,
                 customer: Customer | None) -> dict[str, Any]:
    if customer is None:
        raise RuntimeError("a mapped event is planned with its customer")
    if ALL_SEGMENTS not in integration.segments and customer.segment not in integration.segments:
        raise Rejected("SEGMENT_NOT_ALLOWED", f"integration {integration.slug} may not write "
                       f"to customers of segment {customer.segment!r}")
    actor = Actor(type="integration", id=integration.slug, request_id=str(event.id))
    key = idempotency_key(integration.slug, event.external_id)
    occurred_at = canonical.occurred_at or event.occurred_at or event.received_at
    try:
        handler = _HANDLERS[canonical.type]
        return await handler(actor, key, event, integration, customer, canonical, occurred_at)
    except CCMError as exc:
        if exc.code in ("BAD_USER_INPUT", "CONFLICT"):
            raise Rejected(exc.code, exc.message) from None
        raise


async def _customers(integration: Integration, refs: set[str]) -> dict[str, Customer]:
    return await customer_service.find_customers_by_refs(integration.ref_system, sorted(refs))


async def _amount(customer: Customer, canonical: CanonicalEvent,
                  occurred_at: datetime) -> tuple[int, ledger.Original | None]:
    """The amount in the account's currency, and where it came from if converted."""
    if canonical.amount_minor is None or canonical.currency is None:
        raise Rejected("MALFORMED", f"{canonical.type} needs an amount and a currency")
    try:
        currency_exponent(canonical.currency)
    except CCMError:
        raise Rejected("MALFORMED", f"unknown currency {canonical.currency!r}") from None
    if canonical.currency == customer.currency:
        return canonical.amount_minor, None
    try:
        converted = await fx.convert(canonical.amount_minor, canonical.currency,
                                     customer.currency, occurred_at)
    except fx.FxRateMissing:
        raise Parked("MISSING_FX_RATE", f"no {canonical.currency}->{customer.currency} rate "
                     f"as of {occurred_at.isoformat()}; set one (setFxRate) and replay"
                     ) from None
    return converted.amount_minor, ledger.Original(canonical.amount_minor, canonical.currency,
                                                   converted.rate)


async def _site_id(canonical: CanonicalEvent) -> Any:
    if not canonical.site_code:
        return None
    site = await site_service.find_site_by_code(canonical.site_code)
    if site is None:
        raise Parked("UNKNOWN_SITE", f"no site has code {canonical.site_code!r}")
    return site.id


async def _payment_succeeded(actor: Actor, key: str, event: InboundEvent,
                             integration: Integration, customer: Customer,
                             c: CanonicalEvent, at: datetime) -> dict[str, Any]:
    amount, original = await _amount(customer, c, at)
    invoice_number = await billing.payable_number(customer.id, c.invoice_number)
    entry = await ledger.post_entry(
        actor, customer.id, EntryKind.PAYMENT, amount, customer.currency,
        site_id=await _site_id(c), occurred_at=_not_future(at), external_ref=c.reference,
        description=c.description, idempotency_key=key, original=original,
        invoice_number=invoice_number)
    applied = {"entry_id": str(_posted(entry).id)}
    if c.invoice_number is not None:
        # A reference to no payable invoice of the customer is kept, not applied.
        applied["invoice_number"] = c.invoice_number
        applied["invoice_applied"] = "yes" if invoice_number else "no"
    return applied


async def _payment_failed(actor: Actor, key: str, event: InboundEvent,
                          integration: Integration, customer: Customer,
                          c: CanonicalEvent, at: datetime) -> dict[str, Any]:
    details = {"reference": c.reference, "reason": c.reason,
               "amount_minor": c.amount_minor, "currency": c.currency}
    await record(actor, "payment.failed", object_type="customer", object_id=customer.id,
                 after=details, stream=ledger.customer_stream(customer.id))
    await raise_alert("payment.failed", AlertSeverity.WARNING,
                      f"payment {c.reference or ''} failed: {c.reason or 'no reason given'}",
                      customer_id=customer.id, integration_id=integration.id,
                      details={**details, "inbound_event_id": str(event.id)})
    return {"recorded": "payment_failed"}


async def _payment_refunded(actor: Actor, key: str, event: InboundEvent,
                            integration: Integration, customer: Customer,
                            c: CanonicalEvent, at: datetime) -> dict[str, Any]:
    if not c.reference:
        raise Rejected("MALFORMED", "payment.refunded needs the payment's reference")
    amount, original = await _amount(customer, c, at)
    # With a conversion and a running total, the entry's original amount is the
    # converted running total, not this refund's part of it.
    try:
        refund = await ledger.refund_payment(
            actor, customer.id, payment_ref=c.reference, amount_minor=amount,
            running_total=c.amount_is_total, occurred_at=_not_future(at),
            description=c.description, idempotency_key=key, original=original)
    except ledger.PaymentNotFound:
        # Deliveries arrive out of order: the payment may still be on its way.
        raise RetryLater(f"payment {c.reference!r} is not in the ledger yet") from None
    except ledger.RefundExceedsPayment as exc:
        raise Rejected("REFUND_EXCEEDS_PAYMENT", exc.message) from None
    if refund.entry is None:
        return {"refunds": str(refund.payment.id), "nothing_new": True}
    return {"entry_id": str(refund.entry.id), "refunds": str(refund.payment.id)}


async def _charge_posted(actor: Actor, key: str, event: InboundEvent, integration: Integration,
                         customer: Customer, c: CanonicalEvent,
                         at: datetime) -> dict[str, Any]:
    amount, original = await _amount(customer, c, at)
    # The charge has happened already (the truck was served): post it even over the
    # limit, flagged, and raise a breach alert.
    entry = await ledger.post_entry(
        actor, customer.id, EntryKind.CHARGE, amount, customer.currency,
        site_id=await _site_id(c), occurred_at=_not_future(at), external_ref=c.reference,
        description=c.description, idempotency_key=key, enforce_limit=False, original=original)
    entry = _posted(entry)
    if entry.over_limit:
        await raise_alert("credit.breach", AlertSeverity.CRITICAL,
                          f"charge {c.reference or entry.id} took the customer over its limit",
                          customer_id=customer.id, integration_id=integration.id,
                          details={"entry_id": str(entry.id),
                                   "inbound_event_id": str(event.id)})
    return {"entry_id": str(entry.id), "over_limit": entry.over_limit}


async def _balance_reported(actor: Actor, key: str, event: InboundEvent,
                            integration: Integration, customer: Customer,
                            c: CanonicalEvent, at: datetime) -> dict[str, Any]:
    if c.amount_minor is None or c.currency is None:
        raise Rejected("MALFORMED", "balance.reported needs an amount and a currency")
    report = await BalanceReport.create(
        integration_id=integration.id, customer_id=customer.id, inbound_event_id=event.id,
        balance_minor=c.amount_minor, currency=c.currency, reported_at=at)
    return {"balance_report_id": report.id}


async def _access_attempted(actor: Actor, key: str, event: InboundEvent,
                            integration: Integration, customer: Customer,
                            c: CanonicalEvent, at: datetime) -> dict[str, Any]:
    site_id = await _site_id(c)
    access = await AccessEvent.create(
        integration_id=integration.id, customer_id=customer.id, site_id=site_id,
        inbound_event_id=event.id, granted=c.granted, gate=(c.gate or None) and c.gate[:100],
        occurred_at=at)
    await record(actor, "access.attempted", object_type="customer", object_id=customer.id,
                 after={"site_id": str(site_id) if site_id else None, "gate": c.gate,
                        "granted": c.granted, "occurred_at": at.isoformat()},
                 stream=ledger.customer_stream(customer.id))
    return {"access_event_id": access.id}


def _posted(entry: LedgerEntry | ledger.Declined) -> LedgerEntry:
    """Payments and charges that already happened post without a limit check, so a decline
    here is a ledger rule this code did not expect: dead-letter the event, naming it."""
    if isinstance(entry, ledger.Declined):
        raise Rejected(entry.reason.value, entry.message)
    return entry


def _not_future(at: datetime) -> datetime:
    """A vendor clock a little ahead must not make the ledger refuse a real payment."""
    now = datetime.now(UTC)
    return min(at, now)


_HANDLERS = {
    "payment.succeeded": _payment_succeeded,
    "payment.failed": _payment_failed,
    "payment.refunded": _payment_refunded,
    "charge.posted": _charge_posted,
    "balance.reported": _balance_reported,
    "access.attempted": _access_attempted,
}
