"""Credit policy: the rules the ledger evaluates on every change to exposure or limit
(utilisation thresholds, velocity triggers, segment caps), the approval bands of limit
changes, and the requests that go through them.

The policy sits below the ledger's service: the ledger reads the rules (cached per
process, reloaded when ``PolicyRevision`` moves) and keeps their per-customer state under
the account's lock.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class PolicyRevision(Model):
    """One row (id 1): raised in the transaction of every change to alert rules, velocity
    rules, segment policies or the approval policy, so each process knows when its cached
    copy is stale without reloading the rules on every write."""

    id = fields.IntField(primary_key=True)
    revision: fields.Field[int] = fields.BigIntField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "policy_revision"


class AlertChannel(StrEnum):
    OUTBOUND = "outbound"  # alert.raised to the outbound endpoints that subscribe
    SUBSCRIPTION = "subscription"  # GraphQL alertRaised
    EMAIL = "email"  # the rule's recipients, over SMTP


class AlertRule(Model):
    """A utilisation threshold: fires once when exposure crosses ``threshold_bp`` of the
    limit upwards, re-arms below ``threshold_bp - hysteresis_bp``. Scope: every customer
    (no segment, no customer), a segment, or one customer; the most specific rule at a
    threshold wins. ``site_id``: the threshold is on that site's sub-limit instead of the
    account limit. Percentages are in hundredths of a percent (8000 = 80 %)."""

    id = fields.UUIDField(primary_key=True)
    threshold_bp = fields.IntField()
    hysteresis_bp = fields.IntField()
    segment = fields.CharField(max_length=64, null=True)
    customer_id = fields.UUIDField(null=True, db_index=True)
    site_id = fields.UUIDField(null=True)
    channels: fields.JSONField[list[str]] = fields.JSONField()
    recipients: fields.JSONField[list[str]] = fields.JSONField()
    # A disabled rule at a more specific scope switches the threshold off there.
    enabled = fields.BooleanField()
    version = fields.IntField()
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "alert_rule"


class AlertRuleState(Model):
    """Whether a rule has fired for a customer and not re-armed since; written under the
    customer's account lock."""

    id: fields.Field[int] = fields.BigIntField(primary_key=True)
    rule: fields.ForeignKeyRelation[AlertRule] = fields.ForeignKeyField(
        "models.AlertRule", related_name="states", on_delete=fields.CASCADE)
    rule_id: Any
    customer_id = fields.UUIDField()
    fired = fields.BooleanField()
    changed_at = fields.DatetimeField()

    class Meta:
        table = "alert_rule_state"
        unique_together = (("rule", "customer_id"),)


class VelocityMetric(StrEnum):
    SPEND_AMOUNT = "spend_amount"  # charges in the window above an amount (minor units)
    SPEND_SHARE = "spend_share"  # charges in the window above a share of the limit (bp)
    AUTHORIZATIONS = "authorizations"  # more than N authorisations in the window


class VelocityAction(StrEnum):
    ALERT = "alert"
    PUT_ON_HOLD = "put_on_hold"
    PROPOSE_LIMIT_CHANGE = "propose_limit_change"


class VelocityRule(Model):
    """Fires when a windowed figure of a customer's activity passes ``threshold``: spend
    (charges, captures included) or authorisations in the last ``window_seconds``. Scope
    as alert rules: a segment or one customer (or every customer)."""

    id = fields.UUIDField(primary_key=True)
    segment = fields.CharField(max_length=64, null=True)
    customer_id = fields.UUIDField(null=True, db_index=True)
    metric = fields.CharEnumField(VelocityMetric, max_length=32)
    window_seconds = fields.IntField()
    # Minor units (SPEND_AMOUNT, in ``currency``), bp of the limit (SPEND_SHARE), a count.
    threshold: fields.Field[int] = fields.BigIntField()
    currency = fields.CharField(max_length=3, null=True)
    action = fields.CharEnumField(VelocityAction, max_length=32)
    # PROPOSE_LIMIT_CHANGE: the increase proposed, in bp of the current limit.
    proposed_increase_bp = fields.IntField(null=True)
    recipients: fields.JSONField[list[str]] = fields.JSONField()
    enabled = fields.BooleanField()
    version = fields.IntField()
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "velocity_rule"


class VelocityState(Model):
    """A velocity rule fired for a customer and its figure has not fallen back since."""

    id: fields.Field[int] = fields.BigIntField(primary_key=True)
    rule: fields.ForeignKeyRelation[VelocityRule] = fields.ForeignKeyField(
        "models.VelocityRule", related_name="states", on_delete=fields.CASCADE)
    rule_id: Any
    customer_id = fields.UUIDField()
    fired = fields.BooleanField()
    changed_at = fields.DatetimeField()

    class Meta:
        table = "velocity_state"
        unique_together = (("rule", "customer_id"),)


