from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class AuditEvent(Model):
    """Append-only and hash-chained per stream (a customer, or ``system``).

    Chaining per stream rather than globally lets writes for different
    customers commit in parallel; each stream is still a tamper-evident chain.
    """

    # Annotated: BigIntField drops IntField's type parameter, so mypy would see Any.
    id: fields.Field[int] = fields.BigIntField(primary_key=True)
    stream = fields.CharField(max_length=64)
    seq: fields.Field[int] = fields.BigIntField()
    actor_type = fields.CharField(max_length=16)
    actor_id = fields.CharField(max_length=200)
    action = fields.CharField(max_length=64, db_index=True)
    object_type = fields.CharField(max_length=64)
    object_id = fields.CharField(max_length=64, db_index=True)
    before: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    after: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    request_id = fields.CharField(max_length=64, null=True)
    created_at = fields.DatetimeField()
    prev_hash = fields.CharField(max_length=64)
    hash = fields.CharField(max_length=64)

    class Meta:
        table = "audit_event"
        unique_together = (("stream", "seq"),)
        indexes = (("created_at", "id"),)
