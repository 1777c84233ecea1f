"""Evaluating the credit policy in the ledger's write path, under the account's lock.

The ledger calls ``exposure_changed`` after every change to a customer's exposure (holds,
captures, voids, expiry, entries, reversals, refunds: applied webhooks go through these)
and ``limit_changed`` / ``site_limit_changed`` after a limit moves, in the same
transaction, the account row locked. Two kinds of rule are evaluated:

- Utilisation thresholds (``AlertRule``). A rule fires once per upward crossing: below the
  threshold before the change, at or above it after; it re-arms when a change takes
  exposure below threshold - hysteresis, which raises ``credit.threshold.resolved``. The
  crossings are decided from the before/after figures in hand, so a change that crosses
  nothing costs no query; only a crossing reads and writes ``AlertRuleState``.
- Velocity (``VelocityRule``): spend (charges, captures included) and placed holds are
  added to per-customer time buckets (``VelocityCounter``), and a rule's figure is the sum
  of the buckets in its rolling window. Only customers some velocity rule concerns have
  counters kept, so a write no rule concerns costs nothing here either. A proposed limit
  change whose band needs no approval is handed back to the ledger, which applies it in
  the same transaction (as a user's request in such a band is applied at once).

Windows: a window of W seconds uses buckets of ``bucket_seconds(W)`` (b) seconds and
sums the last W / b buckets, the current one included: everything from the last W - b
seconds counts, nothing older than W does.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.expressions import F
from tortoise.functions import Count, Sum

from ccm_gateway.alert.models import AlertSeverity
from ccm_gateway.alert.service import raise_alert
from ccm_gateway.audit import service as audit
from ccm_gateway.customer.models import Customer, CustomerStatus
from ccm_gateway.errors import BadInput
from ccm_gateway.kit import outbox
from ccm_gateway.kit.money import format_minor
from ccm_gateway.ledger.models import CreditAccount, SiteLimit
from ccm_gateway.policy import requests
from ccm_gateway.policy import rules as policy_rules
from ccm_gateway.policy.models import (
    AlertRule,
    AlertRuleState,
    LimitChangeRequest,
    LimitChangeSource,
    LimitChangeStatus,
    VelocityAction,
    VelocityCounter,
    VelocityMetric,
    VelocityRule,
    VelocityState,
)
from ccm_gateway.principal import SYSTEM_ACTOR

# The time velocity windows are measured on; tests replace it to stand at a window's edge.
clock: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731

THRESHOLD_KIND = "credit.threshold"
RESOLVED_KIND = "credit.threshold.resolved"
VELOCITY_KIND = "credit.velocity"

MINUTE, HOUR = 60, 3600
# Up to 6 h a window counts in minutes, longer ones in hours: at most a few hundred
# buckets per window, and a window is never more than one bucket short of its length.
MINUTE_BUCKETS_UP_TO = 6 * HOUR
MAX_WINDOW_SECONDS = 90 * 24 * HOUR


def bucket_seconds(window_seconds: int) -> int:
    return MINUTE if window_seconds <= MINUTE_BUCKETS_UP_TO else HOUR


def check_window(window_seconds: int, field: str = "windowSeconds") -> None:
    """A window is whole buckets: minutes up to 6 h, hours beyond, at most 90 days."""
    if not MINUTE <= window_seconds <= MAX_WINDOW_SECONDS:
        raise BadInput(f"{field} must be between {MINUTE} and {MAX_WINDOW_SECONDS}",
                       field=field)
    size = bucket_seconds(window_seconds)
    if window_seconds % size:
        unit = "minutes" if size == MINUTE else "hours (windows longer than 6 h)"
        raise BadInput(f"{field} must be a whole number of {unit}", field=field)


# --- thresholds ---------------------------------------------------------------


def _at_or_above(exposure: int, limit: int, bp: int) -> bool:
    """exposure / limit >= bp / 10000, in integers; with no limit, anything owed is over."""
    if limit <= 0:
        return exposure > 0
    return exposure * 10000 >= bp * limit


def _below(exposure: int, limit: int, bp: int) -> bool:
    if limit <= 0:
        return exposure <= 0
    return exposure * 10000 < bp * limit


@dataclass(frozen=True, slots=True)
class _Gauge:
    """One limit and the exposure against it, before and after a change: the account's,
    or a site's sub-limit (``site_id``)."""

    site_id: Any
    exposure_before: int
    limit_before: int
    exposure_after: int
    limit_after: int


