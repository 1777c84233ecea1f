"""Alerts: raised in the same transaction as the change that causes them."""

from __future__ import annotations

import uuid
from typing import Any

from ccm_gateway.alert.models import Alert, AlertSeverity
from ccm_gateway.errors import NotFound
from ccm_gateway.kit import outbox
from ccm_gateway.kit.pagination import Page, Window, page_newest_first


async def raise_alert(kind: str, severity: AlertSeverity, message: str, *,
                      customer_id: Any = None, integration_id: Any = None,
                      details: dict[str, Any] | None = None) -> Alert:
    """Store an alert and, in the same transaction, its ``alert.raised`` outbox message."""
    alert = await Alert.create(id=uuid.uuid4(), kind=kind, severity=severity,
                               message=message[:500], customer_id=customer_id,
                               integration_id=integration_id, details=details or {})
    await outbox.record(customer_id=customer_id, integration_id=integration_id,
                        event_type="alert.raised", data=alert_event(alert))
    return alert


def alert_event(alert: Alert) -> dict[str, Any]:
    """``alert.raised``'s data: the alert as GraphQL shows it."""
    return {"alertId": str(alert.id), "kind": alert.kind,
            "severity": AlertSeverity(alert.severity).name, "message": alert.message,
            "customerId": str(alert.customer_id) if alert.customer_id else None,
            "integrationId": str(alert.integration_id) if alert.integration_id else None,
            "details": alert.details, "createdAt": alert.created_at.isoformat()}


async def page_alerts(*, kind: str | None, integration_id: Any, window: Window,
                      max_page_size: int) -> Page:
    """Newest first."""
    window.check(max_page_size)
    query = Alert.all()
    if kind is not None:
        query = query.filter(kind=kind)
    if integration_id is not None:
        query = query.filter(integration_id=integration_id)
    return await page_newest_first(query, time_field="created_at", window=window,
                                   id_type=uuid.UUID)


async def get_alert(alert_id: Any) -> Alert:
    alert = await Alert.get_or_none(id=alert_id)
    if alert is None:
        raise NotFound(f"alert {alert_id} not found", field="id")
    return alert
