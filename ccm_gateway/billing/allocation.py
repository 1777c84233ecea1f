"""Payments applied to invoices, in the ledger's write path.

The ledger calls ``entry_appended`` for every entry it appends, under the account's lock
and in the entry's transaction, so an entry is allocated exactly once: a replayed
idempotency key never reaches it again. Invoice rows change only under their account's
lock (issuing, voiding, allocating and the overdue cron all take it first), so nothing
here locks an invoice of its own.

The rules:

- A PAYMENT goes to the invoice it names first (``by_reference``), then to the open
  invoices oldest first (by due date, then number). What is left is customer credit, which
  the next invoices issued consume, oldest payment first.
- A REFUND of a payment takes back from the payment's unallocated credit first, then from
  the invoices it paid, newest first, which re-open.
- A REVERSAL of a payment takes back all of it: every invoice it paid re-opens.
- A REVERSAL of a refund makes what the refund took back customer credit again, applied at
  once to open invoices.

A take-back is a negative allocation row of the refund or reversal entry, so the
allocations stay an append-only record of what moved, and a payment's net allocation to an
invoice is the sum of its rows and those of its refunds and reversal.

This module imports ledger models, never ``ledger.service`` (which imports this one).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from tortoise.expressions import Q

from ccm_gateway.audit import service as audit
from ccm_gateway.billing.models import Invoice, InvoiceStatus, OverdueHold, PaymentAllocation
from ccm_gateway.customer.models import Customer, CustomerStatus
from ccm_gateway.errors import BadInput, NotFound
from ccm_gateway.kit import outbox
from ccm_gateway.kit.money import format_minor
from ccm_gateway.kit.text import check_text
from ccm_gateway.ledger.models import CreditAccount, EntryKind, LedgerEntry
from ccm_gateway.principal import Actor

OPEN_STATUSES = (InvoiceStatus.OPEN, InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.OVERDUE)
MAX_NUMBER_CHARS = 64


def owed_minor(invoice: Invoice) -> int:
    """What is still owed on the invoice."""
    return invoice.total_minor - invoice.paid_minor - invoice.credited_minor


def settled_status(invoice: Invoice) -> InvoiceStatus:
    """The status that the invoice's amounts give it (a void invoice stays void). Once
    marked overdue it stays OVERDUE until paid, even when partly paid."""
    if invoice.status == InvoiceStatus.VOID:
        return InvoiceStatus.VOID
    if owed_minor(invoice) <= 0:
        return InvoiceStatus.PAID
    if invoice.overdue_at is not None:
        return InvoiceStatus.OVERDUE
    if invoice.paid_minor > 0:
        return InvoiceStatus.PARTIALLY_PAID
    return InvoiceStatus.OPEN


def invoice_snapshot(invoice: Invoice) -> dict[str, Any]:
    return {
        "number": invoice.number, "status": str(invoice.status),
        "total_minor": invoice.total_minor, "paid_minor": invoice.paid_minor,
        "credited_minor": invoice.credited_minor, "currency": invoice.currency,
        "site_id": str(invoice.site_id) if invoice.site_id else None,
        "due_at": invoice.due_at.isoformat(), "version": invoice.version,
    }


def invoice_event(invoice: Invoice) -> dict[str, Any]:
    """The data of ``invoice.issued``, ``invoice.paid``, ``invoice.overdue`` and
    ``invoice.voided``: the invoice as GraphQL shows it."""
    def money(minor: int) -> dict[str, str]:
        return {"amount": format_minor(minor, invoice.currency), "currency": invoice.currency}

    def iso(at: datetime | None) -> str | None:
        return at.isoformat() if at else None

    return {
        "invoiceId": str(invoice.id), "number": invoice.number,
        "customerId": str(invoice.customer_id),
        "siteId": str(invoice.site_id) if invoice.site_id else None,
        "status": InvoiceStatus(invoice.status).name, "total": money(invoice.total_minor),
        "paid": money(invoice.paid_minor), "outstanding": money(max(owed_minor(invoice), 0)),
        "issuedAt": invoice.issued_at.isoformat(), "dueAt": invoice.due_at.isoformat(),
        "paidAt": iso(invoice.paid_at), "voidedAt": iso(invoice.voided_at),
    }


async def tell(invoice: Invoice, event_type: str) -> None:
    """The invoice's event, through the outbox, in the caller's transaction."""
    await outbox.record(customer_id=invoice.customer_id, event_type=event_type,
                        data=invoice_event(invoice))


def check_number(invoice_number: str, field: str = "invoiceNumber") -> None:
    check_text(invoice_number, field, max_length=MAX_NUMBER_CHARS)
    if not invoice_number.strip():
        raise BadInput(f"{field} must not be empty", field=field)


async def payable_invoice(account: CreditAccount, invoice_number: str,
                          field: str = "invoiceNumber") -> Invoice:
    """The account's invoice a payment names (account locked). Another customer's
    invoice answers as a missing one; a void one cannot take payments."""
    check_number(invoice_number, field)
    invoice = await Invoice.get_or_none(number=invoice_number, account_id=account.id)
    if invoice is None:
        raise NotFound(f"invoice {invoice_number} not found", field=field)
    if invoice.status == InvoiceStatus.VOID:
        raise BadInput(f"invoice {invoice_number} is void and takes no payments", field=field)
    return invoice


async def payable_number(customer_id: Any, invoice_number: str | None) -> str | None:
    """``invoice_number`` if the customer has that invoice and it takes payments, else
    None: a vendor's payment is never refused for the reference it carries (it is then
    applied oldest first, like one without)."""
    if invoice_number is None or len(invoice_number) > MAX_NUMBER_CHARS:
        return None
    found = await Invoice.filter(number=invoice_number, customer_id=customer_id) \
        .exclude(status=InvoiceStatus.VOID).exists()
    return invoice_number if found else None


async def entry_appended(actor: Actor, account: CreditAccount, entry: LedgerEntry, *,
                         invoice: Invoice | None = None) -> None:
    """Allocate what a new entry moves (account locked by the ledger). ``invoice``: the
    one a payment names."""
    if entry.kind == EntryKind.PAYMENT:
        if invoice is not None:
            await _apply(actor, invoice, entry.id, min(-entry.amount_minor, owed_minor(invoice)),
                         by_reference=True)
        await apply_credit(actor, account)
    elif entry.kind == EntryKind.REFUND and entry.refunds_id is not None:
        await _take_back(actor, account, entry, entry.refunds_id, entry.amount_minor)
    elif entry.kind == EntryKind.REVERSAL and entry.reverses_id is not None:
        original = await LedgerEntry.get(id=entry.reverses_id)
        if original.kind == EntryKind.PAYMENT:
            await _take_back(actor, account, entry, original.id, -original.amount_minor)
        elif original.kind == EntryKind.REFUND:
            await apply_credit(actor, account)
    else:
        return
    await release_overdue_hold(actor, account)


def _open_invoices(account: CreditAccount) -> Any:
    """Oldest first: the order payments and credit are applied in."""
    return Invoice.filter(account_id=account.id, status__in=OPEN_STATUSES) \
        .order_by("due_at", "number")


async def apply_credit(actor: Actor, account: CreditAccount) -> None:
    """Apply the customer's unallocated credit to its open invoices, oldest payment to
    oldest invoice first (account locked)."""
    invoices = [i for i in await _open_invoices(account) if owed_minor(i) > 0]
    if not invoices:
        return
    credits = await credit_by_payment(account)
    for payment_id, available in credits:
        while available > 0 and invoices:
            invoice = invoices[0]
            amount = min(available, owed_minor(invoice))
            await _apply(actor, invoice, payment_id, amount)
            available -= amount
            if owed_minor(invoice) <= 0:
                invoices.pop(0)
        if not invoices:
            return


async def credit_minor(account: CreditAccount) -> int:
    """The customer's unallocated credit: what its payments left after refunds and
    allocations."""
    return sum(amount for _, amount in await credit_by_payment(account))


async def credit_by_payment(account: CreditAccount, *,
                            positive_only: bool = True) -> list[tuple[Any, int]]:
    """Each payment's unallocated part, oldest payment first: what it paid less its refunds
    (a reversal refunds all of it; a reversed refund gives its amount back) less its net
    allocations. ``positive_only``: only the payments with credit left."""
    payments = await LedgerEntry.filter(account_id=account.id, kind=EntryKind.PAYMENT) \
        .order_by("occurred_at", "recorded_at").values_list("id", "amount_minor")
    if not payments:
        return []
    remaining = {p: -amount for p, amount in payments}
    source = {p: p for p in remaining}  # entry -> the payment it belongs to
    moves = await LedgerEntry.filter(
        Q(kind=EntryKind.REFUND) | Q(kind=EntryKind.REVERSAL), account_id=account.id) \
        .values_list("id", "kind", "amount_minor", "refunds_id", "reverses_id")
    for entry_id, kind, amount, refunds_id, _ in moves:
        if kind == EntryKind.REFUND and refunds_id in remaining:
            remaining[refunds_id] -= amount
            source[entry_id] = refunds_id
    for entry_id, kind, amount, _, reverses_id in moves:
        if kind == EntryKind.REVERSAL and reverses_id in source:
            # A payment's reversal (positive) takes all of it; a refund's (negative)
            # gives the refund back.
            remaining[source[reverses_id]] -= amount
            source[entry_id] = source[reverses_id]
    for entry_id, amount in await PaymentAllocation.filter(
            invoice__account_id=account.id).values_list("entry_id", "amount_minor"):
        if entry_id in source:
            remaining[source[entry_id]] -= amount
    return [(p, remaining[p]) for p, _ in payments
            if remaining[p] > 0 or not positive_only]


async def _take_back(actor: Actor, account: CreditAccount, entry: LedgerEntry,
                     payment_id: Any, amount_minor: int) -> None:
    """``entry`` (a refund or reversal) gave back ``amount_minor`` of the payment: from its
    unallocated credit first, the rest from the invoices it paid, newest first."""
    # The entry is in the ledger already, so the payment's credit is net of it; what it
    # took from the credit is what would otherwise have gone negative.
    credit = dict(await credit_by_payment(account, positive_only=False)).get(payment_id, 0)
    rest = min(amount_minor, max(-credit, 0))
    if rest <= 0:
        return
    related = [payment_id, *await LedgerEntry.filter(
        Q(refunds_id=payment_id) | Q(reverses_id=payment_id)).values_list("id", flat=True)]
    applied: dict[Any, int] = defaultdict(int)
    for invoice_id, amount in await PaymentAllocation.filter(entry_id__in=related) \
            .values_list("invoice_id", "amount_minor"):
        applied[invoice_id] += amount
    invoices = await Invoice.filter(id__in=[i for i, a in applied.items() if a > 0]) \
        .order_by("-due_at", "-number")
    for invoice in invoices:
        amount = min(rest, applied[invoice.id])
        await _apply(actor, invoice, entry.id, -amount)
        rest -= amount
        if rest <= 0:
            break


async def _apply(actor: Actor, invoice: Invoice, entry_id: Any, amount_minor: int, *,
                 by_reference: bool = False) -> None:
    """Move ``amount_minor`` (negative: take back) of an entry onto the invoice."""
    if amount_minor == 0:
        return
    row = await PaymentAllocation.get_or_none(invoice_id=invoice.id, entry_id=entry_id)
    if row is None:
        await PaymentAllocation.create(invoice_id=invoice.id, entry_id=entry_id,
                                       amount_minor=amount_minor, by_reference=by_reference)
    else:
        # Credit a reversed refund gave back, applied again where its payment was.
        await PaymentAllocation.filter(id=row.id).update(
            amount_minor=row.amount_minor + amount_minor)
    before = invoice_snapshot(invoice)
    was = invoice.status
    invoice.paid_minor += amount_minor
    invoice.status = settled_status(invoice)
    now = datetime.now(UTC)
    if invoice.status == InvoiceStatus.PAID and was != InvoiceStatus.PAID:
        invoice.paid_at = now
    elif invoice.status != InvoiceStatus.PAID:
        invoice.paid_at = None
    invoice.version += 1
    await invoice.save(update_fields=["paid_minor", "status", "paid_at", "version",
                                      "updated_at"])
    await audit.record(actor, "invoice.allocate", object_type="invoice", object_id=invoice.id,
                       before=before, after=invoice_snapshot(invoice) | {
                           "entry_id": str(entry_id), "amount_minor": amount_minor,
                           "by_reference": by_reference},
                       stream=audit.customer_stream(invoice.customer_id))
    if invoice.status == InvoiceStatus.PAID and was != InvoiceStatus.PAID:
        await tell(invoice, "invoice.paid")


async def release_overdue_hold(actor: Actor, account: CreditAccount) -> None:
    """Once none of its invoices is overdue, a customer the overdue policy put on hold
    returns to the status it had (account locked). If someone changed its status by hand
    meanwhile, that status stays: the hold is only forgotten."""
    hold = await OverdueHold.get_or_none(customer_id=account.customer_id)
    if hold is None or await Invoice.exists(account_id=account.id,
                                            status=InvoiceStatus.OVERDUE):
        return
    await OverdueHold.filter(id=hold.id).delete()
    customer = await Customer.get(id=account.customer_id)
    if customer.status != CustomerStatus.ON_HOLD:
        await audit.record(actor, "customer.overdue_hold_forgotten", object_type="customer",
                           object_id=customer.id, before={"status": str(customer.status)},
                           after={"status": str(customer.status),
                                  "previous_status": hold.previous_status},
                           stream=audit.customer_stream(customer.id))
        return
    await set_status(actor, customer, CustomerStatus(hold.previous_status),
                     "customer.overdue_release", invoice_id=hold.invoice_id)


async def set_status(actor: Actor, customer: Customer, status: CustomerStatus, action: str,
                     **details: Any) -> None:
    """The overdue policy's status change (account locked): versioned, told to connected
    systems as ``credit.updated``, audited."""
    before = {"status": str(customer.status), "version": customer.version}
    customer.status = status
    customer.version += 1
    await customer.save(update_fields=["status", "version", "updated_at"])
    await outbox.record(customer_id=customer.id, state_changed=True)
    await audit.record(actor, action, object_type="customer", object_id=customer.id,
                       before=before, after={"status": str(status), "version": customer.version,
                                             **{k: str(v) for k, v in details.items()}},
                       stream=audit.customer_stream(customer.id))

