from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:  # only for the relations' types; Tortoise resolves "models.X" itself
    from ccm_gateway.customer.models import Customer
    from ccm_gateway.site.models import Site


class InvoicingCycle(StrEnum):
    PER_TRANSACTION = "per_transaction"
    WEEKLY = "weekly"
    BIWEEKLY = "biweekly"
    MONTHLY = "monthly"


class EntryKind(StrEnum):
    CHARGE = "charge"
    INVOICE = "invoice"
    PAYMENT = "payment"
    REFUND = "refund"
    CREDIT_NOTE = "credit_note"
    ADJUSTMENT = "adjustment"
    REVERSAL = "reversal"


class HoldStatus(StrEnum):
    PENDING = "pending"
    CAPTURED = "captured"
    VOIDED = "voided"
    EXPIRED = "expired"


class SourceType(StrEnum):
    USER = "user"
    CLIENT = "client"
    INTEGRATION = "integration"
    SYSTEM = "system"


class CreditAccount(Model):
    """One per customer. Cached balances move only with the entries and holds that cause them."""

    id = fields.UUIDField(primary_key=True)
    customer: fields.OneToOneRelation[Customer] = fields.OneToOneField(
        "models.Customer", related_name="credit_account", on_delete=fields.RESTRICT
    )
    customer_id: object
    currency = fields.CharField(max_length=3)
    # Annotated: BigIntField drops IntField's type parameter, so mypy would see Any.
    credit_limit_minor: fields.Field[int] = fields.BigIntField(default=0)
    posted_balance_minor: fields.Field[int] = fields.BigIntField(default=0)
    held_minor: fields.Field[int] = fields.BigIntField(default=0)
    net_days = fields.IntField(default=30)
    invoicing_cycle = fields.CharEnumField(
        InvoicingCycle, max_length=16, default=InvoicingCycle.MONTHLY
    )
    version = fields.IntField(default=1)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "credit_account"


class SiteLimit(Model):
    """A sub-limit on what a customer may owe and hold at one site."""

    id: fields.Field[int] = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[CreditAccount] = fields.ForeignKeyField(
        "models.CreditAccount", related_name="site_limits", on_delete=fields.RESTRICT
    )
    account_id: object
    site: fields.ForeignKeyRelation[Site] = fields.ForeignKeyField(
        "models.Site", related_name="limits", on_delete=fields.RESTRICT)
    site_id: object
    limit_minor: fields.Field[int] = fields.BigIntField()
    posted_minor: fields.Field[int] = fields.BigIntField(default=0)
    held_minor: fields.Field[int] = fields.BigIntField(default=0)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "site_limit"
        unique_together = (("account", "site"),)


class LedgerEntry(Model):
    """Append-only. Positive amounts raise what the customer owes, negative ones lower it."""

    id = fields.UUIDField(primary_key=True)
    account: fields.ForeignKeyRelation[CreditAccount] = fields.ForeignKeyField(
        "models.CreditAccount", related_name="entries", on_delete=fields.RESTRICT
    )
    account_id: object
    site: fields.ForeignKeyNullableRelation[Site] = fields.ForeignKeyField(
        "models.Site", related_name="entries", null=True, on_delete=fields.RESTRICT
    )
    site_id: object
    kind = fields.CharEnumField(EntryKind, max_length=16)
    amount_minor: fields.Field[int] = fields.BigIntField()
    currency = fields.CharField(max_length=3)
    original_amount_minor: fields.Field[int | None] = fields.BigIntField(null=True)
    original_currency = fields.CharField(max_length=3, null=True)
    fx_rate = fields.CharField(max_length=40, null=True)
    source_type = fields.CharEnumField(SourceType, max_length=16)
    source_id = fields.CharField(max_length=200)
    idempotency_key = fields.CharField(max_length=200, null=True)
    external_ref = fields.CharField(max_length=200, null=True)
    description = fields.CharField(max_length=500, null=True)
    reverses: fields.OneToOneNullableRelation[LedgerEntry] = fields.OneToOneField(
        "models.LedgerEntry", related_name="reversed_by", null=True, on_delete=fields.RESTRICT
    )
    reverses_id: object
    # The payment a refund gives money back from; refunds of one payment never exceed it.
    refunds: fields.ForeignKeyNullableRelation[LedgerEntry] = fields.ForeignKeyField(
        "models.LedgerEntry", related_name="refunded_by", null=True, on_delete=fields.RESTRICT,
        db_index=True,
    )
    refunds_id: object
    hold: fields.ForeignKeyNullableRelation[Hold] = fields.ForeignKeyField(
        "models.Hold", related_name="entries", null=True, on_delete=fields.RESTRICT
    )
    hold_id: object
    over_limit = fields.BooleanField(default=False)
    occurred_at = fields.DatetimeField()
    recorded_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "ledger_entry"
        indexes = (("account", "recorded_at"),)


class Hold(Model):
    id = fields.UUIDField(primary_key=True)
    account: fields.ForeignKeyRelation[CreditAccount] = fields.ForeignKeyField(
        "models.CreditAccount", related_name="holds", on_delete=fields.RESTRICT
    )
    account_id: object
    site: fields.ForeignKeyNullableRelation[Site] = fields.ForeignKeyField(
        "models.Site", related_name="holds", null=True, on_delete=fields.RESTRICT
    )
    site_id: object
    amount_minor: fields.Field[int] = fields.BigIntField()
    captured_minor: fields.Field[int] = fields.BigIntField(default=0)
    currency = fields.CharField(max_length=3)
    status = fields.CharEnumField(HoldStatus, max_length=16, default=HoldStatus.PENDING)
    reference = fields.CharField(max_length=200, null=True)
    source_type = fields.CharEnumField(SourceType, max_length=16)
    source_id = fields.CharField(max_length=200)
    expires_at = fields.DatetimeField(db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "hold"
        indexes = (("account", "status"),)
