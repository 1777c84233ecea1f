"""Invoices: issuing from the ledger, voiding through a credit note, terms enforced.

Every function runs inside the caller's transaction and never commits on its own. Lock
order: the customer's account (``ledger_service.lock_account``) first, then the invoice
counter of the issuer and year; invoice rows change only under their account's lock.

What an invoice gathers: the customer's entries before ``up_to`` that are on no invoice
yet and are billable: CHARGE and INVOICE entries (INVOICE: an amount an external billing
system invoiced, exposure like a charge and gathered like one), CREDIT_NOTE and ADJUSTMENT
entries, and the REVERSALs of any of these. Payments and refunds are never lines (they
are allocated, billing/allocation.py), nor is the credit note of a void. Issuing posts no
ledger entry, so exposure is never counted twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q, Subquery
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from ccm_gateway.alert.models import AlertSeverity
from ccm_gateway.alert.service import raise_alert
from ccm_gateway.audit import service as audit
from ccm_gateway.billing import allocation
from ccm_gateway.billing.models import (
    Invoice,
    InvoiceCounter,
    InvoiceLine,
    InvoiceStatus,
    OverdueHold,
    PaymentAllocation,
    ReceivablesPolicy,
)
from ccm_gateway.customer.models import Customer, CustomerStatus
from ccm_gateway.errors import BadInput, Conflict, NotFound
from ccm_gateway.kit import idempotency
from ccm_gateway.kit.batch import many_per_key
from ccm_gateway.kit.ids import parse_uuid
from ccm_gateway.kit.pagination import Page, Window, page_newest_first
from ccm_gateway.kit.text import clean_text
from ccm_gateway.kit.timestamps import check_aware
from ccm_gateway.ledger import service as ledger_service
from ccm_gateway.ledger.models import CreditAccount, EntryKind, InvoicingCycle, LedgerEntry
from ccm_gateway.principal import SYSTEM_ACTOR, Actor, Principal, readable_by
from ccm_gateway.site import service as site_service

# Kinds gathered onto invoices; a REVERSAL is gathered when what it reverses is.
BILLABLE_KINDS = (EntryKind.CHARGE, EntryKind.INVOICE, EntryKind.CREDIT_NOTE,
                  EntryKind.ADJUSTMENT)
DEFAULT_SEGMENT = "*"
DEFAULT_DUNNING_DAYS = (3, 5, 7)
MAX_DUNNING_STEPS = 10
MAX_POLICY_DAYS = 365
MAX_REASON_CHARS = 500
# Biweekly periods start on the Mondays an even number of weeks after this one.
_BIWEEKLY_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


# --- issuing ------------------------------------------------------------------


def _unbilled(account_ids: Any, up_to: datetime) -> QuerySet[LedgerEntry]:
    """Billable entries before ``up_to`` on no invoice yet, of the accounts (a list or a
    subquery)."""
    voids = Invoice.filter(account_id__in=account_ids, credit_note_entry_id__not_isnull=True)
    return LedgerEntry.filter(
        Q(kind__in=BILLABLE_KINDS) | Q(kind=EntryKind.REVERSAL,
                                       reverses__kind__in=BILLABLE_KINDS),
        account_id__in=account_ids, occurred_at__lt=up_to,
    ).exclude(id__in=Subquery(InvoiceLine.filter(entry__account_id__in=account_ids)
                              .values("entry_id"))) \
        .exclude(id__in=Subquery(voids.values("credit_note_entry_id")))


async def _per_site(customer: Customer) -> bool:
    policy = await policy_for(customer.segment)
    return policy.invoice_per_site


async def _next_sequence(issuer: str, year: int) -> int:
    """The next number of the issuer's year, under the counter row's lock until commit:
    a rolled-back issue gives its number back, so the sequence has no gaps."""
    if not await InvoiceCounter.exists(issuer=issuer, year=year):
        try:
            async with in_transaction():  # a savepoint: PostgreSQL aborts on the conflict
                await InvoiceCounter.create(issuer=issuer, year=year, last_sequence=0)
        except IntegrityError:
            pass  # another issue created it first
    counter = await InvoiceCounter.filter(issuer=issuer, year=year).select_for_update().get()
    await InvoiceCounter.filter(id=counter.id).update(last_sequence=F("last_sequence") + 1)
    return counter.last_sequence + 1


def invoice_number(issuer: str, year: int, sequence: int) -> str:
    return f"{issuer}-{year}-{sequence:06d}"


async def issue_invoice(actor: Actor, customer_id: Any, up_to: datetime, *, issuer: str,
                        site_id: Any = None, idempotency_key: str | None = None,
                        now: datetime | None = None) -> list[Invoice]:
    """Invoice the customer's unbilled entries before ``up_to``: one invoice, or one per
    site (and one for entries at no site) when its receivables policy says so; with
    ``site_id``, only that site's. BAD_USER_INPUT when there is nothing to invoice."""
    check_aware(up_to, "upTo")
    now = now or datetime.now(UTC)
    if up_to > now:
        raise BadInput("upTo must not be in the future", field="upTo")
    request = {"customer_id": str(customer_id), "up_to": up_to.isoformat(),
               "site_id": str(site_id) if site_id else None}

    async def run() -> dict[str, Any]:
        issued = await _issue(actor, customer_id, up_to, issuer=issuer, site_id=site_id,
                              now=now)
        if not issued:
            raise BadInput(f"nothing to invoice up to {up_to.isoformat()}", field="upTo")
        return {"invoice_ids": [str(i.id) for i in issued]}

    outcome = await idempotency.run_once(actor, "invoice.issue", idempotency_key, request, run)
    by_id = {str(i.id): i for i in await Invoice.filter(id__in=outcome["invoice_ids"])}
    return [by_id[i] for i in outcome["invoice_ids"]]


