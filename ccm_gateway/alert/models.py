from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class AlertSeverity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class Alert(Model):
    """Written in the same transaction as the change that raises it (the outbox row of
    invariant 6); delivering it to people and systems is a later fan-out."""

    id = fields.UUIDField(primary_key=True)
    kind = fields.CharField(max_length=64, db_index=True)
    severity = fields.CharEnumField(AlertSeverity, max_length=16)
    message = fields.CharField(max_length=500)
    customer_id = fields.UUIDField(null=True, db_index=True)
    integration_id = fields.UUIDField(null=True, db_index=True)
    details: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    # The threshold or velocity rule that fired it, if any.
    rule_id = fields.UUIDField(null=True)
    acknowledged_at = fields.DatetimeField(null=True)
    acknowledged_by = fields.CharField(max_length=200, null=True)
    acknowledgement_note = fields.CharField(max_length=500, null=True)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "alert"


class NotificationStatus(StrEnum):
    PENDING = "pending"  # waiting for its first attempt
    RETRYING = "retrying"  # failed; next try at next_attempt_at
    SENT = "sent"
    FAILED = "failed"  # out of retries


class AlertNotification(Model):
    """One e-mail of an alert to one recipient, written with the alert (the outbox of the
    e-mail channel) and sent at least once by the worker, with retries."""

    id = fields.UUIDField(primary_key=True)
    alert: fields.ForeignKeyRelation[Alert] = fields.ForeignKeyField(
        "models.Alert", related_name="notifications", on_delete=fields.CASCADE)
    alert_id: Any
    channel = fields.CharField(max_length=16)
    recipient = fields.CharField(max_length=320)
    status = fields.CharEnumField(NotificationStatus, max_length=16)
    attempts = fields.IntField()
    next_attempt_at = fields.DatetimeField(null=True)
    last_error = fields.CharField(max_length=500, null=True)
    sent_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "alert_notification"
        indexes = (("status", "next_attempt_at"),)