def _utilization(exposure: int, limit: int) -> float | None:
    if limit <= 0:
        return 0.0 if exposure <= 0 else None
    return round(exposure / limit, 6)


async def _evaluate_thresholds(account: CreditAccount, customer: Customer,
                               rules: dict[tuple[Any, int], AlertRule],
                               gauges: list[_Gauge]) -> None:
    for gauge in gauges:
        for (site_id, _), rule in rules.items():
            if site_id != gauge.site_id:
                continue
            threshold, rearm = rule.threshold_bp, rule.threshold_bp - rule.hysteresis_bp
            crossed_up = (not _at_or_above(gauge.exposure_before, gauge.limit_before, threshold)
                          and _at_or_above(gauge.exposure_after, gauge.limit_after, threshold))
            fell_back = (not _below(gauge.exposure_before, gauge.limit_before, rearm)
                         and _below(gauge.exposure_after, gauge.limit_after, rearm))
            if crossed_up:
                await _fire_threshold(account, customer, rule, gauge)
            elif fell_back:
                await _rearm_threshold(account, customer, rule, gauge)


async def _fire_threshold(account: CreditAccount, customer: Customer, rule: AlertRule,
                          gauge: _Gauge) -> None:
    state = await AlertRuleState.get_or_none(rule_id=rule.id, customer_id=customer.id)
    if state is not None and state.fired:
        return  # fired on an earlier crossing and not re-armed since
    now = datetime.now(UTC)
    if state is None:
        await AlertRuleState.create(rule_id=rule.id, customer_id=customer.id, fired=True,
                                    changed_at=now)
    else:
        await AlertRuleState.filter(id=state.id).update(fired=True, changed_at=now)
    severity = AlertSeverity.CRITICAL if rule.threshold_bp >= 10000 else AlertSeverity.WARNING
    await raise_alert(THRESHOLD_KIND, severity,
                      f"{customer.name} reached {_percent(rule.threshold_bp)} % of its "
                      f"{_limit_name(gauge)}: {_figures(account, gauge)}",
                      customer_id=customer.id, rule_id=rule.id,
                      details=_threshold_details(account, rule, gauge),
                      channels=rule.channels, recipients=rule.recipients)


async def _rearm_threshold(account: CreditAccount, customer: Customer, rule: AlertRule,
                           gauge: _Gauge) -> None:
    updated = await AlertRuleState.filter(rule_id=rule.id, customer_id=customer.id,
                                          fired=True).update(fired=False,
                                                             changed_at=datetime.now(UTC))
    if not updated:
        return  # never fired, or re-armed already
    await raise_alert(RESOLVED_KIND, AlertSeverity.INFO,
                      f"{customer.name} is back below {_percent(rule.threshold_bp)} % of its "
                      f"{_limit_name(gauge)}: {_figures(account, gauge)}",
                      customer_id=customer.id, rule_id=rule.id,
                      details=_threshold_details(account, rule, gauge),
                      channels=rule.channels, recipients=rule.recipients)


def _percent(bp: int) -> str:
    return format_minor(bp, "USD").removesuffix(".00")


def _limit_name(gauge: _Gauge) -> str:
    return "credit limit" if gauge.site_id is None else f"sub-limit at site {gauge.site_id}"


def _money(minor: int, currency: str) -> dict[str, str]:
    return {"amount": format_minor(minor, currency), "currency": currency}


def _figures(account: CreditAccount, gauge: _Gauge) -> str:
    currency = account.currency
    return (f"exposure {format_minor(gauge.exposure_after, currency)} of "
            f"{format_minor(gauge.limit_after, currency)} {currency}")


