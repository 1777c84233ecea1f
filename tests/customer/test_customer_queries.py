"""Customer, site and credit-decision queries: filters, pagination, lookups, no side effects."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest

CUSTOMERS = """
query($first: Int, $after: String, $filter: CustomerFilter) {
  customers(first: $first, after: $after, filter: $filter) {
    edges { cursor node { id name status creditAccount { utilization } } }
    pageInfo { hasNextPage endCursor }
  }
}"""

CUSTOMER = """
query($id: ID, $ref: ExternalRefInput) { customer(id: $id, externalRef: $ref) { id name } }"""

SITES = "{ sites { id code name timezone createdAt } }"

AUTHORIZE = """
mutation($input: AuthorizeCreditInput!) {
  authorizeCredit(input: $input) {
    __typename
    ... on Hold { id status amount { amount currency } }
    ... on CreditDeclined { reason message available { amount currency } }
  }
}"""

SET_LIMIT = """
mutation($input: SetCreditLimitInput!) { setCreditLimit(input: $input) { version } }"""

SET_SITE_LIMIT = """
mutation($input: SetSiteLimitInput!) { setSiteLimit(input: $input) { limit { amount } } }"""

CREDIT_CHECK = """
query($customerId: ID!, $amount: MoneyInput!, $siteId: ID) {
  creditCheck(customerId: $customerId, amount: $amount, siteId: $siteId) {
    approved reason message available { amount currency }
  }
}"""

GATE = """
query($siteId: ID!, $customerId: ID!) {
  gateAccess(siteId: $siteId, customerId: $customerId) { allowed reason message }
}"""

STATE = """
query($id: ID!) {
  customer(id: $id) {
    version status
    creditAccount {
      version limit { amount } balance { amount } held { amount } exposure { amount }
      available { amount } utilization
    }
    siteLimits { site { id } limit { amount } balance { amount } held { amount } }
    holds { id status amount { amount } }
    ledger(first: 100) { edges { node { id } } }
  }
}"""

AUDIT_BY_ACTOR = """
query($actorId: String!) {
  auditLog(first: 100, filter: {actorId: $actorId}) { edges { node { action } } }
}"""

AUDIT_BY_OBJECT = """
query($objectId: String!) {
  auditLog(first: 100, filter: {objectId: $objectId}) { edges { node { id action } } }
}"""


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def assert_error(result: Any, code: str, field: str | None = None) -> None:
    assert result.error_code == code, result.errors
    if field is not None:
        assert result.errors[0]["extensions"].get("field") == field, result.errors


def cursor_of(*parts: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode()


@pytest.fixture
def segment() -> str:
    """A segment no other test uses, so filters see only this test's customers."""
    return unique("seg")


async def page(gql: Any, flt: dict[str, Any], first: int | None = 100,
               after: str | None = None) -> dict[str, Any]:
    result = await gql(CUSTOMERS, {"first": first, "after": after, "filter": flt})
    return result.data["customers"]


async def ids(gql: Any, flt: dict[str, Any]) -> set[str]:
    return {e["node"]["id"] for e in (await page(gql, flt))["edges"]}


async def authorize(gql: Any, customer_id: str, amount: str, site_id: str | None = None,
                    currency: str = "USD") -> dict[str, Any]:
    result = await gql(AUTHORIZE, {"input": {
        "customerId": customer_id, "siteId": site_id,
        "amount": {"amount": amount, "currency": currency}}})
    return result.data["authorizeCredit"]


async def state(gql: Any, customer_id: str) -> dict[str, Any]:
    return (await gql(STATE, {"id": customer_id})).data["customer"]


# --- customers: filters ---------------------------------------------------------------


async def test_customers_filtered_by_segment_returns_only_that_segment(
        gql, make_customer, segment):
    mine = {await make_customer(segment=segment), await make_customer(segment=segment)}
    await make_customer(segment=unique("seg"))
    assert await ids(gql, {"segment": segment}) == mine


async def test_customers_filtered_by_status(gql, make_customer, segment):
    active = await make_customer(segment=segment)
    on_hold = await make_customer(segment=segment, status="ON_HOLD")
    blocked = await make_customer(segment=segment, status="BLOCKED")
    assert await ids(gql, {"segment": segment, "status": "ACTIVE"}) == {active}
    assert await ids(gql, {"segment": segment, "status": "ON_HOLD"}) == {on_hold}
    assert await ids(gql, {"segment": segment, "status": "BLOCKED"}) == {blocked}


