"""Receivables reports: aging, DSO, term compliance, utilisation and credit alert frequency.

Each report is one or two set-based statements (GROUP BY over joins, CASE buckets) for the
whole portfolio, never a loop over customers. Money is summed per currency, never across.
Ratios are exact fractions of integers, rounded once, half-even, to two decimals. Every
value a caller sends is a statement parameter; only fixed fragments are formatted in.

As of an instant ``t`` means what had happened before ``t``: invoices issued before it,
allocations created before it, credit notes (voids) dated before it. A period
[from, to) is therefore read as of ``to``."""

from __future__ import annotations

import calendar
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from fractions import Fraction
from typing import Any

from ccm_gateway.customer import service as customer_service
from ccm_gateway.customer.models import RiskProfile
from ccm_gateway.errors import BadInput
from ccm_gateway.kit.money import currency_exponent
from ccm_gateway.kit.timestamps import check_aware
from ccm_gateway.principal import Principal
from ccm_gateway.reports.sql import Statement, integer

DAY = timedelta(days=1)
# Aging bucket edges in days past due; a started day counts: an invoice due 30 days and
# one second ago is 31 days past due.
AGING_EDGES = (30, 60, 90)
# How far back the count-back method walks for the AR it has to explain.
COUNT_BACK_MONTHS = 36
# Most periods a frequency report answers (about eight years of weeks).
MAX_PERIODS = 420
CREDIT_ALERT_KINDS = ("credit.breach", "credit.threshold")


@dataclass(frozen=True, slots=True)
class ReportFilter:
    """Which customers a report covers; every field narrows it further. A partner principal
    is always narrowed to its own customers, whatever ``partner_id`` says."""

    segment: str | None = None
    site_id: uuid.UUID | None = None
    risk_profile: RiskProfile | None = None
    partner_id: str | None = None
    customer_id: uuid.UUID | None = None


async def customer_scope(stmt: Statement, principal: Principal, flt: ReportFilter,
                         *, site_column: str | None) -> str:
    """The WHERE conditions on customer ``c`` (and ``site_column``) for ``flt``, as seen by
    ``principal``. A customer it may not read is NOT_FOUND, like a missing one."""
    conditions = ["1 = 1"]
    if flt.customer_id is not None:
        await customer_service.get_readable_customer(principal, flt.customer_id,
                                                     "filter.customerId")
        conditions.append(f"c.id = {stmt.arg(flt.customer_id)}")
    if principal.partner_id is not None:
        conditions.append(f"c.partner_id = {stmt.arg(principal.partner_id)}")
    if flt.partner_id is not None:
        conditions.append(f"c.partner_id = {stmt.arg(flt.partner_id)}")
    if flt.segment is not None:
        conditions.append(f"c.segment = {stmt.arg(flt.segment)}")
    if flt.risk_profile is not None:
        conditions.append(f"c.risk_profile = {stmt.arg(str(flt.risk_profile))}")
    if flt.site_id is not None:
        if site_column is None:
            raise BadInput("this report cannot be narrowed to a site", field="filter.siteId")
        conditions.append(f"{site_column} = {stmt.arg(flt.site_id)}")
    return " AND ".join(conditions)


def ratio(numerator: int | Fraction, denominator: int | Fraction) -> Fraction | None:
    """numerator / denominator exactly; None when there is nothing to divide by."""
    return None if denominator == 0 else Fraction(numerator) / Fraction(denominator)


def rounded(value: Fraction | None, places: int = 2) -> str | None:
    """``value`` to ``places`` decimals, half-even (exact: ``round`` of a Fraction is), as a
    string such as "12.50"."""
    if value is None:
        return None
    scaled = round(value * 10**places)
    sign = "-" if scaled < 0 else ""
    whole, frac = divmod(abs(scaled), 10**places)
    return f"{sign}{whole}.{frac:0{places}d}" if places else f"{sign}{whole}"


def _utc(value: datetime, field_name: str) -> datetime:
    check_aware(value, field_name)
    return value.astimezone(UTC)