async def _issue(actor: Actor, customer_id: Any, up_to: datetime, *, issuer: str,
                 site_id: Any, now: datetime) -> list[Invoice]:
    account = await ledger_service.lock_account(customer_id=customer_id)
    if site_id is not None:
        await site_service.require_site(site_id)
    entries = _unbilled([account.id], up_to).order_by("occurred_at", "recorded_at")
    if site_id is not None:
        entries = entries.filter(site_id=site_id)
    rows = await entries
    groups: dict[Any, list[LedgerEntry]] = {}
    if site_id is not None or await _per_site(account.customer):
        for entry in rows:
            groups.setdefault(entry.site_id, []).append(entry)
    elif rows:
        groups[None] = rows
    issued: list[Invoice] = []
    for group_site, lines in groups.items():
        total = sum(e.amount_minor for e in lines)
        if total <= 0:
            continue  # corrections alone wait for the next invoice with something owed
        issued.append(await _write_invoice(actor, account, group_site, lines, total,
                                           issuer=issuer, up_to=up_to, now=now))
    if issued:
        # Credit the customer holds (an overpayment) pays the new invoices.
        await allocation.apply_credit(actor, account)
        for invoice in issued:
            await invoice.refresh_from_db()
    return issued


async def _write_invoice(actor: Actor, account: CreditAccount, site_id: Any,
                         lines: list[LedgerEntry], total: int, *, issuer: str,
                         up_to: datetime, now: datetime) -> Invoice:
    year = now.year
    sequence = await _next_sequence(issuer, year)
    invoice = await Invoice.create(
        number=invoice_number(issuer, year, sequence), issuer=issuer, year=year,
        sequence=sequence, customer_id=account.customer_id, account_id=account.id,
        site_id=site_id, currency=account.currency, total_minor=total,
        period_start=min(e.occurred_at for e in lines), period_end=up_to,
        net_days=account.net_days, issued_at=now,
        due_at=now + timedelta(days=account.net_days))
    await InvoiceLine.bulk_create([
        InvoiceLine(invoice_id=invoice.id, entry_id=e.id, amount_minor=e.amount_minor,
                    description=e.description, site_id=e.site_id, occurred_at=e.occurred_at)
        for e in lines])
    await audit.record(actor, "invoice.issue", object_type="invoice", object_id=invoice.id,
                       after=allocation.invoice_snapshot(invoice) | {"lines": len(lines)},
                       stream=audit.customer_stream(account.customer_id))
    await allocation.tell(invoice, "invoice.issued")
    return invoice


