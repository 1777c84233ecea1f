"""DSO: worked examples, computed by hand in each test, then the service's own answer."""

from __future__ import annotations

import uuid
from fractions import Fraction

from reports_kit import Books, at

from ccm_gateway.reports.service import SalesWindow, count_back_days, rounded

DSO = """query($from: DateTime!, $to: DateTime!, $c: String, $f: ReportFilter) {
  dsoReport(from: $from, to: $to, currency: $c, filter: $f) { from to figures {
    currency daysInPeriod receivables { amount } currentReceivables { amount }
    creditSales { amount } salesInvoices receivablesInvoices receivablesCustomers
    simple countBack bestPossible averageDaysDelinquent
    months { start end creditSales { amount } } } } }"""


def segment() -> str:
    return f"rpt-{uuid.uuid4().hex[:10]}"


async def dso(gql, seg: str, start: str, end: str, **extra) -> list[dict]:
    result = await gql(DSO, {"from": at(start).isoformat(), "to": at(end).isoformat(),
                             "f": {"segment": seg}, **extra})
    return result.data["dsoReport"]["figures"]


async def test_a_quarter_by_every_method(gql, make_customer):
    seg = segment()
    books = Books(await make_customer(segment=seg, limit="100000.00"))
    jan = await books.invoice(300000, issued=at("2026-01-10"), due=at("2026-02-09"))
    await books.pay(jan, 300000, on=at("2026-02-20"))
    await books.invoice(200000, issued=at("2026-02-10"), due=at("2026-03-12"))
    await books.invoice(400000, issued=at("2026-03-10"), due=at("2026-04-09"))
    late_march = await books.invoice(100000, issued=at("2026-03-20"), due=at("2026-04-19"))
    await books.pay(late_march, 50000, on=at("2026-03-25"))
    [usd] = await dso(gql, seg, "2026-01-01", "2026-04-01")
    # Days: January 31 + February 28 + March 31 = 90.
    # Credit sales: 3000 + 2000 + 4000 + 1000 = 10,000.00.
    # AR at 04-01: February's 2000 (20 days past due) + March's 4000 + 1000 - 500 (both
    # current) = 6500.00, of which current 4500.00.
    assert (usd["daysInPeriod"], usd["creditSales"]["amount"], usd["receivables"]["amount"],
            usd["currentReceivables"]["amount"]) == ("90.00", "10000.00", "6500.00", "4500.00")
    assert (usd["salesInvoices"], usd["receivablesInvoices"], usd["receivablesCustomers"]) == (
        4, 3, 1)
    # Simple: 6500 / 10000 * 90 = 58.50. Best possible: 4500 / 10000 * 90 = 40.50.
    # Average days delinquent: 58.50 - 40.50 = 18.00.
    assert (usd["simple"], usd["bestPossible"], usd["averageDaysDelinquent"]) == (
        "58.50", "40.50", "18.00")
    # Count-back from 04-01: March's sales 5000 are covered by the AR 6500: 31 days, 1500
    # left; February's 2000 are not: 28 * 1500 / 2000 = 21 days. 31 + 21 = 52.00.
    assert usd["countBack"] == "52.00"
    assert [(m["start"][:10], m["creditSales"]["amount"]) for m in usd["months"]] == [
        ("2026-03-01", "5000.00"), ("2026-02-01", "2000.00")]


async def test_count_back_over_six_months_with_months_without_sales(gql, make_customer):
    seg = segment()
    books = Books(await make_customer(segment=seg, limit="100000.00"))
    jan = await books.invoice(100000, issued=at("2026-01-15"), due=at("2026-02-14"))
    await books.pay(jan, 100000, on=at("2026-02-10"))
    march = await books.invoice(300000, issued=at("2026-03-05"), due=at("2026-04-04"))
    await books.pay(march, 100000, on=at("2026-04-01"))
    await books.invoice(200000, issued=at("2026-04-20"), due=at("2026-05-20"))
    await books.invoice(150000, issued=at("2026-06-10"), due=at("2026-07-10"))
    [usd] = await dso(gql, seg, "2026-01-01", "2026-07-01")
    # Days: 31 + 28 + 31 + 30 + 31 + 30 = 181. Sales: 1000 + 3000 + 2000 + 1500 = 7500.00.
    # AR at 07-01: March 3000 - 1000 + April 2000 + June 1500 = 5500.00; current: June's.
    assert (usd["daysInPeriod"], usd["creditSales"]["amount"], usd["receivables"]["amount"],
            usd["currentReceivables"]["amount"]) == ("181.00", "7500.00", "5500.00", "1500.00")
    # Simple: 5500 / 7500 * 181 = 132.7333... -> 132.73.
    # Best possible: 1500 / 7500 * 181 = 36.20. Delinquent: 132.7333... - 36.20 -> 96.53.
    assert (usd["simple"], usd["bestPossible"], usd["averageDaysDelinquent"]) == (
        "132.73", "36.20", "96.53")
    # Count-back: June (30 days, 1500): 4000 left; May (31 days, no sales): 4000 left;
    # April (30 days, 2000): 2000 left; March (31 days, 3000): 31 * 2000 / 3000 = 20.666...
    # 30 + 31 + 30 + 20.666... = 111.666... -> 111.67.
    assert usd["countBack"] == "111.67"
    assert [m["creditSales"]["amount"] for m in usd["months"]] == [
        "1500.00", "0.00", "2000.00", "3000.00"]