def check_period(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    start, end = _utc(start, "from"), _utc(end, "to")
    if end <= start:
        raise BadInput(f"to ({end.isoformat()}) must be after from ({start.isoformat()})",
                       field="to")
    return start, end


# --- aging -------------------------------------------------------------------------------


@dataclass(slots=True)
class AgingBuckets:
    """What was owed as of the report's instant in one currency, by days past due."""

    currency: str
    current_minor: int = 0  # not yet due
    days_1_30_minor: int = 0
    days_31_60_minor: int = 0
    days_61_90_minor: int = 0
    days_over_90_minor: int = 0
    invoices: int = 0  # invoices with something owed
    customers: int = 0

    @property
    def total_minor(self) -> int:
        return (self.current_minor + self.days_1_30_minor + self.days_31_60_minor
                + self.days_61_90_minor + self.days_over_90_minor)

    @property
    def past_due_minor(self) -> int:
        return self.total_minor - self.current_minor


@dataclass(frozen=True, slots=True)
class CustomerAging:
    customer_id: uuid.UUID
    customer_name: str
    buckets: AgingBuckets


def aging_sql(stmt: Statement, as_of: datetime, scope: str, group: str) -> str:
    """Owed per invoice as of ``as_of``, summed into buckets grouped by ``group``."""
    t = [stmt.arg(as_of) for _ in range(3)]
    edges = [stmt.arg(as_of - days * DAY) for days in AGING_EDGES]
    cur = stmt.arg(as_of)
    return f"""
WITH paid AS (
  SELECT pa.invoice_id, SUM(pa.amount_minor) AS amount
  FROM payment_allocation pa WHERE pa.created_at < {t[0]} GROUP BY pa.invoice_id
), owed AS (
  SELECT i.customer_id, i.currency, i.due_at,
         i.total_minor - COALESCE(p.amount, 0)
           - CASE WHEN i.voided_at IS NOT NULL AND i.voided_at < {t[1]}
                  THEN i.credited_minor ELSE 0 END AS amount
  FROM invoice i
  JOIN customer c ON c.id = i.customer_id
  LEFT JOIN paid p ON p.invoice_id = i.id
  WHERE i.issued_at < {t[2]} AND {scope}
)
SELECT {group},
  SUM(CASE WHEN o.due_at >= {cur} THEN o.amount ELSE 0 END) AS current_minor,
  SUM(CASE WHEN o.due_at < {cur} AND o.due_at >= {edges[0]} THEN o.amount ELSE 0 END)
    AS days_1_30_minor,
  SUM(CASE WHEN o.due_at < {edges[0]} AND o.due_at >= {edges[1]} THEN o.amount ELSE 0 END)
    AS days_31_60_minor,
  SUM(CASE WHEN o.due_at < {edges[1]} AND o.due_at >= {edges[2]} THEN o.amount ELSE 0 END)
    AS days_61_90_minor,
  SUM(CASE WHEN o.due_at < {edges[2]} THEN o.amount ELSE 0 END) AS days_over_90_minor,
  COUNT(*) AS invoices, COUNT(DISTINCT o.customer_id) AS customers
FROM owed o WHERE o.amount <> 0
GROUP BY {group}"""  # noqa: S608


def _buckets(row: dict[str, Any]) -> AgingBuckets:
    return AgingBuckets(
        currency=row["currency"], current_minor=integer(row["current_minor"]),
        days_1_30_minor=integer(row["days_1_30_minor"]),
        days_31_60_minor=integer(row["days_31_60_minor"]),
        days_61_90_minor=integer(row["days_61_90_minor"]),
        days_over_90_minor=integer(row["days_over_90_minor"]),
        invoices=integer(row["invoices"]), customers=integer(row["customers"]))


def as_of_or_now(as_of: datetime | None) -> datetime:
    return datetime.now(UTC) if as_of is None else _utc(as_of, "asOf")


async def aging(principal: Principal, as_of: datetime, flt: ReportFilter) -> list[AgingBuckets]:
    """The portfolio's aging as of ``as_of``, one row per currency."""
    stmt = Statement()
    scope = await customer_scope(stmt, principal, flt, site_column="i.site_id")
    rows = await stmt.rows(aging_sql(stmt, as_of, scope, "o.currency")
                           + " ORDER BY o.currency")
    return [_buckets(r) for r in rows]


async def aging_by_customer(principal: Principal, as_of: datetime, flt: ReportFilter, *,
                            first: int, after: tuple[uuid.UUID, str] | None = None,
                            ) -> tuple[list[CustomerAging], bool]:
    """Each customer's aging as of ``as_of`` (one row per customer and currency), in
    (customer id, currency) order: the ``first`` rows after ``after``, and whether more
    follow."""
    stmt = Statement()
    scope = await customer_scope(stmt, principal, flt, site_column="i.site_id")
    past = ""
    if after is not None:
        scope += f" AND c.id >= {stmt.arg(after[0])}"
        past = (f"WHERE a.customer_id <> {stmt.arg(after[0])} "
                f"OR a.currency > {stmt.arg(after[1])} ")
    sql = aging_sql(stmt, as_of, scope, "o.customer_id, o.currency")
    sql = (f"SELECT a.*, c.name AS customer_name FROM ({sql}) a "  # noqa: S608
           f"JOIN customer c ON c.id = a.customer_id {past}"
           f"ORDER BY a.customer_id, a.currency LIMIT {stmt.arg(first + 1)}")
    rows = await stmt.rows(sql)
    found = [CustomerAging(uuid.UUID(str(r["customer_id"])), r["customer_name"], _buckets(r))
             for r in rows[:first]]
    return found, len(rows) > first


# --- DSO ---------------------------------------------------------------------------------


def months_back(moment: datetime, months: int) -> datetime:
    """``moment`` moved back by whole calendar months; a day the month lacks is its last."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def days_between(start: datetime, end: datetime) -> Fraction:
    return Fraction((end - start) // timedelta(microseconds=1), DAY // timedelta(microseconds=1))


@dataclass(frozen=True, slots=True)
class SalesWindow:
    start: datetime
    end: datetime
    sales_minor: int


def count_back_days(ar_minor: int, months: list[SalesWindow]) -> Fraction | None:
    """Count-back DSO: the AR is explained by the latest months' credit sales, walking back.
    A month whose sales the remaining AR covers adds all its days; the month where the AR
    runs out adds the share of its days that the remaining AR is of its sales. None when
    ``months`` (newest first) do not explain all of the AR."""
    remaining = Fraction(ar_minor)
    days = Fraction(0)
    for month in months:
        if remaining <= 0:
            return days
        length = days_between(month.start, month.end)
        if remaining >= month.sales_minor:
            days += length
            remaining -= month.sales_minor
        else:
            days += length * remaining / month.sales_minor
            remaining = Fraction(0)
    return days if remaining <= 0 else None


@dataclass(slots=True)
class DsoFigures:
    """DSO of one currency for [start, end). Every ratio is None when there were no credit
    sales in the period (the count-back one also when 36 months do not explain the AR)."""

    currency: str
    days_in_period: Fraction
    receivables_minor: int  # AR as of end
    current_receivables_minor: int  # the part not yet due as of end
    credit_sales_minor: int
    sales_invoices: int  # invoices issued in the period
    receivables_invoices: int  # invoices with something owed as of end
    receivables_customers: int
    simple: Fraction | None = None
    count_back: Fraction | None = None
    best_possible: Fraction | None = None
    months: list[SalesWindow] = field(default_factory=list)

    @property
    def average_days_delinquent(self) -> Fraction | None:
        if self.simple is None or self.best_possible is None:
            return None
        return self.simple - self.best_possible


def credit_sales_sql(stmt: Statement, end: datetime) -> str:
    """What invoice ``i`` counts as credit sales in a period read as of ``end``: its total,
    less what a void before ``end`` credited on it (a cancelled invoice is no sale)."""
    voided_before = stmt.arg(end)
    return (f"(i.total_minor - CASE WHEN i.voided_at IS NOT NULL AND i.voided_at < "
            f"{voided_before} THEN i.credited_minor ELSE 0 END)")


def _windows_cte(stmt: Statement, windows: list[tuple[datetime, datetime]]) -> str:
    # k is the window's index, a literal: not a caller's value.
    values = ", ".join(f"({k}, {stmt.time(lo)}, {stmt.time(hi)})"
                       for k, (lo, hi) in enumerate(windows))
    return f"w(k, lo, hi) AS (VALUES {values})"


async def dso(principal: Principal, start: datetime, end: datetime, flt: ReportFilter,
              currency: str | None = None) -> list[DsoFigures]:
    """DSO for [start, end), one entry per currency (or only ``currency``'s).

    Credit sales of a window: the totals of the invoices issued in it, less what voids
    before ``end`` credited on them. Window 0 is the period; windows 1.. are the calendar
    months walking back from ``end`` for the count-back method."""
    start, end = check_period(start, end)
    if currency is not None:
        currency_exponent(currency, field="currency")
    windows = [(start, end)] + [(months_back(end, k), months_back(end, k - 1))
                                for k in range(1, COUNT_BACK_MONTHS + 1)]
    stmt = Statement()
    cte = _windows_cte(stmt, windows)
    scope = await customer_scope(stmt, principal, flt, site_column="i.site_id")
    sold = credit_sales_sql(stmt, end)
    only = f" AND i.currency = {stmt.arg(currency)}" if currency is not None else ""
    sales = await stmt.rows(f"""
WITH {cte}
SELECT w.k, i.currency, SUM({sold}) AS sales_minor, COUNT(*) AS invoices
FROM w JOIN invoice i ON i.issued_at >= w.lo AND i.issued_at < w.hi
JOIN customer c ON c.id = i.customer_id
WHERE {scope}{only}
GROUP BY w.k, i.currency""")  # noqa: S608
    ar = {b.currency: b for b in await aging(principal, end, flt)
          if currency is None or b.currency == currency}
    by_currency: dict[str, dict[int, tuple[int, int]]] = {}
    for row in sales:
        by_currency.setdefault(row["currency"], {})[int(row["k"])] = (
            integer(row["sales_minor"]), integer(row["invoices"]))
    days = days_between(start, end)
    figures = []
    for code in sorted(set(by_currency) | set(ar)):
        per_window = by_currency.get(code, {})
        owed = ar.get(code, AgingBuckets(currency=code))
        sales_minor, sales_invoices = per_window.get(0, (0, 0))
        months = [SalesWindow(lo, hi, per_window.get(k, (0, 0))[0])
                  for k, (lo, hi) in enumerate(windows) if k > 0]
        simple = ratio(owed.total_minor * days, sales_minor)
        best = ratio(owed.current_minor * days, sales_minor)
        figures.append(DsoFigures(
            currency=code, days_in_period=days, receivables_minor=owed.total_minor,
            current_receivables_minor=owed.current_minor, credit_sales_minor=sales_minor,
            sales_invoices=sales_invoices, receivables_invoices=owed.invoices,
            receivables_customers=owed.customers, simple=simple,
            count_back=count_back_days(owed.total_minor, months) if sales_minor else None,
            best_possible=best, months=months))
    return figures


# --- term compliance ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Compliance:
    """Invoices of one currency due in [start, end) and not voided before end."""

    currency: str
    invoices: int
    customers: int
    paid_on_time: int  # paid in full by the due date
    paid_late: int  # paid in full after the due date, before end
    unpaid: int  # not paid in full before end
    amount_due_minor: int
    amount_paid_on_time_minor: int  # allocations made by the due date
    days_late_total: int  # over the invoices paid late; a started day counts

    @property
    def share_paid_on_time(self) -> Fraction | None:
        return ratio(self.paid_on_time * 100, self.invoices)

    @property
    def share_amount_on_time(self) -> Fraction | None:
        return ratio(self.amount_paid_on_time_minor * 100, self.amount_due_minor)

    @property
    def average_days_late(self) -> Fraction | None:
        return ratio(self.days_late_total, self.paid_late)


@dataclass(frozen=True, slots=True)
class Outcome:
    """How invoice ``i`` stood as of an instant, as SQL: each condition is one of the three
    an invoice due before the instant is in, and the days late count a started day."""

    on_time: str  # paid in full by its due date
    late: str  # paid in full after its due date, before the instant
    unpaid: str  # not paid in full before the instant
    days_late: str  # of a late one: from due to paid
    days_overdue: str  # of an unpaid one: from due to the instant
    not_voided: str  # not voided before the instant (a void takes it out of the figures)


def outcome_sql(stmt: Statement, as_of: datetime) -> Outcome:
    """The outcome conditions of invoice ``i`` as of ``as_of`` (one parameter for all)."""
    t = stmt.arg(as_of)

    def days(later: str) -> str:
        return f"(({stmt.seconds_between(later, 'i.due_at')} + 86399) / 86400)"

    return Outcome(
        on_time="i.paid_at IS NOT NULL AND i.paid_at <= i.due_at",
        late=f"i.paid_at IS NOT NULL AND i.paid_at > i.due_at AND i.paid_at < {t}",
        unpaid=f"(i.paid_at IS NULL OR i.paid_at >= {t})",
        days_late=days("i.paid_at"), days_overdue=days(stmt.as_time(t)),
        not_voided=f"(i.voided_at IS NULL OR i.voided_at >= {t})")


async def term_compliance(principal: Principal, start: datetime, end: datetime,
                          flt: ReportFilter) -> list[Compliance]:
    start, end = check_period(start, end)
    stmt = Statement()
    scope = await customer_scope(stmt, principal, flt, site_column="i.site_id")
    lo, hi = stmt.arg(start), stmt.arg(end)
    seen = outcome_sql(stmt, end)
    rows = await stmt.rows(f"""
WITH on_time AS (
  SELECT pa.invoice_id, SUM(pa.amount_minor) AS amount
  FROM payment_allocation pa JOIN invoice iv ON iv.id = pa.invoice_id
  WHERE pa.created_at <= iv.due_at GROUP BY pa.invoice_id
)
SELECT i.currency, COUNT(*) AS invoices, COUNT(DISTINCT i.customer_id) AS customers,
  SUM(CASE WHEN {seen.on_time} THEN 1 ELSE 0 END) AS paid_on_time,
  SUM(CASE WHEN {seen.late} THEN 1 ELSE 0 END) AS paid_late,
  SUM(CASE WHEN {seen.unpaid} THEN 1 ELSE 0 END) AS unpaid,
  SUM(i.total_minor) AS amount_due_minor,
  SUM(COALESCE(o.amount, 0)) AS amount_paid_on_time_minor,
  SUM(CASE WHEN {seen.late} THEN {seen.days_late} ELSE 0 END) AS days_late_total
FROM invoice i
JOIN customer c ON c.id = i.customer_id
LEFT JOIN on_time o ON o.invoice_id = i.id
WHERE i.due_at >= {lo} AND i.due_at < {hi} AND {seen.not_voided} AND {scope}
GROUP BY i.currency ORDER BY i.currency""")  # noqa: S608
    return [Compliance(
        currency=r["currency"], invoices=integer(r["invoices"]),
        customers=integer(r["customers"]), paid_on_time=integer(r["paid_on_time"]),
        paid_late=integer(r["paid_late"]), unpaid=integer(r["unpaid"]),
        amount_due_minor=integer(r["amount_due_minor"]),
        amount_paid_on_time_minor=integer(r["amount_paid_on_time_minor"]),
        days_late_total=integer(r["days_late_total"])) for r in rows]


# --- utilisation -------------------------------------------------------------------------

NO_LIMIT = "NO_LIMIT"
OVER_LIMIT = "OVER_100"
# Bucket i < 10 holds exposure in [10 i %, 10 (i + 1) %) of the limit, except that the last
# one holds exactly 100 % too; a credit balance (exposure below 0) counts in the first.
UTILISATION_BUCKETS = [f"FROM_{10 * i}_TO_{10 * (i + 1)}" for i in range(10)] + [
    OVER_LIMIT, NO_LIMIT]


@dataclass(frozen=True, slots=True)
class Utilisation:
    """Customers per utilisation bucket, now: exposure (posted + held) over the limit; with
    a site, the site's sub-limits at it."""

    buckets: dict[str, int]
    customers: int


async def utilisation(principal: Principal, flt: ReportFilter) -> Utilisation:
    stmt = Statement()
    if flt.site_id is not None:
        source = ("site_limit s JOIN credit_account a ON a.id = s.account_id "
                  "JOIN customer c ON c.id = a.customer_id")
        exposure, limit = "(s.posted_minor + s.held_minor)", "s.limit_minor"
        scope = await customer_scope(stmt, principal, flt, site_column="s.site_id")
    else:
        source = "credit_account a JOIN customer c ON c.id = a.customer_id"
        exposure, limit = "(a.posted_balance_minor + a.held_minor)", "a.credit_limit_minor"
        scope = await customer_scope(stmt, principal, flt, site_column=None)
    # Integer division truncates: 10 * exposure / limit is the tenth of the limit reached.
    rows = await stmt.rows(f"""
SELECT CASE WHEN {limit} <= 0 THEN 11
            WHEN {exposure} > {limit} THEN 10
            WHEN {exposure} <= 0 THEN 0
            WHEN {exposure} * 10 / {limit} > 9 THEN 9
            ELSE {exposure} * 10 / {limit} END AS bucket,
       COUNT(*) AS customers
FROM {source} WHERE {scope} GROUP BY 1""")  # noqa: S608
    counts = dict.fromkeys(UTILISATION_BUCKETS, 0)
    for row in rows:
        counts[UTILISATION_BUCKETS[int(row["bucket"])]] = integer(row["customers"])
    return Utilisation(counts, sum(counts.values()))


# --- credit alert frequency --------------------------------------------------------------


class Interval(StrEnum):
    WEEK = "week"  # ISO weeks, Monday 00:00 UTC
    MONTH = "month"  # calendar months, UTC


def periods(start: datetime, end: datetime, interval: Interval) -> list[tuple[datetime, datetime]]:
    """[start, end) cut at each week's or month's start (the first and last clipped)."""
    day = start.replace(hour=0, minute=0, second=0, microsecond=0)
    edge = (day - timedelta(days=day.weekday()) if interval is Interval.WEEK
            else day.replace(day=1))
    found: list[tuple[datetime, datetime]] = []
    while edge < end:
        following = edge + timedelta(days=7) if interval is Interval.WEEK else months_back(edge, -1)
        lo, hi = max(edge, start), min(following, end)
        if lo < hi:
            found.append((lo, hi))
        if len(found) > MAX_PERIODS:
            raise BadInput(f"at most {MAX_PERIODS} periods: choose a longer interval or a "
                           "shorter span", field="to")
        edge = following
    return found


@dataclass(frozen=True, slots=True)
class AlertPeriod:
    start: datetime
    end: datetime
    counts: dict[str, int]  # per kind
    customers: int  # customers with at least one of them


async def credit_alert_frequency(principal: Principal, start: datetime, end: datetime,
                                 interval: Interval, flt: ReportFilter) -> list[AlertPeriod]:
    """credit.breach and credit.threshold alerts per week or month of [start, end)."""
    start, end = check_period(start, end)
    windows = periods(start, end, interval)
    stmt = Statement()
    cte = _windows_cte(stmt, windows)
    kinds = ", ".join(stmt.arg(k) for k in CREDIT_ALERT_KINDS)
    scope = await customer_scope(stmt, principal, flt, site_column=None)
    # One pass over the matching alerts, counted per kind and in all.
    rows = await stmt.rows(f"""
WITH {cte}, hits AS (
  SELECT w.k, al.kind, al.customer_id
  FROM w JOIN alert al ON al.created_at >= w.lo AND al.created_at < w.hi
  JOIN customer c ON c.id = al.customer_id
  WHERE al.kind IN ({kinds}) AND {scope})
SELECT k, kind, COUNT(*) AS alerts, COUNT(DISTINCT customer_id) AS customers
FROM hits GROUP BY k, kind
UNION ALL
SELECT k, NULL, COUNT(*), COUNT(DISTINCT customer_id) FROM hits GROUP BY k""")  # noqa: S608
    found = [AlertPeriod(lo, hi, dict.fromkeys(CREDIT_ALERT_KINDS, 0), 0)
             for lo, hi in windows]
    customers: dict[int, int] = {}
    for row in rows:
        k = int(row["k"])
        if row["kind"] is None:
            customers[k] = integer(row["customers"])
        else:
            found[k].counts[row["kind"]] = integer(row["alerts"])
    return [AlertPeriod(p.start, p.end, p.counts, customers.get(k, 0))
            for k, p in enumerate(found)]
