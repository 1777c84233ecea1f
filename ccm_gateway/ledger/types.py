"""GraphQL for the ledger: accounts, holds, entries and credit decisions."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated

import strawberry
from tortoise.transactions import in_transaction

from ccm_gateway.customer import service as customer_service
from ccm_gateway.customer.models import Customer
from ccm_gateway.graphql.common import CtxInfo, Money, MoneyInput, requires
from ccm_gateway.kit.ids import parse_uuid
from ccm_gateway.ledger import models
from ccm_gateway.ledger import service as ledger_service
from ccm_gateway.principal import Permission as P
from ccm_gateway.site import service as site_service
from ccm_gateway.site.types import Site

# The models' enums are the GraphQL enums: strawberry exposes an Enum under its class
# name, with the members' names as values.
EntryKind = models.EntryKind
HoldStatus = models.HoldStatus
InvoicingCycle = models.InvoicingCycle
DeclineReason = ledger_service.DeclineReason
SourceType = models.SourceType


async def _site(info: CtxInfo, site_id: object) -> Site | None:
    if site_id is None:
        return None
    site = await info.context.loaders.of(site_service.sites_by_id).load(site_id)
    if site is None:  # a foreign key that restricts deletes points at it
        raise LookupError(f"site {site_id} is referenced but missing")
    return Site.of(site)


@strawberry.type
class CreditTerms:
    net_days: int
    invoicing_cycle: InvoicingCycle


@strawberry.type
class CreditAccount:
    _m: strawberry.Private[models.CreditAccount]
    version: int

    @classmethod
    def of(cls, m: models.CreditAccount) -> CreditAccount:
        return cls(_m=m, version=m.version)

    @strawberry.field
    def limit(self) -> Money:
        return Money.of(self._m.credit_limit_minor, self._m.currency)

    @strawberry.field(description="Posted balance: what the customer owes.")
    def balance(self) -> Money:
        return Money.of(self._m.posted_balance_minor, self._m.currency)

    @strawberry.field(description="Sum of pending holds.")
    def held(self) -> Money:
        return Money.of(self._m.held_minor, self._m.currency)

    @strawberry.field(description="Balance plus held.")
    def exposure(self) -> Money:
        return Money.of(self._m.posted_balance_minor + self._m.held_minor, self._m.currency)

    @strawberry.field
    def available(self) -> Money:
        return Money.of(ledger_service.available_minor(self._m), self._m.currency)

    @strawberry.field(description="Exposure / limit (1.0 = at the limit); null when the "
                      "limit is zero and something is owed or held.")
    def utilization(self) -> float | None:
        exposure = self._m.posted_balance_minor + self._m.held_minor
        if self._m.credit_limit_minor == 0:
            return 0.0 if exposure <= 0 else None
        return round(exposure / self._m.credit_limit_minor, 6)

    @strawberry.field
    def terms(self) -> CreditTerms:
        return CreditTerms(net_days=self._m.net_days,
                           invoicing_cycle=InvoicingCycle(str(self._m.invoicing_cycle)))


@strawberry.type
class SiteLimit:
    _m: strawberry.Private[models.SiteLimit]
    _currency: strawberry.Private[str]

    @strawberry.field
    async def site(self, info: CtxInfo) -> Site:
        return await _site(info, self._m.site_id)  # type: ignore[return-value]

    @strawberry.field
    def limit(self) -> Money:
        return Money.of(self._m.limit_minor, self._currency)

    @strawberry.field
    def balance(self) -> Money:
        return Money.of(self._m.posted_minor, self._currency)

    @strawberry.field
    def held(self) -> Money:
        return Money.of(self._m.held_minor, self._currency)

    @strawberry.field
    def available(self) -> Money:
        m = self._m
        return Money.of(ledger_service.site_available_minor(m), self._currency)


@strawberry.type
class Hold:
    _m: strawberry.Private[models.Hold]
    id: strawberry.ID
    status: HoldStatus
    reference: str | None
    expires_at: datetime
    created_at: datetime

    @classmethod
    def of(cls, m: models.Hold) -> Hold:
        return cls(_m=m, id=strawberry.ID(str(m.id)), status=HoldStatus(str(m.status)),
                   reference=m.reference, expires_at=m.expires_at, created_at=m.created_at)

    @strawberry.field
    def amount(self) -> Money:
        return Money.of(self._m.amount_minor, self._m.currency)

    @strawberry.field
    def captured(self) -> Money:
        return Money.of(self._m.captured_minor, self._m.currency)

    @strawberry.field
    async def site(self, info: CtxInfo) -> Site | None:
        return await _site(info, self._m.site_id)


@strawberry.type
class LedgerEntry:
    _m: strawberry.Private[models.LedgerEntry]
    id: strawberry.ID
    kind: EntryKind
    source_type: SourceType
    source_id: str
    external_ref: str | None
    description: str | None
    over_limit: bool
    occurred_at: datetime
    recorded_at: datetime

    @classmethod
    def of(cls, m: models.LedgerEntry) -> LedgerEntry:
        return cls(_m=m, id=strawberry.ID(str(m.id)), kind=EntryKind(str(m.kind)),
                   source_type=SourceType(str(m.source_type)), source_id=m.source_id,
                   external_ref=m.external_ref, description=m.description,
                   over_limit=m.over_limit, occurred_at=m.occurred_at, recorded_at=m.recorded_at)

    @strawberry.field(description="Signed: positive raises what the customer owes.")
    def amount(self) -> Money:
        return Money.of(self._m.amount_minor, self._m.currency)

    @strawberry.field
    def original_amount(self) -> Money | None:
        if self._m.original_amount_minor is None or self._m.original_currency is None:
            return None
        return Money.of(self._m.original_amount_minor, self._m.original_currency)

    @strawberry.field
    def fx_rate(self) -> str | None:
        return self._m.fx_rate

    @strawberry.field
    def reverses_id(self) -> strawberry.ID | None:
        return strawberry.ID(str(self._m.reverses_id)) if self._m.reverses_id else None

    @strawberry.field
    def hold_id(self) -> strawberry.ID | None:
        return strawberry.ID(str(self._m.hold_id)) if self._m.hold_id else None

    @strawberry.field
    async def site(self, info: CtxInfo) -> Site | None:
        return await _site(info, self._m.site_id)


@strawberry.type
class CreditDeclined:
    reason: DeclineReason
    message: str
    available: Money

    @classmethod
    def of(cls, d: ledger_service.Declined) -> CreditDeclined:
        return cls(reason=DeclineReason(d.reason.value), message=d.message,
                   available=Money.of(d.available_minor, d.currency))


@strawberry.type
class CreditCheckResult:
    approved: bool
    reason: DeclineReason | None
    message: str
    available: Money


@strawberry.type
class GateAccessResult:
    allowed: bool
    reason: str
    message: str


AuthorizeCreditResult = Annotated[Hold | CreditDeclined,
                                  strawberry.union("AuthorizeCreditResult")]
PostLedgerEntryResult = Annotated[LedgerEntry | CreditDeclined,
                                  strawberry.union("PostLedgerEntryResult")]


@strawberry.input
class LedgerFilter:
    kinds: list[EntryKind] | None = None
    site_id: strawberry.ID | None = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None


@strawberry.input
class SetCreditLimitInput:
    customer_id: strawberry.ID
    limit: MoneyInput
    expected_version: int | None = None


@strawberry.input
class SetCreditTermsInput:
    customer_id: strawberry.ID
    net_days: int
    invoicing_cycle: InvoicingCycle
    expected_version: int | None = None


@strawberry.input
class SetSiteLimitInput:
    customer_id: strawberry.ID
    site_id: strawberry.ID
    limit: MoneyInput


@strawberry.input
class PostLedgerEntryInput:
    customer_id: strawberry.ID
    kind: EntryKind
    amount: MoneyInput = strawberry.field(
        description="A positive magnitude; ADJUSTMENT alone takes a sign.")
    site_id: strawberry.ID | None = None
    occurred_at: datetime | None = None
    external_ref: str | None = None
    description: str | None = None
    idempotency_key: str | None = None


@strawberry.input
class ReverseLedgerEntryInput:
    entry_id: strawberry.ID
    reason: str | None = None
    idempotency_key: str | None = None


@strawberry.input
class AuthorizeCreditInput:
    customer_id: strawberry.ID
    amount: MoneyInput
    site_id: strawberry.ID | None = None
    reference: str | None = None
    expires_in_seconds: int | None = None
    idempotency_key: str | None = None


@strawberry.input
class CaptureHoldInput:
    hold_id: strawberry.ID
    amount: MoneyInput | None = strawberry.field(
        default=None, description="Omit to capture the full hold.")
    idempotency_key: str | None = None


@strawberry.input
class VoidHoldInput:
    hold_id: strawberry.ID


async def _readable_customer(info: CtxInfo, customer_id: object) -> Customer:
    return await customer_service.get_readable_customer(info.context.principal, customer_id,
                                                        "customerId")


async def _readable_customer_id(info: CtxInfo, customer_id: object) -> uuid.UUID:
    return await customer_service.readable_customer_id(info.context.principal, customer_id,
                                                       "customerId")


def _opt_uuid(value: object, field: str) -> uuid.UUID | None:
    return None if value is None else parse_uuid(value, field)


@strawberry.type
class LedgerQuery:
    @strawberry.field(extensions=requires(P.CREDIT_CHECK),
                      description="Would this amount be approved now? No side effect.")
    async def credit_check(self, info: CtxInfo, customer_id: strawberry.ID, amount: MoneyInput,
                           site_id: strawberry.ID | None = None) -> CreditCheckResult:
        decision = await ledger_service.credit_check(
            await _readable_customer_id(info, customer_id), amount.minor(), amount.currency,
            _opt_uuid(site_id, "siteId"))
        return CreditCheckResult(
            approved=decision.approved,
            reason=DeclineReason(decision.reason.value) if decision.reason else None,
            message=decision.message,
            available=Money.of(decision.available_minor, decision.currency))

    @strawberry.field(extensions=requires(P.CREDIT_CHECK),
                      description="May this customer's truck enter this site now?")
    async def gate_access(self, info: CtxInfo, site_id: strawberry.ID,
                          customer_id: strawberry.ID) -> GateAccessResult:
        decision = await ledger_service.gate_access(
            parse_uuid(site_id, "siteId"), await _readable_customer_id(info, customer_id))
        return GateAccessResult(allowed=decision.allowed, reason=decision.reason,
                                message=decision.message)

    @strawberry.field(extensions=requires(P.LEDGER_READ))
    async def hold(self, info: CtxInfo, id: strawberry.ID) -> Hold:
        return Hold.of(await ledger_service.get_readable_hold(info.context.principal, id))


@strawberry.type
class LedgerMutation:
    @strawberry.mutation(extensions=requires(P.CREDIT_LIMIT_WRITE))
    async def set_credit_limit(self, info: CtxInfo, input: SetCreditLimitInput) -> CreditAccount:
        customer = await _readable_customer(info, input.customer_id)
        limit = input.limit.minor("limit.amount", allow_zero=True)
        async with in_transaction():
            account = await ledger_service.set_credit_limit(
                info.context.actor, customer.id, limit, input.limit.currency,
                input.expected_version)
        return CreditAccount.of(account)

    @strawberry.mutation(extensions=requires(P.CREDIT_LIMIT_WRITE))
    async def set_credit_terms(self, info: CtxInfo, input: SetCreditTermsInput) -> CreditAccount:
        customer = await _readable_customer(info, input.customer_id)
        async with in_transaction():
            account = await ledger_service.set_credit_terms(
                info.context.actor, customer.id, input.net_days,
                models.InvoicingCycle(input.invoicing_cycle.value), input.expected_version)
        return CreditAccount.of(account)

    @strawberry.mutation(extensions=requires(P.CREDIT_LIMIT_WRITE))
    async def set_site_limit(self, info: CtxInfo, input: SetSiteLimitInput) -> SiteLimit:
        customer = await _readable_customer(info, input.customer_id)
        limit = input.limit.minor("limit.amount", allow_zero=True)
        async with in_transaction():
            site_limit = await ledger_service.set_site_limit(
                info.context.actor, customer.id, parse_uuid(input.site_id, "siteId"), limit,
                input.limit.currency)
        return SiteLimit(_m=site_limit, _currency=customer.currency)

    @strawberry.mutation(extensions=requires(P.LEDGER_WRITE))
    async def post_ledger_entry(self, info: CtxInfo,
                                input: PostLedgerEntryInput) -> PostLedgerEntryResult:
        customer = await _readable_customer(info, input.customer_id)
        kind = models.EntryKind(input.kind.value)
        amount = input.amount.minor(allow_negative=kind == models.EntryKind.ADJUSTMENT)
        async with in_transaction():
            result = await ledger_service.post_entry(
                info.context.actor, customer.id, kind, amount, input.amount.currency,
                site_id=_opt_uuid(input.site_id, "siteId"), occurred_at=input.occurred_at,
                external_ref=input.external_ref, description=input.description,
                idempotency_key=input.idempotency_key)
        if isinstance(result, ledger_service.Declined):
            return CreditDeclined.of(result)
        return LedgerEntry.of(result)

    @strawberry.mutation(extensions=requires(P.LEDGER_WRITE))
    async def reverse_ledger_entry(self, info: CtxInfo,
                                   input: ReverseLedgerEntryInput) -> LedgerEntry:
        original = await ledger_service.get_readable_entry(info.context.principal,
                                                           input.entry_id)
        async with in_transaction():
            entry = await ledger_service.reverse_entry(
                info.context.actor, original.id, reason=input.reason,
                idempotency_key=input.idempotency_key)
        return LedgerEntry.of(entry)

    @strawberry.mutation(extensions=requires(P.HOLD_WRITE))
    async def authorize_credit(self, info: CtxInfo,
                               input: AuthorizeCreditInput) -> AuthorizeCreditResult:
        customer_id = await _readable_customer_id(info, input.customer_id)
        ttl = (info.context.settings.hold_ttl_seconds if input.expires_in_seconds is None
               else input.expires_in_seconds)
        async with in_transaction():
            result = await ledger_service.authorize(
                info.context.actor, customer_id, input.amount.minor(), input.amount.currency,
                site_id=_opt_uuid(input.site_id, "siteId"), reference=input.reference,
                expires_in=timedelta(seconds=ttl), idempotency_key=input.idempotency_key)
        if isinstance(result, ledger_service.Declined):
            return CreditDeclined.of(result)
        return Hold.of(result)

    @strawberry.mutation(extensions=requires(P.HOLD_WRITE))
    async def capture_hold(self, info: CtxInfo, input: CaptureHoldInput) -> Hold:
        hold = await ledger_service.get_readable_hold(info.context.principal, input.hold_id)
        amount = input.amount.minor() if input.amount else None
        async with in_transaction():
            hold = await ledger_service.capture(
                info.context.actor, hold.id, amount,
                input.amount.currency if input.amount else None,
                idempotency_key=input.idempotency_key)
        return Hold.of(hold)

    @strawberry.mutation(extensions=requires(P.HOLD_WRITE))
    async def void_hold(self, info: CtxInfo, input: VoidHoldInput) -> Hold:
        hold = await ledger_service.get_readable_hold(info.context.principal, input.hold_id)
        async with in_transaction():
            hold = await ledger_service.void(info.context.actor, hold.id)
        return Hold.of(hold)
