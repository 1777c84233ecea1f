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
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "alert"
