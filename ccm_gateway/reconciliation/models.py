"""Reconciliation: external balances matched with the ledger as of the external figure's
own time; a difference above tolerance is a break until a later run matches."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class ReconciliationSource(StrEnum):
    WEBHOOK = "webhook"  # balance.reported
    PULL = "pull"  # the scheduled sync's pulled balances
    CSV = "csv"  # an uploaded batch


class ReconciliationRun(Model):
    id = fields.UUIDField(primary_key=True)
    integration_id = fields.UUIDField(null=True, db_index=True)
    source = fields.CharEnumField(ReconciliationSource, max_length=16)
    file_name = fields.CharField(max_length=500, null=True)
    started_at = fields.DatetimeField()
    finished_at = fields.DatetimeField(null=True)
    matched = fields.IntField(default=0)
    broken = fields.IntField(default=0)
    # An external figure for a customer the ledger does not know.
    missing_in_ledger = fields.IntField(default=0)
    # A ledger customer of the integration's segments with no external figure.
    missing_externally = fields.IntField(default=0)
    # Parts per million of the larger absolute balance: 100 = 0.01 %; never under one minor unit.
    tolerance_ppm = fields.IntField()
    actor = fields.CharField(max_length=200)

    class Meta:
        table = "reconciliation_run"


class BreakStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class ReconciliationBreak(Model):
    id = fields.UUIDField(primary_key=True)
    run: fields.ForeignKeyRelation[ReconciliationRun] = fields.ForeignKeyField(
        "models.ReconciliationRun", related_name="breaks", on_delete=fields.RESTRICT)
    run_id: Any
    last_run_id = fields.UUIDField()
    integration_id = fields.UUIDField(null=True, db_index=True)
    customer_id = fields.UUIDField(db_index=True)
    currency = fields.CharField(max_length=3)
    external_balance_minor: fields.Field[int] = fields.BigIntField()
    ledger_balance_minor: fields.Field[int] = fields.BigIntField()
    difference_minor: fields.Field[int] = fields.BigIntField()
    as_of = fields.DatetimeField()
    status = fields.CharEnumField(BreakStatus, max_length=16, default=BreakStatus.OPEN)
    note = fields.CharField(max_length=1000, null=True)
    acknowledged_at = fields.DatetimeField(null=True)
    acknowledged_by = fields.CharField(max_length=200, null=True)
    resolved_at = fields.DatetimeField(null=True)
    resolved_by = fields.CharField(max_length=200, null=True)
    version = fields.IntField(default=1)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "reconciliation_break"
        indexes = (("status", "customer_id"),)
