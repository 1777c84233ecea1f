"""Integrations (the systems that call us), their inbox and uploaded protocol profiles."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, cast

from tortoise import fields
from tortoise.models import Model


def _nullable_text() -> fields.Field[str | None]:
    """``TextField(null=True)``: tortoise types every TextField as ``str``, nullable or not."""
    return cast("fields.Field[str | None]", fields.TextField(null=True))

class IntegrationKind(StrEnum):
    PAYMENT_PROCESSOR = "payment_processor"
    BUILDING_SYSTEM = "building_system"
    ERP = "erp"
    CRM = "crm"


class Integration(Model):
    """An external system. Its inbound signing secrets are SecretBox ciphertexts; while a
    rotation overlaps, the previous secret verifies too until ``previous_secret_expires_at``."""

    id = fields.UUIDField(primary_key=True)
    slug = fields.CharField(max_length=64, unique=True)  # POST /webhooks/{slug}
    name = fields.CharField(max_length=200)
    kind = fields.CharEnumField(IntegrationKind, max_length=32)
    profile = fields.CharField(max_length=64)
    # ExternalRef.system that customer ids in its callbacks resolve through.
    ref_system = fields.CharField(max_length=64)
    # Customer segments it may write; ["*"] = all.
    segments: fields.JSONField[list[str]] = fields.JSONField()
    rate_limit_per_second = fields.IntField()
    rate_limit_burst = fields.IntField()
    secret = fields.TextField()
    previous_secret = _nullable_text()
    previous_secret_expires_at = fields.DatetimeField(null=True)
    secret_overlap_seconds = fields.IntField()
    enabled = fields.BooleanField(default=True)
    deleted_at = fields.DatetimeField(null=True)
    # Scheduled sync (credit.snapshot push, profile pull) every this many seconds; None: off.
    sync_frequency_seconds = fields.IntField(null=True)
    last_synced_at = fields.DatetimeField(null=True)
    version = fields.IntField(default=1)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "integration"


class ProtocolProfileRecord(Model):
    """A profile uploaded through GraphQL; the shipped ones are files in the webhooks folder."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64, unique=True)
    source = fields.TextField()
    version = fields.IntField(default=1)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "protocol_profile"


class InboundStatus(StrEnum):
    RECEIVED = "received"  # stored and queued, not processed yet
    RETRYING = "retrying"  # a transient failure; next try at next_attempt_at
    APPLIED = "applied"
    IGNORED = "ignored"  # a vendor event type the profile does not map
    PARKED = "parked"  # waits for data (customer ref, site, FX rate); replay to resume
    DEAD = "dead"  # failed for good, or out of retries; replay to try again


TERMINAL_STATUSES = (InboundStatus.APPLIED, InboundStatus.IGNORED, InboundStatus.PARKED,
                     InboundStatus.DEAD)


class InboundEvent(Model):
    """The inbox: a verified callback, stored before it is acknowledged."""

    id = fields.UUIDField(primary_key=True)
    integration: fields.ForeignKeyRelation[Integration] = fields.ForeignKeyField(
        "models.Integration", related_name="inbound_events",
                                         on_delete=fields.RESTRICT)
    integration_id: object
    external_id = fields.CharField(max_length=200)
    event_type = fields.CharField(max_length=200, null=True)
    canonical_type = fields.CharField(max_length=64, null=True)
    status = fields.CharEnumField(InboundStatus, max_length=16, default=InboundStatus.RECEIVED)
    content_type = fields.CharField(max_length=100)
    payload = fields.BinaryField(null=True)  # deleted by the retention job
    occurred_at = fields.DatetimeField(null=True)
    received_at = fields.DatetimeField(db_index=True)
    applied_at = fields.DatetimeField(null=True)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(null=True)
    last_error = _nullable_text()
    customer_id = fields.UUIDField(null=True)
    result: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)

    class Meta:
        table = "inbound_event"
        unique_together = (("integration", "external_id"),)
        indexes = (("status", "next_attempt_at"), ("integration", "received_at"))


class BalanceReport(Model):
    """A balance an external system reported (``balance.reported``), kept for reconciliation."""

    id = fields.BigIntField(primary_key=True)
    integration: fields.ForeignKeyRelation[Integration] = fields.ForeignKeyField(
        "models.Integration", related_name="balance_reports",
                                         on_delete=fields.RESTRICT)
    integration_id: object
    customer_id = fields.UUIDField(db_index=True)
    # The callback it came in; None for a balance the scheduled sync pulled or a CSV batch
    # brought (reconcileBalances).
    inbound_event_id = fields.UUIDField(unique=True, null=True)
    source = fields.CharField(max_length=16, default="webhook")  # webhook | pull | csv
    balance_minor: fields.Field[int] = fields.BigIntField()
    currency = fields.CharField(max_length=3)
    reported_at = fields.DatetimeField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "balance_report"


class AccessEvent(Model):
    """A gate's access attempt (``access.attempted``), for audit and gate statistics."""

    id = fields.BigIntField(primary_key=True)
    integration: fields.ForeignKeyRelation[Integration] = fields.ForeignKeyField(
        "models.Integration", related_name="access_events",
                                         on_delete=fields.RESTRICT)
    integration_id: object
    customer_id = fields.UUIDField(db_index=True)
    site_id = fields.UUIDField(null=True)
    inbound_event_id = fields.UUIDField(unique=True)
    granted = fields.BooleanField(null=True)
    gate = fields.CharField(max_length=100, null=True)
    occurred_at = fields.DatetimeField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "access_event"
