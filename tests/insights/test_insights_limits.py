"""limitSuggestions: a suggested limit per customer from its 90-day behaviour (the scaling
job's peak exposure and on-time share), within the segment's hard cap, with its reasoning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from insights_kit import segment
from tortoise.transactions import in_transaction

from ccm_gateway.approval import scaling
from ccm_gateway.customer.models import Customer
from ccm_gateway.insights import service as insights
from ccm_gateway.ledger import service as ledger_service
from ccm_gateway.ledger.models import CreditAccount, EntryKind
from ccm_gateway.policy.models import LimitChangeRequest
from ccm_gateway.principal import Actor

SUGGESTIONS = """query($c: String!, $first: Int, $after: String, $f: ReportFilter) {
  limitSuggestions(currency: $c, first: $first, after: $after, filter: $f) {
    currency method customers
    edges { cursor node { customer { id name } currentLimit { amount currency }
      suggestedLimit { amount } peakExposure90d { amount } debtsDue debtsPaidOnTime
      onTimeRate headroomFactor segmentCap { amount } reasoning change } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""
SET_SEGMENT = """mutation($input: SetSegmentPolicyInput!) {
  setSegmentPolicy(input: $input) { id } }"""
REQUEST = """mutation($input: RequestCreditLimitChangeInput!) {
  requestCreditLimitChange(input: $input) { id status reason requestedLimit { amount } } }"""
DAY = timedelta(days=1)


async def history(customer_id: str, entries: list[tuple[EntryKind, int, int]],
                  currency: str = "USD") -> None:
    """Entries (kind, amount, days ago) posted as they happened."""
    actor = Actor(type="user", id="insights-test")
    now = datetime.now(UTC)
    for kind, amount, days_ago in entries:
        async with in_transaction():
            await ledger_service.post_entry(actor, customer_id, kind, amount, currency,
                                            occurred_at=now - days_ago * DAY,
                                            enforce_limit=False)


async def suggestions(gql, currency: str = "USD", token: str | None = None,
                      **variables) -> dict:
    result = await gql(SUGGESTIONS, {"c": currency} | variables, token=token)
    return result.data["limitSuggestions"]


def by_customer(connection: dict) -> dict[str, dict]:
    return {e["node"]["customer"]["id"]: {k: v for k, v in e["node"].items() if k != "customer"}
            for e in connection["edges"]}


# A 30-day customer who owed 900.00 at its peak and paid both its invoices within 30 days
# (the scaling job's test).
PUNCTUAL = [(EntryKind.INVOICE, 90000, 80), (EntryKind.PAYMENT, 90000, 60),
            (EntryKind.INVOICE, 85000, 50), (EntryKind.PAYMENT, 85000, 30)]


async def test_each_customer_gets_the_rule_s_suggestion(gql, make_customer):
    seg = segment()
    # A hard cap for the segment's HIGH risk profile only: the others have no policy.
    (await gql(SET_SEGMENT, {"input": {"segment": seg, "currency": "USD", "riskProfile": "HIGH",
                                       "hardCap": {"amount": "1150.00", "currency": "USD"}}})
     ).assert_ok()
    capped = await make_customer(segment=seg, riskProfile="HIGH", limit="1000.00")
    await history(capped, PUNCTUAL)
    free = await make_customer(segment=seg, limit="1000.00")
    await history(free, PUNCTUAL)
    # The same peak, paid after 40 days: its one debt was late.
    late = await make_customer(segment=seg, limit="1000.00")
    await history(late, [(EntryKind.INVOICE, 90000, 80), (EntryKind.PAYMENT, 90000, 40)])
    # Four debts, three on time (the last paid 8 days late); 800.00 owed at the peak.
    steady = await make_customer(segment=seg, limit="1040.00")
    await history(steady, [(EntryKind.INVOICE, 40000, 88), (EntryKind.PAYMENT, 40000, 80),
                           (EntryKind.INVOICE, 40000, 78), (EntryKind.PAYMENT, 40000, 70),
                           (EntryKind.INVOICE, 40000, 68), (EntryKind.INVOICE, 40000, 58),
                           (EntryKind.PAYMENT, 40000, 40), (EntryKind.PAYMENT, 40000, 20)])
    # Nothing due yet; a charge and a pending hold make today's exposure its peak.
    new = await make_customer(segment=seg, limit="500.00")
    await history(new, [(EntryKind.CHARGE, 12345, 5)])
    (await gql("""mutation($id: ID!) { authorizeCredit(input: {customerId: $id,
        amount: {amount: "100.00", currency: "USD"}}) { __typename } }""", {"id": new})
     ).assert_ok()
    await make_customer(segment=seg, currency="EUR")  # another currency: not here

    found = await suggestions(gql, first=10, f={"segment": seg})
    assert (found["currency"], found["customers"]) == ("USD", 5)
    assert "never above the segment's hard cap" in found["method"]
    rows = by_customer(found)
    assert list(rows) == sorted(rows)  # customer id order
    figures = {cid: (r["suggestedLimit"]["amount"], r["peakExposure90d"]["amount"],
                     r["debtsDue"], r["debtsPaidOnTime"], r["onTimeRate"],
                     r["headroomFactor"], r["segmentCap"], r["change"])
               for cid, r in rows.items()}
    assert figures == {
        # 900.00 x 1.5 = 1,350.00, up to 1,400.00; the cap keeps it at 1,150.00.
        capped: ("1150.00", "900.00", 2, 2, 1.0, 1.5, {"amount": "1150.00"}, "RAISE"),
        free: ("1400.00", "900.00", 2, 2, 1.0, 1.5, None, "RAISE"),
        # 0 of 1 on time: 1.0x, 900.00 is a whole hundred already.
        late: ("900.00", "900.00", 1, 0, 0.0, 1.0, None, "LOWER"),
        # 3 of 4 = 75 %: 1.25 x 800.00 = 1,000.00, within 5 % of 1,040.00.
        steady: ("1000.00", "800.00", 4, 3, 0.75, 1.25, None, "KEEP"),
        # 123.45 owed and 100.00 held: 223.45 at 1.0x, up to 300.00.
        new: ("300.00", "223.45", 0, 0, None, 1.0, None, "LOWER"),
    }
    assert rows[capped]["reasoning"] == (
        "Peak exposure in the last 90 days: 900.00 USD. 2 of 2 debts due were paid on time "
        "(100 %), so headroom (1.5x): 1,350.00 USD, rounded up to whole hundreds: 1,400.00 "
        "USD. The segment's hard cap of 1,150.00 USD binds. Suggested 1,150.00 USD: raise "
        "from the current limit of 1,000.00 USD.")
    assert rows[late]["reasoning"] == (
        "Peak exposure in the last 90 days: 900.00 USD. 0 of 1 debts due were paid on time "
        "(0 %, below 75 %), so no headroom (1.0x): 900.00 USD, rounded up to whole hundreds: "
        "900.00 USD. Suggested 900.00 USD: lower from the current limit of 1,000.00 USD.")
    assert rows[steady]["reasoning"].endswith(
        "Suggested 1,000.00 USD: within 5 % of the current limit of 1,040.00 USD.")
    assert rows[new]["reasoning"].startswith(
        "Peak exposure in the last 90 days: 223.45 USD. No debts fell due in that window, so "
        "no headroom (1.0x): 223.45 USD, rounded up to whole hundreds: 300.00 USD.")
    assert rows[capped]["currentLimit"] == {"amount": "1000.00", "currency": "USD"}


async def test_the_propose_button_s_request_passes_with_the_reasoning(gql, make_customer):
    customer_id = await make_customer(segment=segment(), limit="1000.00")
    await history(customer_id, PUNCTUAL)
    [suggestion] = by_customer(await suggestions(gql, f={"customerId": customer_id})).values()
    made = await gql(REQUEST, {"input": {
        "customerId": customer_id, "limit": {"amount": suggestion["suggestedLimit"]["amount"],
                                             "currency": "USD"},
        "reason": suggestion["reasoning"]}}, token=gql.token("credit_manager", subject="c"))
    request = made.data["requestCreditLimitChange"]
    # Pending, or applied at once if the shared database's approval bands need none here.
    assert request["status"] in {"PENDING", "APPLIED"}
    assert (request["requestedLimit"], request["reason"]) == (
        {"amount": "1400.00"}, suggestion["reasoning"])
    assert await LimitChangeRequest.filter(customer_id=customer_id).count() == 1


async def test_the_longest_reasoning_fits_a_request_s_reason(app):
    reason_limit = LimitChangeRequest._meta.fields_map["reason"].max_length
    customer = Customer(segment="x", currency="KWD")
    huge = 10**15 - 1  # the ledger's largest amount
    account = CreditAccount(currency="KWD", credit_limit_minor=1, posted_balance_minor=huge,
                            held_minor=huge)
    seen = scaling.Behaviour(peak_exposure_minor=2 * huge, debts_due=10**6,
                             debts_on_time=10**6 - 1)
    found = insights.suggest(customer, account, seen, cap_minor=huge - 1)
    assert "binds" in found.reasoning
    assert len(found.reasoning) <= reason_limit == 500


@pytest.mark.parametrize(("on_time", "due", "factor"), [
    (9, 10, Fraction(3, 2)), (89, 100, Fraction(5, 4)), (3, 4, Fraction(5, 4)),
    (74, 100, Fraction(1)), (0, 0, Fraction(1)),
])
def test_headroom_grows_with_the_share_paid_on_time(on_time, due, factor):
    assert insights.headroom(Fraction(on_time, due) if due else None) == factor


async def test_pages_follow_the_customer_id_order(gql, make_customer):
    seg = segment()
    made = sorted([await make_customer(segment=seg, limit="100.00") for _ in range(5)])
    first = await suggestions(gql, first=2, f={"segment": seg})
    assert list(by_customer(first)) == made[:2]
    assert (first["pageInfo"]["hasNextPage"], first["pageInfo"]["hasPreviousPage"]) == (
        True, False)
    assert first["customers"] == 5
    rest = await suggestions(gql, first=10, after=first["pageInfo"]["endCursor"],
                             f={"segment": seg})
    assert list(by_customer(rest)) == made[2:]
    assert (rest["pageInfo"]["hasNextPage"], rest["pageInfo"]["hasPreviousPage"]) == (
        False, True)
    # Nothing owed: 0.00 suggested, lowered from 100.00.
    assert {(r["suggestedLimit"]["amount"], r["change"])
            for r in by_customer(rest).values()} == {("0.00", "LOWER")}


async def test_an_empty_portfolio_has_no_suggestions(gql):
    found = await suggestions(gql, first=5, f={"segment": segment()})
    assert (found["edges"], found["customers"]) == ([], 0)
    assert found["pageInfo"] == {"hasNextPage": False, "hasPreviousPage": False,
                                 "startCursor": None, "endCursor": None}


async def test_a_partner_sees_only_its_own_customers(gql, make_customer):
    seg = segment()
    mine, other = f"partner-{segment()}", f"partner-{segment()}"
    own = await make_customer(segment=seg, partnerId=mine)
    await make_customer(segment=seg, partnerId=other)
    await make_customer(segment=seg)
    token = gql.token("admin", partner_id=mine)
    found = await suggestions(gql, token=token, f={"segment": seg})
    assert (list(by_customer(found)), found["customers"]) == ([own], 1)
    named = await suggestions(gql, token=token, f={"segment": seg, "partnerId": other})
    assert (named["edges"], named["customers"]) == ([], 0)


@pytest.mark.parametrize(("variables", "field"), [
    ({"c": "QQQ"}, "currency"),
    ({"c": "USD", "first": 0}, "first"),
    ({"c": "USD", "first": 101}, "first"),
    ({"c": "USD", "after": "not-a-cursor"}, "after"),
    ({"c": "USD", "f": {"siteId": "00000000-0000-4000-8000-000000000001"}}, "filter.siteId"),
])
async def test_bad_input_is_refused_naming_it(gql, variables, field):
    result = await gql(SUGGESTIONS, variables)
    assert (result.error_code, result.errors[0]["extensions"]["field"]) == (
        "BAD_USER_INPUT", field), result.errors
