"""Filters and partner scoping: a report covers exactly the customers asked for and seen."""

from __future__ import annotations

import uuid

from reports_kit import Books, at

AGING = """query($f: ReportFilter) { agingReport(asOf: "2026-03-01T00:00:00Z", filter: $f) {
  portfolio { currency total { amount } customers }
  customers(first: 10) { edges { node { customerId } } } } }"""


def segment() -> str:
    return f"rpt-{uuid.uuid4().hex[:10]}"


async def owing(make_customer, amount: int, **extra) -> str:
    cid = await make_customer(limit="10000.00", **extra)
    await Books(cid).invoice(amount, issued=at("2026-01-01"), due=at("2026-01-31"))
    return cid


def total(result) -> tuple:
    report = result.data["agingReport"]
    return ([(r["total"]["amount"], r["customers"]) for r in report["portfolio"]],
            sorted(e["node"]["customerId"] for e in report["customers"]["edges"]))


async def test_each_filter_narrows_the_report(gql, make_customer, make_site):
    seg = segment()
    low = await owing(make_customer, 100, segment=seg, riskProfile="LOW")
    high = await owing(make_customer, 200, segment=seg, riskProfile="HIGH")
    partner = f"partner-{uuid.uuid4().hex[:8]}"
    theirs = await owing(make_customer, 400, segment=seg, partnerId=partner)
    site = await make_site()
    at_site = await make_customer(limit="10000.00", segment=seg)
    await Books(at_site).invoice(800, issued=at("2026-01-01"), due=at("2026-01-31"),
                                 site_id=site)
    other_segment = await owing(make_customer, 1600, segment=segment())

    async def report(**f) -> tuple:
        return total(await gql(AGING, {"f": {"segment": seg} | f}))

    assert await report() == ([("15.00", 4)], sorted([low, high, theirs, at_site]))
    assert await report(riskProfile="HIGH") == ([("2.00", 1)], [high])
    assert await report(partnerId=partner) == ([("4.00", 1)], [theirs])
    assert await report(siteId=site) == ([("8.00", 1)], [at_site])
    assert await report(customerId=low) == ([("1.00", 1)], [low])
    assert other_segment not in (await report())[1]


async def test_a_partner_sees_only_its_own_customers_figures(gql, make_customer):
    seg = segment()
    mine, other = f"partner-{uuid.uuid4().hex[:8]}", f"partner-{uuid.uuid4().hex[:8]}"
    own = await owing(make_customer, 100, segment=seg, partnerId=mine)
    await owing(make_customer, 200, segment=seg, partnerId=other)
    await owing(make_customer, 400, segment=seg)  # the operator's own customer
    token = gql.token("admin", partner_id=mine)
    assert total(await gql(AGING, {"f": {"segment": seg}}, token=token)) == (
        [("1.00", 1)], [own])
    # Naming another partner narrows further, to nothing: never to that partner's figures.
    assert total(await gql(AGING, {"f": {"segment": seg, "partnerId": other}},
                           token=token)) == ([], [])
    for query in ("""query($f: ReportFilter) { dsoReport(from: "2026-01-01T00:00:00Z",
                     to: "2026-02-01T00:00:00Z", filter: $f) { figures { creditSales {
                     amount } } } }""",
                  """query($f: ReportFilter) { termComplianceReport(
                     from: "2026-01-01T00:00:00Z", to: "2026-02-01T00:00:00Z", filter: $f) {
                     figures { amountDue { amount } } } }"""):
        found = (await gql(query, {"f": {"segment": seg}}, token=token)).data
        [figures] = [v["figures"] for v in found.values()]
        assert [next(iter(f.values()))["amount"] for f in figures] == ["1.00"]
    utilisation = (await gql("""query($f: ReportFilter) { utilisationReport(filter: $f) {
        customers } }""", {"f": {"segment": seg}}, token=token)).data
    assert utilisation["utilisationReport"]["customers"] == 1


async def test_a_foreign_customer_answers_like_a_missing_one(gql, make_customer):
    mine = f"partner-{uuid.uuid4().hex[:8]}"
    foreign = await owing(make_customer, 100, segment=segment())
    token = gql.token("admin", partner_id=mine)
    answers = []
    for cid in (foreign, str(uuid.uuid4())):
        result = await gql(AGING, {"f": {"customerId": cid}}, token=token)
        error = result.errors[0]
        answers.append((error["message"].replace(cid, "<id>"), error["extensions"]["code"],
                        error["extensions"].get("field")))
    assert answers[0] == answers[1] == ("customer <id> not found", "NOT_FOUND",
                                        "filter.customerId")

