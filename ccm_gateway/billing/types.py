"""GraphQL for invoices and receivables policies: thin over billing/service.py."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from tortoise.transactions import in_transaction

from ccm_gateway.approval import service as approval_service
from ccm_gateway.billing import allocation, models
from ccm_gateway.billing import service as billing_service
from ccm_gateway.customer import service as customer_service
from ccm_gateway.customer.types import Customer
from ccm_gateway.errors import NotFound
from ccm_gateway.graphql.common import (
    After,
    Before,
    Connection,
    CtxInfo,
    First,
    Last,
    Money,
    Node,
    requires,
    window,
)
from ccm_gateway.kit.ids import parse_uuid
from ccm_gateway.principal import Permission as P
from ccm_gateway.site import service as site_service
from ccm_gateway.site.types import Site

strawberry.enum(models.InvoiceStatus, description="OPEN (nothing paid), PARTIALLY_PAID, PAID, "
                "OVERDUE (past its due date and not paid; it stays OVERDUE until paid), VOID "
                "(cancelled through a credit note).")
InvoiceStatus = models.InvoiceStatus


def _ident(value: Any) -> strawberry.ID | None:
    return strawberry.ID(str(value)) if value is not None else None


@strawberry.type(description="One ledger entry on an invoice.")
class InvoiceLine:
    entry_id: strawberry.ID = strawberry.field(description="The ledger entry it bills.")
    amount: Money = strawberry.field(
        description="The entry's amount (negative for a correction such as a credit note).")
    description: str | None = strawberry.field(description="The entry's description.")
    site_id: strawberry.ID | None = strawberry.field(description="The entry's site, if any.")
    occurred_at: datetime = strawberry.field(description="When the entry occurred.")


@strawberry.type(description="Part of a payment applied to an invoice; negative: taken back "
                             "by a refund or a reversal of the payment.")
class InvoicePayment:
    entry_id: strawberry.ID = strawberry.field(
        description="The ledger entry (payment, or the refund or reversal taking back).")
    amount: Money = strawberry.field(description="What it applied.")
    by_reference: bool = strawberry.field(
        description="The payment named this invoice; false: applied oldest first.")
    created_at: datetime = strawberry.field(description="When it was applied.")


@strawberry.type(description="The charges of a period gathered for a customer, numbered "
                             "<issuer>-<year>-<sequence> without gaps. Issuing posts nothing "
                             "to the ledger: the entries on it are the exposure.")
class Invoice(Node):
    _m: strawberry.Private[models.Invoice]
    number: str = strawberry.field(description="E.g. CCM-2026-000042.")
    status: InvoiceStatus = strawberry.field(description="Where it stands.")
    currency: str = strawberry.field(description="The account's currency.")
    total: Money = strawberry.field(description="The sum of its lines.")
    paid: Money = strawberry.field(description="What payments applied to it.")
    outstanding: Money = strawberry.field(
        description="What is still owed: total - paid - what a void's credit note took off.")
    credited: Money = strawberry.field(description="What the credit note of a void took off.")
    net_days: int = strawberry.field(description="The account's net days at issue.")
    period_start: datetime | None = strawberry.field(
        description="When its earliest line occurred.")
    period_end: datetime = strawberry.field(
        description="It gathers entries that occurred before this (upTo).")
    issued_at: datetime = strawberry.field(description="When it was issued.")
    due_at: datetime = strawberry.field(description="issuedAt + netDays.")
    paid_at: datetime | None = strawberry.field(description="When it became PAID.")
    overdue_at: datetime | None = strawberry.field(description="When it became OVERDUE.")
    voided_at: datetime | None = strawberry.field(description="When it was voided.")
    void_reason: str | None = strawberry.field(description="Why it was voided.")
    credit_note_entry_id: strawberry.ID | None = strawberry.field(
        description="The CREDIT_NOTE ledger entry of its void; null when nothing was owed.")
    version: int = strawberry.field(
        description="Rises with every change; pass it as expectedVersion to voidInvoice.")

    @strawberry.field(description="Whose invoice it is.")
    async def customer(self, info: CtxInfo) -> Customer:
        found = await info.context.loaders.of(approval_service.customers_by_id).load(
            self._m.customer_id)
        if found is None:  # a foreign key that restricts deletes points at it
            raise LookupError(f"customer {self._m.customer_id} is referenced but missing")
        return Customer.of(found)

    @strawberry.field(description="The site it invoices, when the customer is invoiced per "
                                  "site; null: every site together (or entries at none).")
    async def site(self, info: CtxInfo) -> Site | None:
        if self._m.site_id is None:
            return None
        found = await info.context.loaders.of(site_service.sites_by_id).load(self._m.site_id)
        return Site.of(found) if found else None

    @strawberry.field(description="Its lines, oldest first.")
    async def lines(self, info: CtxInfo) -> list[InvoiceLine]:
        rows = await info.context.loaders.of(billing_service.lines_by_invoice).load(self._m.id)
        return [InvoiceLine(entry_id=strawberry.ID(str(r.entry_id)),
                            amount=Money.of(r.amount_minor, self._m.currency),
                            description=r.description, site_id=_ident(r.site_id),
                            occurred_at=r.occurred_at) for r in rows]

    @strawberry.field(description="The payments applied to it (and taken back), in order.")
    async def payments(self, info: CtxInfo) -> list[InvoicePayment]:
        rows = await info.context.loaders.of(billing_service.allocations_by_invoice).load(
            self._m.id)
        return [InvoicePayment(entry_id=strawberry.ID(str(r.entry_id)),
                               amount=Money.of(r.amount_minor, self._m.currency),
                               by_reference=r.by_reference, created_at=r.created_at)
                for r in rows]

    @classmethod
    def of(cls, m: models.Invoice) -> Invoice:
        def money(minor: int) -> Money:
            return Money.of(minor, m.currency)

        return cls(
            id=strawberry.ID(str(m.id)), _m=m, number=m.number,
            status=InvoiceStatus(m.status), currency=m.currency, total=money(m.total_minor),
            paid=money(m.paid_minor), outstanding=money(allocation.outstanding_minor(m)),
            credited=money(m.credited_minor), net_days=m.net_days,
            period_start=m.period_start, period_end=m.period_end, issued_at=m.issued_at,
            due_at=m.due_at, paid_at=m.paid_at, overdue_at=m.overdue_at,
            voided_at=m.voided_at, void_reason=m.void_reason,
            credit_note_entry_id=_ident(m.credit_note_entry_id), version=m.version)


@strawberry.type(description="Terms enforcement for a segment (\"*\": every segment without "
                             "its own).")
class ReceivablesPolicy:
    id: strawberry.ID = strawberry.field(description="A UUID.")
    segment: str = strawberry.field(description="The customer segment, or \"*\".")
    overdue_hold_days: int | None = strawberry.field(
        description="Once an invoice is this many days past due the customer goes ON_HOLD; "
                    "null: never.")
    dunning_days: list[int] = strawberry.field(
        description="Days after a declined collection to try again.")
    auto_collect: bool = strawberry.field(
        description="Collect on the due date from a payment method at a processor.")
    invoice_per_site: bool = strawberry.field(
        description="One invoice per site instead of one for every site.")
    version: int = strawberry.field(
        description="Rises with every change; pass it as expectedVersion.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def of(cls, m: models.ReceivablesPolicy) -> ReceivablesPolicy:
        return cls(id=strawberry.ID(str(m.id)), segment=m.segment,
                   overdue_hold_days=m.overdue_hold_days, dunning_days=list(m.dunning_days),
                   auto_collect=m.auto_collect, invoice_per_site=m.invoice_per_site,
                   version=m.version, updated_at=m.updated_at)


@strawberry.input(description="Narrow the invoices; every field given must match. Date "
                              "ranges take the start (after) and exclude the end (before).")
class InvoiceFilter:
    customer_id: strawberry.ID | None = None
    status: InvoiceStatus | None = None
    site_id: strawberry.ID | None = None
    due_after: datetime | None = None
    due_before: datetime | None = None
    issued_after: datetime | None = None
    issued_before: datetime | None = None


@strawberry.input(description="Invoice the customer's unbilled entries before upTo.")
class IssueInvoiceInput:
    customer_id: strawberry.ID
    up_to: datetime = strawberry.field(description="Not in the future.")
    site_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only this site's entries, on an invoice of that site.")
    idempotency_key: str | None = None


@strawberry.input(description="An invoice to void through a credit note.")
class VoidInvoiceInput:
    id: strawberry.ID
    reason: str
    expected_version: int | None = None


@strawberry.input(description="A segment's terms enforcement, replaced as a whole.")
class SetReceivablesPolicyInput:
    segment: str = strawberry.field(description="A customer segment, or \"*\".")
    overdue_hold_days: int | None = strawberry.field(
        default=None, description="0 to 365; null: never put on hold.")
    dunning_days: list[int] = strawberry.field(
        default_factory=lambda: list(billing_service.DEFAULT_DUNNING_DAYS),
        description="1 to 365 each, at most 10; default 3, 5, 7.")
    auto_collect: bool = True
    invoice_per_site: bool = False
    expected_version: int | None = strawberry.field(
        default=None, description="The version seen; leave out to create the policy.")


def _opt_uuid(value: Any, field: str) -> Any:
    return None if value is None else parse_uuid(value, field)


@strawberry.type
class BillingQuery:
    @strawberry.field(extensions=requires(P.INVOICE_READ),
                      description="Invoices, newest issued first.")
    async def invoices(self, info: CtxInfo, filter: InvoiceFilter | None = None,
                       first: First = None, after: After = None, last: Last = None,
                       before: Before = None) -> Connection[Invoice]:
        flt = filter or InvoiceFilter()
        page = await billing_service.list_invoices(
            info.context.principal, billing_service.InvoiceFilter(
                customer_id=_opt_uuid(flt.customer_id, "filter.customerId"),
                status=models.InvoiceStatus(flt.status) if flt.status else None,
                site_id=_opt_uuid(flt.site_id, "filter.siteId"), due_after=flt.due_after,
                due_before=flt.due_before, issued_after=flt.issued_after,
                issued_before=flt.issued_before),
            window=window(info, first, after, last, before),
            max_page_size=info.context.settings.max_page_size)
        return Connection.of(page, Invoice.of)

    @strawberry.field(extensions=requires(P.INVOICE_READ),
                      description="An invoice by id; null when there is none the caller may "
                                  "see.")
    async def invoice(self, info: CtxInfo, id: strawberry.ID) -> Invoice | None:
        try:
            return Invoice.of(await billing_service.get_readable_invoice(
                info.context.principal, id))
        except NotFound:
            return None

    @strawberry.field(extensions=requires(P.POLICY_READ),
                      description="Every segment's receivables policy. Not for partner "
                                  "principals.")
    async def receivables_policies(self, info: CtxInfo) -> list[ReceivablesPolicy]:
        info.context.principal.require_unscoped("see receivables policies")
        return [ReceivablesPolicy.of(p) for p in await billing_service.list_policies()]


@strawberry.type
class BillingMutation:
    @strawberry.mutation(extensions=requires(P.INVOICE_WRITE),
                         description="Invoice a customer's unbilled entries now: one invoice, "
                                     "or one per site when its policy says so.")
    async def issue_invoice(self, info: CtxInfo, input: IssueInvoiceInput) -> list[Invoice]:
        customer = await customer_service.get_readable_customer(
            info.context.principal, input.customer_id, "customerId")
        async with in_transaction():
            issued = await billing_service.issue_invoice(
                info.context.actor, customer.id, input.up_to,
                issuer=info.context.settings.invoice_issuer,
                site_id=_opt_uuid(input.site_id, "siteId"),
                idempotency_key=input.idempotency_key)
        return [Invoice.of(i) for i in issued]

    @strawberry.mutation(extensions=requires(P.INVOICE_WRITE),
                         description="Void an invoice through a credit note for what is still "
                                     "owed; once.")
    async def void_invoice(self, info: CtxInfo, input: VoidInvoiceInput) -> Invoice:
        found = await billing_service.get_readable_invoice(info.context.principal, input.id)
        async with in_transaction():
            invoice = await billing_service.void_invoice(
                info.context.actor, found.id, input.reason,
                expected_version=input.expected_version)
        return Invoice.of(invoice)

    @strawberry.mutation(extensions=requires(P.POLICY_WRITE),
                         description="Create or replace a segment's receivables policy. Not "
                                     "for partner principals.")
    async def set_receivables_policy(self, info: CtxInfo,
                                     input: SetReceivablesPolicyInput) -> ReceivablesPolicy:
        info.context.principal.require_unscoped("manage receivables policies")
        async with in_transaction():
            policy = await billing_service.set_policy(
                info.context.actor, billing_service.PolicyChange(
                    segment=input.segment, overdue_hold_days=input.overdue_hold_days,
                    dunning_days=input.dunning_days, auto_collect=input.auto_collect,
                    invoice_per_site=input.invoice_per_site,
                    expected_version=input.expected_version))
        return ReceivablesPolicy.of(policy)
