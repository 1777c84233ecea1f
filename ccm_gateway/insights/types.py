"""GraphQL for the portfolio insights (report:read), filtered and partner-narrowed like the
receivables reports: a partner principal's figures cover only its own customers."""

from __future__ import annotations

import uuid
from datetime import datetime
from fractions import Fraction
from typing import Annotated

import strawberry

from ccm_gateway.customer.types import Customer
from ccm_gateway.graphql.common import (
    After,
    Connection,
    CtxInfo,
    Edge,
    First,
    Money,
    PageInfo,
    requires,
)
from ccm_gateway.insights import service as insights
from ccm_gateway.kit.pagination import Window, cursor_id, decode_cursor, encode_cursor
from ccm_gateway.principal import Permission as P
from ccm_gateway.principal import Principal
from ccm_gateway.reports import service as reports
from ccm_gateway.reports.types import FilterArg, report_filter

strawberry.enum(insights.Change, name="LimitSuggestionChange",
                description="RAISE or LOWER the limit to the suggestion, or KEEP it (the "
                            "suggestion is within 5 % of it).")
LimitSuggestionChange = insights.Change


def _rate(value: Fraction | None) -> float | None:
    """A share from 0 to 1, to four decimals (half-even)."""
    return None if value is None else float(round(value, 4))


def _days(value: Fraction | None) -> float | None:
    """Days, to two decimals (half-even)."""
    return None if value is None else float(round(value, 2))


@strawberry.type(description="How one group of customers paid the invoices that fell due.")
class PaymentBehaviour:
    group: str = strawberry.field(
        description='The risk profile (LOW, MEDIUM, HIGH) or the limit band in the major '
                    'unit ("unrated" for a limit of 0, "0.01-9,999.99", "10,000-49,999.99", '
                    '"50,000-249,999.99", "250,000+").')
    customers: int = strawberry.field(description="Customers in the group.")
    invoices: int = strawberry.field(description="Their invoices due before asOf.")
    paid_on_time: int = strawberry.field(description="Of those, paid in full by the due date.")
    paid_late: int = strawberry.field(description="Paid in full after the due date.")
    unpaid: int = strawberry.field(description="Not paid in full at asOf (overdue).")
    on_time_rate: float | None = strawberry.field(
        description="paidOnTime / invoices, from 0 to 1; null without invoices.")
    overdue_rate: float | None = strawberry.field(
        description="(paidLate + unpaid) / invoices, from 0 to 1; null without invoices.")
    average_days_late: float | None = strawberry.field(
        description="Mean days late of the late and unpaid ones (to payment, or to asOf); a "
                    "started day counts; null when there are none.")

    @classmethod
    def of(cls, b: insights.PaymentBehaviour) -> PaymentBehaviour:
        return cls(group=b.group, customers=b.customers, invoices=b.invoices,
                   paid_on_time=b.on_time, paid_late=b.late, unpaid=b.unpaid,
                   on_time_rate=_rate(b.on_time_rate), overdue_rate=_rate(b.overdue_rate),
                   average_days_late=_days(b.average_days_late))


@strawberry.type(description="Payment behaviour by risk profile and by limit band, in one "
                             "currency, as of an instant.")
class RiskProfileCorrelation:
    currency: str = strawberry.field(description="The ISO 4217 code the figures are in.")
    as_of: datetime = strawberry.field(description="The instant the figures are as of.")
    method: str = strawberry.field(description="How the figures are computed.")
    customers: int = strawberry.field(
        description="Customers covered: those whose credit account is in the currency.")
    by_risk_profile: list[PaymentBehaviour] = strawberry.field(
        description="LOW, MEDIUM, HIGH, each listed even when empty.")
    by_limit_band: list[PaymentBehaviour] = strawberry.field(
        description="By current credit limit, lowest first, each listed even when empty.")


@strawberry.type(description="The customers of one net-days band over the period.")
class TermBand:
    band: str = strawberry.field(description='"0-15", "16-30", "31-45", "46-60" or "61+".')
    net_days_from: int = strawberry.field(description="Lowest net days in the band.")
    net_days_to: int | None = strawberry.field(
        description="Highest net days in the band; null: no upper end.")
    customers: int = strawberry.field(description="Customers whose net days are in it now.")
    dso: float | None = strawberry.field(
        description="Simple DSO: receivables at to / credit sales of the period x its days "
                    "(two decimals); null without credit sales.")
    receivables: Money = strawberry.field(description="Owed at to.")
    credit_sales: Money = strawberry.field(
        description="Invoiced in the period, less what voids before to credited.")
    collected: Money = strawberry.field(
        description="Payments applied to the band's invoices in the period.")
    invoices_due: int = strawberry.field(
        description="Invoices due in the period, not voided before to.")
    overdue_rate: float | None = strawberry.field(
        description="Share of invoicesDue paid late or unpaid at to, from 0 to 1; null "
                    "without any.")

    @classmethod
    def of(cls, b: insights.TermBand, currency: str) -> TermBand:
        return cls(band=b.band, net_days_from=b.net_days_from, net_days_to=b.net_days_to,
                   customers=b.customers, dso=_days(b.dso),
                   receivables=Money.of(b.receivables_minor, currency),
                   credit_sales=Money.of(b.credit_sales_minor, currency),
                   collected=Money.of(b.collected_minor, currency),
                   invoices_due=b.invoices_due, overdue_rate=_rate(b.overdue_rate))