def period_end(cycle: InvoicingCycle, now: datetime) -> datetime:
    """Where the cycle's last complete period ended: an invoice issued at ``now`` gathers
    what happened before it. per_transaction: the start of the hour (the cron issues
    each hour what came in); weekly: Monday 00:00 UTC; biweekly: every other Monday;
    monthly: the 1st 00:00 UTC."""
    now = now.astimezone(UTC)
    if cycle == InvoicingCycle.PER_TRANSACTION:
        return now.replace(minute=0, second=0, microsecond=0)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if cycle == InvoicingCycle.MONTHLY:
        return midnight.replace(day=1)
    monday = midnight - timedelta(days=midnight.weekday())
    if cycle == InvoicingCycle.WEEKLY:
        return monday
    weeks = (monday - _BIWEEKLY_EPOCH).days // 7
    return monday - timedelta(weeks=weeks % 2)


async def issue_due_invoices(*, issuer: str, now: datetime | None = None,
                             batch: int = 200) -> int:
    """The cron: issue each customer's invoices at its invoicing cycle, one transaction per
    customer; return how many were issued. Running it again issues nothing new (what was
    invoiced is on an invoice); a customer whose unbilled entries come to nothing owed is
    passed over, not retried forever (the scan moves on by account id)."""
    now = now or datetime.now(UTC)
    count = 0
    for cycle in InvoicingCycle:
        up_to = period_end(cycle, now)
        after: Any = None
        while True:
            accounts = CreditAccount.filter(invoicing_cycle=cycle).values("id")
            query = _unbilled(Subquery(accounts), up_to)
            if after is not None:
                query = query.filter(account_id__gt=after)
            due = await query.distinct().order_by("account_id").limit(batch) \
                .values_list("account_id", flat=True)
            for account_id in due:
                customer_id = (await CreditAccount.get(id=account_id)).customer_id
                async with in_transaction():
                    count += len(await _issue(SYSTEM_ACTOR, customer_id, up_to, issuer=issuer,
                                              site_id=None, now=now))
            if len(due) < batch:
                break
            after = due[-1]
    return count


# --- voiding ------------------------------------------------------------------


async def void_invoice(actor: Actor, invoice_id: Any, reason: str, *,
                       expected_version: int | None = None) -> Invoice:
    """Void through a credit note: one CREDIT_NOTE entry for what is still owed. What
    was paid stays applied (those payments paid that part); a void invoice takes no more
    payments and cannot be voided again."""
    reason = clean_text(reason, "reason", MAX_REASON_CHARS)
    found = await Invoice.get_or_none(id=invoice_id)
    if found is None:
        raise NotFound(f"invoice {invoice_id} not found", field="id")
    account = await ledger_service.lock_account(account_id=found.account_id)
    invoice = await Invoice.get(id=found.id)  # as it is under the lock
    if invoice.status == InvoiceStatus.VOID:
        raise Conflict(f"invoice {invoice.number} is void already", field="id")
    if expected_version is not None and expected_version != invoice.version:
        raise Conflict(f"invoice is at version {invoice.version}, not {expected_version}; "
                       "reload and retry", field="expectedVersion")
    before = allocation.invoice_snapshot(invoice)
    owed = allocation.owed_minor(invoice)
    if owed > 0:
        note = await ledger_service.post_entry(
            actor, account.customer_id, EntryKind.CREDIT_NOTE, owed, invoice.currency,
            site_id=invoice.site_id, description=f"credit note: void of {invoice.number}",
            enforce_limit=False)
        assert isinstance(note, LedgerEntry)  # noqa: S101 - credit notes are never declined
        invoice.credit_note_entry_id = note.id
        invoice.credited_minor = owed
    invoice.status = InvoiceStatus.VOID
    invoice.voided_at = datetime.now(UTC)
    invoice.void_reason = reason
    invoice.version += 1
    await invoice.save(update_fields=["status", "credited_minor", "credit_note_entry_id",
                                      "voided_at", "void_reason", "version", "updated_at"])
    await audit.record(actor, "invoice.void", object_type="invoice", object_id=invoice.id,
                       before=before, after=allocation.invoice_snapshot(invoice) | {
                           "reason": reason,
                           "credit_note_entry_id": str(invoice.credit_note_entry_id)
                           if invoice.credit_note_entry_id else None},
                       stream=audit.customer_stream(invoice.customer_id))
    await allocation.tell(invoice, "invoice.voided")
    await allocation.release_overdue_hold(actor, account)
    return invoice