async def test_customers_filtered_by_name_contains_ignores_case(gql, make_customer, segment):
    tag = uuid.uuid4().hex[:10]
    wanted = await make_customer(segment=segment, name=f"Northern Haulage {tag}")
    await make_customer(segment=segment, name=f"Southern Freight {tag}")
    assert await ids(gql, {"nameContains": f"HAULAGE {tag.upper()}"}) == {wanted}


async def test_customers_name_contains_treats_like_wildcards_literally(
        gql, make_customer, segment):
    tag = uuid.uuid4().hex[:10]
    percent = await make_customer(segment=segment, name=f"Rebate 50% {tag}")
    await make_customer(segment=segment, name=f"Rebate 500 {tag}")
    underscore = await make_customer(segment=segment, name=f"Yard_B {tag}")
    await make_customer(segment=segment, name=f"YardXB {tag}")
    assert await ids(gql, {"segment": segment, "nameContains": "50%"}) == {percent}
    assert await ids(gql, {"segment": segment, "nameContains": "d_B"}) == {underscore}


async def test_customers_filters_combine(gql, make_customer, segment):
    tag = uuid.uuid4().hex[:10]
    wanted = await make_customer(segment=segment, name=f"Combo {tag}", status="BLOCKED")
    await make_customer(segment=segment, name=f"Combo {tag}")
    await make_customer(segment=unique("seg"), name=f"Combo {tag}", status="BLOCKED")
    assert await ids(gql, {"segment": segment, "status": "BLOCKED",
                           "nameContains": tag}) == {wanted}


async def test_customers_filtered_by_utilization_above_uses_exposure_over_limit(
        gql, make_customer, segment):
    high = await make_customer(limit="100.00", segment=segment)
    at_threshold = await make_customer(limit="100.00", segment=segment)
    low = await make_customer(limit="100.00", segment=segment)
    idle = await make_customer(limit="100.00", segment=segment)
    assert (await authorize(gql, high, "90.00"))["__typename"] == "Hold"
    assert (await authorize(gql, at_threshold, "80.00"))["__typename"] == "Hold"
    assert (await authorize(gql, low, "50.00"))["__typename"] == "Hold"

    assert await ids(gql, {"segment": segment, "utilizationAbove": 0.8}) == {high}
    assert await ids(gql, {"segment": segment, "utilizationAbove": 0.79}) == {high, at_threshold}
    assert await ids(gql, {"segment": segment, "utilizationAbove": 0.0}) == {
        high, at_threshold, low}
    assert await ids(gql, {"segment": segment}) == {high, at_threshold, low, idle}
    edges = (await page(gql, {"segment": segment, "utilizationAbove": 0.8}))["edges"]
    assert edges[0]["node"]["creditAccount"]["utilization"] == 0.9


async def test_a_customer_owing_against_a_zero_limit_is_above_any_utilization(
        gql, make_customer, segment):
    customer_id = await make_customer(limit="100.00", segment=segment)
    await authorize(gql, customer_id, "10.00")
    await gql(SET_LIMIT, {"input": {"customerId": customer_id,
                                    "limit": {"amount": "0", "currency": "USD"}}})
    edges = (await page(gql, {"segment": segment, "utilizationAbove": 100.0}))["edges"]
    assert [e["node"]["id"] for e in edges] == [customer_id]
    assert edges[0]["node"]["creditAccount"]["utilization"] is None


async def test_utilization_above_is_exact_beyond_basis_points(gql, make_customer, segment):
    customer_id = await make_customer(limit="100000.00", segment=segment)
    await authorize(gql, customer_id, "79998.00")  # utilization 0.79998
    assert await ids(gql, {"segment": segment, "utilizationAbove": 0.79996}) == {customer_id}
    assert await ids(gql, {"segment": segment, "utilizationAbove": 0.79998}) == set()
    assert await ids(gql, {"segment": segment, "utilizationAbove": 0.79999}) == set()