@strawberry.type(description="How invoices on one side of the terms changes were paid.")
class TermPeriodFigures:
    average_net_days: float | None = strawberry.field(
        description="Mean net days the counted invoices were issued with; null without any.")
    on_time_rate: float | None = strawberry.field(
        description="Share paid in full by the due date, from 0 to 1; null without any.")
    average_days_late: float | None = strawberry.field(
        description="Mean days late of the late and unpaid ones (to payment, or to to); "
                    "null when there are none.")
    invoices: int = strawberry.field(
        description="Invoices counted: issued on this side in the period and due before to.")

    @classmethod
    def of(cls, p: insights.TermPeriod) -> TermPeriodFigures:
        return cls(average_net_days=_days(p.average_net_days),
                   on_time_rate=_rate(p.on_time_rate),
                   average_days_late=_days(p.average_days_late), invoices=p.invoices)


@strawberry.type(description="Payment before against after the customers' net days changed.")
class TermChangeImpact:
    method: str = strawberry.field(description="How the figures are computed.")
    customers: int = strawberry.field(
        description="Customers whose net days changed in the period (setCreditTerms).")
    before: TermPeriodFigures = strawberry.field(
        description="Their invoices issued before each one's first change.")
    after: TermPeriodFigures = strawberry.field(
        description="Their invoices issued from that change on.")


@strawberry.type(description="DSO, collections and overdue rate by net-days band, and "
                             "before against after terms changes, in one currency.")
class TermImpactAnalysis:
    currency: str = strawberry.field(description="The ISO 4217 code the figures are in.")
    from_: datetime = strawberry.field(name="from", description="The period's start, included.")
    to: datetime = strawberry.field(description="The period's end, excluded.")
    method: str = strawberry.field(description="How the figures are computed.")
    customers: int = strawberry.field(
        description="Customers covered: those whose credit account is in the currency.")
    by_net_days: list[TermBand] = strawberry.field(
        description="Each band, shortest terms first, listed even when empty.")
    term_changes: TermChangeImpact = strawberry.field(
        description="Before against after the terms changes in the period.")


@strawberry.type(description="A suggested credit limit for one customer, with its reasons.")
class LimitSuggestion:
    customer: Customer = strawberry.field(description="The customer.")
    current_limit: Money = strawberry.field(description="Its credit limit now.")
    suggested_limit: Money = strawberry.field(
        description="The suggestion: pass it to requestCreditLimitChange (with reasoning as "
                    "the reason) to propose it.")
    peak_exposure_90d: Money = strawberry.field(
        name="peakExposure90d",
        description="The highest balance of the last 90 days, or balance plus holds now if "
                    "higher.")
    debts_due: int = strawberry.field(
        description="Debts (charges, invoices) that fell due in the last 90 days.")
    debts_paid_on_time: int = strawberry.field(description="Of those, paid by the due date.")
    on_time_rate: float | None = strawberry.field(
        description="debtsPaidOnTime / debtsDue, from 0 to 1; null when none fell due.")
    headroom_factor: float = strawberry.field(
        description="What the peak is multiplied by: 1.5, 1.25 or 1.0, by onTimeRate.")
    segment_cap: Money | None = strawberry.field(
        description="The segment policy's hard cap; null when there is none.")
    reasoning: str = strawberry.field(
        description="Why, in sentences: the peak, the reliability, the rule, the cap if it "
                    "bound (at most 500 characters).")
    change: LimitSuggestionChange = strawberry.field(
        description="Whether the suggestion raises, lowers or keeps the limit.")

    @classmethod
    def of(cls, s: insights.Suggestion) -> LimitSuggestion:
        currency = s.account.currency
        return cls(customer=Customer.of(s.customer, s.account),
                   current_limit=Money.of(s.current_limit_minor, currency),
                   suggested_limit=Money.of(s.suggested_limit_minor, currency),
                   peak_exposure_90d=Money.of(s.peak_exposure_minor, currency),
                   debts_due=s.debts_due, debts_paid_on_time=s.debts_on_time,
                   on_time_rate=_rate(s.on_time_share), headroom_factor=float(s.factor),
                   segment_cap=(None if s.cap_minor is None
                                else Money.of(s.cap_minor, currency)),
                   reasoning=s.reasoning, change=s.change)


