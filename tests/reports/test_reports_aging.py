"""Aging: what is owed as of an instant, by days past due, per currency."""

from __future__ import annotations

import uuid

from reports_kit import DAY, Books, at

AGING = """query($asOf: DateTime, $f: ReportFilter) { agingReport(asOf: $asOf, filter: $f) {
  asOf portfolio { currency current { amount } days1To30 { amount } days31To60 { amount }
    days61To90 { amount } daysOver90 { amount } pastDue { amount } total { amount currency }
    invoices customers }
  customers(first: 10) { edges { node { customerId customerName aging { currency
    current { amount } days1To30 { amount } total { amount } invoices } } cursor }
    pageInfo { hasNextPage endCursor } } } }"""


def segment() -> str:
    return f"rpt-{uuid.uuid4().hex[:10]}"


def amounts(row: dict) -> tuple:
    return tuple(row[k]["amount"] for k in ("current", "days1To30", "days31To60",
                                              "days61To90", "daysOver90", "total"))


async def test_invoices_fall_into_buckets_by_days_past_due_at_the_edges(gql, make_customer):
    seg = segment()
    books = Books(await make_customer(segment=seg))
    as_of = at("2026-06-30T12:00")
    # One invoice per edge; amounts are powers of ten so each bucket's sum shows which
    # invoices it took. Due exactly N days before asOf is N days past due.
    for days, amount in ((0, 1), (30, 10), (31, 100), (60, 1000), (61, 10000),
                         (90, 100000), (91, 1000000)):
        await books.invoice(amount, issued=as_of - (days + 30) * DAY, due=as_of - days * DAY)
    await books.invoice(5, issued=as_of - DAY, due=as_of + 29 * DAY)  # not yet due
    result = await gql(AGING, {"asOf": as_of.isoformat(), "f": {"segment": seg}})
    [usd] = result.data["agingReport"]["portfolio"]
    # current: due at asOf (0 days) 0.01 + not yet due 0.05 = 0.06
    # 1-30: 30 days 0.10; 31-60: 31 and 60 days 1.00 + 10.00 = 11.00
    # 61-90: 61 and 90 days 100.00 + 1000.00 = 1100.00; 90+: 91 days 10000.00
    assert amounts(usd) == ("0.06", "0.10", "11.00", "1100.00", "10000.00", "11111.16")
    assert usd["pastDue"]["amount"] == "11111.10"
    assert (usd["invoices"], usd["customers"]) == (8, 1)


async def test_a_second_past_an_edge_is_the_next_bucket(gql, make_customer):
    seg = segment()
    books = Books(await make_customer(segment=seg))
    as_of = at("2026-06-30")
    await books.invoice(100, issued=as_of - 60 * DAY, due=as_of - 30 * DAY)
    await books.invoice(200, issued=as_of - 60 * DAY, due=as_of - 30 * DAY - DAY / 86400)
    [usd] = (await gql(AGING, {"asOf": as_of.isoformat(), "f": {"segment": seg}})
             ).data["agingReport"]["portfolio"]
    assert (usd["days1To30"]["amount"], usd["days31To60"]["amount"]) == ("1.00", "2.00")


async def test_as_of_in_the_past_excludes_later_invoices_payments_and_credit_notes(
        gql, make_customer):
    seg = segment()
    books = Books(await make_customer(segment=seg))
    first = await books.invoice(100000, issued=at("2026-01-01"), due=at("2026-01-31"))
    await books.pay(first, 30000, on=at("2026-02-10"))  # partial
    await books.pay(first, 20000, on=at("2026-03-10"))  # partial, after the first asOf
    second = await books.invoice(50000, issued=at("2026-02-01"), due=at("2026-03-03"))
    await books.void(second, on=at("2026-03-20"))
    await books.invoice(7000, issued=at("2026-03-01"), due=at("2026-03-31"))

    async def aged(as_of: str) -> tuple:
        [usd] = (await gql(AGING, {"asOf": at(as_of).isoformat(), "f": {"segment": seg}})
                 ).data["agingReport"]["portfolio"]
        return amounts(usd), usd["invoices"]

    # 2026-02-15: first owes 1000.00 - 300.00 = 700.00, 15 days past due (1-30);
    # second 500.00 not yet due (due 03-03); the third is not issued yet.
    assert await aged("2026-02-15") == (("500.00", "700.00", "0.00", "0.00", "0.00",
                                         "1200.00"), 2)
    # 2026-03-15: first owes 700.00 - 200.00 = 500.00, 43 days past due (31-60); second
    # 500.00, 12 days past due (1-30), not voided yet; third 70.00 current.
    assert await aged("2026-03-15") == (("70.00", "500.00", "500.00", "0.00", "0.00",
                                         "1070.00"), 3)
    # 2026-03-25: the credit note of 03-20 took the second's 500.00 off.
    assert await aged("2026-03-25") == (("70.00", "0.00", "500.00", "0.00", "0.00",
                                         "570.00"), 2)


async def test_money_is_grouped_per_currency_never_summed_across(gql, make_customer):
    seg = segment()
    usd = Books(await make_customer(segment=seg))
    eur = Books(await make_customer(segment=seg, currency="EUR"))
    jpy = Books(await make_customer(segment=seg, currency="JPY", limit="100000"))
    as_of = at("2026-05-01")
    await usd.invoice(1250, issued=as_of - 40 * DAY, due=as_of - 10 * DAY)
    await eur.invoice(990, issued=as_of - 10 * DAY, due=as_of + 20 * DAY)
    await jpy.invoice(5000, issued=as_of - 100 * DAY, due=as_of - 70 * DAY)
    report = (await gql(AGING, {"asOf": as_of.isoformat(), "f": {"segment": seg}})
              ).data["agingReport"]
    rows = {r["currency"]: amounts(r) for r in report["portfolio"]}
    assert rows == {"EUR": ("9.90", "0.00", "0.00", "0.00", "0.00", "9.90"),
                    "JPY": ("0", "0", "0", "5000", "0", "5000"),
                    "USD": ("0.00", "12.50", "0.00", "0.00", "0.00", "12.50")}
    per_customer = {e["node"]["aging"]["currency"]: e["node"]["aging"]["total"]["amount"]
                    for e in report["customers"]["edges"]}
    assert per_customer == {"EUR": "9.90", "JPY": "5000", "USD": "12.50"}


async def test_customers_are_paged_in_id_order(gql, make_customer):
    seg = segment()
    ids = sorted([await make_customer(segment=seg) for _ in range(3)])
    for cid in ids:
        await Books(cid).invoice(100, issued=at("2026-01-01"), due=at("2026-01-31"))
    query = """query($f: ReportFilter, $after: String) { agingReport(asOf: "2026-02-01T00:00:00Z",
      filter: $f) { customers(first: 2, after: $after) { edges { node { customerId } }
      pageInfo { hasNextPage endCursor } } } }"""
    page1 = (await gql(query, {"f": {"segment": seg}})).data["agingReport"]["customers"]
    assert [e["node"]["customerId"] for e in page1["edges"]] == ids[:2]
    assert page1["pageInfo"]["hasNextPage"] is True
    page2 = (await gql(query, {"f": {"segment": seg}, "after": page1["pageInfo"]["endCursor"]})
             ).data["agingReport"]["customers"]
    assert [e["node"]["customerId"] for e in page2["edges"]] == ids[2:]
    assert page2["pageInfo"]["hasNextPage"] is False
