"""GraphQL for alerts. Alerts concern any customer or integration, so partner principals,
who see only their own customers, cannot list them."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON
from tortoise.transactions import in_transaction

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
from ccm_gateway.policy import service as policy_service
from ccm_gateway.policy.types import AlertRule, PolicyRule, VelocityRule
from ccm_gateway.principal import Permission as P

# The models' enums are the GraphQL enums (strawberry exposes an Enum under its
# class name, with the members' names as values), registered with a description.
strawberry.enum(models.AlertSeverity, description="How urgent an alert is.")
AlertSeverity = models.AlertSeverity


@strawberry.type(description="One way an alert went out: to an outbound endpoint "
                             "(alert.raised) or by e-mail to one recipient.")
class AlertDelivery:
    id: strawberry.ID = strawberry.field(
        description="The e-mail notification's or the outbound delivery's id.")
    channel: str = strawberry.field(description="outbound or email.")
    status: str = strawberry.field(
        description="The delivery's own status: outbound PENDING, SENDING, SUCCEEDED, "
                    "RETRYING, FAILED, SKIPPED; e-mail PENDING, RETRYING, SENT, FAILED.")
    recipient: str | None = strawberry.field(description="E-mail: the address.")
    endpoint_id: strawberry.ID | None = strawberry.field(
        description="Outbound: the endpoint it goes to.")
    attempts: int = strawberry.field(description="Attempts made so far.")
    last_error: str | None = strawberry.field(description="Why the last attempt failed.")
    sent_at: datetime | None = strawberry.field(
        description="When it was delivered (accepted by the endpoint or SMTP server).")
    next_attempt_at: datetime | None = strawberry.field(
        description="When it is tried next, while it is waiting.")
    created_at: datetime = strawberry.field(description="When it was queued.")

    @classmethod
    def of(cls, d: alert_service.Delivery) -> AlertDelivery:
        return cls(id=strawberry.ID(str(d.id)), channel=d.channel, status=d.status.upper(),
                   recipient=d.recipient,
                   endpoint_id=strawberry.ID(str(d.endpoint_id)) if d.endpoint_id else None,
                   attempts=d.attempts, last_error=d.last_error, sent_at=d.sent_at,
                   next_attempt_at=d.next_attempt_at, created_at=d.created_at)


@strawberry.type(description="Something an operator should look at: a utilisation threshold "
                             "crossed, a failed sync or payment, a reconciliation break.")
class Alert(Node):
    kind: str = strawberry.field(description=(
        "What happened, e.g. credit.threshold, credit.threshold.resolved, credit.velocity, "
        "credit.breach, payment.failed, invoice.overdue, limit_change.pending, "
        "notification.failed."))
    severity: AlertSeverity = strawberry.field(
        description="How urgent it is.")
    message: str = strawberry.field(description="One line for a person.")
    customer_id: strawberry.ID | None = strawberry.field(
        description="The customer it concerns, if any.")
    integration_id: strawberry.ID | None = strawberry.field(
        description="The integration it concerns, if any.")
    details: JSON = strawberry.field(description="Facts of the alert, by kind.")
    created_at: datetime = strawberry.field(description="When it was raised.")
    acknowledged_at: datetime | None = strawberry.field(
        description="When someone acknowledged it; null: not yet.")
    acknowledged_by: str | None = strawberry.field(description="Who acknowledged it.")
    acknowledgement_note: str | None = strawberry.field(
        description="What they noted when acknowledging it.")
    _rule_id: strawberry.Private[object]

    @strawberry.field(description="The threshold or velocity rule that fired it; null for "
                                  "alerts no rule raises, or once the rule is deleted.")
    async def rule(self, info: CtxInfo) -> PolicyRule | None:
        if self._rule_id is None:
            return None
        threshold = await info.context.loaders.of(policy_service.alert_rules_by_id).load(
            self._rule_id)
        if threshold is not None:
            return AlertRule.of(threshold)
        velocity = await info.context.loaders.of(policy_service.velocity_rules_by_id).load(
            self._rule_id)
        return VelocityRule.of(velocity) if velocity is not None else None

    @strawberry.field(description="Where it went out: its outbound deliveries and e-mail "
                                  "notifications, oldest first.")
    async def deliveries(self, info: CtxInfo) -> list[AlertDelivery]:
        rows = await info.context.loaders.of(alert_service.deliveries_by_alert).load(
            parse_uuid(str(self.id), "id"))
        return [AlertDelivery.of(d) for d in rows]

    @classmethod
    def of(cls, m: models.Alert) -> Alert:
        return cls(id=strawberry.ID(str(m.id)), kind=m.kind, _rule_id=m.rule_id,
                   acknowledged_at=m.acknowledged_at, acknowledged_by=m.acknowledged_by,
                   acknowledgement_note=m.acknowledgement_note,
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
                     integration_id: strawberry.ID | None = None,
                     customer_id: strawberry.ID | None = None,
                     acknowledged: bool | None = None, created_after: datetime | None = None,
                     created_before: datetime | None = None, first: First = None,
                     after: After = None, last: Last = None,
                     before: Before = None) -> Connection[Alert]:
        info.context.principal.require_unscoped("list alerts")
        page = await alert_service.page_alerts(
            kind=kind,
            integration_id=parse_uuid(str(integration_id), "integrationId")
            if integration_id else None,
            customer_id=parse_uuid(str(customer_id), "customerId") if customer_id else None,
            acknowledged=acknowledged, created_after=created_after,
            created_before=created_before,
            window=window(info, first, after, last, before),
            max_page_size=info.context.settings.max_page_size)
        return Connection.of(page, Alert.of)


@strawberry.input(description="An alert someone has looked at.")
class AcknowledgeAlertInput:
    id: strawberry.ID
    note: str | None = None


@strawberry.type
class AlertMutation:
    @strawberry.mutation(extensions=requires(P.ALERT_WRITE),
                         description="Mark an alert as seen, with a note; once. Not for "
                                     "partner principals.")
    async def acknowledge_alert(self, info: CtxInfo, input: AcknowledgeAlertInput) -> Alert:
        info.context.principal.require_unscoped("acknowledge alerts")
        async with in_transaction():
            alert = await alert_service.acknowledge_alert(
                info.context.actor, parse_uuid(str(input.id), "id"), input.note)
        return Alert.of(alert)
