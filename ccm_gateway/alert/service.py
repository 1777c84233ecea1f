"""Alerts: raised in the same transaction as the change that causes them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ccm_gateway.alert.models import Alert, AlertNotification, AlertSeverity, NotificationStatus
from ccm_gateway.audit import service as audit
from ccm_gateway.errors import BadInput, Conflict, NotFound
from ccm_gateway.kit import outbox
from ccm_gateway.kit.batch import many_per_key
from ccm_gateway.kit.pagination import Page, Window, page_newest_first
from ccm_gateway.kit.timestamps import utc_bound
from ccm_gateway.outbound.models import OutboundDelivery
from ccm_gateway.principal import Actor

# Every channel, the default of an alert no rule narrows.
ALL_CHANNELS = ("outbound", "subscription", "email")


async def raise_alert(kind: str, severity: AlertSeverity, message: str, *,
                      customer_id: Any = None, integration_id: Any = None,
                      details: dict[str, Any] | None = None, rule_id: Any = None,
                      channels: Sequence[str] = ALL_CHANNELS,
                      recipients: Sequence[str] = ()) -> Alert:
    """Store an alert and, in the same transaction, its fan-out: the ``alert.raised``
    outbox message (outbound endpoints, subscriptions) and one e-mail notification per
    recipient. ``channels`` narrows where it goes (a rule's channels)."""
    alert = await Alert.create(id=uuid.uuid4(), kind=kind, severity=severity,
                               message=message[:500], customer_id=customer_id,
                               integration_id=integration_id, details=details or {},
                               rule_id=rule_id)
    channels = tuple(c for c in ALL_CHANNELS if c in channels)
    if "outbound" in channels or "subscription" in channels:
        await outbox.record(customer_id=customer_id, integration_id=integration_id,
                            event_type="alert.raised", data=alert_event(alert, channels))
    if "email" in channels and recipients:
        await AlertNotification.bulk_create([
            AlertNotification(id=uuid.uuid4(), alert_id=alert.id, channel="email",
                              recipient=r, status=NotificationStatus.PENDING, attempts=0,
                              next_attempt_at=alert.created_at)
            for r in dict.fromkeys(recipients)])
    return alert


def alert_event(alert: Alert, channels: Sequence[str] = ALL_CHANNELS) -> dict[str, Any]:
    """``alert.raised``'s data: the alert as GraphQL shows it, and the channels it goes
    out through (the dispatcher reads them)."""
    return {"alertId": str(alert.id), "kind": alert.kind,
            "severity": AlertSeverity(alert.severity).name, "message": alert.message,
            "customerId": str(alert.customer_id) if alert.customer_id else None,
            "integrationId": str(alert.integration_id) if alert.integration_id else None,
            "details": alert.details, "createdAt": alert.created_at.isoformat(),
            "channels": list(channels)}


async def page_alerts(*, kind: str | None, integration_id: Any, window: Window,
                      max_page_size: int, customer_id: Any = None,
                      acknowledged: bool | None = None, created_after: datetime | None = None,
                      created_before: datetime | None = None) -> Page:
    """Newest first; ``created_after`` inclusive, ``created_before`` exclusive."""
    window.check(max_page_size)
    created_after = utc_bound(created_after, "createdAfter")
    created_before = utc_bound(created_before, "createdBefore")
    if created_after and created_before and created_after >= created_before:
        raise BadInput("createdAfter must be before createdBefore", field="createdAfter")
    query = Alert.all()
    if kind is not None:
        query = query.filter(kind=kind)
    if integration_id is not None:
        query = query.filter(integration_id=integration_id)
    if customer_id is not None:
        query = query.filter(customer_id=customer_id)
    if acknowledged is not None:
        query = query.filter(acknowledged_at__isnull=not acknowledged)
    if created_after is not None:
        query = query.filter(created_at__gte=created_after)
    if created_before is not None:
        query = query.filter(created_at__lt=created_before)
    return await page_newest_first(query, time_field="created_at", window=window,
                                   id_type=uuid.UUID)


async def get_alert(alert_id: Any) -> Alert:
    alert = await Alert.get_or_none(id=alert_id)
    if alert is None:
        raise NotFound(f"alert {alert_id} not found", field="id")
    return alert


MAX_NOTE = 500


async def acknowledge_alert(actor: Actor, alert_id: Any, note: str | None) -> Alert:
    """Someone has looked at it; once (CONFLICT the second time, naming who did)."""
    if note is not None and len(note) > MAX_NOTE:
        raise BadInput(f"note must be at most {MAX_NOTE} characters", field="note")
    alert = await Alert.filter(id=alert_id).select_for_update().first()
    if alert is None:
        raise NotFound(f"alert {alert_id} not found", field="id")
    if alert.acknowledged_at is not None:
        raise Conflict(f"alert {alert_id} was acknowledged by {alert.acknowledged_by} at "
                       f"{alert.acknowledged_at.isoformat()}", field="id")
    alert.acknowledged_at = datetime.now(UTC)
    alert.acknowledged_by = actor.id
    alert.acknowledgement_note = note
    await alert.save(update_fields=["acknowledged_at", "acknowledged_by",
                                    "acknowledgement_note"])
    stream = audit.customer_stream(alert.customer_id) if alert.customer_id else \
        audit.SYSTEM_STREAM
    await audit.record(actor, "alert.acknowledge", object_type="alert", object_id=alert.id,
                       after={"kind": alert.kind, "note": note,
                              "acknowledged_at": alert.acknowledged_at.isoformat()},
                       stream=stream)
    return alert
@dataclass(frozen=True, slots=True)
class Delivery:
    """One way an alert went out: an outbound delivery (``endpoint_id``) or an e-mail
    notification (``recipient``)."""

    id: Any  # the notification's or the outbound delivery's
    alert_id: Any
    channel: str  # outbound | email
    status: str  # the row's own status, e.g. succeeded / sent / retrying / failed
    attempts: int
    created_at: datetime
    recipient: str | None = None
    endpoint_id: Any = None
    last_error: str | None = None
    sent_at: datetime | None = None
    next_attempt_at: datetime | None = None


async def deliveries_by_alert(alert_ids: list[Any]) -> list[list[Delivery]]:
    """Each alert's deliveries, oldest first: two queries for any number of alerts."""
    found = [Delivery(id=n.id, alert_id=n.alert_id, channel=n.channel, status=str(n.status),
                      attempts=n.attempts, created_at=n.created_at, recipient=n.recipient,
                      last_error=n.last_error, sent_at=n.sent_at,
                      next_attempt_at=n.next_attempt_at)
             for n in await AlertNotification.filter(alert_id__in=alert_ids)]
    found += [Delivery(id=d.id, alert_id=d.alert_id, channel="outbound", status=str(d.status),
                       attempts=d.attempts, created_at=d.created_at,
                       endpoint_id=d.endpoint_id, last_error=d.last_error,
                       sent_at=d.delivered_at, next_attempt_at=d.next_attempt_at)
              for d in await OutboundDelivery.filter(alert_id__in=alert_ids)]
    found.sort(key=lambda d: (d.created_at, d.channel))
    return many_per_key(found, alert_ids, "alert_id")
