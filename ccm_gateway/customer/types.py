"""GraphQL for customers and external references."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import strawberry
from tortoise.transactions import in_transaction

from ccm_gateway.billing import service as billing_service
from ccm_gateway.customer import models
from ccm_gateway.customer import service as customer_service
from ccm_gateway.errors import BadInput, NotFound
from ccm_gateway.graphql.common import (
    After,
    Before,
    Connection,
    CtxInfo,
    First,
    Last,
    MoneyInput,
    Node,
    requires,
    window,
)
from ccm_gateway.graphql.selection import names_below
from ccm_gateway.kit.ids import parse_uuid
from ccm_gateway.ledger import models as ledger_models
from ccm_gateway.ledger import service as ledger_service
from ccm_gateway.ledger.types import (
    CreditAccount,
    Hold,
    InvoicingCycle,
    LedgerEntry,
    LedgerFilter,
    SiteLimit,
)
from ccm_gateway.principal import Permission as P

E = TypeVar("E", bound=Enum)

if TYPE_CHECKING:  # billing's types show the customer, so its invoices come in lazily
    from ccm_gateway.billing.types import Invoice, InvoiceStatus

# The models' enums are the GraphQL enums (strawberry exposes an Enum under its
# class name, with the members' names as values), registered with a description.
strawberry.enum(models.CustomerStatus,
                description="ACTIVE may use credit; ON_HOLD and BLOCKED are declined.")
CustomerStatus = models.CustomerStatus
strawberry.enum(models.RiskProfile, description="The credit team's risk rating.")
RiskProfile = models.RiskProfile


@strawberry.type(description="How a connected system (Stripe, an ERP, a building system) "
                             "names the customer.")
class ExternalRef:
    id: strawberry.ID = strawberry.field(
        description="The reference's own number, stable for its lifetime; unique among "
                    "external references.")
    system: str = strawberry.field(description="The system, e.g. stripe or erp.")
    external_id: str = strawberry.field(description="The customer's id in that system.")
    created_at: datetime = strawberry.field(description="When it was linked.")


@dataclass(slots=True)
class ReadAhead:
    """A customer's relations read for its whole page at once (None: not read)."""

    site_limits: list[ledger_models.SiteLimit] | None = None
    holds: list[ledger_models.Hold] | None = None
    external_refs: list[models.ExternalRef] | None = None


def _external_refs(rows: list[models.ExternalRef]) -> list[ExternalRef]:
    return [ExternalRef(id=strawberry.ID(str(r.id)), system=r.system,
                        external_id=r.external_id, created_at=r.created_at) for r in rows]


@strawberry.type(description="A customer of the operator, known by the same id in every "
                             "connected system.")