# --- terms enforced -----------------------------------------------------------


async def mark_overdue(now: datetime | None = None, batch: int = 500) -> int:
    """Invoices past their due date become OVERDUE, once each, with an ``invoice.overdue``
    alert and outbound event; return how many."""
    now = now or datetime.now(UTC)
    due = await Invoice.filter(
        status__in=(InvoiceStatus.OPEN, InvoiceStatus.PARTIALLY_PAID), due_at__lt=now) \
        .order_by("due_at").limit(batch).values_list("id", "account_id")
    marked = 0
    for invoice_id, account_id in due:
        async with in_transaction():
            await ledger_service.lock_account(account_id=account_id)
            invoice = await Invoice.get(id=invoice_id)
            if invoice.status not in (InvoiceStatus.OPEN, InvoiceStatus.PARTIALLY_PAID):
                continue  # paid or voided since we looked
            before = allocation.invoice_snapshot(invoice)
            invoice.status = InvoiceStatus.OVERDUE
            invoice.overdue_at = now
            invoice.version += 1
            await invoice.save(update_fields=["status", "overdue_at", "version", "updated_at"])
            await audit.record(SYSTEM_ACTOR, "invoice.overdue", object_type="invoice",
                               object_id=invoice.id, before=before,
                               after=allocation.invoice_snapshot(invoice),
                               stream=audit.customer_stream(invoice.customer_id))
            await raise_alert(
                "invoice.overdue", AlertSeverity.WARNING,
                f"invoice {invoice.number} is overdue since {invoice.due_at.date().isoformat()}",
                customer_id=invoice.customer_id,
                details={"invoice_id": str(invoice.id), "number": invoice.number,
                         "outstanding_minor": allocation.owed_minor(invoice),
                         "currency": invoice.currency})
            await allocation.tell(invoice, "invoice.overdue")
            marked += 1
    return marked


