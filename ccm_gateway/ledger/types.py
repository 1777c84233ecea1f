"""GraphQL for the ledger: accounts, holds, entries and credit decisions."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated

import strawberry
from tortoise.transactions import in_transaction

from ccm_gateway.customer import service as customer_service
from ccm_gateway.customer.models import Customer
from ccm_gateway.errors import NotFound
from ccm_gateway.graphql.common import CtxInfo, Money, MoneyInput, Node, requires
from ccm_gateway.kit.ids import parse_uuid
from ccm_gateway.ledger import models
from ccm_gateway.ledger import service as ledger_service
from ccm_gateway.principal import Permission as P
from ccm_gateway.site import service as site_service
from ccm_gateway.site.types import Site

# The models' enums are the GraphQL enums (strawberry exposes an Enum under its
# class name, with the members' names as values), registered with a description.
strawberry.enum(models.EntryKind, description="What a ledger entry records.")
EntryKind = models.EntryKind
strawberry.enum(models.HoldStatus, description="PENDING reserves credit; the others are final.")
HoldStatus = models.HoldStatus
strawberry.enum(models.InvoicingCycle, description="How often the customer is invoiced.")
InvoicingCycle = models.InvoicingCycle
strawberry.enum(ledger_service.DeclineReason, description="Why credit was declined.")
DeclineReason = ledger_service.DeclineReason
strawberry.enum(models.SourceType, description="What kind of actor made an entry.")
SourceType = models.SourceType


async def _site(info: CtxInfo, site_id: object) -> Site | None:
    if site_id is None:
        return None
    site = await info.context.loaders.of(site_service.sites_by_id).load(site_id)
    if site is None:  # a foreign key that restricts deletes points at it
        raise LookupError(f"site {site_id} is referenced but missing")
    return Site.of(site)


async def _account(info: CtxInfo, account_id: object) -> CreditAccount:
    account = await info.context.loaders.of(ledger_service.accounts_by_id).load(account_id)
    if account is None:  # a foreign key that restricts deletes points at it
        raise LookupError(f"credit account {account_id} is referenced but missing")
    return CreditAccount.of(account)


@strawberry.type(description="Payment terms of a credit account.")
class CreditTerms:
    net_days: int = strawberry.field(description="Days from invoice to due date.")
    invoicing_cycle: InvoicingCycle = strawberry.field(description="How often it is invoiced.")


@strawberry.type(description="A customer's credit: limit, what is owed and held, and terms. "
                             "One per customer; every change raises its version.")
class CreditAccount(Node):
    _m: strawberry.Private[models.CreditAccount]
    version: int = strawberry.field(
        description="Rises with every change; pass it as expectedVersion to change safely.")

    @classmethod
    def of(cls, m: models.CreditAccount) -> CreditAccount:
        return cls(_m=m, id=strawberry.ID(str(m.id)), version=m.version)

    @strawberry.field(description="The credit limit.")
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

    @strawberry.field(description="Limit minus exposure: what a new hold or charge may take.")
    def available(self) -> Money:
        return Money.of(ledger_service.available_minor(self._m), self._m.currency)

    @strawberry.field(description="Exposure / limit (1.0 = at the limit); null when the "
                      "limit is zero and something is owed or held.")
    def utilization(self) -> float | None:
        return ledger_service.utilization(self._m)

    @strawberry.field(description="Payment terms.")
    def terms(self) -> CreditTerms:
        return CreditTerms(net_days=self._m.net_days,
                           invoicing_cycle=InvoicingCycle(str(self._m.invoicing_cycle)))


@strawberry.type(description="A sub-limit on what a customer may owe and hold at one site.")
class SiteLimit:
    _m: strawberry.Private[models.SiteLimit]
    _currency: strawberry.Private[str]

    @strawberry.field(description="The site limit's own number, stable for its lifetime; "
                                  "unique among site limits.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self._m.id))

    @strawberry.field(description="The site it applies to.")
    async def site(self, info: CtxInfo) -> Site:
        return await _site(info, self._m.site_id)  # type: ignore[return-value]

    @strawberry.field(description="The sub-limit.")
    def limit(self) -> Money:
        return Money.of(self._m.limit_minor, self._currency)

    @strawberry.field(description="Posted balance at this site.")
    def balance(self) -> Money:
        return Money.of(self._m.posted_minor, self._currency)

    @strawberry.field(description="Pending holds at this site.")
    def held(self) -> Money:
        return Money.of(self._m.held_minor, self._currency)

    @strawberry.field(description="What a new hold or charge at this site may take.")
    def available(self) -> Money:
        m = self._m
        return Money.of(ledger_service.site_available_minor(m), self._currency)


@strawberry.type(description="An authorisation that reserves credit until it is captured, "
                             "voided or expires.")
class Hold(Node):
    _m: strawberry.Private[models.Hold]
    status: HoldStatus = strawberry.field(description="Where it is in its life.")
    reference: str | None = strawberry.field(description="The caller's reference, if given.")
    expires_at: datetime = strawberry.field(description="When a pending hold expires.")
    created_at: datetime = strawberry.field(description="When it was placed.")

    @classmethod
    def of(cls, m: models.Hold) -> Hold:
        return cls(_m=m, id=strawberry.ID(str(m.id)), status=HoldStatus(str(m.status)),
                   reference=m.reference, expires_at=m.expires_at, created_at=m.created_at)

    @strawberry.field(description="The amount reserved.")
    def amount(self) -> Money:
        return Money.of(self._m.amount_minor, self._m.currency)

    @strawberry.field(description="How much of it was captured.")
    def captured(self) -> Money:
        return Money.of(self._m.captured_minor, self._m.currency)

    @strawberry.field(description="The site it was placed at, if any.")
    async def site(self, info: CtxInfo) -> Site | None:
        return await _site(info, self._m.site_id)

    @strawberry.field(description="The credit account it reserves on, as it is now: select "
                                  "it in a mutation to see held and available change.")
    async def account(self, info: CtxInfo) -> CreditAccount:
        return await _account(info, self._m.account_id)


@strawberry.type(description="An append-only movement on a credit account; a mistake is "
                             "corrected by a reversing entry.")
class LedgerEntry(Node):
    _m: strawberry.Private[models.LedgerEntry]
    kind: EntryKind = strawberry.field(description="What the entry records.")
    source_type: SourceType = strawberry.field(description="What kind of actor made it.")
    source_id: str = strawberry.field(description="Who made it (user, client or integration).")
    external_ref: str | None = strawberry.field(
        description="The reference of the system it came from, if any.")
    description: str | None = strawberry.field(description="Free text, if given.")
    over_limit: bool = strawberry.field(
        description="A charge or invoice posted over the limit, by a connected system whose "
                    "charges are recorded rather than declined.")
    occurred_at: datetime = strawberry.field(description="When it happened.")
    recorded_at: datetime = strawberry.field(description="When the ledger recorded it.")

    @classmethod
    def of(cls, m: models.LedgerEntry) -> LedgerEntry:
        return cls(_m=m, id=strawberry.ID(str(m.id)), kind=EntryKind(str(m.kind)),
                   source_type=SourceType(str(m.source_type)), source_id=m.source_id,
                   external_ref=m.external_ref, description=m.description,
                   over_limit=m.over_limit, occurred_at=m.occurred_at, recorded_at=m.recorded_at)

    @strawberry.field(description="Signed: positive raises what the customer owes.")
    def amount(self) -> Money:
        return Money.of(self._m.amount_minor, self._m.currency)

    @strawberry.field(description="The amount in the currency it arrived in, when converted.")
    def original_amount(self) -> Money | None:
        if self._m.original_amount_minor is None or self._m.original_currency is None:
            return None
        return Money.of(self._m.original_amount_minor, self._m.original_currency)

    @strawberry.field(description="The FX rate it was converted at, when converted.")
    def fx_rate(self) -> str | None:
        return self._m.fx_rate

    @strawberry.field(description="The entry this one reverses, if it is a reversal.")
    def reverses_id(self) -> strawberry.ID | None:
        return strawberry.ID(str(self._m.reverses_id)) if self._m.reverses_id else None

    @strawberry.field(description="The hold it captured, if any.")
    def hold_id(self) -> strawberry.ID | None:
        return strawberry.ID(str(self._m.hold_id)) if self._m.hold_id else None

    @strawberry.field(description="The site it happened at, if any.")
    async def site(self, info: CtxInfo) -> Site | None:
        return await _site(info, self._m.site_id)

    @strawberry.field(description="The credit account it moved, as it is now: select it in a "
                                  "mutation to see the balance change.")
    async def account(self, info: CtxInfo) -> CreditAccount:
        return await _account(info, self._m.account_id)


@strawberry.type(description="Credit was declined; nothing was changed.")
class CreditDeclined:
    reason: DeclineReason = strawberry.field(description="Why.")
    message: str = strawberry.field(description="Why, for a person.")
    available: Money = strawberry.field(description="What was available at the time.")

    @classmethod
    def of(cls, d: ledger_service.Declined) -> CreditDeclined:
        return cls(reason=DeclineReason(d.reason.value), message=d.message,
                   available=Money.of(d.available_minor, d.currency))


@strawberry.type(description="Whether an amount would be approved now.")
class CreditCheckResult:
    approved: bool = strawberry.field(description="It would be approved.")
    reason: DeclineReason | None = strawberry.field(description="Why not, when declined.")
    message: str = strawberry.field(description="The decision, for a person.")
    available: Money = strawberry.field(description="What is available now.")


@strawberry.type(description="Whether a customer may enter a site now.")
class GateAccessResult:
    allowed: bool = strawberry.field(description="The gate may open.")
    reason: str = strawberry.field(description="A short code for the decision.")
    message: str = strawberry.field(description="The decision, for a person.")


AuthorizeCreditResult = Annotated[Hold | CreditDeclined, strawberry.union(
    "AuthorizeCreditResult", description="The hold placed, or why credit was declined.")]
PostLedgerEntryResult = Annotated[LedgerEntry | CreditDeclined, strawberry.union(
    "PostLedgerEntryResult", description="The entry posted, or why credit was declined.")]


@strawberry.input(description="Narrow a ledger; every field given must match.")
class LedgerFilter:
    kinds: list[EntryKind] | None = None
    site_id: strawberry.ID | None = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None


@strawberry.input(description="A new credit limit, in the account's currency.")
class SetCreditLimitInput:
    customer_id: strawberry.ID
    limit: MoneyInput
    expected_version: int | None = None


@strawberry.input(description="New payment terms.")
class SetCreditTermsInput:
    customer_id: strawberry.ID
    net_days: int
    invoicing_cycle: InvoicingCycle
    expected_version: int | None = None


@strawberry.input(description="A new sub-limit at one site, in the account's currency.")
class SetSiteLimitInput:
    customer_id: strawberry.ID
    site_id: strawberry.ID
    limit: MoneyInput


@strawberry.input(description="An entry to post.")
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
    invoice_number: str | None = strawberry.field(
        default=None, description="PAYMENT only: the invoice it pays first; the rest goes to "
                                  "open invoices oldest first.")


@strawberry.input(description="An entry to reverse.")
class ReverseLedgerEntryInput:
    entry_id: strawberry.ID
    reason: str | None = None
    idempotency_key: str | None = None


@strawberry.input(description="Credit to reserve.")
class AuthorizeCreditInput:
    customer_id: strawberry.ID
    amount: MoneyInput
    site_id: strawberry.ID | None = None
    reference: str | None = None
    expires_in_seconds: int | None = None
    idempotency_key: str | None = None


@strawberry.input(description="A hold to capture.")
class CaptureHoldInput:
    hold_id: strawberry.ID
    amount: MoneyInput | None = strawberry.field(
        default=None, description="Omit to capture the full hold.")
    idempotency_key: str | None = None


@strawberry.input(description="A hold to release.")
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

    @strawberry.field(extensions=requires(P.LEDGER_READ),
                      description="A hold by id; null when there is none the caller may see.")
    async def hold(self, info: CtxInfo, id: strawberry.ID) -> Hold | None:
        try:
            return Hold.of(await ledger_service.get_readable_hold(info.context.principal, id,
                                                                  "id"))
        except NotFound:
            return None


@strawberry.type
class LedgerMutation:
    @strawberry.mutation(extensions=requires(P.CREDIT_LIMIT_WRITE),
                         description="Set a customer's credit limit at once (no approval).")
    async def set_credit_limit(self, info: CtxInfo, input: SetCreditLimitInput) -> CreditAccount:
        customer = await _readable_customer(info, input.customer_id)
        limit = input.limit.minor("limit.amount", allow_zero=True)
        async with in_transaction():
            account = await ledger_service.set_credit_limit(
                info.context.actor, customer.id, limit, input.limit.currency,
                input.expected_version)
        return CreditAccount.of(account)

    @strawberry.mutation(extensions=requires(P.CREDIT_LIMIT_WRITE),
                         description="Set a customer's payment terms.")
    async def set_credit_terms(self, info: CtxInfo, input: SetCreditTermsInput) -> CreditAccount:
        customer = await _readable_customer(info, input.customer_id)
        async with in_transaction():
            account = await ledger_service.set_credit_terms(
                info.context.actor, customer.id, input.net_days,
                models.InvoicingCycle(input.invoicing_cycle.value), input.expected_version)
        return CreditAccount.of(account)

    @strawberry.mutation(extensions=requires(P.CREDIT_LIMIT_WRITE),
                         description="Set, or add, a customer's sub-limit at a site.")
    async def set_site_limit(self, info: CtxInfo, input: SetSiteLimitInput) -> SiteLimit:
        customer = await _readable_customer(info, input.customer_id)
        limit = input.limit.minor("limit.amount", allow_zero=True)
        async with in_transaction():
            site_limit = await ledger_service.set_site_limit(
                info.context.actor, customer.id, parse_uuid(input.site_id, "siteId"), limit,
                input.limit.currency)
        return SiteLimit(_m=site_limit, _currency=customer.currency)

    @strawberry.mutation(extensions=requires(P.LEDGER_WRITE),
                         description="Post an entry; a charge or invoice over the limit is "
                                     "declined.")
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
                idempotency_key=input.idempotency_key, invoice_number=input.invoice_number)
        if isinstance(result, ledger_service.Declined):
            return CreditDeclined.of(result)
        return LedgerEntry.of(result)

    @strawberry.mutation(extensions=requires(P.LEDGER_WRITE),
                         description="Post the entry that reverses another.")
    async def reverse_ledger_entry(self, info: CtxInfo,
                                   input: ReverseLedgerEntryInput) -> LedgerEntry:
        original = await ledger_service.get_readable_entry(info.context.principal,
                                                           input.entry_id)
        async with in_transaction():
            entry = await ledger_service.reverse_entry(
                info.context.actor, original.id, reason=input.reason,
                idempotency_key=input.idempotency_key)
        return LedgerEntry.of(entry)

    @strawberry.mutation(extensions=requires(P.HOLD_WRITE),
                         description="Reserve credit with a hold, or learn why not.")
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

    @strawberry.mutation(extensions=requires(P.HOLD_WRITE),
                         description="Post a pending hold's amount, or part of it, as a "
                                     "charge; the rest is released.")
    async def capture_hold(self, info: CtxInfo, input: CaptureHoldInput) -> Hold:
        hold = await ledger_service.get_readable_hold(info.context.principal, input.hold_id)
        amount = input.amount.minor() if input.amount else None
        async with in_transaction():
            hold = await ledger_service.capture(
                info.context.actor, hold.id, amount,
                input.amount.currency if input.amount else None,
                idempotency_key=input.idempotency_key)
        return Hold.of(hold)

    @strawberry.mutation(extensions=requires(P.HOLD_WRITE),
                         description="Release a pending hold.")
    async def void_hold(self, info: CtxInfo, input: VoidHoldInput) -> Hold:
        hold = await ledger_service.get_readable_hold(info.context.principal, input.hold_id)
        async with in_transaction():
            hold = await ledger_service.void(info.context.actor, hold.id)
        return Hold.of(hold)