class VelocityCounter(Model):
    """A customer's activity in one time bucket of one size: the windowed counters that
    velocity rules read instead of rescanning the ledger. Written under the account lock."""

    id: fields.Field[int] = fields.BigIntField(primary_key=True)
    customer_id = fields.UUIDField()
    bucket_seconds = fields.IntField()
    bucket_start = fields.DatetimeField()
    spend_minor: fields.Field[int] = fields.BigIntField()
    authorizations = fields.IntField()

    class Meta:
        table = "velocity_counter"
        unique_together = (("customer_id", "bucket_seconds", "bucket_start"),)


class SegmentPolicy(Model):
    """Per segment (and risk profile, or any) and currency: the limit a new customer
    starts with, a hard cap no limit or approval may exceed, and whether the scaling job
    proposes limit changes from behaviour."""

    id = fields.UUIDField(primary_key=True)
    segment = fields.CharField(max_length=64)
    risk_profile = fields.CharField(max_length=16, null=True)  # None: any risk profile
    currency = fields.CharField(max_length=3)
    default_limit_minor: fields.Field[int | None] = fields.BigIntField(null=True)
    hard_cap_minor: fields.Field[int | None] = fields.BigIntField(null=True)
    scaling_enabled = fields.BooleanField()
    version = fields.IntField()
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "segment_policy"


class ApprovalPolicy(Model):
    """One row (id 1): the bands limit increases go through, first match wins:
    ``[{"maxIncreasePercent": "10", "maxIncreaseAmount": "10000.00", "approvals": 1,
    "roles": ["credit_manager", "finance"], "requiredRoles": []}, ...]``; the last band has
    no maxima. ``recipients``: who is e-mailed when a request waits for approval."""

    id = fields.IntField(primary_key=True)
    bands: fields.JSONField[list[dict[str, Any]]] = fields.JSONField()
    recipients: fields.JSONField[list[str]] = fields.JSONField()
    version = fields.IntField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "approval_policy"


class LimitChangeStatus(StrEnum):
    PENDING = "pending"
    APPLIED = "applied"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"


class LimitChangeSource(StrEnum):
    USER = "user"  # requestCreditLimitChange
    VELOCITY = "velocity"  # a PROPOSE_LIMIT_CHANGE velocity rule
    SCALING = "scaling"  # the segment policy's scaling job


class LimitChangeRequest(Model):
    """A limit change waiting for (or past) its approvals. ``current_limit_minor`` is the
    limit when it was made: if the limit moved since, applying supersedes it instead."""

    id = fields.UUIDField(primary_key=True)
    customer_id = fields.UUIDField(db_index=True)
    currency = fields.CharField(max_length=3)
    current_limit_minor: fields.Field[int] = fields.BigIntField()
    requested_limit_minor: fields.Field[int] = fields.BigIntField()
    reason = fields.CharField(max_length=500, null=True)
    source = fields.CharEnumField(LimitChangeSource, max_length=16)
    # Why a proposal proposes what it does (velocity, scaling); None for a person's request.
    reasoning: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    status = fields.CharEnumField(LimitChangeStatus, max_length=16, db_index=True)
    requested_by_type = fields.CharField(max_length=16)
    requested_by = fields.CharField(max_length=200)
    # The band in force when it was made: approvals needed, roles that may give them.
    required_approvals = fields.IntField()
    band: fields.JSONField[dict[str, Any]] = fields.JSONField()
    decided_at = fields.DatetimeField(null=True)
    decision_reason = fields.CharField(max_length=500, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField(db_index=True)
    version = fields.IntField()

    class Meta:
        table = "limit_change_request"
        indexes = (("customer_id", "status"),)


class LimitApproval(Model):
    """One person's sign-off on a request; a person approves a request once."""

    id: fields.Field[int] = fields.BigIntField(primary_key=True)
    request: fields.ForeignKeyRelation[LimitChangeRequest] = fields.ForeignKeyField(
        "models.LimitChangeRequest", related_name="approvals", on_delete=fields.CASCADE)
    request_id: Any
    approver_type = fields.CharField(max_length=16)
    approver_id = fields.CharField(max_length=200)
    roles: fields.JSONField[list[str]] = fields.JSONField()
    comment = fields.CharField(max_length=500, null=True)
    decided_at = fields.DatetimeField()

    class Meta:
        table = "limit_approval"
        unique_together = (("request", "approver_id"),)
