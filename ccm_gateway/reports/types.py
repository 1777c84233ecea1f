"""GraphQL for the receivables reports (report:read). A partner principal's figures cover
only its own customers; a customerId it may not read is NOT_FOUND, like a missing one."""

from __future__ import annotations

import uuid
from datetime import datetime
from fractions import Fraction
from typing import Annotated

import strawberry

from ccm_gateway.customer.models import RiskProfile as RiskProfileModel
from ccm_gateway.customer.types import RiskProfile
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
from ccm_gateway.kit.ids import parse_uuid
from ccm_gateway.kit.pagination import (
    Window,
    cursor_id,
    decode_cursor,
    encode_cursor,
    invalid_cursor,
)
from ccm_gateway.principal import Permission as P
from ccm_gateway.principal import Principal
from ccm_gateway.reports import service as reports

strawberry.enum(reports.Interval, name="ReportInterval",
                description="WEEK: ISO weeks from Monday 00:00 UTC; MONTH: calendar months "
                            "in UTC.")
ReportInterval = reports.Interval

Decimal2 = str  # a decimal string with two decimals, rounded half-even, e.g. "45.17"


def _d(value: Fraction | None) -> str | None:
    return reports.rounded(value)


@strawberry.input(description="Which customers a report covers; each field narrows it. A "
                              "partner principal is always narrowed to its own customers.")
class ReportFilter:
    segment: str | None = None
    site_id: strawberry.ID | None = strawberry.field(
        default=None, description="Invoices of this site (aging, DSO, compliance); the "
                                  "site's sub-limits (utilisation). Not for alert frequency.")
    risk_profile: RiskProfile | None = None
    partner_id: str | None = strawberry.field(
        default=None, description="Customers of this partner portal.")
    customer_id: strawberry.ID | None = strawberry.field(
        default=None, description="One customer; NOT_FOUND when the caller cannot see it.")

    def parsed(self) -> reports.ReportFilter:
        return reports.ReportFilter(
            segment=self.segment,
            site_id=parse_uuid(self.site_id, "filter.siteId") if self.site_id else None,
            risk_profile=(RiskProfileModel(self.risk_profile.value)
                          if self.risk_profile else None),
            partner_id=self.partner_id,
            customer_id=(parse_uuid(self.customer_id, "filter.customerId")
                         if self.customer_id else None))


def _cursor(after: str | None) -> tuple[uuid.UUID, str] | None:
    """A customer aging cursor: ``encode_cursor(customer id, currency)``; anything the
    server did not issue is ``invalid_cursor("after")``."""
    if after is None:
        return None
    customer_id, currency = decode_cursor(after, 2, "after")
    if not (len(currency) == 3 and currency.isascii() and currency.isupper()):
        raise invalid_cursor("after")
    return cursor_id(customer_id, uuid.UUID, "after"), currency


def report_filter(value: ReportFilter | None) -> reports.ReportFilter:
    return value.parsed() if value else reports.ReportFilter()


@strawberry.type(description="What was owed in one currency, by days past due (by due date; "
                             "a started day counts: due 30 days and a second ago is 31).")
class AgingBuckets:
    currency: str = strawberry.field(description="The ISO 4217 code of every amount here.")
    current: Money = strawberry.field(description="Not yet due.")
    days_1_to_30: Money = strawberry.field(description="1 to 30 days past due.")
    days_31_to_60: Money = strawberry.field(description="31 to 60 days past due.")
    days_61_to_90: Money = strawberry.field(description="61 to 90 days past due.")
    days_over_90: Money = strawberry.field(description="More than 90 days past due.")
    past_due: Money = strawberry.field(description="Every bucket but current.")
    total: Money = strawberry.field(description="Everything owed, due or not.")
    invoices: int = strawberry.field(description="Invoices with something owed.")
    customers: int = strawberry.field(description="Customers with something owed.")

    @classmethod
    def of(cls, b: reports.AgingBuckets) -> AgingBuckets:
        c = b.currency
        return cls(currency=c, current=Money.of(b.current_minor, c),
                   days_1_to_30=Money.of(b.days_1_30_minor, c),
                   days_31_to_60=Money.of(b.days_31_60_minor, c),
                   days_61_to_90=Money.of(b.days_61_90_minor, c),
                   days_over_90=Money.of(b.days_over_90_minor, c),
                   past_due=Money.of(b.past_due_minor, c), total=Money.of(b.total_minor, c),
                   invoices=b.invoices, customers=b.customers)


