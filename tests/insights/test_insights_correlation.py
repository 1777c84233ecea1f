"""riskProfileCorrelation: payment behaviour by risk profile and by limit band, worked by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from insights_kit import Books, at, segment

from ccm_gateway.insights.service import limit_band_labels

CORRELATION = """query($c: String!, $t: DateTime, $f: ReportFilter) {
  riskProfileCorrelation(currency: $c, asOf: $t, filter: $f) {
    currency asOf method customers
    byRiskProfile { group customers invoices paidOnTime paidLate unpaid onTimeRate overdueRate
                    averageDaysLate }
    byLimitBand { group customers invoices paidOnTime paidLate unpaid onTimeRate overdueRate
                  averageDaysLate } } }"""
EMPTY = {"customers": 0, "invoices": 0, "paidOnTime": 0, "paidLate": 0, "unpaid": 0,
         "onTimeRate": None, "overdueRate": None, "averageDaysLate": None}
BANDS = ["unrated", "0.01-9,999.99", "10,000-49,999.99", "50,000-249,999.99", "250,000+"]


def groups(rows: list[dict]) -> dict[str, dict]:
    return {r.pop("group"): r for r in rows}


async def correlation(gql, currency: str, as_of: str | None, **flt) -> dict:
    result = await gql(CORRELATION, {"c": currency, "t": as_of and at(as_of).isoformat(),
                                     "f": flt})
    found = result.data["riskProfileCorrelation"]
    found["byRiskProfile"] = groups(found["byRiskProfile"])
    found["byLimitBand"] = groups(found["byLimitBand"])
    return found


@pytest.fixture
async def portfolio(make_customer):
    """Three USD customers and one EUR customer of one segment, with invoices early in 2026."""
    seg = segment()
    low = Books(await make_customer(segment=seg, riskProfile="LOW", limit="5000.00"))
    a1 = await low.invoice(100000, issued=at("2026-01-01"), due=at("2026-01-31"))
    await low.pay(a1, 100000, on=at("2026-01-30"))  # on time
    a2 = await low.invoice(200000, issued=at("2026-01-05"), due=at("2026-02-04"))
    await low.pay(a2, 200000, on=at("2026-02-09"))  # 5 days late
    a3 = await low.invoice(50000, issued=at("2026-01-10"), due=at("2026-02-09"))
    await low.pay(a3, 50000, on=at("2026-02-09"))  # on the due date: on time
    await low.invoice(70000, issued=at("2026-02-01"), due=at("2026-03-03"))  # unpaid
    high = Books(await make_customer(segment=seg, riskProfile="HIGH", limit="20000.00"))
    await high.invoice(300000, issued=at("2026-01-20"), due=at("2026-02-19T12:00"))  # unpaid
    b2 = await high.invoice(100000, issued=at("2026-01-15"), due=at("2026-02-14"))
    await high.pay(b2, 30000, on=at("2026-02-10"))  # a part only: unpaid
    b3 = await high.invoice(40000, issued=at("2026-01-10"), due=at("2026-02-09"))
    await high.void(b3, on=at("2026-02-20"))  # voided before asOf: not counted
    b4 = await high.invoice(60000, issued=at("2026-01-12"), due=at("2026-02-11"))
    await high.pay(b4, 60000, on=at("2026-03-05"))  # paid after 03-01
    unrated = await make_customer(segment=seg, riskProfile="HIGH", limit="0.00")
    euro = Books(await make_customer(segment=seg, riskProfile="LOW", limit="5000.00",
                                     currency="EUR"))
    d1 = await euro.invoice(100000, issued=at("2026-01-01"), due=at("2026-01-31"))
    await euro.pay(d1, 100000, on=at("2026-02-02"))  # 2 days late
    return {"segment": seg, "low": low.customer_id, "high": high.customer_id,
            "unrated": unrated, "euro": euro.customer_id}


async def test_behaviour_by_risk_profile_and_limit_band_as_of_march_first(gql, portfolio):
    found = await correlation(gql, "USD", "2026-03-01", segment=portfolio["segment"])
    assert (found["currency"], found["asOf"], found["customers"]) == (
        "USD", "2026-03-01T00:00:00+00:00", 3)
    assert "due before asOf" in found["method"]
    # LOW (one customer): a1 and a3 on time, a2 five days late; a4 is not due yet.
    low = {"customers": 1, "invoices": 3, "paidOnTime": 2, "paidLate": 1, "unpaid": 0,
           "onTimeRate": 0.6667, "overdueRate": 0.3333, "averageDaysLate": 5.0}
    # HIGH (two customers, one without invoices): b1 due 02-19 12:00 is 9.5 days overdue,
    # 10 as a started day; b2 (paid in part) 15; b4 (paid only on 03-05) 18; b3 voided.
    # (10 + 15 + 18) / 3 = 14.33.
    high = {"invoices": 3, "paidOnTime": 0, "paidLate": 0, "unpaid": 3, "onTimeRate": 0.0,
            "overdueRate": 1.0, "averageDaysLate": 14.33}
    assert found["byRiskProfile"] == {"LOW": low, "MEDIUM": EMPTY,
                                      "HIGH": high | {"customers": 2}}
    assert found["byLimitBand"] == {
        "unrated": EMPTY | {"customers": 1}, "0.01-9,999.99": low,
        "10,000-49,999.99": high | {"customers": 1}, "50,000-249,999.99": EMPTY,
        "250,000+": EMPTY}
    assert list(found["byLimitBand"]) == BANDS


async def test_a_later_as_of_counts_what_fell_due_and_was_paid_since(gql, portfolio):
    found = await correlation(gql, "USD", "2026-03-10", segment=portfolio["segment"])
    # a4 (due 03-03) is now 7 days overdue: (5 + 7) / 2 late or unpaid.
    assert found["byRiskProfile"]["LOW"] == {
        "customers": 1, "invoices": 4, "paidOnTime": 2, "paidLate": 1, "unpaid": 1,
        "onTimeRate": 0.5, "overdueRate": 0.5, "averageDaysLate": 6.0}
    # b4 was paid on 03-05, 22 days late; b1 is 19 days overdue (18.5), b2 24:
    # (19 + 24 + 22) / 3 = 21.67.
    assert found["byRiskProfile"]["HIGH"] == {
        "customers": 2, "invoices": 3, "paidOnTime": 0, "paidLate": 1, "unpaid": 2,
        "onTimeRate": 0.0, "overdueRate": 1.0, "averageDaysLate": 21.67}


async def test_currencies_are_kept_apart(gql, portfolio):
    found = await correlation(gql, "EUR", "2026-03-01", segment=portfolio["segment"])
    assert found["customers"] == 1
    euro = {"customers": 1, "invoices": 1, "paidOnTime": 0, "paidLate": 1, "unpaid": 0,
            "onTimeRate": 0.0, "overdueRate": 1.0, "averageDaysLate": 2.0}
    assert found["byRiskProfile"] == {"LOW": euro, "MEDIUM": EMPTY, "HIGH": EMPTY}
    assert found["byLimitBand"]["0.01-9,999.99"] == euro
    # No customer of the segment is in JPY: every group is there, empty.
    yen = await correlation(gql, "JPY", "2026-03-01", segment=portfolio["segment"])
    assert yen["customers"] == 0
    assert list(yen["byLimitBand"]) == ["unrated", "1-9,999", "10,000-49,999",
                                        "50,000-249,999", "250,000+"]
    assert all(g == EMPTY for g in [*yen["byRiskProfile"].values(),
                                    *yen["byLimitBand"].values()])


async def test_one_customer(gql, portfolio):
    found = await correlation(gql, "USD", "2026-03-01", customerId=portfolio["high"])
    assert found["customers"] == 1
    assert found["byRiskProfile"]["HIGH"]["customers"] == 1
    assert found["byRiskProfile"]["HIGH"]["averageDaysLate"] == 14.33
    assert found["byRiskProfile"]["LOW"] == EMPTY


async def test_an_empty_portfolio_lists_every_group_empty(gql):
    found = await correlation(gql, "USD", None, segment=segment())
    assert found["customers"] == 0
    assert list(found["byRiskProfile"]) == ["LOW", "MEDIUM", "HIGH"]
    assert list(found["byLimitBand"]) == BANDS
    assert all(g == EMPTY for g in [*found["byRiskProfile"].values(),
                                    *found["byLimitBand"].values()])
    # Without asOf: now.
    moment = datetime.fromisoformat(found["asOf"])
    assert abs(moment - datetime.now(UTC)) < timedelta(minutes=1)


async def test_a_partner_sees_only_its_own_customers(gql, make_customer):
    seg = segment()
    mine, other = f"partner-{segment()}", f"partner-{segment()}"
    own = Books(await make_customer(segment=seg, riskProfile="LOW", partnerId=mine))
    await own.invoice(1000, issued=at("2026-01-01"), due=at("2026-01-31"))
    theirs = Books(await make_customer(segment=seg, riskProfile="HIGH", partnerId=other))
    await theirs.invoice(1000, issued=at("2026-01-01"), due=at("2026-01-31"))
    await make_customer(segment=seg, riskProfile="HIGH")  # the operator's own
    token = gql.token("admin", partner_id=mine)
    result = await gql(CORRELATION, {"c": "USD", "f": {"segment": seg}}, token=token)
    found = result.data["riskProfileCorrelation"]
    assert found["customers"] == 1
    assert [(g["group"], g["customers"], g["invoices"]) for g in found["byRiskProfile"]] == [
        ("LOW", 1, 1), ("MEDIUM", 0, 0), ("HIGH", 0, 0)]
    # Naming another partner narrows further, to nothing.
    named = await gql(CORRELATION, {"c": "USD", "f": {"segment": seg, "partnerId": other}},
                      token=token)
    assert named.data["riskProfileCorrelation"]["customers"] == 0
    foreign = await gql(CORRELATION, {"c": "USD", "f": {"customerId": theirs.customer_id}},
                        token=token)
    assert (foreign.error_code, foreign.errors[0]["extensions"]["field"]) == (
        "NOT_FOUND", "filter.customerId")


@pytest.mark.parametrize(("variables", "field"), [
    ({"c": "XYZ"}, "currency"),
    ({"c": "usd"}, "currency"),
    ({"c": "USD", "t": (datetime.now(UTC) + timedelta(days=1)).isoformat()}, "asOf"),
    ({"c": "USD", "t": "2026-03-01T00:00:00"}, "asOf"),  # no UTC offset
    ({"c": "USD", "f": {"siteId": "00000000-0000-4000-8000-000000000001"}}, "filter.siteId"),
    ({"c": "USD", "f": {"customerId": "not-a-uuid"}}, "filter.customerId"),
])
async def test_bad_input_is_refused_naming_it(gql, variables, field):
    result = await gql(CORRELATION, variables)
    assert (result.error_code, result.errors[0]["extensions"]["field"]) == (
        "BAD_USER_INPUT", field), result.errors


def test_limit_bands_are_in_the_currencys_major_unit():
    assert limit_band_labels("USD") == BANDS
    assert limit_band_labels("JPY")[1] == "1-9,999"
    assert limit_band_labels("KWD")[1:3] == ["0.001-9,999.999", "10,000-49,999.999"]
