"""GraphQL for alert rules and velocity rules. Rules span every partner's customers (a
global or segment rule), so partner principals can neither see nor manage them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from tortoise.transactions import in_transaction

from ccm_gateway.errors import BadInput
from ccm_gateway.graphql.common import (
    After,
    Before,
    Connection,
    CtxInfo,
    First,
    Last,
    Money,
    MoneyInput,
    not_partner,
    optional_id,
    optional_uuid,
    requires,
    window,
)
from ccm_gateway.kit.ids import parse_uuid
from ccm_gateway.kit.money import currency_exponent
from ccm_gateway.policy import models
from ccm_gateway.policy import service as policy_service
from ccm_gateway.principal import Permission as P

strawberry.enum(models.AlertChannel, description="Where an alert goes: OUTBOUND (alert.raised "
                "to the endpoints that subscribe), SUBSCRIPTION (alertRaised), EMAIL (the "
                "rule's recipients).")
AlertChannel = models.AlertChannel
strawberry.enum(models.VelocityMetric, description="The figure a velocity rule watches in its "
                "window: SPEND_AMOUNT (charges, captures included, above an amount), "
                "SPEND_SHARE (the same above a share of the limit), AUTHORIZATIONS (more "
                "holds placed than a count).")
VelocityMetric = models.VelocityMetric
strawberry.enum(models.VelocityAction, description="What a velocity rule does when it fires: "
                "ALERT; PUT_ON_HOLD (the customer's status goes to on_hold, so gates deny; an "
                "alert too); PROPOSE_LIMIT_CHANGE (a limit change request that goes through "
                "approvals; an alert too).")
VelocityAction = models.VelocityAction


_RULES = "see or manage credit policy rules"


def _bp(value: float | None, field: str) -> int | None:
    return None if value is None else policy_service.percent_to_bp(value, field)


@strawberry.type(description="A utilisation threshold: an alert when exposure reaches "
                             "thresholdPercent of the limit (or of a site's sub-limit), once "
                             "per upward crossing; it re-arms below thresholdPercent - "
                             "hysteresisPercent, with a credit.threshold.resolved alert. The "
                             "most specific rule at a threshold wins: a customer's over its "
                             "segment's over the global one; a disabled one switches the "
                             "threshold off there.")
class AlertRule:
    id: strawberry.ID = strawberry.field(description="A UUID; an alert names its rule by it.")
    threshold_percent: float = strawberry.field(description="E.g. 80.0.")
    hysteresis_percent: float = strawberry.field(
        description="How far below the threshold exposure must fall to re-arm it.")
    segment: str | None = strawberry.field(description="The segment it applies to, if any.")
    customer_id: strawberry.ID | None = strawberry.field(
        description="The customer it applies to, if any; neither: every customer.")
    site_id: strawberry.ID | None = strawberry.field(
        description="Set: the threshold is on this site's sub-limit, not the account limit.")
    channels: list[AlertChannel] = strawberry.field(description="Where its alerts go.")
    recipients: list[str] = strawberry.field(description="Who its alerts are e-mailed to.")
    enabled: bool = strawberry.field(
        description="False: the threshold is off in this rule's scope.")
    version: int = strawberry.field(
        description="Rises with every change; pass it as expectedVersion to update.")
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def of(cls, m: models.AlertRule) -> AlertRule:
        return cls(id=strawberry.ID(str(m.id)), threshold_percent=m.threshold_bp / 100,
                   hysteresis_percent=m.hysteresis_bp / 100, segment=m.segment,
                   customer_id=optional_id(m.customer_id), site_id=optional_id(m.site_id),
                   channels=[AlertChannel(c) for c in m.channels],
                   recipients=list(m.recipients), enabled=m.enabled, version=m.version,
                   created_at=m.created_at, updated_at=m.updated_at)


@strawberry.type(description="Watches a windowed figure of a customer's activity and acts "
                             "when it passes the threshold, once until the figure falls "
                             "back. The most specific rule per metric and window wins.")
class VelocityRule:
    id: strawberry.ID = strawberry.field(description="A UUID; an alert names its rule by it.")
    segment: str | None = strawberry.field(description="The segment it applies to, if any.")
    customer_id: strawberry.ID | None = strawberry.field(
        description="The customer it applies to, if any; neither: every customer.")
    metric: VelocityMetric = strawberry.field(description="The figure it watches.")
    window_seconds: int = strawberry.field(
        description="The rolling window: whole minutes up to 6 h, whole hours beyond.")
    amount: Money | None = strawberry.field(description="SPEND_AMOUNT: spend above this.")
    share_percent: float | None = strawberry.field(
        description="SPEND_SHARE: spend above this share of the limit.")
    count: int | None = strawberry.field(
        description="AUTHORIZATIONS: more holds placed than this.")
    action: VelocityAction = strawberry.field(description="What it does when it fires.")
    proposed_increase_percent: float | None = strawberry.field(
        description="PROPOSE_LIMIT_CHANGE: the increase proposed, in % of the limit.")
    recipients: list[str] = strawberry.field(description="Who its alerts are e-mailed to.")
    enabled: bool = strawberry.field(
        description="False: the figure is not watched in this rule's scope.")
    version: int = strawberry.field(
        description="Rises with every change; pass it as expectedVersion to update.")
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def of(cls, m: models.VelocityRule) -> VelocityRule:
        metric = models.VelocityMetric(m.metric)
        return cls(
            id=strawberry.ID(str(m.id)), segment=m.segment, customer_id=optional_id(m.customer_id),
            metric=metric, window_seconds=m.window_seconds,
            amount=Money.of(m.threshold, m.currency)
            if metric == models.VelocityMetric.SPEND_AMOUNT and m.currency else None,
            share_percent=m.threshold / 100
            if metric == models.VelocityMetric.SPEND_SHARE else None,
            count=m.threshold if metric == models.VelocityMetric.AUTHORIZATIONS else None,
            action=models.VelocityAction(m.action),
            proposed_increase_percent=m.proposed_increase_bp / 100
            if m.proposed_increase_bp is not None else None,
            recipients=list(m.recipients), enabled=m.enabled, version=m.version,
            created_at=m.created_at, updated_at=m.updated_at)


@strawberry.input(description="A new utilisation threshold; without segment and customerId "
                              "it applies to every customer.")
class CreateAlertRuleInput:
    threshold_percent: float
    hysteresis_percent: float | None = strawberry.field(default=None,
                                                        description="Default 5.")
    segment: str | None = None
    customer_id: strawberry.ID | None = None
    site_id: strawberry.ID | None = None
    channels: list[AlertChannel] | None = strawberry.field(default=None,
                                                           description="Default: all.")
    recipients: list[str] = strawberry.field(default_factory=list)
    enabled: bool = True


@strawberry.input(description="Fields left out stay as they are; the scope cannot change.")
class UpdateAlertRuleInput:
    id: strawberry.ID
    expected_version: int
    threshold_percent: float | None = None
    hysteresis_percent: float | None = None
    channels: list[AlertChannel] | None = None
    recipients: list[str] | None = None
    enabled: bool | None = None


@strawberry.input(description="A rule to delete.")
class DeleteRuleInput:
    id: strawberry.ID


@strawberry.input(description="Narrow the rules; every field given must match.")
class RuleFilter:
    customer_id: strawberry.ID | None = None
    segment: str | None = None
    site_id: strawberry.ID | None = strawberry.field(
        default=None, description="Alert rules only.")
    enabled: bool | None = None
    global_only: bool = strawberry.field(
        default=False, description="Only the rules of every customer (no segment, no "
                                   "customer).")


@strawberry.input(description="A new velocity rule: give the threshold field of its metric "
                              "(amount, sharePercent or count) and no other.")
class CreateVelocityRuleInput:
    metric: VelocityMetric
    window_seconds: int
    action: VelocityAction
    segment: str | None = None
    customer_id: strawberry.ID | None = None
    amount: MoneyInput | None = None
    share_percent: float | None = None
    count: int | None = None
    proposed_increase_percent: float | None = None
    recipients: list[str] = strawberry.field(default_factory=list)
    enabled: bool = True


@strawberry.input(description="Fields left out stay as they are; scope and metric cannot "
                              "change.")
class UpdateVelocityRuleInput:
    id: strawberry.ID
    expected_version: int
    window_seconds: int | None = None
    amount: MoneyInput | None = None
    share_percent: float | None = None
    count: int | None = None
    action: VelocityAction | None = None
    proposed_increase_percent: float | None = None
    recipients: list[str] | None = None
    enabled: bool | None = None


def _threshold(metric: models.VelocityMetric, amount: MoneyInput | None,
               share_percent: float | None, count: int | None,
               required: bool = True) -> tuple[int | None, str | None]:
    """The rule's threshold (and currency) from the one field its metric takes."""
    given = {"amount": amount is not None, "sharePercent": share_percent is not None,
             "count": count is not None}
    wanted = {models.VelocityMetric.SPEND_AMOUNT: "amount",
              models.VelocityMetric.SPEND_SHARE: "sharePercent",
              models.VelocityMetric.AUTHORIZATIONS: "count"}[metric]
    for name, present in given.items():
        if present and name != wanted:
            raise BadInput(f"{name} is not the threshold of a {metric.name} rule; give "
                           f"{wanted}", field=name)
    if not given[wanted]:
        if required:
            raise BadInput(f"a {metric.name} rule needs {wanted}", field=wanted)
        return None, None
    if amount is not None:
        currency_exponent(amount.currency, field="amount.currency")
        return amount.minor("amount.amount"), amount.currency
    if share_percent is not None:
        return policy_service.percent_to_bp(share_percent, "sharePercent"), None
    return count, None


