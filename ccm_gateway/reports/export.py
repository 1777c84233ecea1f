"""CSV exports of the aging, DSO and term compliance reports, shared by `ccm-gateway report`
and ``GET /reports/{report}.csv``: both hand over their parameters as text and get the
file's text back. The column sets are README's ("CSV export")."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from ccm_gateway.customer.models import RiskProfile
from ccm_gateway.errors import BadInput
from ccm_gateway.kit.ids import parse_uuid
from ccm_gateway.kit.money import format_minor
from ccm_gateway.kit.text import check_text
from ccm_gateway.principal import Permission, Principal
from ccm_gateway.reports import service as reports

REPORTS = ("aging", "dso", "compliance")
PARAMETERS = frozenset({"asOf", "from", "to", "currency", "segment", "siteId", "riskProfile",
                        "partnerId", "customerId"})
AGING_COLUMNS = ["as_of", "customer_id", "customer_name", "currency", "current", "days_1_30",
                 "days_31_60", "days_61_90", "days_over_90", "total", "invoices"]
DSO_COLUMNS = ["from", "to", "currency", "days_in_period", "receivables",
               "current_receivables", "credit_sales", "sales_invoices", "receivables_invoices",
               "receivables_customers", "dso_simple", "dso_count_back", "best_possible_dso",
               "average_days_delinquent"]
COMPLIANCE_COLUMNS = ["from", "to", "currency", "invoices", "customers", "paid_on_time",
                      "paid_late", "unpaid", "share_paid_on_time_percent", "amount_due",
                      "amount_paid_on_time", "share_amount_on_time_percent",
                      "average_days_late"]
# Customers read per statement while writing the aging file.
AGING_BATCH = 1000


def parse_time(text: str, field: str) -> datetime:
    """An ISO 8601 time with its offset, or a date alone: that day's 00:00 UTC."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        value = datetime.fromisoformat(text)
    except ValueError:
        raise BadInput(f"{field} must be an ISO 8601 time such as 2026-03-31T00:00:00Z or a "
                       "date such as 2026-03-31", field=field) from None
    if value.tzinfo is None:
        raise BadInput(f"{field} needs a UTC offset, e.g. 2026-03-31T00:00:00Z", field=field)
    return value


def _filter(params: Mapping[str, str]) -> reports.ReportFilter:
    risk = params.get("riskProfile")
    if risk is not None and risk.lower() not in {r.value for r in RiskProfile}:
        raise BadInput("riskProfile must be one of low, medium, high", field="riskProfile")
    return reports.ReportFilter(
        segment=params.get("segment"),
        site_id=parse_uuid(params["siteId"], "siteId") if params.get("siteId") else None,
        risk_profile=RiskProfile(risk.lower()) if risk else None,
        partner_id=params.get("partnerId"),
        customer_id=(parse_uuid(params["customerId"], "customerId")
                     if params.get("customerId") else None))


def _required(params: Mapping[str, str], name: str) -> datetime:
    if not params.get(name):
        raise BadInput(f"{name} is required", field=name)
    return parse_time(params[name], name)


def _cell(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula is quoted with a leading apostrophe."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _csv(columns: list[str], rows: list[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue()


async def render(principal: Principal, report: str, params: Mapping[str, str]) -> str:
    """The CSV text of ``report`` (aging, dso or compliance) for ``principal``."""
    principal.require(Permission.REPORT_READ)
    if report not in REPORTS:
        raise BadInput(f"unknown report {report!r}: expected one of {', '.join(REPORTS)}",
                       field="report")
    unknown = sorted(set(params) - PARAMETERS)
    if unknown:
        raise BadInput(f"unknown parameter {unknown[0]!r}", field=unknown[0])
    for name, value in params.items():
        check_text(value, name, max_length=200)
    flt = _filter(params)
    if report == "aging":
        as_of = reports.as_of_or_now(parse_time(params["asOf"], "asOf")
                                     if params.get("asOf") else None)
        return await _aging(principal, as_of, flt)
    start, end = _required(params, "from"), _required(params, "to")
    if report == "dso":
        figures = await reports.dso(principal, start, end, flt, params.get("currency"))
        start, end = reports.check_period(start, end)
        return _csv(DSO_COLUMNS, [[
            start.isoformat(), end.isoformat(), f.currency, reports.rounded(f.days_in_period),
            format_minor(f.receivables_minor, f.currency),
            format_minor(f.current_receivables_minor, f.currency),
            format_minor(f.credit_sales_minor, f.currency), f.sales_invoices,
            f.receivables_invoices, f.receivables_customers, reports.rounded(f.simple),
            reports.rounded(f.count_back), reports.rounded(f.best_possible),
            reports.rounded(f.average_days_delinquent)] for f in figures])
    found = await reports.term_compliance(principal, start, end, flt)
    start, end = reports.check_period(start, end)
    return _csv(COMPLIANCE_COLUMNS, [[
        start.isoformat(), end.isoformat(), c.currency, c.invoices, c.customers,
        c.paid_on_time, c.paid_late, c.unpaid, reports.rounded(c.share_paid_on_time),
        format_minor(c.amount_due_minor, c.currency),
        format_minor(c.amount_paid_on_time_minor, c.currency),
        reports.rounded(c.share_amount_on_time), reports.rounded(c.average_days_late)]
        for c in found])


async def _aging(principal: Principal, as_of: datetime, flt: reports.ReportFilter) -> str:
    rows: list[list[Any]] = []
    after = None
    while True:
        batch, more = await reports.aging_by_customer(principal, as_of, flt,
                                                      first=AGING_BATCH, after=after)
        for r in batch:
            b, c = r.buckets, r.buckets.currency
            rows.append([as_of.isoformat(), str(r.customer_id), _cell(r.customer_name), c,
                         *(format_minor(m, c) for m in (
                             b.current_minor, b.days_1_30_minor, b.days_31_60_minor,
                             b.days_61_90_minor, b.days_over_90_minor, b.total_minor)),
                         b.invoices])
        if not more:
            return _csv(AGING_COLUMNS, rows)
        after = (batch[-1].customer_id, batch[-1].buckets.currency)