async def test_utilization_above_works_with_amounts_near_the_ledger_maximum(
        gql, make_customer, segment):
    # 10**15 minor units: exposure * scale no longer fits a 64-bit integer.
    customer_id = await make_customer(limit="10000000000000.00", segment=segment)
    assert (await authorize(gql, customer_id, "9500000000000.00"))["__typename"] == "Hold"
    assert await ids(gql, {"segment": segment, "utilizationAbove": 0.9}) == {customer_id}
    assert await ids(gql, {"segment": segment, "utilizationAbove": 0.96}) == set()
    assert await ids(gql, {"segment": segment, "utilizationAbove": 100.0}) == set()


@pytest.mark.parametrize("ratio", [-0.1, 100.5])
async def test_customers_utilization_above_out_of_range_is_bad_input(gql, ratio):
    result = await gql(CUSTOMERS, {"filter": {"utilizationAbove": ratio}})
    assert_error(result, "BAD_USER_INPUT", "utilizationAbove")


# --- customers: pagination ------------------------------------------------------------


async def test_customers_pages_walk_every_customer_once_in_name_order(
        gql, make_customer, segment):
    names = ["Delta", "Alpha", "Charlie", "Bravo", "Delta", "Echo", "Bravo", "Alpha", "Foxtrot"]
    created = {await make_customer(segment=segment, name=n) for n in names}

    seen: list[tuple[str, str]] = []
    after, pages = None, 0
    while True:
        connection = await page(gql, {"segment": segment}, first=2, after=after)
        pages += 1
        edges = connection["edges"]
        seen += [(e["node"]["name"], e["node"]["id"]) for e in edges]
        assert connection["pageInfo"]["endCursor"] == edges[-1]["cursor"]
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
        assert pages < 10, "pagination does not terminate"

    assert pages == 5
    assert [i for _, i in seen] == list(dict.fromkeys(i for _, i in seen)), "duplicates"
    assert {i for _, i in seen} == created, "gaps"
    assert [n for n, _ in seen] == sorted(names)
    # Equal names keep one stable order, so a cursor between them neither skips nor repeats.
    assert seen == sorted(seen)


async def test_customers_resume_after_any_edge_cursor(gql, make_customer, segment):
    for name in ["A", "B", "B", "C"]:
        await make_customer(segment=segment, name=name)
    full = (await page(gql, {"segment": segment}))["edges"]
    for index, edge in enumerate(full):
        rest = (await page(gql, {"segment": segment}, after=edge["cursor"]))["edges"]
        assert [e["node"]["id"] for e in rest] == [e["node"]["id"] for e in full[index + 1:]]


async def test_customers_last_page_has_no_next_page(gql, make_customer, segment):
    await make_customer(segment=segment)
    await make_customer(segment=segment)
    exact = await page(gql, {"segment": segment}, first=2)
    assert len(exact["edges"]) == 2
    assert exact["pageInfo"]["hasNextPage"] is False
    empty = await page(gql, {"segment": unique("seg")}, first=5)
    assert empty == {"edges": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}


async def test_customers_without_first_returns_the_default_page_size(
        gql, make_customer, segment, settings):
    for _ in range(settings.default_page_size + 1):
        await make_customer(segment=segment)
    connection = await page(gql, {"segment": segment}, first=None)
    assert len(connection["edges"]) == settings.default_page_size
    assert connection["pageInfo"]["hasNextPage"] is True


async def test_customers_first_up_to_the_maximum_is_accepted(gql, settings):
    result = await gql(CUSTOMERS, {"first": settings.max_page_size,
                                   "filter": {"segment": unique("seg")}})
    assert result.data["customers"]["edges"] == []


@pytest.mark.parametrize("first", [101, 0, -1])
async def test_customers_first_outside_one_to_max_is_bad_input(gql, settings, first):
    assert settings.max_page_size == 100
    result = await gql(CUSTOMERS, {"first": first})
    assert_error(result, "BAD_USER_INPUT", "first")


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param("not-a-cursor!", id="garbage"),
        pytest.param(cursor_of("Alpha"), id="wrong-arity"),
        pytest.param(base64.urlsafe_b64encode(b"{\"a\": 1}").decode(), id="not-a-list"),
        pytest.param(cursor_of("Alpha", "not-a-uuid"), id="bad-id"),
        pytest.param(base64.urlsafe_b64encode(b"\xff\xfe").decode(), id="not-utf8"),
    ],
)
async def test_customers_malformed_cursor_is_bad_input(gql, cursor):
    result = await gql(CUSTOMERS, {"first": 5, "after": cursor})
    assert_error(result, "BAD_USER_INPUT", "after")