def _rule_filter(f: RuleFilter | None) -> policy_service.RuleFilter:
    f = f or RuleFilter()
    return policy_service.RuleFilter(
        customer_id=optional_uuid(f.customer_id, "filter.customerId"), segment=f.segment,
        site_id=optional_uuid(f.site_id, "filter.siteId"), enabled=f.enabled,
        global_only=f.global_only)


@strawberry.type
class PolicyQuery:
    @strawberry.field(extensions=requires(P.POLICY_READ),
                      description="Utilisation thresholds, oldest first. Not for partner "
                                  "principals.")
    async def alert_rules(self, info: CtxInfo, filter: RuleFilter | None = None,
                          first: First = None, after: After = None, last: Last = None,
                          before: Before = None) -> Connection[AlertRule]:
        not_partner(info, _RULES)
        page = await policy_service.page_alert_rules(
            _rule_filter(filter), window=window(info, first, after, last, before),
            max_page_size=info.context.settings.max_page_size)
        return Connection.of(page, AlertRule.of)

    @strawberry.field(extensions=requires(P.POLICY_READ),
                      description="Velocity rules, oldest first. Not for partner principals.")
    async def velocity_rules(self, info: CtxInfo, filter: RuleFilter | None = None,
                             first: First = None, after: After = None, last: Last = None,
                             before: Before = None) -> Connection[VelocityRule]:
        not_partner(info, _RULES)
        page = await policy_service.page_velocity_rules(
            _rule_filter(filter), window=window(info, first, after, last, before),
            max_page_size=info.context.settings.max_page_size)
        return Connection.of(page, VelocityRule.of)


