"""GraphQL for alerts. Alerts concern any customer or integration, so partner principals,
who see only their own customers, cannot list them."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from ccm_gateway.alert import models
from ccm_gateway.alert import service as alert_service
from ccm_gateway.graphql.common import Connection, CtxInfo, page_size, requires
from ccm_gateway.kit.ids import parse_uuid
from ccm_gateway.principal import Permission as P

# The models' enums are the GraphQL enums: strawberry exposes an Enum under its class
# name, with the members' names as values.
AlertSeverity = models.AlertSeverity


@strawberry.type
class Alert:
    id: strawberry.ID
    kind: str
    severity: AlertSeverity
    message: str
    customer_id: strawberry.ID | None
    integration_id: strawberry.ID | None
    details: JSON
    created_at: datetime

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
    @strawberry.field(extensions=requires(P.ALERT_READ), description="Newest first.")
    async def alerts(self, info: CtxInfo, kind: str | None = None,
                     integration_id: strawberry.ID | None = None, first: int | None = None,
                     after: str | None = None) -> Connection[Alert]:
        info.context.principal.require_unscoped("list alerts")
        page = await alert_service.page_alerts(
            kind=kind,
            integration_id=parse_uuid(str(integration_id), "integrationId")
            if integration_id else None,
            first=page_size(info, first), after=after,
            max_page_size=info.context.settings.max_page_size)
        return Connection.of(page, Alert.of)