class Customer(Node):
    _m: strawberry.Private[models.Customer]
    name: str = strawberry.field(description="Display name.")
    segment: str = strawberry.field(
        description="Business segment, e.g. haulage; integrations may write only theirs.")
    risk_profile: RiskProfile = strawberry.field(description="The credit team's risk rating.")
    status: CustomerStatus = strawberry.field(description="Whether it may use credit.")
    currency: str = strawberry.field(description="ISO 4217 code of its credit account.")
    partner_id: str | None = strawberry.field(
        description="The partner whose portal sees it; null for the operator's own.")
    version: int = strawberry.field(
        description="Rises with every change; pass it as expectedVersion to update.")
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
    # Its account and relations, when the list that made it read them for the whole page.
    _account_m: strawberry.Private[ledger_models.CreditAccount | None] = None
    _ahead: strawberry.Private[ReadAhead | None] = None

    @classmethod
    def of(cls, m: models.Customer, account: ledger_models.CreditAccount | None = None,
           ahead: ReadAhead | None = None) -> Customer:
        return cls(_m=m, id=strawberry.ID(str(m.id)), name=m.name, segment=m.segment,
                   risk_profile=_enum(RiskProfile, m.risk_profile),
                   status=_enum(CustomerStatus, m.status), currency=m.currency,
                   partner_id=m.partner_id, version=m.version, created_at=m.created_at,
                   updated_at=m.updated_at, _account_m=account, _ahead=ahead)

    async def _account(self, info: CtxInfo) -> ledger_models.CreditAccount:
        if self._account_m is not None:
            return self._account_m
        loader = info.context.loaders.of(ledger_service.accounts_by_customer)
        account = await loader.load(self._m.id)
        if account is None:  # made with the customer, in the same transaction
            raise LookupError(f"customer {self._m.id} has no credit account")
        return account

    @strawberry.field(description="Its credit: limit, balance, held, terms.")
    def credit_account(self, info: CtxInfo) -> CreditAccount:
        if self._account_m is not None:
            return CreditAccount.of(self._account_m)
        # Not read up front: an awaitable, which graphql-core awaits like an async
        # resolver's. A page read up front resolves without a coroutine per customer.
        return self._load_credit_account(info)  # type: ignore[return-value]

    async def _load_credit_account(self, info: CtxInfo) -> CreditAccount:
        return CreditAccount.of(await self._account(info))

    @strawberry.field(description="Its sub-limits by site.")
    def site_limits(self, info: CtxInfo) -> list[SiteLimit]:
        ahead = self._ahead
        if ahead is not None and ahead.site_limits is not None and self._account_m is not None:
            currency = self._account_m.currency
            return [SiteLimit(_m=r, _currency=currency) for r in ahead.site_limits]
        return self._load_site_limits(info)  # type: ignore[return-value]  # awaited, as above

    async def _load_site_limits(self, info: CtxInfo) -> list[SiteLimit]:
        account = await self._account(info)
        rows = await info.context.loaders.of(ledger_service.site_limits_by_account).load(
            account.id)
        return [SiteLimit(_m=r, _currency=account.currency) for r in rows]

    @strawberry.field(description="How connected systems name it.")
    def external_refs(self, info: CtxInfo) -> list[ExternalRef]:
        if self._ahead is not None and self._ahead.external_refs is not None:
            return _external_refs(self._ahead.external_refs)
        return self._load_external_refs(info)  # type: ignore[return-value]  # awaited, as above

    async def _load_external_refs(self, info: CtxInfo) -> list[ExternalRef]:
        rows = await info.context.loaders.of(customer_service.external_refs_by_customer).load(
            self._m.id)
        return _external_refs(rows)

    @strawberry.field(description="Its pending holds, oldest first.")
    def holds(self, info: CtxInfo) -> list[Hold]:
        if self._ahead is not None and self._ahead.holds is not None:
            return [Hold.of(r) for r in self._ahead.holds]
        return self._load_holds(info)  # type: ignore[return-value]  # awaited, as above

    async def _load_holds(self, info: CtxInfo) -> list[Hold]:
        account = await self._account(info)
        rows = await info.context.loaders.of(ledger_service.pending_holds_by_account).load(
            account.id)
        return [Hold.of(r) for r in rows]

    @strawberry.field(extensions=requires(P.LEDGER_READ),
                      description="Its ledger entries, newest recorded first.")
    async def ledger(self, info: CtxInfo, first: First = None, after: After = None,
                     last: Last = None, before: Before = None,
                     filter: LedgerFilter | None = None) -> Connection[LedgerEntry]:
        flt = filter or LedgerFilter()
        page = await ledger_service.list_entries(
            self._m.id,
            ledger_service.EntryFilter(
                kinds=[ledger_models.EntryKind(k.value) for k in flt.kinds] if flt.kinds else None,
                site_id=parse_uuid(flt.site_id, "siteId") if flt.site_id else None,
                occurred_from=flt.occurred_from, occurred_to=flt.occurred_to),
            window=window(info, first, after, last, before),
            max_page_size=info.context.settings.max_page_size)
        return Connection.of(page, LedgerEntry.of)

    @strawberry.field(extensions=requires(P.INVOICE_READ),
                      description="Its newest invoices, at most 50 (invoices(filter: "
                                  "{customerId}) pages through all), loaded for a page of "
                                  "customers at once.")
    async def invoices(
        self, info: CtxInfo,
        status: Annotated[InvoiceStatus, strawberry.lazy("ccm_gateway.billing.types")]
        | None = None,
    ) -> list[Annotated[Invoice, strawberry.lazy("ccm_gateway.billing.types")]]:
        from ccm_gateway.billing.types import Invoice

        rows = await info.context.loaders.of(billing_service.invoices_by_customer).load(
            (self._m.id, status))
        return [Invoice.of(r) for r in rows]