@strawberry.type
class PolicyMutation:
    @strawberry.mutation(extensions=requires(P.POLICY_WRITE),
                         description="Add a utilisation threshold.")
    async def create_alert_rule(self, info: CtxInfo, input: CreateAlertRuleInput) -> AlertRule:
        not_partner(info, _RULES)
        threshold = policy_service.percent_to_bp(input.threshold_percent, "thresholdPercent")
        async with in_transaction():
            rule = await policy_service.create_alert_rule(
                info.context.actor, threshold_bp=threshold,
                hysteresis_bp=_bp(input.hysteresis_percent, "hysteresisPercent"),
                segment=input.segment, customer_id=optional_uuid(input.customer_id, "customerId"),
                site_id=optional_uuid(input.site_id, "siteId"),
                channels=[c.value for c in input.channels] if input.channels is not None
                else None, recipients=input.recipients, enabled=input.enabled)
        return AlertRule.of(rule)

    @strawberry.mutation(extensions=requires(P.POLICY_WRITE),
                         description="Change a utilisation threshold at expectedVersion.")
    async def update_alert_rule(self, info: CtxInfo, input: UpdateAlertRuleInput) -> AlertRule:
        not_partner(info, _RULES)
        async with in_transaction():
            rule = await policy_service.update_alert_rule(
                info.context.actor, parse_uuid(input.id, "id"),
                expected_version=input.expected_version,
                threshold_bp=_bp(input.threshold_percent, "thresholdPercent"),
                hysteresis_bp=_bp(input.hysteresis_percent, "hysteresisPercent"),
                channels=[c.value for c in input.channels] if input.channels is not None
                else None, recipients=input.recipients, enabled=input.enabled)
        return AlertRule.of(rule)

    @strawberry.mutation(extensions=requires(P.POLICY_WRITE),
                         description="Delete a utilisation threshold (its alerts stay). To "
                                     "switch a threshold off for a segment or a customer, "
                                     "add a disabled rule there instead.")
    async def delete_alert_rule(self, info: CtxInfo, input: DeleteRuleInput) -> AlertRule:
        not_partner(info, _RULES)
        async with in_transaction():
            rule = await policy_service.delete_alert_rule(info.context.actor,
                                                          parse_uuid(input.id, "id"))
        return AlertRule.of(rule)

    @strawberry.mutation(extensions=requires(P.POLICY_WRITE),
                         description="Add a velocity rule.")
    async def create_velocity_rule(self, info: CtxInfo,
                                   input: CreateVelocityRuleInput) -> VelocityRule:
        not_partner(info, _RULES)
        metric = models.VelocityMetric(input.metric)
        threshold, currency = _threshold(metric, input.amount, input.share_percent, input.count)
        async with in_transaction():
            rule = await policy_service.create_velocity_rule(
                info.context.actor, segment=input.segment,
                customer_id=optional_uuid(input.customer_id, "customerId"), metric=metric,
                window_seconds=input.window_seconds, threshold=threshold or 0,
                currency=currency, action=models.VelocityAction(input.action),
                proposed_increase_bp=_bp(input.proposed_increase_percent,
                                         "proposedIncreasePercent"),
                recipients=input.recipients, enabled=input.enabled)
        return VelocityRule.of(rule)

    @strawberry.mutation(extensions=requires(P.POLICY_WRITE),
                         description="Change a velocity rule at expectedVersion.")
    async def update_velocity_rule(self, info: CtxInfo,
                                   input: UpdateVelocityRuleInput) -> VelocityRule:
        not_partner(info, _RULES)
        async with in_transaction():
            current = await models.VelocityRule.get_or_none(id=parse_uuid(input.id, "id"))
            metric = models.VelocityMetric(current.metric) if current else \
                models.VelocityMetric.AUTHORIZATIONS
            threshold, currency = _threshold(metric, input.amount, input.share_percent,
                                             input.count, required=False)
            proposed: Any = policy_service.KEEP
            if input.proposed_increase_percent is not None:
                proposed = _bp(input.proposed_increase_percent, "proposedIncreasePercent")
            rule = await policy_service.update_velocity_rule(
                info.context.actor, parse_uuid(input.id, "id"),
                expected_version=input.expected_version,
                window_seconds=input.window_seconds, threshold=threshold, currency=currency,
                action=models.VelocityAction(input.action) if input.action else None,
                proposed_increase_bp=proposed, recipients=input.recipients,
                enabled=input.enabled)
        return VelocityRule.of(rule)

    @strawberry.mutation(extensions=requires(P.POLICY_WRITE),
                         description="Delete a velocity rule (its alerts stay).")
    async def delete_velocity_rule(self, info: CtxInfo, input: DeleteRuleInput) -> VelocityRule:
        not_partner(info, _RULES)
        async with in_transaction():
            rule = await policy_service.delete_velocity_rule(info.context.actor,
                                                             parse_uuid(input.id, "id"))
        return VelocityRule.of(rule)


PolicyRule = Annotated[AlertRule | VelocityRule, strawberry.union(
    "PolicyRule", description="The rule that raised an alert: a utilisation threshold or a "
                              "velocity rule.")]
