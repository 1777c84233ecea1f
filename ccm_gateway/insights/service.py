"""Portfolio insights: how payment behaviour goes with risk profile and limit, how payment
terms go with collection, and a suggested limit per customer.

Computed like the receivables reports (``ccm_gateway/reports``): set-based SQL written once
for both dialects, the reports' customer filter and partner narrowing, exact fractions of
integers rounded once. Every insight is in one currency: customers whose credit account is
in it, and their invoices in it. Risk profile, limit and net days are each customer's
current ones, for the figures of any instant or period (their history is not versioned,
apart from the audit log of terms changes that ``term_impact`` reads).

One classification of an invoice as of an instant ``t`` serves every figure (the reports'
``outcome_sql``): on time (paid in full by its due date), paid late (in full, after it,
before ``t``) or unpaid (not in full before ``t``); *overdue* is late or unpaid; days late
count a started day, up to the payment or, for an unpaid one, up to ``t``."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from fractions import Fraction
from typing import Any

from ccm_gateway.approval import scaling
from ccm_gateway.customer.models import Customer, RiskProfile
from ccm_gateway.errors import BadInput
from ccm_gateway.kit.money import currency_exponent, format_minor
from ccm_gateway.kit.timestamps import check_aware
from ccm_gateway.ledger.models import CreditAccount
from ccm_gateway.ledger.service import SET_TERMS_ACTION
from ccm_gateway.policy import caps
from ccm_gateway.principal import Principal
from ccm_gateway.reports.service import (
    Outcome,
    ReportFilter,
    aging_sql,
    check_period,
    credit_sales_sql,
    customer_scope,
    days_between,
    months_back,
    outcome_sql,
    ratio,
)
from ccm_gateway.reports.sql import Statement, integer

# A caller's clock may run a little ahead of ours: "now" from it is not the future.
CLOCK_SKEW = timedelta(minutes=1)
# termImpactAnalysis without from: this many months before to.
DEFAULT_PERIOD_MONTHS = 12
# Limit bands' lower edges in the currency's major unit, after "unrated" (a limit of 0).
LIMIT_BAND_EDGES = (0, 10_000, 50_000, 250_000)
UNRATED = "unrated"
# Net-days bands: (from, to), both included; None: open.
NET_DAYS_BANDS: tuple[tuple[int, int | None], ...] = (
    (0, 15), (16, 30), (31, 45), (46, 60), (61, None))

CORRELATION_METHOD = (
    "Invoices in the currency due before asOf (and not voided before it) of the customers "
    "whose credit account is in it, grouped by each customer's current risk profile and "
    "credit limit. On time: paid in full by the due date; overdue: paid late, or still "
    "unpaid at asOf; days late count a started day, up to the payment or asOf.")
TERM_IMPACT_METHOD = (
    "Customers grouped by their current net days. Per band over [from, to): DSO = "
    "receivables at to / credit sales of the period x its days (the DSO report's simple "
    "DSO); collected = payments applied to invoices in the period; overdue rate = share of "
    "the invoices due in the period paid late or unpaid at to.")
TERM_CHANGE_METHOD = (
    "Customers whose net days changed in [from, to) (setCreditTerms, audited as "
    f"{SET_TERMS_ACTION}). Each one's first change splits its invoices issued in the period "
    "into before and after it; those due before to are counted, with their own net days.")


def _now() -> datetime:
    return datetime.now(UTC)


def check_currency(currency: str) -> int:
    """The currency's exponent; BAD_USER_INPUT on ``currency`` for an unknown code."""
    return currency_exponent(currency, field="currency")


def past_instant(value: datetime | None, field: str) -> datetime:
    """``value`` in UTC (now when None); BAD_USER_INPUT naming ``field`` when it has no UTC
    offset or lies in the future: insights describe what has happened."""
    now = _now()
    if value is None:
        return now
    check_aware(value, field)
    if value > now + CLOCK_SKEW:
        raise BadInput(f"{field} ({value.isoformat()}) is in the future: insights describe "
                       "what has happened", field=field)
    return value.astimezone(UTC)


# --- payment behaviour by risk profile and limit band ----------------------------------------


