"""termImpactAnalysis: DSO, collections and overdue rate by net-days band, and payment before
against after a change of terms, worked by hand over [2026-01-01, 2026-04-01) (90 days)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from insights_kit import Books, at, change_terms, segment

IMPACT = """query($c: String!, $from: DateTime, $to: DateTime, $f: ReportFilter) {
  termImpactAnalysis(currency: $c, from: $from, to: $to, filter: $f) {
    currency from to method customers
    byNetDays { band netDaysFrom netDaysTo customers dso receivables { amount }
                creditSales { amount } collected { amount currency } invoicesDue overdueRate }
    termChanges { method customers
      before { averageNetDays onTimeRate averageDaysLate invoices }
      after { averageNetDays onTimeRate averageDaysLate invoices } } } }"""
PERIOD = {"from": at("2026-01-01").isoformat(), "to": at("2026-04-01").isoformat()}
NO_FIGURES = {"averageNetDays": None, "onTimeRate": None, "averageDaysLate": None,
              "invoices": 0}


def band(customers: int = 0, dso: float | None = None, receivables: str = "0.00",
         sales: str = "0.00", collected: str = "0.00", due: int = 0,
         overdue: float | None = None) -> dict:
    return {"customers": customers, "dso": dso, "receivables": {"amount": receivables},
            "creditSales": {"amount": sales}, "collected": {"amount": collected,
                                                           "currency": "USD"},
            "invoicesDue": due, "overdueRate": overdue}


async def impact(gql, currency: str = "USD", **variables) -> dict:
    flt = variables.pop("f", None)
    result = await gql(IMPACT, {"c": currency, "f": flt} | variables)
    found = result.data["termImpactAnalysis"]
    found["byNetDays"] = {b.pop("band"): b for b in found["byNetDays"]}
    return found


async def test_dso_collections_and_overdue_rate_by_net_days_band(gql, make_customer):
    seg = segment()
    # 30 days: the DSO report's worked example (README, "Receivables reports").
    month = Books(await make_customer(segment=seg, netDays=30, limit="20000.00"))
    p1 = await month.invoice(300000, issued=at("2026-01-10"), due=at("2026-02-09"))
    await month.pay(p1, 300000, on=at("2026-02-20"))  # late
    await month.invoice(200000, issued=at("2026-02-10"), due=at("2026-03-12"))  # unpaid
    await month.invoice(400000, issued=at("2026-03-10"), due=at("2026-04-09"))  # not due
    p4 = await month.invoice(100000, issued=at("2026-03-20"), due=at("2026-04-19"))
    await month.pay(p4, 50000, on=at("2026-03-25"))
    # 10 days: paid up by the end.
    short = Books(await make_customer(segment=seg, netDays=10, limit="20000.00"))
    q0 = await short.invoice(20000, issued=at("2025-12-01"), due=at("2025-12-11"))
    await short.pay(q0, 20000, on=at("2026-01-02"))  # collected in the period, no sale in it
    q1 = await short.invoice(100000, issued=at("2026-01-05"), due=at("2026-01-15"))
    await short.pay(q1, 100000, on=at("2026-01-14"))  # on time
    q2 = await short.invoice(50000, issued=at("2026-03-01"), due=at("2026-03-11"))
    await short.pay(q2, 50000, on=at("2026-03-20"))  # late
    await make_customer(segment=seg, netDays=90)  # 61+, no invoices
    euro = Books(await make_customer(segment=seg, netDays=30, currency="EUR"))
    await euro.invoice(990000, issued=at("2026-01-10"), due=at("2026-02-09"))

    found = await impact(gql, **PERIOD, f={"segment": seg})
    assert (found["currency"], found["from"], found["to"], found["customers"]) == (
        "USD", "2026-01-01T00:00:00+00:00", "2026-04-01T00:00:00+00:00", 3)
    assert found["byNetDays"] == {
        # AR 0 / sales 1,500.00 x 90 = 0; collected 200 + 1000 + 500; q1 on time, q2 late.
        "0-15": {"netDaysFrom": 0, "netDaysTo": 15} | band(
            1, 0.0, sales="1500.00", collected="1700.00", due=2, overdue=0.5),
        # 6,500.00 / 10,000.00 x 90 = 58.50; collected 3000 + 500; p1 late, p2 unpaid.
        "16-30": {"netDaysFrom": 16, "netDaysTo": 30} | band(
            1, 58.5, receivables="6500.00", sales="10000.00", collected="3500.00", due=2,
            overdue=1.0),
        "31-45": {"netDaysFrom": 31, "netDaysTo": 45} | band(),
        "46-60": {"netDaysFrom": 46, "netDaysTo": 60} | band(),
        "61+": {"netDaysFrom": 61, "netDaysTo": None} | band(1),
    }
    assert found["termChanges"]["customers"] == 0
    assert found["termChanges"]["before"] == found["termChanges"]["after"] == NO_FIGURES
    euros = await impact(gql, "EUR", **PERIOD, f={"segment": seg})
    assert euros["customers"] == 1
    assert euros["byNetDays"]["16-30"] == band(1, 90.0, receivables="9900.00",
                                                sales="9900.00", due=1, overdue=1.0) | {
        "netDaysFrom": 16, "netDaysTo": 30, "collected": {"amount": "0.00",
                                                          "currency": "EUR"}}


async def test_payment_before_against_after_a_change_of_terms(gql, make_customer):
    seg = segment()
    shortened = Books(await make_customer(segment=seg, netDays=30))
    t1 = await shortened.invoice(100000, issued=at("2026-01-02"), due=at("2026-02-01"))
    await shortened.pay(t1, 100000, on=at("2026-01-30"))  # before: on time
    t2 = await shortened.invoice(100000, issued=at("2026-01-20"), due=at("2026-02-19"))
    await shortened.pay(t2, 100000, on=at("2026-02-25"))  # before: 6 days late
    await change_terms(shortened.customer_id, 15, on=at("2026-02-01"))
    t3 = await shortened.invoice(100000, issued=at("2026-02-10"), due=at("2026-02-25"))
    await shortened.pay(t3, 100000, on=at("2026-02-20"))  # after: on time
    t4 = await shortened.invoice(100000, issued=at("2026-03-01"), due=at("2026-03-16"))
    await shortened.pay(t4, 100000, on=at("2026-03-20"))  # after: 4 days late
    await shortened.invoice(100000, issued=at("2026-03-10"), due=at("2026-03-25"))  # 7 overdue
    await shortened.invoice(100000, issued=at("2026-03-25"), due=at("2026-04-09"))  # not due
    # Two changes: the first one (03-01) splits.
    twice = Books(await make_customer(segment=seg, netDays=30))
    u1 = await twice.invoice(100000, issued=at("2026-02-01"), due=at("2026-03-03"))
    await twice.pay(u1, 100000, on=at("2026-03-01"))  # before: on time
    await change_terms(twice.customer_id, 20, on=at("2026-03-01"))
    await twice.invoice(100000, issued=at("2026-03-05"), due=at("2026-03-25"))  # 7 overdue
    await change_terms(twice.customer_id, 25, on=at("2026-03-15"))
    # Terms set again with the same net days, and a change before the period: not counted.
    same = Books(await make_customer(segment=seg, netDays=30))
    await same.invoice(100000, issued=at("2026-01-02"), due=at("2026-02-01"))
    await change_terms(same.customer_id, 30, on=at("2026-02-15"))
    earlier = Books(await make_customer(segment=seg, netDays=30))
    await earlier.invoice(100000, issued=at("2026-01-02"), due=at("2026-02-01"))
    await change_terms(earlier.customer_id, 40, on=at("2025-12-15"))

    found = await impact(gql, **PERIOD, f={"segment": seg})
    changes = found["termChanges"]
    assert "credit.set_terms" in changes["method"]
    assert changes["customers"] == 2
    # Before: t1, t2, u1 (30 days each); t2 is the one late.
    assert changes["before"] == {"averageNetDays": 30.0, "onTimeRate": 0.6667,
                                 "averageDaysLate": 6.0, "invoices": 3}
    # After: t3, t4, t5 (15 days) and u2 (20 days): (15 x 3 + 20) / 4 = 16.25; t3 on time;
    # t4 4 days late, t5 and u2 7 days overdue at 04-01: 18 / 3 = 6.
    assert changes["after"] == {"averageNetDays": 16.25, "onTimeRate": 0.25,
                                "averageDaysLate": 6.0, "invoices": 4}
    # Bands are by today's net days: 15, 25, 30, 40.
    assert {name: b["customers"] for name, b in found["byNetDays"].items()} == {
        "0-15": 1, "16-30": 2, "31-45": 1, "46-60": 0, "61+": 0}
    # One customer: only its own change.
    one = await impact(gql, **PERIOD, f={"customerId": twice.customer_id})
    assert one["termChanges"]["customers"] == 1
    assert one["termChanges"]["after"]["averageNetDays"] == 20.0


async def test_set_credit_terms_is_the_change_counted(gql, make_customer):
    customer_id = await make_customer(netDays=30)
    changed = await gql("""mutation($id: ID!) { setCreditTerms(input: {customerId: $id,
        netDays: 45, invoicingCycle: MONTHLY}) { terms { netDays } } }""", {"id": customer_id})
    changed.assert_ok()
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    found = await impact(gql, **{"from": since}, f={"customerId": customer_id})
    assert found["termChanges"]["customers"] == 1
    assert found["byNetDays"]["31-45"]["customers"] == 1


async def test_without_a_period_the_last_twelve_months(gql):
    found = await impact(gql, f={"segment": segment()})
    start, end = (datetime.fromisoformat(found[k]) for k in ("from", "to"))
    assert abs(end - datetime.now(UTC)) < timedelta(minutes=1)
    assert (end.year - start.year) * 12 + end.month - start.month == 12
    assert found["customers"] == 0
    assert all(b["customers"] == 0 and b["dso"] is None for b in found["byNetDays"].values())


async def test_a_partner_sees_only_its_own_customers(gql, make_customer):
    seg = segment()
    mine, other = f"partner-{segment()}", f"partner-{segment()}"
    own = Books(await make_customer(segment=seg, netDays=30, partnerId=mine))
    await own.invoice(100000, issued=at("2026-01-10"), due=at("2026-02-09"))
    theirs = Books(await make_customer(segment=seg, netDays=10, partnerId=other))
    await theirs.invoice(200000, issued=at("2026-01-10"), due=at("2026-01-20"))
    await change_terms(theirs.customer_id, 5, on=at("2026-02-01"))
    token = gql.token("admin", partner_id=mine)
    result = await gql(IMPACT, {"c": "USD", **PERIOD, "f": {"segment": seg}}, token=token)
    found = result.data["termImpactAnalysis"]
    assert found["customers"] == 1
    assert [(b["band"], b["customers"], b["creditSales"]["amount"])
            for b in found["byNetDays"] if b["customers"]] == [("16-30", 1, "1000.00")]
    assert found["termChanges"]["customers"] == 0


@pytest.mark.parametrize(("variables", "field"), [
    ({"c": "ABC"}, "currency"),
    ({"c": "USD", "to": (datetime.now(UTC) + timedelta(days=1)).isoformat()}, "to"),
    ({"c": "USD", "from": "2026-04-01T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, "to"),
    ({"c": "USD", "from": "2026-01-01T00:00:00"}, "from"),  # no UTC offset
    ({"c": "USD", "f": {"siteId": "00000000-0000-4000-8000-000000000001"}}, "filter.siteId"),
])
async def test_bad_input_is_refused_naming_it(gql, variables, field):
    result = await gql(IMPACT, variables)
    assert (result.error_code, result.errors[0]["extensions"]["field"]) == (
        "BAD_USER_INPUT", field), result.errors
