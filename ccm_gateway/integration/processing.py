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
import logging
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from tortoise.transactions import in_transaction

from ccm_gateway.alert.models import AlertSeverity
from ccm_gateway.alert.service import raise_alert
from ccm_gateway.audit.service import record
from ccm_gateway.customer import service as customer_service
from ccm_gateway.customer.models import Customer
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
            return await _attempt(event, integration, now)
    except Exception as exc:  # whatever failed, the event must not be lost (logged below)
        log.warning("inbound event %s failed: %s", event_id, exc.__class__.__name__,
                    exc_info=not isinstance(exc, (RetryLater, CCMError)))
        # Data the database refuses is refused on every try: dead-letter it at once.
        return await _retry_or_bury(event_id, exc, delays=() if _is_data_error(exc) else delays,
                                    queue=queue, now=now)


def _is_data_error(exc: BaseException) -> bool:
    """A value the database cannot store (PostgreSQL's data exceptions, or text that does
    not encode), as opposed to a connection or lock problem that may pass."""
    return isinstance(exc, UnicodeError) \
        or isinstance(exc.__cause__, (asyncpg.DataError, UnicodeError))


async def _attempt(event: InboundEvent, integration: Integration, now: datetime) -> Outcome:
    event.attempts += 1
    try:
        async with in_transaction():  # a savepoint: a parked or dead event leaves no writes
            canonical = await _normalise(event, integration)
            if canonical is None:
                return await _settle(event, integration, InboundStatus.IGNORED, now,
                                     result={"ignored": event.event_type})
            result = await _apply(event, integration, canonical)
    except Parked as parked:
        await _alert(integration, event, f"webhook.parked.{parked.reason.lower()}",
                     AlertSeverity.WARNING, str(parked))
        return await _settle(event, integration, InboundStatus.PARKED, now,
                             error=f"{parked.reason}: {parked}")
    except Rejected as rejected:
        await _alert(integration, event, "webhook.dead_letter", AlertSeverity.CRITICAL,
                     f"{rejected.reason}: {rejected}")
        return await _settle(event, integration, InboundStatus.DEAD, now,
                             error=f"{rejected.reason}: {rejected}")
    return await _settle(event, integration, InboundStatus.APPLIED, now, result=result)


async def _settle(event: InboundEvent, integration: Integration, status: InboundStatus,
                  now: datetime, *, result: dict[str, Any] | None = None,
                  error: str | None = None) -> Outcome:
    event.status = status
    event.result = result
    event.last_error = error[:MAX_ERROR_LENGTH] if error else None
    event.next_attempt_at = None
    event.applied_at = now if status == InboundStatus.APPLIED else None
    await event.save(update_fields=["status", "result", "last_error", "next_attempt_at",
                                    "applied_at", "attempts", "canonical_type", "customer_id"])
    lag = None
    if status == InboundStatus.APPLIED:
        lag = max((now - (event.occurred_at or event.received_at)).total_seconds(), 0.0)
    return Outcome(status, integration.slug, lag)


async def _retry_or_bury(event_id: Any, exc: Exception, *, delays: tuple[int, ...], queue: Any,
                         now: datetime) -> Outcome | None:
    """After a transient failure: schedule the next try, or dead-letter after the last."""
    error = f"{exc.__class__.__name__}: {exc}"[:MAX_ERROR_LENGTH]
    async with in_transaction():
        event = await InboundEvent.filter(id=event_id).select_for_update().first()
        if event is None or event.status not in (InboundStatus.RECEIVED, InboundStatus.RETRYING):
            return None
        integration = await Integration.get(id=event.integration_id)
        # The failed attempt's own update rolled back with it: count it here.
        event.attempts += 1
        retry = event.attempts - 1  # the first attempt is not a retry
        if retry >= len(delays):
            await _alert(integration, event, "webhook.dead_letter", AlertSeverity.CRITICAL,
                         f"gave up after {event.attempts} attempts: {error}")
            event.status = InboundStatus.DEAD
            event.next_attempt_at = None
            event.last_error = error
            await event.save(update_fields=["status", "attempts", "next_attempt_at",
                                            "last_error"])
            return Outcome(InboundStatus.DEAD, integration.slug)
        # Full jitter on +-20 % so a burst that failed together does not retry together.
        delay = delays[retry] * random.uniform(0.8, 1.2)  # noqa: S311 - not security
        event.status = InboundStatus.RETRYING
        event.next_attempt_at = now + timedelta(seconds=delay)
        event.last_error = error
        await event.save(update_fields=["status", "attempts", "next_attempt_at", "last_error"])
    await enqueue(queue, event_id, defer_seconds=delay,
                  job_id=job_id_for(event_id, InboundStatus.RETRYING, event.attempts))
    return Outcome(InboundStatus.RETRYING, integration.slug)


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


async def _apply(event: InboundEvent, integration: Integration,
                 canonical: CanonicalEvent) -> dict[str, Any]:
    customer = await _customer(integration, canonical.customer_ref)
    event.customer_id = customer.id
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


async def _customer(integration: Integration, ref: str) -> Customer:
    customer = await customer_service.find_customer_by_ref(integration.ref_system, ref)
    if customer is None:
        raise Parked("UNKNOWN_CUSTOMER", f"no customer has {integration.ref_system} "
                     f"reference {ref!r}; link it (linkExternalRef) and replay")
    return customer


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
    entry = await ledger.post_entry(
        actor, customer.id, EntryKind.PAYMENT, amount, customer.currency,
        site_id=await _site_id(c), occurred_at=_not_future(at), external_ref=c.reference,
        description=c.description, idempotency_key=key, original=original)
    return {"entry_id": str(_posted(entry).id)}


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