def _enum(kind: type[E], value: object) -> E:
    """The model's value as the GraphQL enum: it already is one when read from the database."""
    return value if isinstance(value, kind) else kind(str(value))


# Below a customers page, these fields read each customer's credit account.
_READ_ACCOUNT = frozenset({"creditAccount", "siteLimits", "holds"})


async def _read_ahead(customers: list[models.Customer],
                      names: set[str]) -> Callable[[models.Customer], Customer]:
    """What the page's selection reads of each customer, one query per relation for the
    whole page (the queries its DataLoaders would make), so that each customer resolves
    them without a coroutine of its own."""
    ids = [m.id for m in customers]
    accounts = dict(zip(ids, await ledger_service.accounts_by_customer(ids), strict=True))
    account_ids = [a.id for a in accounts.values() if a is not None]
    ahead = {i: ReadAhead() for i in ids}

    async def per_account(batch: Callable[[list[Any]], Awaitable[list[list[Any]]]],
                          slot: str) -> None:
        by_account = dict(zip(account_ids, await batch(account_ids), strict=True))
        for i, account in accounts.items():
            if account is not None:
                setattr(ahead[i], slot, by_account[account.id])

    if "siteLimits" in names and account_ids:
        await per_account(ledger_service.site_limits_by_account, "site_limits")
    if "holds" in names and account_ids:
        await per_account(ledger_service.pending_holds_by_account, "holds")
    if "externalRefs" in names:
        refs = await customer_service.external_refs_by_customer(ids)
        for i, rows in zip(ids, refs, strict=True):
            ahead[i].external_refs = rows
    return lambda m: Customer.of(m, accounts[m.id], ahead[m.id])


@strawberry.input(description="Narrow the customers; every field given must match.")
class CustomerFilter:
    segment: str | None = None
    status: CustomerStatus | None = None
    name_contains: str | None = None
    utilization_above: float | None = strawberry.field(
        default=None, description="Exposure / limit strictly above this ratio (0.8 = 80 %).")


@strawberry.input(description="A customer's id in a connected system.")
class ExternalRefInput:
    system: str
    external_id: str


@strawberry.input(description="A new customer and its credit account.")
class CreateCustomerInput:
    name: str
    segment: str
    currency: str
    risk_profile: RiskProfile = RiskProfile.MEDIUM
    status: CustomerStatus = CustomerStatus.ACTIVE
    credit_limit: MoneyInput | None = None
    net_days: int = 30
    invoicing_cycle: InvoicingCycle = InvoicingCycle.MONTHLY
    partner_id: str | None = None
    external_refs: list[ExternalRefInput] | None = None
    idempotency_key: str | None = None


@strawberry.input(description="Fields left out stay as they are.")
class UpdateCustomerInput:
    id: strawberry.ID
    expected_version: int
    name: str | None = None
    segment: str | None = None
    risk_profile: RiskProfile | None = None
    status: CustomerStatus | None = None


@strawberry.input(description="A reference to link to a customer.")
class LinkExternalRefInput:
    customer_id: strawberry.ID
    system: str
    external_id: str


