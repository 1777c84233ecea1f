"""Term compliance, utilisation and credit alert frequency: worked examples."""

from __future__ import annotations

import uuid
from datetime import timedelta

from reports_kit import Books, at

from ccm_gateway.alert.models import Alert, AlertSeverity
from ccm_gateway.ledger import service as ledger_service
from ccm_gateway.ledger.models import EntryKind
from ccm_gateway.principal import SYSTEM_ACTOR

COMPLIANCE = """query($from: DateTime!, $to: DateTime!, $f: ReportFilter) {
  termComplianceReport(from: $from, to: $to, filter: $f) { figures { currency invoices
    customers paidOnTime paidLate unpaid sharePaidOnTimePercent amountDue { amount }
    amountPaidOnTime { amount } shareAmountOnTimePercent averageDaysLate } } }"""
UTILISATION = """query($f: ReportFilter) { utilisationReport(filter: $f) {
  customers buckets { bucket customers } } }"""
FREQUENCY = """query($from: DateTime!, $to: DateTime!, $i: ReportInterval, $f: ReportFilter) {
  creditAlertFrequency(from: $from, to: $to, interval: $i, filter: $f) {
    start end breaches thresholds customers } }"""


def segment() -> str:
    return f"rpt-{uuid.uuid4().hex[:10]}"


async def test_term_compliance_of_a_month(gql, make_customer):
    seg = segment()
    one = Books(await make_customer(segment=seg, limit="100000.00"))
    two = Books(await make_customer(segment=seg, limit="100000.00"))
    a = await one.invoice(100000, issued=at("2026-02-03"), due=at("2026-03-05"))
    await one.pay(a, 100000, on=at("2026-03-04"))  # on time
    b = await one.invoice(200000, issued=at("2026-02-08"), due=at("2026-03-10"))
    await one.pay(b, 50000, on=at("2026-03-09"))  # 500.00 by the due date
    await one.pay(b, 150000, on=at("2026-03-15"))  # in full 5 days late
    c = await two.invoice(300000, issued=at("2026-02-18"), due=at("2026-03-20T12:00"))
    await two.pay(c, 300000, on=at("2026-03-22T13:00"))  # 2 days 1 hour late: 3 days
    await two.invoice(400000, issued=at("2026-02-23"), due=at("2026-03-25"))  # unpaid
    e = await two.invoice(50000, issued=at("2026-02-26"), due=at("2026-03-28"))
    await two.void(e, on=at("2026-03-27"))  # voided before the end: not counted
    g = await two.invoice(10000, issued=at("2026-02-28"), due=at("2026-03-30"))
    await two.pay(g, 10000, on=at("2026-04-03"))  # paid after the period: unpaid in it
    await two.invoice(10000, issued=at("2026-03-03"), due=at("2026-04-02"))  # due after
    result = await gql(COMPLIANCE, {"from": at("2026-03-01").isoformat(),
                                    "to": at("2026-04-01").isoformat(), "f": {"segment": seg}})
    [usd] = result.data["termComplianceReport"]["figures"]
    # Due in March, not voided: a, b, c, the unpaid 4000, g: 5 invoices of 2 customers.
    # On time: a (1); late: b and c (2); unpaid: 4000 and g (2). Share 1 / 5 = 20.00 %.
    # Due: 1000 + 2000 + 3000 + 4000 + 100 = 10,100.00; by the due dates: a's 1000 and
    # b's 500 = 1500.00: 1500 / 10100 = 14.851... % -> 14.85. Late: (5 + 3) / 2 = 4.00 days.
    assert usd == {"currency": "USD", "invoices": 5, "customers": 2, "paidOnTime": 1,
                   "paidLate": 2, "unpaid": 2, "sharePaidOnTimePercent": "20.00",
                   "amountDue": {"amount": "10100.00"},
                   "amountPaidOnTime": {"amount": "1500.00"},
                   "shareAmountOnTimePercent": "14.85", "averageDaysLate": "4.00"}


async def test_a_period_that_ends_before_it_starts_is_refused(gql):
    result = await gql(COMPLIANCE, {"from": at("2026-04-01").isoformat(),
                                    "to": at("2026-03-01").isoformat()})
    assert (result.error_code, result.errors[0]["extensions"]["field"]) == (
        "BAD_USER_INPUT", "to")


async def charge(customer_id: str, minor: int, **extra) -> None:
    await ledger_service.post_entry(SYSTEM_ACTOR, customer_id, EntryKind.CHARGE, minor, "USD",
                                    enforce_limit=False,
                                    idempotency_key=f"rpt-{uuid.uuid4().hex}", **extra)