@strawberry.type(description="One customer's aging in one currency.")
class CustomerAging:
    customer_id: strawberry.ID = strawberry.field(description="The customer's id.")
    customer_name: str = strawberry.field(description="The customer's name.")
    aging: AgingBuckets = strawberry.field(description="What it owed, by days past due.")


@strawberry.type(description="Receivables by days past due as of an instant: invoices issued "
                             "before it, less allocations and credit notes before it.")
class AgingReport:
    as_of: datetime = strawberry.field(description="The instant the report is as of.")
    portfolio: list[AgingBuckets] = strawberry.field(description="One entry per currency.")
    _principal: strawberry.Private[Principal]
    _filter: strawberry.Private[reports.ReportFilter]

    @strawberry.field(description="Per customer and currency, in customer id and currency "
                                  "order (forward only: first and after).")
    async def customers(self, info: CtxInfo, first: First = None,
                        after: After = None) -> Connection[CustomerAging]:
        size = first if first is not None else info.context.settings.default_page_size
        Window(first=size).check(info.context.settings.max_page_size)
        rows, more = await reports.aging_by_customer(
            self._principal, self.as_of, self._filter, first=size, after=_cursor(after))
        edges = [Edge(node=CustomerAging(customer_id=strawberry.ID(str(r.customer_id)),
                                         customer_name=r.customer_name,
                                         aging=AgingBuckets.of(r.buckets)),
                      cursor=encode_cursor(r.customer_id, r.buckets.currency)) for r in rows]
        return Connection(edges=edges, page_info=PageInfo(
            has_next_page=more, has_previous_page=after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None))


@strawberry.type(description="Credit sales of one calendar month walking back from the "
                             "period's end (the count-back method's input).")
class SalesMonth:
    start: datetime = strawberry.field(description="The month's start, included.")
    end: datetime = strawberry.field(description="The month's end, excluded.")
    credit_sales: Money = strawberry.field(description="Invoiced in the month, less voids.")


@strawberry.type(description="DSO of one currency. Ratios are decimal strings with two "
                             "decimals (half-even); null without credit sales in the period.")
class DsoFigures:
    currency: str = strawberry.field(description="The ISO 4217 code of every amount here.")
    days_in_period: Decimal2 = strawberry.field(description="(to - from) in days, exactly.")
    receivables: Money = strawberry.field(description="AR as of the period's end.")
    current_receivables: Money = strawberry.field(
        description="The part of AR not yet due at the period's end.")
    credit_sales: Money = strawberry.field(
        description="Totals of the invoices issued in the period, less what voids before its "
                    "end credited on them.")
    sales_invoices: int = strawberry.field(description="Invoices issued in the period.")
    receivables_invoices: int = strawberry.field(description="Invoices owed at the end.")
    receivables_customers: int = strawberry.field(description="Customers owing at the end.")
    simple: Decimal2 | None = strawberry.field(
        description="receivables / creditSales * daysInPeriod.")
    count_back: Decimal2 | None = strawberry.field(
        description="Days of the latest months' credit sales that the AR amounts to; null "
                    "when 36 months do not explain it.")
    best_possible: Decimal2 | None = strawberry.field(
        description="currentReceivables / creditSales * daysInPeriod.")
    average_days_delinquent: Decimal2 | None = strawberry.field(
        description="simple - bestPossible.")
    months: list[SalesMonth] = strawberry.field(
        description="The count-back walk's months, newest first, until the AR ran out.")

    @classmethod
    def of(cls, f: reports.DsoFigures) -> DsoFigures:
        c = f.currency
        # Only the months the walk used (and the first beyond, if any) are worth showing.
        remaining, shown = f.receivables_minor, []
        for m in f.months:
            if remaining <= 0:
                break
            shown.append(SalesMonth(start=m.start, end=m.end,
                                    credit_sales=Money.of(m.sales_minor, c)))
            remaining -= m.sales_minor
        return cls(currency=c, days_in_period=reports.rounded(f.days_in_period) or "0.00",
                   receivables=Money.of(f.receivables_minor, c),
                   current_receivables=Money.of(f.current_receivables_minor, c),
                   credit_sales=Money.of(f.credit_sales_minor, c),
                   sales_invoices=f.sales_invoices,
                   receivables_invoices=f.receivables_invoices,
                   receivables_customers=f.receivables_customers,
                   simple=_d(f.simple), count_back=_d(f.count_back),
                   best_possible=_d(f.best_possible),
                   average_days_delinquent=_d(f.average_days_delinquent), months=shown)


