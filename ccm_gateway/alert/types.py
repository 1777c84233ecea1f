"""GraphQL for alerts. Alerts concern any customer or integration, so partner principals,
who see only their own customers, cannot list them."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from ccm_gateway.alert import models
from ccm_gateway.alert import service as alert_service
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
from ccm_gateway.kit.ids import parse_uuid
from ccm_gateway.principal import Permission as P

# The models' enums are the GraphQL enums (strawberry exposes an Enum under its
# class name, with the members' names as values), registered with a description.
strawberry.enum(models.AlertSeverity, description="How urgent an alert is.")
AlertSeverity = models.AlertSeverity


@strawberry.type(description="Something an operator should look at: a utilisation threshold "
                             "crossed, a failed sync or payment, a reconciliation break.")
class Alert(Node):
    kind: str = strawberry.field(description="What happened, e.g. utilization.crossed.")
    severity: AlertSeverity = strawberry.field(
        description="How urgent it is.")
    message: str = strawberry.field(description="One line for a person.")
    customer_id: strawberry.ID | None = strawberry.field(
        description="The customer it concerns, if any.")
    integration_id: strawberry.ID | None = strawberry.field(
        description="The integration it concerns, if any.")
    details: JSON = strawberry.field(description="Facts of the alert, by kind.")
    created_at: datetime = strawberry.field(description="When it was raised.")

    @classmethod
    def of(cls, m: models.Alert) -> Alert:
        return cls(id=strawberry.ID(str(m.id)), kind=m.kind,
                   severity=AlertSeverity(str(m.severity)), message=m.message,
                   customer_id=strawberry.ID(str(m.customer_id)) if m.customer_id else None,
                   integration_id=(strawberry.ID(str(m.integration_id))
                                   if m.integration_id else None),
                   details=JSON(m.details), created_at=m.created_at)


@strawberry.type
class AlertQuery:
    @strawberry.field(extensions=requires(P.ALERT_READ),
                      description="Alerts, newest first. Not for partner principals.")
    async def alerts(self, info: CtxInfo, kind: str | None = None,
                     integration_id: strawberry.ID | None = None, first: First = None,
                     after: After = None, last: Last = None,
                     before: Before = None) -> Connection[Alert]:
        info.context.principal.require_unscoped("list alerts")
        page = await alert_service.page_alerts(
            kind=kind,
            integration_id=parse_uuid(str(integration_id), "integrationId")
            if integration_id else None,
            window=window(info, first, after, last, before),
            max_page_size=info.context.settings.max_page_size)
        return Connection.of(page, Alert.of)