@dataclass(frozen=True, slots=True)
class PaymentBehaviour:
    """One group's customers and how their invoices due by the instant were paid."""

    group: str
    customers: int = 0
    invoices: int = 0
    on_time: int = 0
    late: int = 0
    unpaid: int = 0
    days_late_total: int = 0  # over the late and the unpaid ones

    @property
    def overdue(self) -> int:
        return self.late + self.unpaid

    @property
    def on_time_rate(self) -> Fraction | None:
        return ratio(self.on_time, self.invoices)

    @property
    def overdue_rate(self) -> Fraction | None:
        return ratio(self.overdue, self.invoices)

    @property
    def average_days_late(self) -> Fraction | None:
        return ratio(self.days_late_total, self.overdue)


@dataclass(frozen=True, slots=True)
class Correlation:
    currency: str
    as_of: datetime
    customers: int
    by_risk_profile: list[PaymentBehaviour]
    by_limit_band: list[PaymentBehaviour]


def _grouped(minor: int, currency: str) -> str:
    """An amount with thousands separators, for people: 10000000 USD -> "100,000.00"."""
    whole, dot, fraction = format_minor(minor, currency).partition(".")
    return f"{int(whole):,}{dot}{fraction}"


def limit_band_labels(currency: str) -> list[str]:
    """"unrated" (a limit of 0), then each band from its edge to one minor unit below the
    next: "0.01-9,999.99", "10,000-49,999.99", ..., "250,000+"."""
    unit = 10 ** check_currency(currency)
    labels = [UNRATED]
    edges = [max(edge * unit, 1) for edge in LIMIT_BAND_EDGES]
    for k, low in enumerate(edges):
        start = _grouped(low, currency) if k == 0 else f"{LIMIT_BAND_EDGES[k]:,}"
        if k + 1 < len(edges):
            labels.append(f"{start}-{_grouped(edges[k + 1] - 1, currency)}")
        else:
            labels.append(f"{start}+")
    return labels


def _band_case(stmt: Statement, column: str, uppers: list[int]) -> str:
    """The index of the band ``column`` falls in: band k holds values up to ``uppers[k]``
    (included), the last band everything above."""
    whens = " ".join(f"WHEN {column} <= {stmt.arg(upper)} THEN {k}"
                     for k, upper in enumerate(uppers))
    return f"CASE {whens} ELSE {len(uppers)} END"


def _judged_sql(seen: Outcome) -> str:
    """The sums over invoices ``i`` that the behaviour figures are made of."""
    return f"""COUNT(*) AS invoices, SUM(i.net_days) AS net_days,
    SUM(CASE WHEN {seen.on_time} THEN 1 ELSE 0 END) AS on_time,
    SUM(CASE WHEN {seen.late} THEN 1 ELSE 0 END) AS late,
    SUM(CASE WHEN {seen.unpaid} THEN 1 ELSE 0 END) AS unpaid,
    SUM(CASE WHEN {seen.late} THEN {seen.days_late}
             WHEN {seen.unpaid} THEN {seen.days_overdue} ELSE 0 END) AS days_late"""


