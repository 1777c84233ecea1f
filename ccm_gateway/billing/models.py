"""Invoices: the charges of a period gathered for the customer, numbered without gaps per
issuer and year, and the payments applied to them.

An invoice organises entries already in the ledger; issuing one posts nothing, so exposure
is never counted twice. Voiding posts one CREDIT_NOTE entry (the credit note) for what is
still owed on it."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class InvoiceStatus(StrEnum):
    OPEN = "open"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    OVERDUE = "overdue"
    VOID = "void"


class Invoice(Model):
    id = fields.UUIDField(primary_key=True)
    # "<issuer>-<year>-<sequence, 6 digits>"; (issuer, year, sequence) runs without gaps.
    number = fields.CharField(max_length=64, unique=True)
    issuer = fields.CharField(max_length=32)
    year = fields.IntField()
    sequence = fields.IntField()
    customer: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Customer", related_name="invoices", on_delete=fields.RESTRICT)
    customer_id: Any
    account: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.CreditAccount", related_name="invoices", on_delete=fields.RESTRICT)
    account_id: Any
    # Set when the customer is invoiced per site; None: every site (and none) together.
    site: fields.ForeignKeyNullableRelation[Any] = fields.ForeignKeyField(
        "models.Site", related_name="invoices", null=True, on_delete=fields.RESTRICT)
    site_id: Any
    currency = fields.CharField(max_length=3)
    total_minor: fields.Field[int] = fields.BigIntField()
    paid_minor: fields.Field[int] = fields.BigIntField(default=0)
    # What the credit note of a void took off; total - paid - credited is what is owed.
    credited_minor: fields.Field[int] = fields.BigIntField(default=0)
    status = fields.CharEnumField(InvoiceStatus, max_length=16, default=InvoiceStatus.OPEN)
    period_start = fields.DatetimeField(null=True)
    period_end = fields.DatetimeField()
    net_days = fields.IntField()
    issued_at = fields.DatetimeField()
    due_at = fields.DatetimeField(db_index=True)
    paid_at = fields.DatetimeField(null=True)
    overdue_at = fields.DatetimeField(null=True)
    voided_at = fields.DatetimeField(null=True)
    void_reason = fields.CharField(max_length=500, null=True)
    credit_note_entry_id = fields.UUIDField(null=True)
    version = fields.IntField(default=1)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "invoice"
        unique_together = (("issuer", "year", "sequence"),)
        # (account, status): the open invoices of an account, read under its lock by every
        # issue and allocation; issued_at: the reports' sales windows (DSO).
        indexes = (("customer", "status"), ("status", "due_at"), ("account", "status"),
                   ("issued_at",))


class InvoiceLine(Model):
    """One ledger entry on one invoice; an entry is on at most one invoice, ever."""

    id: fields.Field[int] = fields.BigIntField(primary_key=True)
    invoice: fields.ForeignKeyRelation[Invoice] = fields.ForeignKeyField(
        "models.Invoice", related_name="lines", on_delete=fields.RESTRICT)
    invoice_id: Any
    entry: fields.OneToOneRelation[Any] = fields.OneToOneField(
        "models.LedgerEntry", related_name="invoice_line", on_delete=fields.RESTRICT)
    entry_id: Any
    amount_minor: fields.Field[int] = fields.BigIntField()
    description = fields.CharField(max_length=500, null=True)
    site_id = fields.UUIDField(null=True)
    occurred_at = fields.DatetimeField()

    class Meta:
        table = "invoice_line"


class InvoiceCounter(Model):
    """The next sequence number per issuer and year, taken under the row's lock."""

    id: fields.Field[int] = fields.BigIntField(primary_key=True)
    issuer = fields.CharField(max_length=32)
    year = fields.IntField()
    last_sequence = fields.IntField(default=0)

    class Meta:
        table = "invoice_counter"
        unique_together = (("issuer", "year"),)


class PaymentAllocation(Model):
    """Part of a payment entry applied to an invoice. What a payment leaves unallocated is
    customer credit, applied to the next invoices oldest first."""

    id: fields.Field[int] = fields.BigIntField(primary_key=True)
    invoice: fields.ForeignKeyRelation[Invoice] = fields.ForeignKeyField(
        "models.Invoice", related_name="allocations", on_delete=fields.RESTRICT)
    invoice_id: Any
    entry: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.LedgerEntry", related_name="allocations", on_delete=fields.RESTRICT)
    entry_id: Any
    amount_minor: fields.Field[int] = fields.BigIntField()
    by_reference = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "payment_allocation"
        unique_together = (("invoice", "entry"),)


class ReceivablesPolicy(Model):
    """Terms enforcement per segment ("*": every segment without its own)."""

    id = fields.UUIDField(primary_key=True)
    segment = fields.CharField(max_length=64, unique=True)
    # Once an invoice is this many days overdue the account goes on hold; None: never.
    overdue_hold_days = fields.IntField(null=True)
    # Days after a declined collection to try again, e.g. [3, 5, 7].
    dunning_days: fields.JSONField[list[int]] = fields.JSONField()
    # Collect on the due date when the customer has a payment method at a processor.
    auto_collect = fields.BooleanField(default=True)
    # One invoice per site (and one for entries at no site) instead of one for all.
    invoice_per_site = fields.BooleanField(default=False)
    version = fields.IntField(default=1)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "receivables_policy"


class OverdueHold(Model):
    """An account the overdue policy put on hold, and the status to return it to."""

    id: fields.Field[int] = fields.BigIntField(primary_key=True)
    customer_id = fields.UUIDField(unique=True)
    previous_status = fields.CharField(max_length=16)
    invoice_id = fields.UUIDField()  # the invoice whose overdue days triggered it
    held_at = fields.DatetimeField()

    class Meta:
        table = "overdue_hold"