# --- customer lookups -----------------------------------------------------------------


async def test_customer_by_id(gql, make_customer):
    name = unique("Lookup")
    customer_id = await make_customer(name=name)
    result = await gql(CUSTOMER, {"id": customer_id})
    assert result.data["customer"] == {"id": customer_id, "name": name}


async def test_customer_by_an_unknown_id_is_null(gql):
    result = await gql(CUSTOMER, {"id": str(uuid.uuid4())})
    assert result.body == {"data": {"customer": None}}


async def test_an_unknown_customer_nulls_only_itself_not_its_siblings(gql, make_site):
    site_id = await make_site()
    result = await gql("""query($id: ID!) { sites { id } customer(id: $id) { id } }""",
                       {"id": str(uuid.uuid4())})
    assert result.data["customer"] is None
    assert site_id in {s["id"] for s in result.data["sites"]}


async def test_customer_by_a_malformed_id_is_bad_input(gql):
    result = await gql(CUSTOMER, {"id": "12345"})
    assert_error(result, "BAD_USER_INPUT", "id")


async def test_customer_by_external_ref(gql, make_customer):
    ref = unique("cus")
    customer_id = await make_customer(externalRefs=[{"system": "stripe", "externalId": ref}])
    result = await gql(CUSTOMER, {"ref": {"system": "stripe", "externalId": ref}})
    assert result.data["customer"]["id"] == customer_id


@pytest.mark.parametrize("both", [True, False], ids=["both", "neither"])
async def test_customer_needs_exactly_one_of_id_or_external_ref(gql, make_customer, both):
    ref = unique("cus")
    customer_id = await make_customer(externalRefs=[{"system": "erp", "externalId": ref}])
    variables = {"id": customer_id, "ref": {"system": "erp", "externalId": ref}} if both else {}
    result = await gql(CUSTOMER, variables)
    assert_error(result, "BAD_USER_INPUT")
    assert result.body["data"] == {"customer": None}


# --- sites ----------------------------------------------------------------------------


async def test_sites_lists_created_sites_ordered_by_code(gql, make_site):
    tag = uuid.uuid4().hex[:10].upper()
    second = await make_site(code=f"SITE-{tag}-B", name="Second", timezone="Asia/Tokyo")
    first = await make_site(code=f"SITE-{tag}-A", name="First")
    sites = (await gql(SITES)).data["sites"]
    mine = [s for s in sites if s["id"] in (first, second)]
    assert [(s["id"], s["code"], s["name"], s["timezone"]) for s in mine] == [
        (first, f"SITE-{tag}-A", "First", "UTC"),
        (second, f"SITE-{tag}-B", "Second", "Asia/Tokyo")]
    assert all(s["createdAt"] for s in mine)


# --- creditCheck ----------------------------------------------------------------------


async def test_credit_check_approves_within_available_credit(gql, make_customer):
    customer_id = await make_customer(limit="100.00")
    await authorize(gql, customer_id, "30.00")
    result = await gql(CREDIT_CHECK, {"customerId": customer_id,
                                      "amount": {"amount": "70.00", "currency": "USD"}})
    assert result.data["creditCheck"] == {
        "approved": True, "reason": None, "message": "approved",
        "available": {"amount": "70.00", "currency": "USD"}}


async def test_credit_check_declines_over_the_limit_with_a_reason(gql, make_customer):
    customer_id = await make_customer(limit="100.00")
    await authorize(gql, customer_id, "30.00")
    result = await gql(CREDIT_CHECK, {"customerId": customer_id,
                                      "amount": {"amount": "70.01", "currency": "USD"}})
    check = result.data["creditCheck"]
    assert check["approved"] is False
    assert check["reason"] == "LIMIT_EXCEEDED"
    assert "70.01" in check["message"] and "70.00" in check["message"]
    assert check["available"] == {"amount": "70.00", "currency": "USD"}