@strawberry.type
class CustomerQuery:
    @strawberry.field(extensions=requires(P.CUSTOMER_READ),
                      description="A customer by id, or by an external reference; null when "
                                  "there is none the caller may see.")
    async def customer(self, info: CtxInfo, id: strawberry.ID | None = None,
                       external_ref: ExternalRefInput | None = None) -> Customer | None:
        if (id is None) == (external_ref is None):
            raise BadInput("give exactly one of id or externalRef")
        principal = info.context.principal
        try:
            if id is not None:
                found = await customer_service.get_readable_customer(principal, id)
            else:
                found = await customer_service.get_readable_customer_by_external_ref(
                    principal, external_ref.system,  # type: ignore[union-attr]
                    external_ref.external_id)  # type: ignore[union-attr]
        except NotFound:
            return None
        return Customer.of(found)

    @strawberry.field(extensions=requires(P.CUSTOMER_READ),
                      description="The customers the caller may see, by name.")
    async def customers(self, info: CtxInfo, first: First = None, after: After = None,
                        last: Last = None, before: Before = None,
                        filter: CustomerFilter | None = None) -> Connection[Customer]:
        flt = filter or CustomerFilter()
        page = await customer_service.list_customers(
            info.context.principal,
            customer_service.CustomerFilter(
                segment=flt.segment,
                status=models.CustomerStatus(flt.status.value) if flt.status else None,
                name_contains=flt.name_contains, utilization_above=flt.utilization_above),
            window=window(info, first, after, last, before),
            max_page_size=info.context.settings.max_page_size)
        names = names_below(info) if page.items else set()
        if not _READ_ACCOUNT & names and "externalRefs" not in names:
            return Connection.of(page, Customer.of)
        return Connection.of(page, await _read_ahead(page.items, names))


@strawberry.type
class CustomerMutation:
    @strawberry.mutation(extensions=requires(P.CUSTOMER_WRITE),
                         description="Create a customer with its credit account.")
    async def create_customer(self, info: CtxInfo, input: CreateCustomerInput) -> Customer:
        limit = None
        if input.credit_limit is not None:
            if input.credit_limit.currency != input.currency:
                raise BadInput("creditLimit.currency must equal the customer's currency",
                               field="creditLimit.currency")
            limit = input.credit_limit.minor("creditLimit.amount", allow_zero=True)
        partner_id = customer_service.owning_partner(info.context.principal, input.partner_id)
        async with in_transaction():
            customer = await customer_service.create_customer(
                info.context.actor, name=input.name, segment=input.segment,
                currency=input.currency,
                risk_profile=models.RiskProfile(input.risk_profile.value),
                status=models.CustomerStatus(input.status.value), credit_limit_minor=limit,
                net_days=input.net_days,
                invoicing_cycle=ledger_models.InvoicingCycle(input.invoicing_cycle.value),
                partner_id=partner_id,
                external_refs=[(r.system, r.external_id) for r in input.external_refs or []],
                idempotency_key=input.idempotency_key,
                administers_integrations=info.context.principal.administers_integrations)
        return Customer.of(customer)

    @strawberry.mutation(extensions=requires(P.CUSTOMER_WRITE),
                         description="Change a customer, if expectedVersion is current.")
    async def update_customer(self, info: CtxInfo, input: UpdateCustomerInput) -> Customer:
        await customer_service.get_readable_customer(info.context.principal, input.id)
        async with in_transaction():
            customer = await customer_service.update_customer(
                info.context.actor, input.id, expected_version=input.expected_version,
                name=input.name, segment=input.segment,
                risk_profile=models.RiskProfile(input.risk_profile.value)
                if input.risk_profile else None,
                status=models.CustomerStatus(input.status.value) if input.status else None)
        return Customer.of(customer)

    @strawberry.mutation(extensions=requires(P.CUSTOMER_WRITE),
                         description="Link a connected system's id to a customer.")
    async def link_external_ref(self, info: CtxInfo, input: LinkExternalRefInput) -> Customer:
        customer = await customer_service.get_readable_customer(
            info.context.principal, input.customer_id, "customerId")
        async with in_transaction():
            await customer_service.link_external_ref(
                info.context.actor, customer.id, system=input.system,
                external_id=input.external_id,
                administers_integrations=info.context.principal.administers_integrations)
        return Customer.of(customer)