async def risk_profile_correlation(principal: Principal, currency: str,
                                   as_of: datetime | None,
                                   flt: ReportFilter) -> Correlation:
    """Payment behaviour of the invoices due before ``as_of`` (default now), by the
    customers' risk profile and by their limit band."""
    exponent = check_currency(currency)
    moment = past_instant(as_of, "asOf")
    stmt = Statement()
    scope = await customer_scope(stmt, principal, flt, site_column=None)
    cur, t = stmt.arg(currency), stmt.arg(moment)
    unit = 10**exponent
    # Band 0 is a limit of 0 ("unrated"); band k holds limits below edge k's next one.
    band = _band_case(stmt, "a.credit_limit_minor",
                      [0] + [edge * unit - 1 for edge in LIMIT_BAND_EDGES[1:]])
    seen = outcome_sql(stmt, moment)
    rows = await stmt.rows(f"""
WITH scoped AS (
  SELECT c.id, c.risk_profile, {band} AS band
  FROM customer c JOIN credit_account a ON a.customer_id = c.id
  WHERE a.currency = {cur} AND {scope}
), judged AS (
  SELECT i.customer_id, {_judged_sql(seen)}
  FROM invoice i JOIN scoped s ON s.id = i.customer_id
  WHERE i.currency = {cur} AND i.due_at < {t} AND i.issued_at < {t} AND {seen.not_voided}
  GROUP BY i.customer_id
), per AS (
  SELECT s.risk_profile, s.band, j.invoices, j.on_time, j.late, j.unpaid, j.days_late
  FROM scoped s LEFT JOIN judged j ON j.customer_id = s.id
)
SELECT 'risk' AS dimension, risk_profile AS grp, COUNT(*) AS customers,
  SUM(invoices) AS invoices, SUM(on_time) AS on_time, SUM(late) AS late,
  SUM(unpaid) AS unpaid, SUM(days_late) AS days_late
FROM per GROUP BY risk_profile
UNION ALL
SELECT 'band', CAST(band AS TEXT), COUNT(*), SUM(invoices), SUM(on_time), SUM(late),
  SUM(unpaid), SUM(days_late)
FROM per GROUP BY band""")  # noqa: S608
    found = {(r["dimension"], str(r["grp"])): r for r in rows}

    def named(key: tuple[str, str], group: str) -> PaymentBehaviour:
        if (r := found.get(key)) is None:
            return PaymentBehaviour(group)
        return PaymentBehaviour(
            group, customers=integer(r["customers"]), invoices=integer(r["invoices"]),
            on_time=integer(r["on_time"]), late=integer(r["late"]),
            unpaid=integer(r["unpaid"]), days_late_total=integer(r["days_late"]))

    profiles = [named(("risk", str(p)), p.name) for p in RiskProfile]
    bands = [named(("band", str(k)), label)
             for k, label in enumerate(limit_band_labels(currency))]
    return Correlation(currency=currency, as_of=moment,
                       customers=sum(p.customers for p in profiles),
                       by_risk_profile=profiles, by_limit_band=bands)


# --- term impact -------------------------------------------------------------------------------


def net_days_label(low: int, high: int | None) -> str:
    return f"{low}+" if high is None else f"{low}-{high}"


@dataclass(frozen=True, slots=True)
class TermBand:
    """The customers whose net days are in [net_days_from, net_days_to], over the period."""

    net_days_from: int
    net_days_to: int | None
    customers: int
    receivables_minor: int  # owed at the period's end
    credit_sales_minor: int  # invoiced in the period, less voids before its end
    collected_minor: int  # payments applied to their invoices in the period
    invoices_due: int  # due in the period, not voided before its end
    overdue: int  # of those, paid late or unpaid at the end
    days_in_period: Fraction

    @property
    def band(self) -> str:
        return net_days_label(self.net_days_from, self.net_days_to)

    @property
    def dso(self) -> Fraction | None:
        return ratio(self.receivables_minor * self.days_in_period, self.credit_sales_minor)

    @property
    def overdue_rate(self) -> Fraction | None:
        return ratio(self.overdue, self.invoices_due)


@dataclass(frozen=True, slots=True)
class TermPeriod:
    """Invoices on one side of the customers' terms changes."""

    invoices: int = 0
    net_days_total: int = 0
    on_time: int = 0
    late: int = 0
    unpaid: int = 0
    days_late_total: int = 0

    @property
    def average_net_days(self) -> Fraction | None:
        return ratio(self.net_days_total, self.invoices)

    @property
    def on_time_rate(self) -> Fraction | None:
        return ratio(self.on_time, self.invoices)

    @property
    def average_days_late(self) -> Fraction | None:
        return ratio(self.days_late_total, self.late + self.unpaid)


@dataclass(frozen=True, slots=True)
class TermImpact:
    currency: str
    start: datetime
    end: datetime
    customers: int
    bands: list[TermBand]
    changed_customers: int
    before: TermPeriod
    after: TermPeriod


def _scoped_sql(stmt: Statement, scope: str, currency: str, extra: str = "") -> str:
    """The CTE ``scoped``: the customers covered (account in ``currency``, within
    ``scope``), with ``extra`` columns."""
    return f"""scoped AS (
  SELECT c.id{extra}
  FROM customer c JOIN credit_account a ON a.customer_id = c.id
  WHERE a.currency = {stmt.arg(currency)} AND {scope})"""  # noqa: S608