@pytest.mark.parametrize(("status", "reason"), [("BLOCKED", "ACCOUNT_BLOCKED"),
                                                ("ON_HOLD", "ACCOUNT_ON_HOLD")])
async def test_credit_check_declines_a_customer_who_may_not_buy(
        gql, make_customer, status, reason):
    customer_id = await make_customer(limit="100.00", status=status)
    result = await gql(CREDIT_CHECK, {"customerId": customer_id,
                                      "amount": {"amount": "1.00", "currency": "USD"}})
    check = result.data["creditCheck"]
    assert (check["approved"], check["reason"]) == (False, reason)
    assert check["available"]["amount"] == "0.00"


async def test_credit_check_at_a_site_applies_the_site_limit(gql, make_customer, make_site):
    customer_id, site_id = await make_customer(limit="1000.00"), await make_site()
    await gql(SET_SITE_LIMIT, {"input": {"customerId": customer_id, "siteId": site_id,
                                         "limit": {"amount": "50.00", "currency": "USD"}}})
    within = await gql(CREDIT_CHECK, {"customerId": customer_id, "siteId": site_id,
                                      "amount": {"amount": "50.00", "currency": "USD"}})
    assert within.data["creditCheck"]["approved"] is True
    assert within.data["creditCheck"]["available"]["amount"] == "50.00"
    over = await gql(CREDIT_CHECK, {"customerId": customer_id, "siteId": site_id,
                                    "amount": {"amount": "50.01", "currency": "USD"}})
    assert over.data["creditCheck"]["reason"] == "SITE_LIMIT_EXCEEDED"
    assert over.data["creditCheck"]["available"]["amount"] == "50.00"
    elsewhere = await gql(CREDIT_CHECK, {"customerId": customer_id,
                                         "amount": {"amount": "50.01", "currency": "USD"}})
    assert elsewhere.data["creditCheck"]["approved"] is True


async def test_credit_check_has_no_side_effect(gql, make_customer, make_site):
    customer_id, site_id = await make_customer(limit="100.00"), await make_site()
    await gql(SET_SITE_LIMIT, {"input": {"customerId": customer_id, "siteId": site_id,
                                         "limit": {"amount": "60.00", "currency": "USD"}}})
    await authorize(gql, customer_id, "20.00", site_id=site_id)
    before = await state(gql, customer_id)
    audit_before = (await gql(AUDIT_BY_OBJECT, {"objectId": customer_id})).data
    checker = unique("checker")
    token = gql.token("viewer", subject=checker)
    for amount, site in [("10.00", None), ("10.00", site_id), ("90.00", None),
                         ("50.00", site_id)]:
        result = await gql(CREDIT_CHECK, {"customerId": customer_id, "siteId": site,
                                          "amount": {"amount": amount, "currency": "USD"}},
                           token=token)
        assert "creditCheck" in result.data
    assert await state(gql, customer_id) == before
    assert (await gql(AUDIT_BY_OBJECT, {"objectId": customer_id})).data == audit_before
    assert (await gql(AUDIT_BY_ACTOR, {"actorId": checker})).data["auditLog"]["edges"] == []


@pytest.mark.parametrize(
    ("amount", "field"),
    [
        pytest.param({"amount": "0", "currency": "USD"}, "amount", id="zero"),
        pytest.param({"amount": "-1.00", "currency": "USD"}, "amount", id="negative"),
        pytest.param({"amount": "1.001", "currency": "USD"}, "amount", id="too-many-decimals"),
        pytest.param({"amount": "1.00", "currency": "EUR"}, "currency", id="other-currency"),
        pytest.param({"amount": "1.00", "currency": "ABC"}, "currency", id="unknown-currency"),
    ],
)
async def test_credit_check_refuses_a_bad_amount(gql, make_customer, amount, field):
    customer_id = await make_customer(limit="100.00")
    result = await gql(CREDIT_CHECK, {"customerId": customer_id, "amount": amount})
    assert_error(result, "BAD_USER_INPUT", field)


async def test_credit_check_of_an_unknown_customer_is_not_found(gql):
    result = await gql(CREDIT_CHECK, {"customerId": str(uuid.uuid4()),
                                      "amount": {"amount": "1.00", "currency": "USD"}})
    assert_error(result, "NOT_FOUND", "customerId")