def test_count_back_is_exact_before_rounding_and_rounds_half_even():
    months = [SalesWindow(at("2026-03-01"), at("2026-04-01"), 3),
              SalesWindow(at("2026-02-01"), at("2026-03-01"), 7)]
    # 31 days for March's 3, then 28 * 1 / 7 = 4 days of February's 7: 35 exactly.
    assert count_back_days(4, months) == Fraction(35)
    # 31 + 28 * 5 / 7 = 51 exactly; more AR than both months explain: None.
    assert count_back_days(8, months) == Fraction(51)
    assert count_back_days(11, months) is None
    assert [rounded(Fraction(n, 8)) for n in (1, 3, 5, -1)] == ["0.12", "0.38", "0.62", "-0.12"]


async def test_each_currency_has_its_own_figures_and_one_can_be_asked_for(gql, make_customer):
    seg = segment()
    usd = Books(await make_customer(segment=seg, limit="100000.00"))
    eur = Books(await make_customer(segment=seg, limit="100000.00", currency="EUR"))
    await usd.invoice(100000, issued=at("2026-01-10"), due=at("2026-02-09"))
    await eur.invoice(50000, issued=at("2026-01-20"), due=at("2026-02-19"))
    paid = await eur.invoice(50000, issued=at("2026-01-05"), due=at("2026-02-04"))
    await eur.pay(paid, 50000, on=at("2026-01-25"))
    figures = await dso(gql, seg, "2026-01-01", "2026-02-01")
    # USD: 1000 / 1000 * 31 = 31.00; EUR: 500 / 1000 * 31 = 15.50.
    assert [(f["currency"], f["simple"]) for f in figures] == [("EUR", "15.50"),
                                                              ("USD", "31.00")]
    only = await dso(gql, seg, "2026-01-01", "2026-02-01", c="EUR")
    assert [f["currency"] for f in only] == ["EUR"]


async def test_no_credit_sales_gives_no_ratio(gql, make_customer):
    seg = segment()
    books = Books(await make_customer(segment=seg))
    await books.invoice(100, issued=at("2025-12-10"), due=at("2026-01-09"))
    [usd] = await dso(gql, seg, "2026-01-01", "2026-02-01")
    assert usd["receivables"]["amount"] == "1.00" and usd["creditSales"]["amount"] == "0.00"
    assert (usd["simple"], usd["countBack"], usd["bestPossible"],
            usd["averageDaysDelinquent"]) == (None, None, None, None)


async def test_a_void_in_the_period_is_not_a_sale(gql, make_customer):
    seg = segment()
    books = Books(await make_customer(segment=seg))
    await books.invoice(40000, issued=at("2026-01-05"), due=at("2026-02-04"))
    voided = await books.invoice(60000, issued=at("2026-01-10"), due=at("2026-02-09"))
    await books.void(voided, on=at("2026-01-20"))
    [usd] = await dso(gql, seg, "2026-01-01", "2026-02-01")
    # Sales 1000 - the 600 credited = 400.00; AR 400.00: 400 / 400 * 31 = 31.00.
    assert (usd["creditSales"]["amount"], usd["receivables"]["amount"], usd["simple"]) == (
        "400.00", "400.00", "31.00")


async def test_a_period_that_ends_before_it_starts_is_refused(gql):
    for start, end in (("2026-02-01", "2026-01-01"), ("2026-02-01", "2026-02-01")):
        result = await gql(DSO, {"from": at(start).isoformat(), "to": at(end).isoformat()})
        assert result.error_code == "BAD_USER_INPUT"
        assert result.errors[0]["extensions"]["field"] == "to"


async def test_bad_currency_and_naive_times_are_refused(gql):
    result = await gql(DSO, {"from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z",
                             "c": "XXQ"})
    assert (result.error_code, result.errors[0]["extensions"]["field"]) == (
        "BAD_USER_INPUT", "currency")
    result = await gql(DSO, {"from": "2026-01-01T00:00:00", "to": "2026-02-01T00:00:00Z"})
    assert (result.error_code, result.errors[0]["extensions"]["field"]) == (
        "BAD_USER_INPUT", "from")