def _threshold_details(account: CreditAccount, rule: AlertRule,
                       gauge: _Gauge) -> dict[str, Any]:
    return {"thresholdPercent": rule.threshold_bp / 100,
            "hysteresisPercent": rule.hysteresis_bp / 100,
            "utilization": _utilization(gauge.exposure_after, gauge.limit_after),
            "exposure": _money(gauge.exposure_after, account.currency),
            "limit": _money(gauge.limit_after, account.currency),
            "siteId": str(gauge.site_id) if gauge.site_id is not None else None}


# --- velocity -------------------------------------------------------------------


async def _count(customer_id: Any, sizes: set[int], now: datetime, spend_minor: int,
                 authorizations: int) -> None:
    """Add the change to the customer's current bucket of each size (the account locked,
    so no other writer adds to the same row meanwhile)."""
    for size in sorted(sizes):
        start = _bucket_start(now, size)
        updated = await VelocityCounter.filter(
            customer_id=customer_id, bucket_seconds=size, bucket_start=start).update(
            spend_minor=F("spend_minor") + spend_minor,
            authorizations=F("authorizations") + authorizations)
        if not updated:
            await VelocityCounter.create(customer_id=customer_id, bucket_seconds=size,
                                         bucket_start=start, spend_minor=spend_minor,
                                         authorizations=authorizations)


def _bucket_start(now: datetime, size: int) -> datetime:
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % size, UTC)


def window_start(now: datetime, window_seconds: int) -> datetime:
    """The start of the oldest bucket a window ending now still counts."""
    size = bucket_seconds(window_seconds)
    return _bucket_start(now, size) - timedelta(seconds=window_seconds - size)


async def window_figures(customer_id: Any, window_seconds: int,
                         now: datetime) -> tuple[int, int]:
    """(spend, authorisations) of the customer in the window ending ``now``."""
    rows = await VelocityCounter.filter(
        customer_id=customer_id, bucket_seconds=bucket_seconds(window_seconds),
        bucket_start__gte=window_start(now, window_seconds)).annotate(
        spend=Sum("spend_minor"), auths=Sum("authorizations"), n=Count("id")).values(
        "spend", "auths")
    if not rows:
        return 0, 0
    return int(rows[0]["spend"] or 0), int(rows[0]["auths"] or 0)


def _figure(rule: VelocityRule, spend: int, auths: int) -> int:
    return auths if rule.metric == VelocityMetric.AUTHORIZATIONS else spend


def _exceeds(rule: VelocityRule, figure: int, limit_minor: int) -> bool:
    if rule.metric == VelocityMetric.SPEND_SHARE:
        if limit_minor <= 0:
            return figure > 0
        return figure * 10000 > rule.threshold * limit_minor
    return figure > rule.threshold


async def _evaluate_velocity(account: CreditAccount, customer: Customer,
                             rules: list[VelocityRule], spend_minor: int,
                             authorizations: int) -> list[LimitChangeRequest]:
    """The proposals opened that need no approval (for the ledger to apply)."""
    # A SPEND_AMOUNT rule counts only in its own currency.
    rules = [r for r in rules
             if r.metric != VelocityMetric.SPEND_AMOUNT or r.currency == account.currency]
    affected = [r for r in rules if (authorizations if r.metric == VelocityMetric.AUTHORIZATIONS
                                     else spend_minor) > 0]
    if not affected:
        return []
    now = clock()
    unapproved: list[LimitChangeRequest] = []
    await _count(customer.id, {bucket_seconds(r.window_seconds) for r in rules}, now,
                 spend_minor, authorizations)
    figures: dict[int, tuple[int, int]] = {}
    for rule in affected:
        if rule.window_seconds not in figures:
            figures[rule.window_seconds] = await window_figures(customer.id,
                                                                rule.window_seconds, now)
        spend, auths = figures[rule.window_seconds]
        after = _figure(rule, spend, auths)
        before = after - _figure(rule, spend_minor, authorizations)
        limit = account.credit_limit_minor
        state = await VelocityState.get_or_none(rule_id=rule.id, customer_id=customer.id)
        fired = state is not None and state.fired
        if fired and not _exceeds(rule, before, limit):
            fired = False  # the figure fell back (time passed) since it fired: re-armed
        if not _exceeds(rule, after, limit):
            if state is not None and state.fired:
                await VelocityState.filter(id=state.id).update(fired=False, changed_at=now)
            continue
        if fired:
            continue
        if state is None:
            await VelocityState.create(rule_id=rule.id, customer_id=customer.id, fired=True,
                                       changed_at=now)
        else:
            await VelocityState.filter(id=state.id).update(fired=True, changed_at=now)
        await _act(account, customer, rule, after, now, unapproved)
    return unapproved


