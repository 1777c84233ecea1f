"""A small invoice factory for the report tests: invoices and their payment allocations are
written as the billing models store them, without the issuing service, so each test states
exactly the dates and amounts its hand-computed expectations rest on."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from ccm_gateway.billing import service as billing_service
from ccm_gateway.billing.models import Invoice, PaymentAllocation
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

    async def pay(self, invoice: Invoice, amount: int, *, on: datetime) -> None:
        """A payment naming ``invoice``, through the ledger and its allocation, then moved
        back in time to ``on``: its allocation's created_at, and paid_at if it paid the
        invoice in full."""
        entry = await ledger_service.post_entry(
            SYSTEM_ACTOR, self.customer_id, EntryKind.PAYMENT, amount, invoice.currency,
            occurred_at=on, idempotency_key=f"rpt-{uuid.uuid4().hex}",
            invoice_number=invoice.number)
        assert isinstance(entry, LedgerEntry), entry
        assert await PaymentAllocation.filter(entry_id=entry.id).values_list(
            "invoice_id", "amount_minor") == [(invoice.id, amount)]
        await PaymentAllocation.filter(entry_id=entry.id).update(created_at=on)
        await Invoice.filter(id=invoice.id, paid_at__not_isnull=True).update(paid_at=on)
        await invoice.refresh_from_db()

    async def void(self, invoice: Invoice, *, on: datetime) -> None:
        """Voided through its credit note, then moved back in time to ``on``."""
        async with in_transaction():
            await billing_service.void_invoice(SYSTEM_ACTOR, invoice.id, "report test")
        await Invoice.filter(id=invoice.id).update(voided_at=on)
        await invoice.refresh_from_db()


async def books_for(make_customer: Any, **extra: Any) -> Books:
    return Books(await make_customer(**extra))


async def customer(customer_id: str) -> Customer:
    return await Customer.get(id=customer_id)