async def term_impact(principal: Principal, currency: str, start: datetime | None,
                      end: datetime | None, flt: ReportFilter) -> TermImpact:
    """DSO, collections and overdue rate by net-days band over [start, end) (default: the
    twelve months to now), and payment before against after the terms changes in it."""
    check_currency(currency)
    end = past_instant(end, "to")
    start, end = check_period(months_back(end, DEFAULT_PERIOD_MONTHS) if start is None
                              else start, end)
    bands = await _term_bands(principal, currency, start, end, flt)
    changed, before, after = await _term_changes(principal, currency, start, end, flt)
    return TermImpact(currency=currency, start=start, end=end,
                      customers=sum(b.customers for b in bands), bands=bands,
                      changed_customers=changed, before=before, after=after)


async def _term_bands(principal: Principal, currency: str, start: datetime, end: datetime,
                      flt: ReportFilter) -> list[TermBand]:
    stmt = Statement()
    scope = await customer_scope(stmt, principal, flt, site_column=None)
    band = _band_case(stmt, "a.net_days", [high for _, high in NET_DAYS_BANDS[:-1]
                                          if high is not None])
    cur, lo, hi = stmt.arg(currency), stmt.arg(start), stmt.arg(end)
    seen = outcome_sql(stmt, end)
    owed = aging_sql(stmt, end, "c.id IN (SELECT id FROM scoped)", "o.customer_id, o.currency")
    rows = await stmt.rows(f"""
WITH {_scoped_sql(stmt, scope, currency, f", {band} AS band")},
ar AS (
  SELECT x.customer_id, x.current_minor + x.days_1_30_minor + x.days_31_60_minor
    + x.days_61_90_minor + x.days_over_90_minor AS owed
  FROM ({owed}) x WHERE x.currency = {cur}
), sales AS (
  SELECT i.customer_id, SUM({credit_sales_sql(stmt, end)}) AS sold
  FROM invoice i JOIN scoped s ON s.id = i.customer_id
  WHERE i.currency = {cur} AND i.issued_at >= {lo} AND i.issued_at < {hi}
  GROUP BY i.customer_id
), collected AS (
  SELECT i.customer_id, SUM(pa.amount_minor) AS paid
  FROM payment_allocation pa JOIN invoice i ON i.id = pa.invoice_id
  JOIN scoped s ON s.id = i.customer_id
  WHERE i.currency = {cur} AND pa.created_at >= {lo} AND pa.created_at < {hi}
  GROUP BY i.customer_id
), due AS (
  SELECT i.customer_id, COUNT(*) AS invoices,
    SUM(CASE WHEN ({seen.late}) OR {seen.unpaid} THEN 1 ELSE 0 END) AS overdue
  FROM invoice i JOIN scoped s ON s.id = i.customer_id
  WHERE i.currency = {cur} AND i.due_at >= {lo} AND i.due_at < {hi} AND {seen.not_voided}
  GROUP BY i.customer_id
)
SELECT s.band, COUNT(*) AS customers, SUM(ar.owed) AS owed, SUM(sales.sold) AS sold,
  SUM(collected.paid) AS paid, SUM(due.invoices) AS invoices, SUM(due.overdue) AS overdue
FROM scoped s
LEFT JOIN ar ON ar.customer_id = s.id
LEFT JOIN sales ON sales.customer_id = s.id
LEFT JOIN collected ON collected.customer_id = s.id
LEFT JOIN due ON due.customer_id = s.id
GROUP BY s.band""")  # noqa: S608
    by_band = {int(r["band"]): r for r in rows}
    days = days_between(start, end)
    found = []
    for k, (low, high) in enumerate(NET_DAYS_BANDS):
        r: dict[str, Any] = by_band.get(k, {})
        found.append(TermBand(
            net_days_from=low, net_days_to=high, customers=integer(r.get("customers")),
            receivables_minor=integer(r.get("owed")), credit_sales_minor=integer(r.get("sold")),
            collected_minor=integer(r.get("paid")), invoices_due=integer(r.get("invoices")),
            overdue=integer(r.get("overdue")), days_in_period=days))
    return found