def _window_name(seconds: int) -> str:
    for unit, name in ((86400, "d"), (HOUR, "h"), (MINUTE, "min")):
        if seconds % unit == 0:
            return f"{seconds // unit} {name}"
    return f"{seconds} s"


def _describe(account: CreditAccount, rule: VelocityRule, figure: int) -> str:
    window, currency = _window_name(rule.window_seconds), account.currency
    if rule.metric == VelocityMetric.AUTHORIZATIONS:
        return f"{figure} authorisations in the last {window}, more than {rule.threshold}"
    spent = f"spend of {format_minor(figure, currency)} {currency} in the last {window}"
    if rule.metric == VelocityMetric.SPEND_SHARE:
        return f"{spent}, over {_percent(rule.threshold)} % of the limit"
    return f"{spent}, over {format_minor(rule.threshold, currency)} {currency}"


def velocity_details(account: CreditAccount, rule: VelocityRule, figure: int,
                     now: datetime) -> dict[str, Any]:
    details: dict[str, Any] = {
        "ruleId": str(rule.id), "metric": VelocityMetric(rule.metric).name,
        "action": VelocityAction(rule.action).name, "windowSeconds": rule.window_seconds,
        "windowStart": window_start(now, rule.window_seconds).isoformat(),
        "windowEnd": now.isoformat(), "figure": figure, "threshold": rule.threshold}
    if rule.metric != VelocityMetric.AUTHORIZATIONS:
        details["figure"] = _money(figure, account.currency)
    if rule.metric == VelocityMetric.SPEND_AMOUNT:
        details["threshold"] = _money(rule.threshold, account.currency)
    if rule.metric == VelocityMetric.SPEND_SHARE:
        details["thresholdPercent"] = rule.threshold / 100
        details["limit"] = _money(account.credit_limit_minor, account.currency)
    return details


async def _act(account: CreditAccount, customer: Customer, rule: VelocityRule, figure: int,
               now: datetime, unapproved: list[LimitChangeRequest]) -> None:
    details = velocity_details(account, rule, figure, now)
    message = f"{customer.name}: {_describe(account, rule, figure)}"
    severity = AlertSeverity.WARNING
    if rule.action == VelocityAction.PUT_ON_HOLD:
        severity = AlertSeverity.CRITICAL
        details["statusBefore"] = str(customer.status)
        if customer.status == CustomerStatus.ACTIVE:
            await _put_on_hold(customer, details)
            message += "; put on hold"
    elif rule.action == VelocityAction.PROPOSE_LIMIT_CHANGE:
        message += "; " + await _propose(account, customer, rule, figure, details, unapproved)
    await raise_alert(VELOCITY_KIND, severity, message, customer_id=customer.id,
                      rule_id=rule.id, details=details, recipients=rule.recipients)


async def _put_on_hold(customer: Customer, details: dict[str, Any]) -> None:
    """The status goes to on_hold, so gates deny; releasing it is a normal status change."""
    before = {"status": str(customer.status), "version": customer.version}
    await Customer.filter(id=customer.id).update(status=CustomerStatus.ON_HOLD,
                                                 version=F("version") + 1)
    customer.status = CustomerStatus.ON_HOLD
    customer.version += 1
    await outbox.record(customer_id=customer.id, state_changed=True)
    await audit.record(SYSTEM_ACTOR, "customer.put_on_hold", object_type="customer",
                       object_id=customer.id, before=before,
                       after={"status": str(customer.status), "version": customer.version,
                              "velocity": details},
                       stream=audit.customer_stream(customer.id))


