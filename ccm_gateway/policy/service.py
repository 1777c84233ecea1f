"""Managing alert rules and velocity rules: validated, versioned, audited, and each change
raises the policy revision so every process's write path reloads its rules."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ccm_gateway.audit import service as audit
from ccm_gateway.customer.models import Customer
from ccm_gateway.errors import BadInput, Conflict, NotFound
from ccm_gateway.kit.pagination import Keyset, Page, Window, aware_datetime, page
from ccm_gateway.policy import evaluate
from ccm_gateway.policy.models import (
    AlertChannel,
    AlertRule,
    VelocityAction,
    VelocityMetric,
    VelocityRule,
)
from ccm_gateway.policy.rules import bump_revision
from ccm_gateway.principal import Actor
from ccm_gateway.site import service as site_service

RULE_ORDER = Keyset(("created_at", "id"), (aware_datetime, uuid.UUID))
DEFAULT_HYSTERESIS_BP = 500
MAX_THRESHOLD_BP = 100000  # 1000 %: a customer far over its limit still has thresholds
MAX_RECIPIENTS = 20
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
KEEP: Any = object()  # an update's "leave this field as it is"


def percent_to_bp(value: float, field: str) -> int:
    """80 -> 8000; at most two decimals (hundredths of a percent)."""
    bp = round(value * 100)
    if abs(bp - value * 100) > 1e-6:
        raise BadInput(f"{field} has more than two decimals", field=field)
    return bp


def _check_recipients(recipients: Sequence[str], field: str = "recipients") -> list[str]:
    if len(recipients) > MAX_RECIPIENTS:
        raise BadInput(f"{field}: at most {MAX_RECIPIENTS} addresses", field=field)
    for address in recipients:
        if len(address) > 320 or not _EMAIL.match(address):
            raise BadInput(f"{field}: {address!r} is not an e-mail address", field=field)
    return list(dict.fromkeys(recipients))


def _check_channels(channels: Sequence[str]) -> list[str]:
    known = [c.value for c in AlertChannel]
    for channel in channels:
        if channel not in known:
            raise BadInput(f"channels: {channel!r} is not one of {', '.join(known)}",
                           field="channels")
    return [c for c in known if c in channels]


async def _check_scope(segment: str | None, customer_id: Any) -> None:
    if segment is not None and customer_id is not None:
        raise BadInput("give a segment or a customerId, not both: a customer's rule already "
                       "applies to its segment only", field="segment")
    if segment is not None and not 0 < len(segment.strip()) <= 64:
        raise BadInput("segment must be 1 to 64 characters", field="segment")
    if customer_id is not None and not await Customer.exists(id=customer_id):
        raise NotFound(f"customer {customer_id} not found", field="customerId")


def _scope_filter(segment: str | None, customer_id: Any) -> dict[str, Any]:
    return {"segment": segment, "customer_id": customer_id}


R = TypeVar("R", AlertRule, VelocityRule)


@dataclass(frozen=True, slots=True)
class _Kind(Generic[R]):
    """What alert rules and velocity rules manage alike: the lock, the version check, the
    one-rule-per-scope check, and the audit + revision bump of every change."""

    model: type[R]
    name: str  # "alert_rule": the audit's object type and action prefix
    snapshot: Callable[[R], dict[str, Any]]

    @property
    def label(self) -> str:
        return self.name.replace("_", " ")

    async def check_unique(self, duplicate: str, field: str, exclude: Any = None,
                           **same: Any) -> None:
        """CONFLICT if another rule of this kind matches ``same``."""
        query = self.model.filter(**same)
        if exclude is not None:
            query = query.exclude(id=exclude)
        existing = await query.first()
        if existing is not None:
            raise Conflict(f"{self.label} {existing.id} already {duplicate} for this scope; "
                           "update it instead", field=field)

    async def locked(self, rule_id: Any, expected_version: int | None) -> R:
        rule = await self.model.filter(id=rule_id).select_for_update().first()
        if rule is None:
            raise NotFound(f"{self.label} {rule_id} not found", field="id")
        if expected_version is not None and rule.version != expected_version:
            raise Conflict(f"{self.label} is at version {rule.version}, not "
                           f"{expected_version}; reload and retry", field="expectedVersion")
        return rule

    async def _changed(self, actor: Actor, verb: str, rule: R,
                       before: dict[str, Any] | None, after: dict[str, Any] | None) -> R:
        await audit.record(actor, f"{self.name}.{verb}", object_type=self.name,
                           object_id=rule.id, before=before, after=after)
        await bump_revision()
        return rule

    async def create(self, actor: Actor, **values: Any) -> R:
        rule = await self.model.create(id=uuid.uuid4(), version=1, **values)
        return await self._changed(actor, "create", rule, None, self.snapshot(rule))

    async def save(self, actor: Actor, rule: R, before: dict[str, Any]) -> R:
        """Store ``rule`` (locked, changed since ``before``) at its next version."""
        rule.version += 1
        await rule.save()
        return await self._changed(actor, "update", rule, before, self.snapshot(rule))

    async def delete(self, actor: Actor, rule_id: Any) -> R:
        rule = await self.locked(rule_id, None)
        before = self.snapshot(rule)
        await rule.delete()
        return await self._changed(actor, "delete", rule, before, None)


# --- alert rules ------------------------------------------------------------------


def alert_rule_snapshot(rule: AlertRule) -> dict[str, Any]:
    return {"threshold_bp": rule.threshold_bp, "hysteresis_bp": rule.hysteresis_bp,
            "segment": rule.segment,
            "customer_id": str(rule.customer_id) if rule.customer_id else None,
            "site_id": str(rule.site_id) if rule.site_id else None,
            "channels": list(rule.channels), "recipients": list(rule.recipients),
            "enabled": rule.enabled, "version": rule.version}


def _check_threshold(threshold_bp: int, hysteresis_bp: int) -> None:
    if not 0 < threshold_bp <= MAX_THRESHOLD_BP:
        raise BadInput(f"thresholdPercent must be above 0 and at most "
                       f"{MAX_THRESHOLD_BP // 100}", field="thresholdPercent")
    if not 0 <= hysteresis_bp < threshold_bp:
        raise BadInput("hysteresisPercent must be at least 0 and below thresholdPercent",
                       field="hysteresisPercent")


_ALERT_RULES = _Kind(AlertRule, "alert_rule", alert_rule_snapshot)


async def _check_unique_alert_rule(threshold_bp: int, segment: str | None, customer_id: Any,
                                   site_id: Any, exclude: Any = None) -> None:
    await _ALERT_RULES.check_unique("sets this threshold", "thresholdPercent", exclude,
                                    threshold_bp=threshold_bp, site_id=site_id,
                                    **_scope_filter(segment, customer_id))


async def create_alert_rule(actor: Actor, *, threshold_bp: int, hysteresis_bp: int | None,
                            segment: str | None, customer_id: Any, site_id: Any,
                            channels: Sequence[str] | None, recipients: Sequence[str],
                            enabled: bool = True) -> AlertRule:
    hysteresis = DEFAULT_HYSTERESIS_BP if hysteresis_bp is None else hysteresis_bp
    _check_threshold(threshold_bp, hysteresis)
    segment = segment.strip() if segment is not None else None
    await _check_scope(segment, customer_id)
    if site_id is not None:
        await site_service.require_site(site_id)
    chosen = _check_channels([c.value for c in AlertChannel] if channels is None else channels)
    addresses = _check_recipients(recipients)
    await _check_unique_alert_rule(threshold_bp, segment, customer_id, site_id)
    return await _ALERT_RULES.create(
        actor, threshold_bp=threshold_bp, hysteresis_bp=hysteresis, segment=segment,
        customer_id=customer_id, site_id=site_id, channels=chosen, recipients=addresses,
        enabled=enabled)


async def update_alert_rule(actor: Actor, rule_id: Any, *, expected_version: int,
                            threshold_bp: int | None = None, hysteresis_bp: int | None = None,
                            channels: Sequence[str] | None = None,
                            recipients: Sequence[str] | None = None,
                            enabled: bool | None = None) -> AlertRule:
    """Change a rule at ``expected_version``; its scope (segment, customer, site) stays."""
    rule = await _ALERT_RULES.locked(rule_id, expected_version)
    before = alert_rule_snapshot(rule)
    threshold = rule.threshold_bp if threshold_bp is None else threshold_bp
    hysteresis = rule.hysteresis_bp if hysteresis_bp is None else hysteresis_bp
    _check_threshold(threshold, hysteresis)
    if threshold != rule.threshold_bp:
        await _check_unique_alert_rule(threshold, rule.segment, rule.customer_id, rule.site_id,
                                       exclude=rule.id)
    rule.threshold_bp, rule.hysteresis_bp = threshold, hysteresis
    if channels is not None:
        rule.channels = _check_channels(channels)
    if recipients is not None:
        rule.recipients = _check_recipients(recipients)
    if enabled is not None:
        rule.enabled = enabled
    return await _ALERT_RULES.save(actor, rule, before)


async def delete_alert_rule(actor: Actor, rule_id: Any) -> AlertRule:
    """Remove a rule (and its crossing state); its alerts stay."""
    return await _ALERT_RULES.delete(actor, rule_id)


@dataclass(frozen=True, slots=True)
class RuleFilter:
    customer_id: Any = None
    segment: str | None = None
    site_id: Any = None
    enabled: bool | None = None
    global_only: bool = False


def _filtered(query: Any, flt: RuleFilter) -> Any:
    if flt.customer_id is not None:
        query = query.filter(customer_id=flt.customer_id)
    if flt.segment is not None:
        query = query.filter(segment=flt.segment)
    if flt.enabled is not None:
        query = query.filter(enabled=flt.enabled)
    if flt.global_only:
        query = query.filter(segment__isnull=True, customer_id__isnull=True)
    return query


async def page_alert_rules(flt: RuleFilter, *, window: Window, max_page_size: int) -> Page:
    """Oldest first."""
    window.check(max_page_size)
    query = _filtered(AlertRule.all(), flt)
    if flt.site_id is not None:
        query = query.filter(site_id=flt.site_id)
    return await page(query, RULE_ORDER, window)


async def alert_rules_by_id(rule_ids: list[Any]) -> list[AlertRule | None]:
    """Batch function (DataLoader): each rule, in key order (None once deleted)."""
    found = {r.id: r for r in await AlertRule.filter(id__in=rule_ids)}
    return [found.get(i) for i in rule_ids]


# --- velocity rules -----------------------------------------------------------------


def velocity_rule_snapshot(rule: VelocityRule) -> dict[str, Any]:
    return {"segment": rule.segment,
            "customer_id": str(rule.customer_id) if rule.customer_id else None,
            "metric": str(rule.metric), "window_seconds": rule.window_seconds,
            "threshold": rule.threshold, "currency": rule.currency, "action": str(rule.action),
            "proposed_increase_bp": rule.proposed_increase_bp,
            "recipients": list(rule.recipients), "enabled": rule.enabled,
            "version": rule.version}


def _check_velocity(metric: VelocityMetric, threshold: int, currency: str | None,
                    action: VelocityAction, proposed_increase_bp: int | None) -> None:
    if threshold < 0 or (metric != VelocityMetric.AUTHORIZATIONS and threshold == 0):
        raise BadInput("the threshold must be above zero (a count may be zero)",
                       field="threshold")
    if metric == VelocityMetric.SPEND_AMOUNT and currency is None:
        raise BadInput("a SPEND_AMOUNT rule needs an amount with its currency", field="amount")
    if action == VelocityAction.PROPOSE_LIMIT_CHANGE:
        if proposed_increase_bp is None or not 0 < proposed_increase_bp <= 100000:
            raise BadInput("PROPOSE_LIMIT_CHANGE needs proposedIncreasePercent above 0 and at "
                           "most 1000", field="proposedIncreasePercent")
    elif proposed_increase_bp is not None:
        raise BadInput("proposedIncreasePercent is for PROPOSE_LIMIT_CHANGE rules only",
                       field="proposedIncreasePercent")


_VELOCITY_RULES = _Kind(VelocityRule, "velocity_rule", velocity_rule_snapshot)


async def _check_unique_velocity_rule(metric: VelocityMetric, window_seconds: int,
                                      segment: str | None, customer_id: Any,
                                      exclude: Any = None) -> None:
    await _VELOCITY_RULES.check_unique("watches this figure and window", "windowSeconds",
                                       exclude, metric=metric, window_seconds=window_seconds,
                                       **_scope_filter(segment, customer_id))


async def create_velocity_rule(actor: Actor, *, segment: str | None, customer_id: Any,
                               metric: VelocityMetric, window_seconds: int, threshold: int,
                               currency: str | None, action: VelocityAction,
                               proposed_increase_bp: int | None, recipients: Sequence[str],
                               enabled: bool = True) -> VelocityRule:
    segment = segment.strip() if segment is not None else None
    await _check_scope(segment, customer_id)
    evaluate.check_window(window_seconds)
    _check_velocity(metric, threshold, currency, action, proposed_increase_bp)
    addresses = _check_recipients(recipients)
    await _check_unique_velocity_rule(metric, window_seconds, segment, customer_id)
    return await _VELOCITY_RULES.create(
        actor, segment=segment, customer_id=customer_id, metric=metric,
        window_seconds=window_seconds, threshold=threshold,
        currency=currency if metric == VelocityMetric.SPEND_AMOUNT else None, action=action,
        proposed_increase_bp=proposed_increase_bp, recipients=addresses, enabled=enabled)


async def update_velocity_rule(actor: Actor, rule_id: Any, *, expected_version: int,
                               window_seconds: int | None = None, threshold: int | None = None,
                               currency: str | None = None,
                               action: VelocityAction | None = None,
                               proposed_increase_bp: Any = KEEP,
                               recipients: Sequence[str] | None = None,
                               enabled: bool | None = None) -> VelocityRule:
    """Change a rule at ``expected_version``; its scope and metric stay."""
    rule = await _VELOCITY_RULES.locked(rule_id, expected_version)
    before = velocity_rule_snapshot(rule)
    if window_seconds is not None:
        evaluate.check_window(window_seconds)
        if window_seconds != rule.window_seconds:
            await _check_unique_velocity_rule(VelocityMetric(rule.metric), window_seconds,
                                              rule.segment, rule.customer_id, exclude=rule.id)
        rule.window_seconds = window_seconds
    if threshold is not None:
        rule.threshold = threshold
    if currency is not None and rule.metric == VelocityMetric.SPEND_AMOUNT:
        rule.currency = currency
    if action is not None:
        rule.action = action
        if action != VelocityAction.PROPOSE_LIMIT_CHANGE and proposed_increase_bp is KEEP:
            proposed_increase_bp = None
    if proposed_increase_bp is not KEEP:
        rule.proposed_increase_bp = proposed_increase_bp
    _check_velocity(VelocityMetric(rule.metric), rule.threshold, rule.currency,
                    VelocityAction(rule.action), rule.proposed_increase_bp)
    if recipients is not None:
        rule.recipients = _check_recipients(recipients)
    if enabled is not None:
        rule.enabled = enabled
    return await _VELOCITY_RULES.save(actor, rule, before)


async def delete_velocity_rule(actor: Actor, rule_id: Any) -> VelocityRule:
    return await _VELOCITY_RULES.delete(actor, rule_id)


async def velocity_rules_by_id(rule_ids: list[Any]) -> list[VelocityRule | None]:
    """Batch function (DataLoader): each rule, in key order (None once deleted)."""
    found = {r.id: r for r in await VelocityRule.filter(id__in=rule_ids)}
    return [found.get(i) for i in rule_ids]


async def page_velocity_rules(flt: RuleFilter, *, window: Window, max_page_size: int) -> Page:
    """Oldest first."""
    window.check(max_page_size)
    return await page(_filtered(VelocityRule.all(), flt), RULE_ORDER, window)