@strawberry.type(name="LimitSuggestionConnection",
                 description="A page of limit suggestions, in customer id order (forward "
                             "only: first and after).")
class LimitSuggestionConnection(Connection[LimitSuggestion]):
    currency: str = strawberry.field(description="The ISO 4217 code of every amount here.")
    method: str = strawberry.field(description="The rule the suggestions follow.")
    _principal: strawberry.Private[Principal]
    _filter: strawberry.Private[reports.ReportFilter]

    @strawberry.field(description="Customers covered by every page: their credit account is "
                                  "in the currency.")
    async def customers(self) -> int:
        return await insights.suggestion_customers(self._principal, self.currency,
                                                   self._filter)


def _after(after: str | None) -> uuid.UUID | None:
    """A suggestion cursor: ``encode_cursor(customer id)``."""
    if after is None:
        return None
    [customer_id] = decode_cursor(after, 1, "after")
    found: uuid.UUID = cursor_id(customer_id, uuid.UUID, "after")
    return found


Currency = Annotated[str, strawberry.argument(
    description="The ISO 4217 code: customers whose credit account is in it.")]
OptionalFrom = Annotated[datetime | None, strawberry.argument(
    name="from", description="The period's start, included; default 12 months before to.")]
OptionalTo = Annotated[datetime | None, strawberry.argument(
    description="The period's end, excluded; default now; not in the future.")]
AsOf = Annotated[datetime | None, strawberry.argument(
    description="The instant the figures are as of; default now; not in the future.")]


@strawberry.type
class InsightsQuery:
    @strawberry.field(extensions=requires(P.REPORT_READ),
                      description="On-time rate, overdue rate and days late of invoices due "
                                  "by asOf, by risk profile and by limit band.")
    async def risk_profile_correlation(self, info: CtxInfo, currency: Currency,
                                       as_of: AsOf = None,
                                       filter: FilterArg = None) -> RiskProfileCorrelation:
        found = await insights.risk_profile_correlation(
            info.context.principal, currency, as_of, report_filter(filter))
        return RiskProfileCorrelation(
            currency=found.currency, as_of=found.as_of, method=insights.CORRELATION_METHOD,
            customers=found.customers,
            by_risk_profile=[PaymentBehaviour.of(b) for b in found.by_risk_profile],
            by_limit_band=[PaymentBehaviour.of(b) for b in found.by_limit_band])

    @strawberry.field(extensions=requires(P.REPORT_READ),
                      description="DSO, collections and overdue rate by net-days band over "
                                  "[from, to), and payment before against after terms "
                                  "changes in it.")
    async def term_impact_analysis(self, info: CtxInfo, currency: Currency,
                                   from_: OptionalFrom = None, to: OptionalTo = None,
                                   filter: FilterArg = None) -> TermImpactAnalysis:
        found = await insights.term_impact(info.context.principal, currency, from_, to,
                                           report_filter(filter))
        return TermImpactAnalysis(
            currency=found.currency, from_=found.start, to=found.end,
            method=insights.TERM_IMPACT_METHOD, customers=found.customers,
            by_net_days=[TermBand.of(b, found.currency) for b in found.bands],
            term_changes=TermChangeImpact(
                method=insights.TERM_CHANGE_METHOD, customers=found.changed_customers,
                before=TermPeriodFigures.of(found.before),
                after=TermPeriodFigures.of(found.after)))

    @strawberry.field(extensions=requires(P.REPORT_READ),
                      description="A suggested limit per customer from its 90-day peak "
                                  "exposure and payment reliability, within the segment's "
                                  "hard cap, with its reasoning.")
    async def limit_suggestions(self, info: CtxInfo, currency: Currency, first: First = None,
                                after: After = None,
                                filter: FilterArg = None) -> LimitSuggestionConnection:
        size = first if first is not None else info.context.settings.default_page_size
        Window(first=size).check(info.context.settings.max_page_size)
        principal, flt = info.context.principal, report_filter(filter)
        found, more = await insights.limit_suggestions(principal, currency, flt, first=size,
                                                       after=_after(after))
        edges = [Edge(node=LimitSuggestion.of(s), cursor=encode_cursor(s.customer.id))
                 for s in found]
        return LimitSuggestionConnection(
            edges=edges, page_info=PageInfo(
                has_next_page=more, has_previous_page=after is not None,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None),
            currency=currency, method=insights.SUGGESTION_METHOD, _principal=principal,
            _filter=flt)