async def _term_changes(principal: Principal, currency: str, start: datetime, end: datetime,
                        flt: ReportFilter) -> tuple[int, TermPeriod, TermPeriod]:
    stmt = Statement()
    scope = await customer_scope(stmt, principal, flt, site_column=None)
    cur, lo, hi = stmt.arg(currency), stmt.arg(start), stmt.arg(end)
    seen = outcome_sql(stmt, end)
    action, kind = stmt.arg(SET_TERMS_ACTION), stmt.arg("credit_account")
    # The audit log names the customer by its id's text (object_id).
    rows = await stmt.rows(f"""
WITH {_scoped_sql(stmt, scope, currency)},
changes AS (
  SELECT s.id AS customer_id, MIN(ae.created_at) AS changed_at
  FROM audit_event ae JOIN scoped s ON ae.object_id = CAST(s.id AS TEXT)
  WHERE ae.action = {action} AND ae.object_type = {kind}
    AND ae.created_at >= {lo} AND ae.created_at < {hi}
    AND {stmt.json_int("ae.before", "net_days")} <> {stmt.json_int("ae.after", "net_days")}
  GROUP BY s.id
)
SELECT -1 AS side, COUNT(*) AS invoices, 0 AS net_days, 0 AS on_time, 0 AS late,
  0 AS unpaid, 0 AS days_late
FROM changes
UNION ALL
SELECT CASE WHEN i.issued_at < ch.changed_at THEN 0 ELSE 1 END, {_judged_sql(seen)}
FROM changes ch JOIN invoice i ON i.customer_id = ch.customer_id
WHERE i.currency = {cur} AND i.issued_at >= {lo} AND i.issued_at < {hi}
  AND i.due_at < {hi} AND {seen.not_voided}
GROUP BY CASE WHEN i.issued_at < ch.changed_at THEN 0 ELSE 1 END""")  # noqa: S608
    sides = {int(r["side"]): r for r in rows}
    periods = [TermPeriod(
        invoices=integer(r["invoices"]), net_days_total=integer(r["net_days"]),
        on_time=integer(r["on_time"]), late=integer(r["late"]), unpaid=integer(r["unpaid"]),
        days_late_total=integer(r["days_late"])) if (r := sides.get(k)) else TermPeriod()
        for k in (0, 1)]
    return integer(sides[-1]["invoices"]), periods[0], periods[1]


# --- limit suggestions -------------------------------------------------------------------------


class Change(StrEnum):
    RAISE = "raise"
    LOWER = "lower"
    KEEP = "keep"


# Headroom over the 90-day peak by the share of debts paid on time: the first whose
# minimum the share reaches; below them all (or with no debts due), none.
HEADROOM: tuple[tuple[Fraction, Fraction], ...] = (
    (Fraction(90, 100), Fraction(3, 2)), (Fraction(75, 100), Fraction(5, 4)))
NO_HEADROOM = Fraction(1)
# Suggestions are whole hundreds of the currency's major unit, rounded up.
STEP_MAJOR = 100
# A suggestion within this share of the current limit keeps it.
KEEP_WITHIN = Fraction(5, 100)

SUGGESTION_METHOD = (
    f"Suggested limit = peak exposure of the last {scaling.WINDOW.days} days (the ledger's "
    "balance replayed over the window, or today's balance plus holds if higher) x headroom: "
    "1.5x when at least 90 % of the debts due in the window were paid on time (first in, "
    "first out, by their net days), 1.25x at 75 %, else 1.0x; rounded up to whole hundreds "
    "of the currency, never above the segment's hard cap. Within 5 % of the current limit: "
    "KEEP.")


@dataclass(frozen=True, slots=True)
class Suggestion:
    customer: Customer
    account: CreditAccount
    peak_exposure_minor: int
    debts_due: int
    debts_on_time: int
    factor: Fraction
    suggested_limit_minor: int
    cap_minor: int | None
    change: Change
    reasoning: str

    @property
    def current_limit_minor(self) -> int:
        return self.account.credit_limit_minor

    @property
    def on_time_share(self) -> Fraction | None:
        return ratio(self.debts_on_time, self.debts_due)


def headroom(share: Fraction | None) -> Fraction:
    for minimum, factor in HEADROOM:
        if share is not None and share >= minimum:
            return factor
    return NO_HEADROOM


def _percent(share: Fraction) -> str:
    return f"{round(share * 100)} %"


def _factor(value: Fraction) -> str:
    """1.5x, 1.25x, 1.0x."""
    text = f"{float(value):g}"
    return f"{text}x" if "." in text else f"{text}.0x"