@strawberry.type(description="Days sales outstanding for [from, to), read as of to.")
class DsoReport:
    from_: datetime = strawberry.field(name="from", description="The period's start, included.")
    to: datetime = strawberry.field(description="The period's end, excluded.")
    figures: list[DsoFigures] = strawberry.field(description="One entry per currency.")


@strawberry.type(description="Term compliance of the invoices of one currency due in the "
                             "period and not voided before its end.")
class TermCompliance:
    currency: str = strawberry.field(description="The ISO 4217 code of every amount here.")
    invoices: int = strawberry.field(description="Invoices due in the period.")
    customers: int = strawberry.field(description="Customers those invoices belong to.")
    paid_on_time: int = strawberry.field(description="Paid in full by the due date.")
    paid_late: int = strawberry.field(description="Paid in full after it, before the end.")
    unpaid: int = strawberry.field(description="Not paid in full before the end.")
    share_paid_on_time_percent: Decimal2 | None = strawberry.field(
        description="paidOnTime / invoices * 100.")
    amount_due: Money = strawberry.field(description="The totals of those invoices.")
    amount_paid_on_time: Money = strawberry.field(
        description="What was allocated to them by their due dates.")
    share_amount_on_time_percent: Decimal2 | None = strawberry.field(
        description="amountPaidOnTime / amountDue * 100.")
    average_days_late: Decimal2 | None = strawberry.field(
        description="Over the invoices paid late; a started day counts.")

    @classmethod
    def of(cls, c: reports.Compliance) -> TermCompliance:
        return cls(currency=c.currency, invoices=c.invoices, customers=c.customers,
                   paid_on_time=c.paid_on_time, paid_late=c.paid_late, unpaid=c.unpaid,
                   share_paid_on_time_percent=_d(c.share_paid_on_time),
                   amount_due=Money.of(c.amount_due_minor, c.currency),
                   amount_paid_on_time=Money.of(c.amount_paid_on_time_minor, c.currency),
                   share_amount_on_time_percent=_d(c.share_amount_on_time),
                   average_days_late=_d(c.average_days_late))


@strawberry.type(description="Term compliance for [from, to): invoices by due date.")
class TermComplianceReport:
    from_: datetime = strawberry.field(name="from", description="The period's start, included.")
    to: datetime = strawberry.field(description="The period's end, excluded.")
    figures: list[TermCompliance] = strawberry.field(description="One entry per currency.")


@strawberry.type(description="Customers in one utilisation bucket.")
class UtilisationBucket:
    bucket: str = strawberry.field(
        description="FROM_0_TO_10 ... FROM_90_TO_100 (exposure in [10 i %, 10 (i+1) %) of "
                    "the limit; the last includes 100 %, a credit balance counts in the "
                    "first), OVER_100, NO_LIMIT (a limit of 0).")
    customers: int = strawberry.field(description="Customers in the bucket.")