async def hold_overdue_customers(now: datetime | None = None, batch: int = 500) -> int:
    """Put on hold each active customer with an invoice overdue at least its segment's
    ``overdue_hold_days``; return how many. The status it had is kept (OverdueHold), to
    return to once its overdue invoices are paid (allocation.release_overdue_hold)."""
    now = now or datetime.now(UTC)
    policies = {p.segment: p for p in await ReceivablesPolicy.all()}
    days = [p.overdue_hold_days for p in policies.values() if p.overdue_hold_days is not None]
    if not days:
        return 0
    # Candidates by the shortest period of any segment; each is checked against its own.
    held_ids = OverdueHold.all().values("customer_id")
    candidates = await Invoice.filter(
        status=InvoiceStatus.OVERDUE, due_at__lte=now - timedelta(days=min(days)),
        customer__status=CustomerStatus.ACTIVE) \
        .exclude(customer_id__in=Subquery(held_ids)) \
        .order_by("due_at").limit(batch).values_list("id", "account_id", "due_at",
                                                     "customer__segment")
    held = 0
    seen: set[Any] = set()
    for invoice_id, account_id, due_at, segment in candidates:
        policy = policies.get(segment) or policies.get(DEFAULT_SEGMENT)
        if account_id in seen or policy is None or policy.overdue_hold_days is None or \
                due_at > now - timedelta(days=policy.overdue_hold_days):
            continue
        seen.add(account_id)
        async with in_transaction():
            account = await ledger_service.lock_account(account_id=account_id)
            customer = await Customer.get(id=account.customer_id)
            invoice = await Invoice.get(id=invoice_id)
            if customer.status != CustomerStatus.ACTIVE or \
                    invoice.status != InvoiceStatus.OVERDUE or \
                    await OverdueHold.exists(customer_id=customer.id):
                continue  # changed since we looked
            await OverdueHold.create(customer_id=customer.id,
                                     previous_status=str(customer.status),
                                     invoice_id=invoice.id, held_at=now)
            await allocation.set_status(SYSTEM_ACTOR, customer, CustomerStatus.ON_HOLD,
                                        "customer.overdue_hold", invoice_id=invoice.id,
                                        overdue_days=(now - invoice.due_at).days)
            held += 1
    return held


# --- receivables policies -----------------------------------------------------


async def policy_for(segment: str) -> ReceivablesPolicy:
    """The segment's policy, else the default ("*"), else the built-in default (no hold,
    dunning 3, 5, 7 days, auto-collect, one invoice for all sites), unsaved."""
    found = await ReceivablesPolicy.filter(segment__in=(segment, DEFAULT_SEGMENT))
    by_segment = {p.segment: p for p in found}
    return by_segment.get(segment) or by_segment.get(DEFAULT_SEGMENT) or ReceivablesPolicy(
        segment=DEFAULT_SEGMENT, overdue_hold_days=None, dunning_days=list(DEFAULT_DUNNING_DAYS),
        auto_collect=True, invoice_per_site=False, version=0)


async def list_policies() -> list[ReceivablesPolicy]:
    return await ReceivablesPolicy.all().order_by("segment")


def policy_snapshot(policy: ReceivablesPolicy) -> dict[str, Any]:
    return {"segment": policy.segment, "overdue_hold_days": policy.overdue_hold_days,
            "dunning_days": list(policy.dunning_days), "auto_collect": policy.auto_collect,
            "invoice_per_site": policy.invoice_per_site, "version": policy.version}


def _check_days(value: int, field: str, *, low: int) -> None:
    if not low <= value <= MAX_POLICY_DAYS:
        raise BadInput(f"{field} must be between {low} and {MAX_POLICY_DAYS}", field=field)


@dataclass(frozen=True, slots=True)
class PolicyChange:
    segment: str
    overdue_hold_days: int | None
    dunning_days: Sequence[int]
    auto_collect: bool
    invoice_per_site: bool
    expected_version: int | None = None


