"""Collecting invoices through payment processors: the routes, each collection, and every
attempt at a processor. A timed-out attempt is UNKNOWN until the processor says otherwise;
no other processor is tried before that, so a customer is never charged twice."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class CollectionRoute(Model):
    """The processors to collect through for a site (None: any site) and currency, primary
    first."""

    id = fields.UUIDField(primary_key=True)
    site_id = fields.UUIDField(null=True)
    currency = fields.CharField(max_length=3)
    integration_ids: fields.JSONField[list[str]] = fields.JSONField()
    version = fields.IntField(default=1)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "collection_route"
        unique_together = (("site_id", "currency"),)


class CollectionStatus(StrEnum):
    PENDING = "pending"  # due for an attempt at next_attempt_at
    PROCESSING = "processing"  # an attempt is in flight
    UNKNOWN = "unknown"  # the last attempt timed out: ask before anything else
    RETRYING = "retrying"  # declined or failed; next try at next_attempt_at
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # out of processors and dunning days
    CANCELLED = "cancelled"  # the invoice was paid or voided another way


class Collection(Model):
    id = fields.UUIDField(primary_key=True)
    invoice: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Invoice", related_name="collections", on_delete=fields.RESTRICT)
    invoice_id: Any
    customer_id = fields.UUIDField(db_index=True)
    amount_minor: fields.Field[int] = fields.BigIntField()
    currency = fields.CharField(max_length=3)
    status = fields.CharEnumField(CollectionStatus, max_length=16,
                                  default=CollectionStatus.PENDING)
    trigger = fields.CharField(max_length=16)  # api | due_date | dunning
    # Our reference, sent to every processor (metadata and idempotency keys derive from it).
    reference = fields.CharField(max_length=64, unique=True)
    route: fields.JSONField[list[str]] = fields.JSONField()  # integration ids, primary first
    route_index = fields.IntField(default=0)
    attempts = fields.IntField(default=0)
    declines = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(null=True, db_index=True)
    lease_until = fields.DatetimeField(null=True)
    processor_payment_id = fields.CharField(max_length=200, null=True)
    payment_entry_id = fields.UUIDField(null=True)
    last_error = fields.CharField(max_length=500, null=True)
    version = fields.IntField(default=1)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "collection"
        indexes = (("status", "next_attempt_at"),)


class AttemptOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    DECLINED = "declined"
    FAILED = "failed"  # technical: 5xx, connection refused
    UNKNOWN = "unknown"  # timed out: may or may not have charged
    CANCELLED = "cancelled"


class CollectionAttempt(Model):
    id: fields.Field[int] = fields.BigIntField(primary_key=True)
    collection: fields.ForeignKeyRelation[Collection] = fields.ForeignKeyField(
        "models.Collection", related_name="attempt_records", on_delete=fields.RESTRICT)
    collection_id: Any
    integration_id = fields.UUIDField()
    kind = fields.CharField(max_length=16)  # charge | status
    idempotency_key = fields.CharField(max_length=200)
    processor_payment_id = fields.CharField(max_length=200, null=True)
    outcome = fields.CharEnumField(AttemptOutcome, max_length=16)
    status_code = fields.IntField(null=True)
    error = fields.CharField(max_length=500, null=True)
    latency_ms = fields.IntField()
    started_at = fields.DatetimeField()

    class Meta:
        table = "collection_attempt"