@strawberry.type(description="Exposure (posted + held) over limit, now, per customer.")
class UtilisationReport:
    buckets: list[UtilisationBucket] = strawberry.field(
        description="Every bucket, empty ones included.")
    customers: int = strawberry.field(description="Customers counted (sub-limits with siteId).")


@strawberry.type(description="Credit alerts raised in one week or month.")
class CreditAlertPeriod:
    start: datetime = strawberry.field(description="The period's start, included.")
    end: datetime = strawberry.field(description="The period's end, excluded.")
    breaches: int = strawberry.field(description="credit.breach alerts.")
    thresholds: int = strawberry.field(description="credit.threshold alerts.")
    customers: int = strawberry.field(description="Customers with at least one of them.")


FromArg = Annotated[datetime, strawberry.argument(name="from",
                                                  description="The period's start, included.")]
ToArg = Annotated[datetime, strawberry.argument(description="The period's end, excluded.")]
FilterArg = Annotated[ReportFilter | None, strawberry.argument(
    description="Which customers; all the caller may see without one.")]


@strawberry.type
class ReportsQuery:
    @strawberry.field(extensions=requires(P.REPORT_READ),
                      description="Aging of receivables as of asOf (default now).")
    async def aging_report(self, info: CtxInfo, as_of: datetime | None = None,
                           filter: FilterArg = None) -> AgingReport:
        principal, flt = info.context.principal, report_filter(filter)
        moment = reports.as_of_or_now(as_of)
        portfolio = await reports.aging(principal, moment, flt)
        return AgingReport(as_of=moment, portfolio=[AgingBuckets.of(b) for b in portfolio],
                           _principal=principal, _filter=flt)

    @strawberry.field(extensions=requires(P.REPORT_READ),
                      description="DSO for [from, to): simple, count-back, best possible and "
                                  "average days delinquent, per currency.")
    async def dso_report(self, info: CtxInfo, from_: FromArg, to: ToArg,
                         currency: str | None = None, filter: FilterArg = None) -> DsoReport:
        figures = await reports.dso(info.context.principal, from_, to, report_filter(filter),
                                    currency)
        start, end = reports.check_period(from_, to)
        return DsoReport(from_=start, to=end, figures=[DsoFigures.of(f) for f in figures])

    @strawberry.field(extensions=requires(P.REPORT_READ),
                      description="Term compliance of the invoices due in [from, to).")
    async def term_compliance_report(self, info: CtxInfo, from_: FromArg, to: ToArg,
                                     filter: FilterArg = None) -> TermComplianceReport:
        figures = await reports.term_compliance(info.context.principal, from_, to,
                                                report_filter(filter))
        start, end = reports.check_period(from_, to)
        return TermComplianceReport(from_=start, to=end,
                                    figures=[TermCompliance.of(c) for c in figures])

    @strawberry.field(extensions=requires(P.REPORT_READ),
                      description="How many customers are at which share of their limit.")
    async def utilisation_report(self, info: CtxInfo,
                                 filter: FilterArg = None) -> UtilisationReport:
        found = await reports.utilisation(info.context.principal, report_filter(filter))
        return UtilisationReport(
            buckets=[UtilisationBucket(bucket=k, customers=v) for k, v in found.buckets.items()],
            customers=found.customers)

    @strawberry.field(extensions=requires(P.REPORT_READ),
                      description="credit.breach and credit.threshold alerts per week or "
                                  "month of [from, to).")
    async def credit_alert_frequency(self, info: CtxInfo, from_: FromArg, to: ToArg,
                                     interval: ReportInterval = ReportInterval.MONTH,
                                     filter: FilterArg = None) -> list[CreditAlertPeriod]:
        found = await reports.credit_alert_frequency(info.context.principal, from_, to,
                                                     interval, report_filter(filter))
        return [CreditAlertPeriod(start=p.start, end=p.end,
                                  breaches=p.counts["credit.breach"],
                                  thresholds=p.counts["credit.threshold"],
                                  customers=p.customers) for p in found]