async def set_policy(actor: Actor, change: PolicyChange) -> ReceivablesPolicy:
    """Create or replace a segment's policy ("*": the default); a replacement needs the
    version the caller saw."""
    segment = clean_text(change.segment, "segment", 64)
    if change.overdue_hold_days is not None:
        _check_days(change.overdue_hold_days, "overdueHoldDays", low=0)
    if len(change.dunning_days) > MAX_DUNNING_STEPS:
        raise BadInput(f"dunningDays takes at most {MAX_DUNNING_STEPS} steps",
                       field="dunningDays")
    for day in change.dunning_days:
        _check_days(day, "dunningDays", low=1)
    policy = await ReceivablesPolicy.filter(segment=segment).select_for_update().first()
    if policy is not None and change.expected_version != policy.version:
        raise Conflict(f"the policy of {segment!r} is at version {policy.version}, not "
                       f"{change.expected_version}; reload and retry", field="expectedVersion")
    if policy is None and change.expected_version not in (None, 0):
        raise Conflict(f"segment {segment!r} has no policy yet; leave expectedVersion out",
                       field="expectedVersion")
    before = policy_snapshot(policy) if policy else None
    values: dict[str, Any] = {"overdue_hold_days": change.overdue_hold_days,
              "dunning_days": list(change.dunning_days), "auto_collect": change.auto_collect,
              "invoice_per_site": change.invoice_per_site}
    if policy is None:
        try:
            async with in_transaction():
                policy = await ReceivablesPolicy.create(segment=segment, **values)
        except IntegrityError:
            raise Conflict(f"the policy of {segment!r} was just created; reload and retry",
                           field="expectedVersion") from None
    else:
        for name, value in values.items():
            setattr(policy, name, value)
        policy.version += 1
        await policy.save()
    await audit.record(actor, "receivables_policy.set", object_type="receivables_policy",
                       object_id=policy.id, before=before, after=policy_snapshot(policy))
    return policy


# --- reading ------------------------------------------------------------------


def readable_invoices(principal: Principal) -> QuerySet[Invoice]:
    return readable_by(principal, Invoice.all(), "customer__partner_id")


async def get_readable_invoice(principal: Principal, invoice_id: Any,
                               field: str = "id") -> Invoice:
    invoice = await readable_invoices(principal).get_or_none(id=parse_uuid(invoice_id, field))
    if invoice is None:
        raise NotFound(f"invoice {invoice_id} not found", field=field)
    return invoice


@dataclass(frozen=True, slots=True)
class InvoiceFilter:
    customer_id: Any = None
    status: InvoiceStatus | None = None
    site_id: Any = None
    due_after: datetime | None = None
    due_before: datetime | None = None
    issued_after: datetime | None = None
    issued_before: datetime | None = None


def _range(query: QuerySet[Invoice], name: str, after: datetime | None,
           before: datetime | None, field: str) -> QuerySet[Invoice]:
    check_aware(after, f"filter.{field}After")
    check_aware(before, f"filter.{field}Before")
    if after and before and after > before:
        raise BadInput(f"filter.{field}After is after filter.{field}Before",
                       field=f"filter.{field}After")
    if after:
        query = query.filter(**{f"{name}__gte": after})
    if before:
        query = query.filter(**{f"{name}__lt": before})
    return query


async def list_invoices(principal: Principal, flt: InvoiceFilter, *, window: Window,
                        max_page_size: int) -> Page:
    """The invoices a principal may see, newest issued first."""
    window.check(max_page_size)
    query = readable_invoices(principal)
    if flt.customer_id is not None:
        query = query.filter(customer_id=flt.customer_id)
    if flt.status is not None:
        query = query.filter(status=flt.status)
    if flt.site_id is not None:
        query = query.filter(site_id=flt.site_id)
    query = _range(query, "due_at", flt.due_after, flt.due_before, "due")
    query = _range(query, "issued_at", flt.issued_after, flt.issued_before, "issued")
    return await page_newest_first(query, time_field="issued_at", window=window,
                                   id_type=uuid.UUID)


async def lines_by_invoice(invoice_ids: list[Any]) -> list[list[InvoiceLine]]:
    """Batch function (DataLoader): each invoice's lines, oldest first."""
    rows = await InvoiceLine.filter(invoice_id__in=invoice_ids).order_by("occurred_at", "id")
    return many_per_key(rows, invoice_ids, "invoice_id")


async def allocations_by_invoice(invoice_ids: list[Any]) -> list[list[PaymentAllocation]]:
    """Batch function (DataLoader): each invoice's allocation rows, in the order made."""
    rows = await PaymentAllocation.filter(invoice_id__in=invoice_ids).order_by("id")
    return many_per_key(rows, invoice_ids, "invoice_id")