def suggest(customer: Customer, account: CreditAccount, seen: scaling.Behaviour,
            cap_minor: int | None) -> Suggestion:
    """The suggested limit for one customer from its 90-day behaviour (``scaling``'s), with
    a sentence saying why."""
    currency = account.currency
    step = STEP_MAJOR * 10 ** check_currency(currency)

    def money(minor: int) -> str:
        return f"{_grouped(minor, currency)} {currency}"

    share = ratio(seen.debts_on_time, seen.debts_due)
    factor = headroom(share)
    peak = seen.peak_exposure_minor
    # Never below what is owed and held now (the peak includes it already) nor below 0.
    wanted = max(math.ceil(peak * factor), account.posted_balance_minor + account.held_minor, 0)
    rounded = -(-wanted // step) * step
    suggested = rounded if cap_minor is None else min(rounded, cap_minor)
    current = account.credit_limit_minor
    if abs(suggested - current) <= current * KEEP_WITHIN:
        change = Change.KEEP
    else:
        change = Change.RAISE if suggested > current else Change.LOWER

    parts = [f"Peak exposure in the last {scaling.WINDOW.days} days: {money(peak)}."]
    if share is None:
        standing = "No debts fell due in that window, so no headroom"
    elif factor == NO_HEADROOM:
        standing = (f"{seen.debts_on_time} of {seen.debts_due} debts due were paid on time "
                    f"({_percent(share)}, below {_percent(HEADROOM[-1][0])}), so no headroom")
    else:
        standing = (f"{seen.debts_on_time} of {seen.debts_due} debts due were paid on time "
                    f"({_percent(share)}), so headroom")
    parts.append(f"{standing} ({_factor(factor)}): {money(wanted)}, rounded up to whole "
                 f"hundreds: {money(rounded)}.")
    if cap_minor is not None and cap_minor < rounded:
        parts.append(f"The segment's hard cap of {money(cap_minor)} binds.")
    verdict = {Change.KEEP: "within 5 % of", Change.RAISE: "raise from",
               Change.LOWER: "lower from"}[change]
    parts.append(f"Suggested {money(suggested)}: {verdict} the current limit of "
                 f"{money(current)}.")
    return Suggestion(customer=customer, account=account, peak_exposure_minor=peak,
                      debts_due=seen.debts_due, debts_on_time=seen.debts_on_time,
                      factor=factor, suggested_limit_minor=suggested, cap_minor=cap_minor,
                      change=change, reasoning=" ".join(parts))


async def _covered(stmt: Statement, principal: Principal, currency: str,
                   flt: ReportFilter) -> str:
    """FROM and WHERE over the customers whose account is in ``currency``."""
    scope = await customer_scope(stmt, principal, flt, site_column=None)
    return (f"FROM customer c JOIN credit_account a ON a.customer_id = c.id "
            f"WHERE a.currency = {stmt.arg(currency)} AND {scope}")


async def suggestion_customers(principal: Principal, currency: str, flt: ReportFilter) -> int:
    """How many customers ``limit_suggestions`` pages through."""
    check_currency(currency)
    stmt = Statement()
    covered = await _covered(stmt, principal, currency, flt)
    [row] = await stmt.rows(f"SELECT COUNT(*) AS n {covered}")
    return integer(row["n"])


async def limit_suggestions(principal: Principal, currency: str, flt: ReportFilter, *,
                            first: int, after: uuid.UUID | None = None,
                            ) -> tuple[list[Suggestion], bool]:
    """A suggestion for each customer whose account is in ``currency``, in customer id
    order: the ``first`` after ``after``, and whether more follow."""
    check_currency(currency)
    now = _now()
    stmt = Statement()
    where = await _covered(stmt, principal, currency, flt)
    if after is not None:
        where += f" AND c.id > {stmt.arg(after)}"
    rows = await stmt.rows(f"SELECT c.id {where} ORDER BY c.id "
                           f"LIMIT {stmt.arg(first + 1)}")
    ids = [str(r["id"]) for r in rows[:first]]
    customers = {str(c.id): c for c in await Customer.filter(id__in=ids)}
    accounts = {str(a.customer_id): a for a in await CreditAccount.filter(customer_id__in=ids)}
    ordered = [(customers[i], accounts[i]) for i in ids]
    seen = await scaling.recent_behaviour([a for _, a in ordered], now)
    policies = await caps.segment_policies_for([c for c, _ in ordered], currency)
    found = [suggest(c, a, behaviour, policy.hard_cap_minor if policy else None)
             for (c, a), behaviour, policy in zip(ordered, seen, policies, strict=True)]
    return found, len(rows) > first