async def test_utilisation_buckets_at_their_edges(gql, make_customer):
    seg = segment()
    # Limit 100.00; exposure -> bucket: 0 and 9.99 -> 0-10; 10.00 -> 10-20; 99.99 and
    # 100.00 -> 90-100; 100.01 -> over 100; a credit balance -> 0-10; a limit of 0 -> none.
    for exposure in (0, 999, 1000, 9999, 10000, 10001):
        cid = await make_customer(segment=seg, limit="100.00")
        if exposure:
            await charge(cid, exposure)
    credit = await make_customer(segment=seg, limit="100.00")
    await ledger_service.post_entry(SYSTEM_ACTOR, credit, EntryKind.PAYMENT, 500, "USD",
                                    idempotency_key=f"rpt-{uuid.uuid4().hex}")
    await make_customer(segment=seg, limit="0.00")
    found = (await gql(UTILISATION, {"f": {"segment": seg}})).data["utilisationReport"]
    counts = {b["bucket"]: b["customers"] for b in found["buckets"] if b["customers"]}
    assert counts == {"FROM_0_TO_10": 3, "FROM_10_TO_20": 1, "FROM_90_TO_100": 2,
                      "OVER_100": 1, "NO_LIMIT": 1}
    assert found["customers"] == 8
    assert [b["bucket"] for b in found["buckets"]][:2] == ["FROM_0_TO_10", "FROM_10_TO_20"]


async def test_utilisation_at_a_site_is_of_its_sub_limits(gql, make_customer, make_site):
    seg = segment()
    site = await make_site()
    set_limit = """mutation($c: ID!, $s: ID!) { setSiteLimit(input: {customerId: $c,
        siteId: $s, limit: {amount: "50.00", currency: "USD"}}) { __typename } }"""
    with_limit = await make_customer(segment=seg, limit="1000.00")
    (await gql(set_limit, {"c": with_limit, "s": site})).assert_ok()
    await charge(with_limit, 2500, site_id=site)  # 25.00 of 50.00 at the site: 50 %
    await make_customer(segment=seg, limit="1000.00")  # no sub-limit there: not counted
    found = (await gql(UTILISATION, {"f": {"segment": seg, "siteId": site}})
             ).data["utilisationReport"]
    counts = {b["bucket"]: b["customers"] for b in found["buckets"] if b["customers"]}
    assert (counts, found["customers"]) == ({"FROM_50_TO_60": 1}, 1)


async def alert(customer_id: str, kind: str, at_text: str) -> None:
    made = await Alert.create(kind=kind, severity=AlertSeverity.WARNING, message=kind,
                              customer_id=customer_id)
    await Alert.filter(id=made.id).update(created_at=at(at_text))


async def test_credit_alerts_per_month_and_per_week(gql, make_customer):
    seg = segment()
    one, two = [await make_customer(segment=seg) for _ in range(2)]
    await alert(one, "credit.threshold", "2026-01-20")
    await alert(one, "credit.breach", "2026-01-31T23:59:59")
    await alert(two, "credit.threshold", "2026-02-01")
    await alert(two, "credit.threshold", "2026-02-02")
    await alert(two, "credit.velocity", "2026-02-03")  # another kind: not counted
    await alert(one, "credit.breach", "2026-03-10")  # at the end: excluded
    await alert(one, "credit.breach", "2026-01-14")  # before the start: excluded
    months = (await gql(FREQUENCY, {"from": at("2026-01-15").isoformat(),
                                    "to": at("2026-03-10").isoformat(), "f": {"segment": seg}})
              ).data["creditAlertFrequency"]
    assert [(m["start"][:10], m["end"][:10], m["breaches"], m["thresholds"], m["customers"])
            for m in months] == [("2026-01-15", "2026-02-01", 1, 1, 1),
                                 ("2026-02-01", "2026-03-01", 0, 2, 1),
                                 ("2026-03-01", "2026-03-10", 0, 0, 0)]
    # Weeks start on Monday: 2026-01-26 and 2026-02-02 are Mondays.
    weeks = (await gql(FREQUENCY, {"from": at("2026-01-28").isoformat(),
                                   "to": at("2026-02-09").isoformat(), "i": "WEEK",
                                   "f": {"segment": seg}})).data["creditAlertFrequency"]
    assert [(w["start"][:10], w["breaches"], w["thresholds"]) for w in weeks] == [
        ("2026-01-28", 1, 1), ("2026-02-02", 0, 1)]


async def test_alert_frequency_refuses_a_site_and_too_many_periods(gql):
    result = await gql(FREQUENCY, {"from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z",
                                   "f": {"siteId": str(uuid.uuid4())}})
    assert (result.error_code, result.errors[0]["extensions"]["field"]) == (
        "BAD_USER_INPUT", "filter.siteId")
    start = at("2000-01-01")
    result = await gql(FREQUENCY, {"from": start.isoformat(),
                                   "to": (start + timedelta(weeks=500)).isoformat(),
                                   "i": "WEEK"})
    assert (result.error_code, result.errors[0]["extensions"]["field"]) == (
        "BAD_USER_INPUT", "to")