async def test_credit_check_at_an_unknown_site_is_not_found(gql, make_customer):
    customer_id = await make_customer()
    result = await gql(CREDIT_CHECK, {"customerId": customer_id, "siteId": str(uuid.uuid4()),
                                      "amount": {"amount": "1.00", "currency": "USD"}})
    assert_error(result, "NOT_FOUND", "siteId")


# --- gateAccess -----------------------------------------------------------------------


async def test_gate_access_allows_a_customer_with_available_credit(
        gql, make_customer, make_site):
    customer_id, site_id = await make_customer(limit="100.00"), await make_site()
    result = await gql(GATE, {"siteId": site_id, "customerId": customer_id})
    assert result.data["gateAccess"] == {"allowed": True, "reason": "APPROVED",
                                         "message": "credit available"}


@pytest.mark.parametrize(("status", "reason"), [("BLOCKED", "ACCOUNT_BLOCKED"),
                                                ("ON_HOLD", "ACCOUNT_ON_HOLD")])
async def test_gate_access_denies_a_blocked_or_on_hold_customer(
        gql, make_customer, make_site, status, reason):
    customer_id, site_id = await make_customer(limit="100.00", status=status), await make_site()
    result = await gql(GATE, {"siteId": site_id, "customerId": customer_id})
    gate = result.data["gateAccess"]
    assert (gate["allowed"], gate["reason"]) == (False, reason)
    assert gate["message"]


async def test_gate_access_denies_when_the_limit_is_exhausted(gql, make_customer, make_site):
    customer_id, site_id = await make_customer(limit="100.00"), await make_site()
    await authorize(gql, customer_id, "99.99")
    still_open = await gql(GATE, {"siteId": site_id, "customerId": customer_id})
    assert still_open.data["gateAccess"]["allowed"] is True
    await authorize(gql, customer_id, "0.01")
    result = await gql(GATE, {"siteId": site_id, "customerId": customer_id})
    gate = result.data["gateAccess"]
    assert (gate["allowed"], gate["reason"]) == (False, "LIMIT_EXCEEDED")


async def test_gate_access_denies_at_a_site_whose_sub_limit_is_exhausted(
        gql, make_customer, make_site):
    customer_id = await make_customer(limit="1000.00")
    exhausted, other = await make_site(), await make_site()
    await gql(SET_SITE_LIMIT, {"input": {"customerId": customer_id, "siteId": exhausted,
                                         "limit": {"amount": "40.00", "currency": "USD"}}})
    assert (await authorize(gql, customer_id, "40.00", site_id=exhausted))["__typename"] == "Hold"
    denied = (await gql(GATE, {"siteId": exhausted, "customerId": customer_id})).data
    assert (denied["gateAccess"]["allowed"], denied["gateAccess"]["reason"]) == (
        False, "SITE_LIMIT_EXCEEDED")
    allowed = (await gql(GATE, {"siteId": other, "customerId": customer_id})).data
    assert allowed["gateAccess"]["allowed"] is True


async def test_gate_access_has_no_side_effect(gql, make_customer, make_site):
    customer_id, site_id = await make_customer(limit="100.00"), await make_site()
    before = await state(gql, customer_id)
    guard = unique("gate")
    result = await gql(GATE, {"siteId": site_id, "customerId": customer_id},
                       token=gql.token("viewer", subject=guard))
    assert result.data["gateAccess"]["allowed"] is True
    assert await state(gql, customer_id) == before
    assert (await gql(AUDIT_BY_ACTOR, {"actorId": guard})).data["auditLog"]["edges"] == []


async def test_gate_access_at_an_unknown_site_is_not_found(gql, make_customer):
    customer_id = await make_customer()
    result = await gql(GATE, {"siteId": str(uuid.uuid4()), "customerId": customer_id})
    assert_error(result, "NOT_FOUND", "siteId")


async def test_gate_access_for_an_unknown_customer_is_not_found(gql, make_site):
    site_id = await make_site()
    result = await gql(GATE, {"siteId": site_id, "customerId": str(uuid.uuid4())})
    assert_error(result, "NOT_FOUND", "customerId")
