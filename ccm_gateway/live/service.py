"""The subscriptions' streams: this process's hub events, narrowed to what the principal
may see and asked for, each pushed only while the connection's token still holds."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

from ccm_gateway.alert.models import Alert, AlertSeverity
from ccm_gateway.customer.models import Customer
from ccm_gateway.live.connection import LiveConnection
from ccm_gateway.live.hub import ALERT, CREDIT, Event
from ccm_gateway.principal import Principal, may_read

_SEVERITY_RANK = {s: i for i, s in enumerate(AlertSeverity)}  # declared least urgent first


async def _customer(event: Event) -> Customer | None:
    if event.customer_id is None:
        return None
    return await event.load_once(
        "customer", lambda: Customer.get_or_none(id=uuid.UUID(str(event.customer_id))))


async def _alert(event: Event) -> Alert | None:
    return await event.load_once(
        "alert", lambda: Alert.get_or_none(id=uuid.UUID(str(event.data["alertId"]))))


def _alert_wanted(data: dict[str, Any], kind: str | None, customer_id: uuid.UUID | None,
                  min_severity: AlertSeverity | None) -> bool:
    if kind is not None and data.get("kind") != kind:
        return False
    if customer_id is not None and data.get("customerId") != str(customer_id):
        return False
    if min_severity is not None:
        try:
            severity = AlertSeverity[str(data.get("severity"))]
        except KeyError:
            return False
        return _SEVERITY_RANK[severity] >= _SEVERITY_RANK[min_severity]
    return True


async def alerts_raised(connection: LiveConnection, principal: Principal, *,
                        kind: str | None = None, customer_id: uuid.UUID | None = None,
                        min_severity: AlertSeverity | None = None) -> AsyncIterator[Alert]:
    """Alerts raised from now on for the subscription channel. A partner principal gets
    only those about its own customers (never an integration's or a global one)."""
    with connection.hub.subscribe() as subscription:
        while True:
            event = await subscription.next()
            if event.kind != ALERT or not _alert_wanted(event.data, kind, customer_id,
                                                        min_severity):
                continue
            if principal.partner_id is not None:
                customer = await _customer(event)
                if customer is None or not may_read(principal, customer.partner_id):
                    continue
            if not await connection.authorized():
                await connection.ended()
            alert = await _alert(event)
            if alert is not None:
                yield alert


async def credit_updates(connection: LiveConnection, principal: Principal,
                         customer_id: uuid.UUID) -> AsyncIterator[Customer]:
    """The customer, read afresh after each committed change of its credit state (limit,
    terms, status, exposure). Changes committed together come as one."""
    wanted = str(customer_id)
    with connection.hub.subscribe() as subscription:
        while True:
            event = await subscription.next()
            if event.kind != CREDIT or event.customer_id != wanted:
                continue
            if not await connection.authorized():
                await connection.ended()
            customer = await _customer(event)
            if customer is not None and may_read(principal, customer.partner_id):
                yield customer