async def _propose(account: CreditAccount, customer: Customer, rule: VelocityRule,
                   figure: int, details: dict[str, Any],
                   unapproved: list[LimitChangeRequest]) -> str:
    """Open a limit change request (through the approvals of its band; one of a band that
    needs none goes to ``unapproved``, to be applied at once); what came of it, for the
    alert's message."""
    pending = await LimitChangeRequest.filter(
        customer_id=customer.id, status=LimitChangeStatus.PENDING,
        source=LimitChangeSource.VELOCITY).first()
    if pending is not None:
        details["requestId"] = str(pending.id)
        return "a velocity proposal is already pending"
    current = account.credit_limit_minor
    increase = math.ceil(current * (rule.proposed_increase_bp or 0) / 10000)
    reasoning = {"trigger": "velocity", **details,
                 "explanation": _describe(account, rule, figure),
                 "proposedIncreasePercent": (rule.proposed_increase_bp or 0) / 100}
    try:
        request = await requests.open_request(
            SYSTEM_ACTOR, account, current + increase, reason=f"velocity rule {rule.id}",
            source=LimitChangeSource.VELOCITY, reasoning=reasoning)
    except BadInput as exc:
        # Over the segment's cap, say: the alert still goes out, saying why nothing waits.
        details["proposalRefused"] = exc.message
        return f"no limit change proposed: {details['proposalRefused']}"
    details["requestId"] = str(request.id)
    details["proposedLimit"] = _money(request.requested_limit_minor, account.currency)
    limit = f"{format_minor(request.requested_limit_minor, account.currency)} {account.currency}"
    if not request.required_approvals:
        unapproved.append(request)
        return f"raised the limit to {limit}: its band needs no approval"
    return f"proposed a limit of {limit} for approval"


# --- the ledger's entry points ---------------------------------------------------


async def exposure_changed(account: CreditAccount, site_limit: SiteLimit | None, *,
                           held: int, posted: int, spend_minor: int = 0,
                           authorizations: int = 0) -> list[LimitChangeRequest]:
    """After a change that moved exposure by ``held`` + ``posted`` (``account`` and
    ``site_limit`` locked, with their figures from before the change). Returns the limit
    change requests velocity rules opened in a band that needs no approval: the caller
    applies them, in the same transaction."""
    rules = await policy_rules.load(account_id=account.id)
    customer = account.customer
    alert_rules = rules.alert_rules_for(customer)
    if alert_rules:
        before = account.posted_balance_minor + account.held_minor
        gauges = [_Gauge(None, before, account.credit_limit_minor, before + held + posted,
                         account.credit_limit_minor)]
        if site_limit is not None:
            site_before = site_limit.posted_minor + site_limit.held_minor
            gauges.append(_Gauge(site_limit.site_id, site_before, site_limit.limit_minor,
                                 site_before + held + posted, site_limit.limit_minor))
        await _evaluate_thresholds(account, customer, alert_rules, gauges)
    if spend_minor or authorizations:
        velocity_rules = rules.velocity_rules_for(customer)
        if velocity_rules:
            return await _evaluate_velocity(account, customer, velocity_rules, spend_minor,
                                            authorizations)
    return []


async def limit_changed(account: CreditAccount, limit_before: int) -> None:
    """After the account's limit moved from ``limit_before`` (``account`` locked, as it is
    now)."""
    rules = await policy_rules.load(account_id=account.id)
    alert_rules = rules.alert_rules_for(account.customer)
    if alert_rules:
        exposure = account.posted_balance_minor + account.held_minor
        await _evaluate_thresholds(account, account.customer, alert_rules, [_Gauge(
            None, exposure, limit_before, exposure, account.credit_limit_minor)])


async def site_limit_changed(account: CreditAccount, site_limit: SiteLimit,
                             limit_before: int | None) -> None:
    """After a site's sub-limit was set (``limit_before`` None: it is new, and exposure at
    the site counts as crossing from nothing)."""
    rules = await policy_rules.load(account_id=account.id)
    alert_rules = rules.alert_rules_for(account.customer)
    if alert_rules:
        exposure = site_limit.posted_minor + site_limit.held_minor
        gauge = (_Gauge(site_limit.site_id, 0, site_limit.limit_minor, exposure,
                        site_limit.limit_minor) if limit_before is None else
                 _Gauge(site_limit.site_id, exposure, limit_before, exposure,
                        site_limit.limit_minor))
        await _evaluate_thresholds(account, account.customer, alert_rules, [gauge])
