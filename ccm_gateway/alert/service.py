"""Alerts: raised in the same transaction as the change that causes them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from ccm_gateway.alert.models import Alert, AlertSeverity
from ccm_gateway.errors import BadInput
from ccm_gateway.kit.pagination import Page, check_page_size, decode_cursor, encode_cursor


async def raise_alert(kind: str, severity: AlertSeverity, message: str, *,
                      customer_id: Any = None, integration_id: Any = None,
                      details: dict[str, Any] | None = None) -> Alert:
    return await Alert.create(id=uuid.uuid4(), kind=kind, severity=severity,
                              message=message[:500], customer_id=customer_id,
                              integration_id=integration_id, details=details or {})


async def page_alerts(*, kind: str | None, integration_id: Any, first: int, after: str | None,
                      max_page_size: int) -> Page:
    """Newest first."""
    check_page_size(first, max_page_size)
    query = Alert.all()
    if kind is not None:
        query = query.filter(kind=kind)
    if integration_id is not None:
        query = query.filter(integration_id=integration_id)
    if after is not None:
        created, last_id = decode_cursor(after, 2)
        try:
            key, at = uuid.UUID(last_id), datetime.fromisoformat(created)
        except ValueError:
            raise BadInput(f"after cursor {after!r} is malformed", field="after") from None
        query = query.filter(created_at__lte=at).exclude(created_at=at, id__gte=key)
    rows = await query.order_by("-created_at", "-id").limit(first + 1)
    return Page.of(rows, first, lambda a: encode_cursor(a.created_at.isoformat(), a.id))
