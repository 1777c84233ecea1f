"""A small invoice factory for the report tests: invoices and their payment allocations are
written as the billing models store them, without the issuing service, so each test states
exactly the dates and amounts its hand-computed expectations rest on."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from ccm_gateway.billing.models import Invoice, InvoiceStatus, PaymentAllocation
from ccm_gateway.customer.models import Customer
from ccm_gateway.ledger import service as ledger_service
from ccm_gateway.ledger.models import CreditAccount, EntryKind, LedgerEntry
from ccm_gateway.principal import SYSTEM_ACTOR

DAY = timedelta(days=1)


def at(text: str) -> datetime:
    """'2026-03-31' or '2026-03-31T12:00' as a UTC time."""
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


@dataclass
class Books:
    """Invoices of one customer, made by hand."""

    customer_id: str

    async def invoice(self, total: int, *, issued: datetime, due: datetime | None = None,
                      currency: str | None = None, site_id: Any = None) -> Invoice:
        account = await CreditAccount.get(customer_id=self.customer_id)
        sequence = uuid.uuid4().int % 10**9
        return await Invoice.create(
            number=f"RPT-{issued.year}-{sequence}", issuer="RPT", year=issued.year,
            sequence=sequence, customer_id=self.customer_id, account_id=account.id,
            site_id=site_id, currency=currency or account.currency, total_minor=total,
            period_end=issued, net_days=((due or issued + 30 * DAY) - issued).days,
            issued_at=issued, due_at=due or issued + 30 * DAY)

    async def pay(self, invoice: Invoice, amount: int, *, on: datetime,
                  full: bool | None = None) -> None:
        """A payment entry through the ledger (balances stay true) allocated to ``invoice``
        at ``on``; the invoice's paid_at is set when it is now paid in full."""
        entry = await ledger_service.post_entry(
            SYSTEM_ACTOR, self.customer_id, EntryKind.PAYMENT, amount, invoice.currency,
            occurred_at=on, idempotency_key=f"rpt-{uuid.uuid4().hex}")
        assert isinstance(entry, LedgerEntry), entry
        async with in_transaction():
            allocation = await PaymentAllocation.create(invoice_id=invoice.id, entry_id=entry.id,
                                                        amount_minor=amount)
            await PaymentAllocation.filter(id=allocation.id).update(created_at=on)
            invoice.paid_minor += amount
            paid = invoice.paid_minor >= invoice.total_minor if full is None else full
            invoice.status = InvoiceStatus.PAID if paid else InvoiceStatus.PARTIALLY_PAID
            invoice.paid_at = on if paid else None
            await invoice.save(update_fields=["paid_minor", "status", "paid_at"])

    async def void(self, invoice: Invoice, *, on: datetime) -> None:
        """What voiding leaves on the invoice: the credit note took off what was owed."""
        invoice.credited_minor = invoice.total_minor - invoice.paid_minor
        invoice.status, invoice.voided_at = InvoiceStatus.VOID, on
        await invoice.save(update_fields=["credited_minor", "status", "voided_at"])


async def books_for(make_customer: Any, **extra: Any) -> Books:
    return Books(await make_customer(**extra))


async def customer(customer_id: str) -> Customer:
    return await Customer.get(id=customer_id)
