"""Customer and site mutations: what they accept, what they refuse; a refusal changes nothing."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

CREATE_SITE = """
mutation($input: CreateSiteInput!) { createSite(input: $input) { id code name timezone } }"""

SITES = "{ sites { id code name timezone } }"

CREATE_CUSTOMER = """
mutation($input: CreateCustomerInput!) {
  createCustomer(input: $input) {
    id name segment riskProfile status currency partnerId version
    creditAccount {
      version limit { amount currency } balance { amount currency } held { amount currency }
      available { amount currency } utilization terms { netDays invoicingCycle }
    }
    externalRefs { system externalId }
  }
}"""

CUSTOMER = """
query($id: ID!) {
  customer(id: $id) {
    id name segment riskProfile status version
    creditAccount { version limit { amount currency } terms { netDays invoicingCycle } }
    externalRefs { system externalId }
    siteLimits { site { id code } limit { amount currency } }
  }
}"""

CUSTOMER_BY_REF = """
query($ref: ExternalRefInput!) { customer(externalRef: $ref) { id name } }"""

CUSTOMERS_NAMED = """
query($name: String!) {
  customers(first: 100, filter: {nameContains: $name}) { edges { node { id } } }
}"""

UPDATE_CUSTOMER = """
mutation($input: UpdateCustomerInput!) {
  updateCustomer(input: $input) { id name segment riskProfile status version }
}"""

LINK_REF = """
mutation($input: LinkExternalRefInput!) {
  linkExternalRef(input: $input) { id externalRefs { system externalId } }
}"""

SET_TERMS = """
mutation($input: SetCreditTermsInput!) {
  setCreditTerms(input: $input) { version terms { netDays invoicingCycle } }
}"""

SET_LIMIT = """
mutation($input: SetCreditLimitInput!) {
  setCreditLimit(input: $input) {
    version limit { amount currency } available { amount currency }
  }
}"""

SET_SITE_LIMIT = """
mutation($input: SetSiteLimitInput!) {
  setSiteLimit(input: $input) {
    site { id code } limit { amount currency } balance { amount } held { amount }
    available { amount currency }
  }
}"""


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def assert_error(result: Any, code: str, field: str | None = None) -> None:
    assert result.error_code == code, result.errors
    extensions = result.errors[0]["extensions"]
    if field is not None:
        assert extensions.get("field") == field, result.errors


async def customer_state(gql: Any, customer_id: str) -> dict[str, Any]:
    return (await gql(CUSTOMER, {"id": customer_id})).data["customer"]


async def customers_named(gql: Any, name: str) -> list[str]:
    result = await gql(CUSTOMERS_NAMED, {"name": name})
    return [e["node"]["id"] for e in result.data["customers"]["edges"]]


def customer_input(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "segment": "haulage", "currency": "USD"} | extra


# --- createSite -----------------------------------------------------------------------


async def test_create_site_returns_the_site_and_lists_it(gql):
    code = unique("SITE")
    result = await gql(CREATE_SITE, {"input": {"code": code, "name": "North Yard",
                                               "timezone": "Europe/Berlin"}})
    site = result.data["createSite"]
    assert site["code"] == code
    assert site["name"] == "North Yard"
    assert site["timezone"] == "Europe/Berlin"
    sites = (await gql(SITES)).data["sites"]
    assert site in sites


async def test_create_site_defaults_the_timezone_to_utc(gql):
    result = await gql(CREATE_SITE, {"input": {"code": unique("SITE"), "name": "Yard"}})
    assert result.data["createSite"]["timezone"] == "UTC"


async def test_create_site_refuses_an_unknown_timezone_and_creates_nothing(gql):
    code = unique("SITE")
    result = await gql(CREATE_SITE, {"input": {"code": code, "name": "Yard",
                                               "timezone": "Mars/Olympus_Mons"}})
    assert_error(result, "BAD_USER_INPUT", "timezone")
    assert code not in [s["code"] for s in (await gql(SITES)).data["sites"]]


async def test_create_site_refuses_a_duplicate_code_as_conflict(gql):
    code = unique("SITE")
    await gql(CREATE_SITE, {"input": {"code": code, "name": "First"}})
    result = await gql(CREATE_SITE, {"input": {"code": code, "name": "Second"}})
    assert_error(result, "CONFLICT", "code")
    same_code = [s for s in (await gql(SITES)).data["sites"] if s["code"] == code]
    assert [s["name"] for s in same_code] == ["First"]


async def test_concurrent_create_site_with_one_code_creates_one_site_and_conflicts_the_rest(gql):
    code = unique("SITE")
    results = await asyncio.gather(*[
        gql(CREATE_SITE, {"input": {"code": code, "name": f"Racer {i}"}}) for i in range(8)])
    codes = sorted(r.errors[0]["extensions"]["code"] if r.errors else "OK" for r in results)
    assert codes == ["CONFLICT"] * 7 + ["OK"]
    assert len([s for s in (await gql(SITES)).data["sites"] if s["code"] == code]) == 1


@pytest.mark.parametrize("field", ["name", "code"])
async def test_create_site_refuses_an_empty_or_blank_text_field(gql, field):
    code = unique("SITE")
    payload = {"code": code, "name": "Yard"} | {field: "   "}
    result = await gql(CREATE_SITE, {"input": payload})
    assert_error(result, "BAD_USER_INPUT", field)
    assert code not in [s["code"] for s in (await gql(SITES)).data["sites"]]


# --- createCustomer -------------------------------------------------------------------


async def test_create_customer_with_limit_terms_and_external_refs(gql):
    name = unique("Acme Haulage")
    ref = unique("cus")
    result = await gql(CREATE_CUSTOMER, {"input": customer_input(
        name, segment="construction", riskProfile="HIGH", status="ON_HOLD",
        creditLimit={"amount": "2500.50", "currency": "USD"}, netDays=45,
        invoicingCycle="WEEKLY", partnerId="partner-7",
        externalRefs=[{"system": "stripe", "externalId": ref},
                      {"system": "erp", "externalId": ref}])})
    customer = result.data["createCustomer"]
    assert customer["name"] == name
    assert customer["segment"] == "construction"
    assert customer["riskProfile"] == "HIGH"
    assert customer["status"] == "ON_HOLD"
    assert customer["currency"] == "USD"
    assert customer["partnerId"] == "partner-7"
    assert customer["version"] == 1
    account = customer["creditAccount"]
    assert account["version"] == 1
    assert account["limit"] == {"amount": "2500.50", "currency": "USD"}
    assert account["balance"] == {"amount": "0.00", "currency": "USD"}
    assert account["held"] == {"amount": "0.00", "currency": "USD"}
    assert account["available"] == {"amount": "2500.50", "currency": "USD"}
    assert account["utilization"] == 0.0
    assert account["terms"] == {"netDays": 45, "invoicingCycle": "WEEKLY"}
    assert sorted((r["system"], r["externalId"]) for r in customer["externalRefs"]) == [
        ("erp", ref), ("stripe", ref)]


async def test_create_customer_without_a_limit_starts_at_zero_with_default_terms(gql):
    result = await gql(CREATE_CUSTOMER, {"input": customer_input(unique("Plain"))})
    customer = result.data["createCustomer"]
    assert customer["riskProfile"] == "MEDIUM"
    assert customer["status"] == "ACTIVE"
    assert customer["creditAccount"]["limit"] == {"amount": "0.00", "currency": "USD"}
    assert customer["creditAccount"]["terms"] == {"netDays": 30, "invoicingCycle": "MONTHLY"}
    assert customer["externalRefs"] == []


async def test_create_customer_keeps_the_currency_minor_units(gql):
    jpy = await gql(CREATE_CUSTOMER, {"input": customer_input(
        unique("Tokyo"), currency="JPY", creditLimit={"amount": "150000", "currency": "JPY"})})
    assert jpy.data["createCustomer"]["creditAccount"]["limit"] == {
        "amount": "150000", "currency": "JPY"}
    kwd = await gql(CREATE_CUSTOMER, {"input": customer_input(
        unique("Kuwait"), currency="KWD", creditLimit={"amount": "12.5", "currency": "KWD"})})
    assert kwd.data["createCustomer"]["creditAccount"]["limit"] == {
        "amount": "12.500", "currency": "KWD"}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        pytest.param({"currency": "XYZ"}, "currency", id="unknown-currency"),
        pytest.param({"currency": "usd"}, "currency", id="lower-case-currency"),
        pytest.param({"currency": "XYZ", "creditLimit": {"amount": "10", "currency": "XYZ"}},
                     "currency", id="unknown-currency-with-limit"),
        pytest.param({"creditLimit": {"amount": "100.00", "currency": "EUR"}},
                     "creditLimit.currency", id="limit-currency-differs"),
        pytest.param({"creditLimit": {"amount": "-1.00", "currency": "USD"}},
                     "creditLimit.amount", id="negative-limit"),
        pytest.param({"creditLimit": {"amount": "10.001", "currency": "USD"}},
                     "creditLimit.amount", id="too-many-decimals"),
        pytest.param({"creditLimit": {"amount": "1e3", "currency": "USD"}},
                     "creditLimit.amount", id="float-notation"),
        pytest.param({"netDays": -1}, "netDays", id="net-days-negative"),
        pytest.param({"netDays": 366}, "netDays", id="net-days-above-a-year"),
        pytest.param({"name": "  "}, "name", id="blank-name"),
        pytest.param({"segment": ""}, "segment", id="empty-segment"),
    ],
)
async def test_create_customer_refuses_bad_input_and_creates_nothing(gql, overrides, field):
    name = unique("Refused")
    payload = customer_input(name) | overrides
    result = await gql(CREATE_CUSTOMER, {"input": payload})
    assert_error(result, "BAD_USER_INPUT", field)
    assert result.body["data"] is None
    assert await customers_named(gql, name) == []


async def test_create_customer_refuses_an_external_ref_of_another_customer_and_rolls_back(gql):
    ref = unique("cus")
    owner = (await gql(CREATE_CUSTOMER, {"input": customer_input(
        unique("Owner"), externalRefs=[{"system": "stripe", "externalId": ref}])})
    ).data["createCustomer"]["id"]
    name = unique("Second")
    result = await gql(CREATE_CUSTOMER, {"input": customer_input(
        name, externalRefs=[{"system": "stripe", "externalId": ref}])})
    assert_error(result, "CONFLICT", "externalId")
    assert await customers_named(gql, name) == []
    found = await gql(CUSTOMER_BY_REF, {"ref": {"system": "stripe", "externalId": ref}})
    assert found.data["customer"]["id"] == owner


async def test_create_customer_with_the_same_idempotency_key_returns_the_first_customer(gql):
    key = unique("key")
    payload = customer_input(unique("Once"), idempotencyKey=key)
    first = (await gql(CREATE_CUSTOMER, {"input": payload})).data["createCustomer"]
    again = (await gql(CREATE_CUSTOMER, {"input": payload})).data["createCustomer"]
    assert again["id"] == first["id"]
    assert await customers_named(gql, payload["name"]) == [first["id"]]


async def test_create_customer_reusing_an_idempotency_key_for_another_body_conflicts(gql):
    key = unique("key")
    await gql(CREATE_CUSTOMER, {"input": customer_input(unique("Once"), idempotencyKey=key)})
    other = unique("Other")
    result = await gql(CREATE_CUSTOMER, {"input": customer_input(other, idempotencyKey=key)})
    assert_error(result, "CONFLICT", "idempotencyKey")
    assert await customers_named(gql, other) == []


# --- updateCustomer -------------------------------------------------------------------


async def test_update_customer_changes_fields_and_increments_the_version(gql, make_customer):
    customer_id = await make_customer()
    name = unique("Renamed")
    result = await gql(UPDATE_CUSTOMER, {"input": {
        "id": customer_id, "expectedVersion": 1, "name": name, "segment": "retail",
        "riskProfile": "LOW", "status": "BLOCKED"}})
    updated = result.data["updateCustomer"]
    assert updated == {"id": customer_id, "name": name, "segment": "retail",
                       "riskProfile": "LOW", "status": "BLOCKED", "version": 2}
    state = await customer_state(gql, customer_id)
    assert (state["name"], state["version"]) == (name, 2)


async def test_update_customer_leaves_omitted_fields_alone(gql, make_customer):
    customer_id = await make_customer()
    before = await customer_state(gql, customer_id)
    result = await gql(UPDATE_CUSTOMER, {"input": {
        "id": customer_id, "expectedVersion": 1, "status": "ON_HOLD"}})
    updated = result.data["updateCustomer"]
    assert updated["status"] == "ON_HOLD"
    assert (updated["name"], updated["segment"], updated["riskProfile"]) == (
        before["name"], before["segment"], before["riskProfile"])


async def test_update_customer_with_a_stale_version_conflicts_and_changes_nothing(
        gql, make_customer):
    customer_id = await make_customer()
    await gql(UPDATE_CUSTOMER, {"input": {"id": customer_id, "expectedVersion": 1,
                                          "segment": "retail"}})
    before = await customer_state(gql, customer_id)
    result = await gql(UPDATE_CUSTOMER, {"input": {"id": customer_id, "expectedVersion": 1,
                                                   "name": unique("Lost update")}})
    assert_error(result, "CONFLICT", "expectedVersion")
    assert await customer_state(gql, customer_id) == before


async def test_concurrent_updates_from_one_version_let_exactly_one_win(gql, make_customer):
    customer_id = await make_customer()
    names = [unique("Racer") for _ in range(6)]
    results = await asyncio.gather(*[
        gql(UPDATE_CUSTOMER, {"input": {"id": customer_id, "expectedVersion": 1, "name": n}})
        for n in names])
    winners = [r.data["updateCustomer"] for r in results if not r.errors]
    assert len(winners) == 1
    assert sorted(r.error_code for r in results if r.errors) == ["CONFLICT"] * 5
    state = await customer_state(gql, customer_id)
    assert (state["name"], state["version"]) == (winners[0]["name"], 2)


async def test_update_customer_with_nothing_to_update_is_bad_input(gql, make_customer):
    customer_id = await make_customer()
    before = await customer_state(gql, customer_id)
    result = await gql(UPDATE_CUSTOMER, {"input": {"id": customer_id, "expectedVersion": 1}})
    assert_error(result, "BAD_USER_INPUT")
    assert await customer_state(gql, customer_id) == before


async def test_update_customer_refuses_a_blank_name(gql, make_customer):
    customer_id = await make_customer()
    before = await customer_state(gql, customer_id)
    result = await gql(UPDATE_CUSTOMER, {"input": {"id": customer_id, "expectedVersion": 1,
                                                   "name": " "}})
    assert_error(result, "BAD_USER_INPUT", "name")
    assert await customer_state(gql, customer_id) == before


async def test_update_customer_of_an_unknown_id_is_not_found(gql):
    result = await gql(UPDATE_CUSTOMER, {"input": {"id": str(uuid.uuid4()),
                                                   "expectedVersion": 1, "name": "X"}})
    assert_error(result, "NOT_FOUND", "id")


# --- linkExternalRef ------------------------------------------------------------------


async def test_link_external_ref_maps_the_ref_to_the_customer(gql, make_customer):
    customer_id = await make_customer()
    ref = unique("tenant")
    result = await gql(LINK_REF, {"input": {"customerId": customer_id, "system": "bms",
                                            "externalId": ref}})
    assert result.data["linkExternalRef"]["externalRefs"] == [
        {"system": "bms", "externalId": ref}]
    found = await gql(CUSTOMER_BY_REF, {"ref": {"system": "bms", "externalId": ref}})
    assert found.data["customer"]["id"] == customer_id


async def test_link_external_ref_again_for_the_same_customer_is_a_no_op(gql, make_customer):
    customer_id = await make_customer()
    ref = {"customerId": customer_id, "system": "stripe", "externalId": unique("cus")}
    await gql(LINK_REF, {"input": ref})
    audit_before = await audit_actions(gql, customer_id)
    again = await gql(LINK_REF, {"input": ref})
    assert again.data["linkExternalRef"]["externalRefs"] == [
        {"system": "stripe", "externalId": ref["externalId"]}]
    assert await audit_actions(gql, customer_id) == audit_before


async def test_link_external_ref_owned_by_another_customer_conflicts(gql, make_customer):
    owner, other = await make_customer(), await make_customer()
    ref = unique("cus")
    await gql(LINK_REF, {"input": {"customerId": owner, "system": "stripe", "externalId": ref}})
    result = await gql(LINK_REF, {"input": {"customerId": other, "system": "stripe",
                                            "externalId": ref}})
    assert_error(result, "CONFLICT", "externalId")
    assert (await customer_state(gql, other))["externalRefs"] == []
    found = await gql(CUSTOMER_BY_REF, {"ref": {"system": "stripe", "externalId": ref}})
    assert found.data["customer"]["id"] == owner


async def test_concurrent_links_of_one_ref_to_different_customers_give_it_one_owner(
        gql, make_customer):
    customers = [await make_customer() for _ in range(6)]
    ref = unique("cus")
    results = await asyncio.gather(*[
        gql(LINK_REF, {"input": {"customerId": c, "system": "stripe", "externalId": ref}})
        for c in customers])
    owners = [c for c, r in zip(customers, results, strict=True) if not r.errors]
    assert len(owners) == 1
    assert sorted(r.error_code for r in results if r.errors) == ["CONFLICT"] * 5
    found = await gql(CUSTOMER_BY_REF, {"ref": {"system": "stripe", "externalId": ref}})
    assert found.data["customer"]["id"] == owners[0]


async def test_the_same_external_id_may_be_linked_in_different_systems(gql, make_customer):
    first, second = await make_customer(), await make_customer()
    ref = unique("shared")
    await gql(LINK_REF, {"input": {"customerId": first, "system": "erp", "externalId": ref}})
    await gql(LINK_REF, {"input": {"customerId": second, "system": "crm", "externalId": ref}})
    by_erp = await gql(CUSTOMER_BY_REF, {"ref": {"system": "erp", "externalId": ref}})
    by_crm = await gql(CUSTOMER_BY_REF, {"ref": {"system": "crm", "externalId": ref}})
    assert by_erp.data["customer"]["id"] == first
    assert by_crm.data["customer"]["id"] == second


async def test_customer_by_an_unknown_external_ref_is_null(gql):
    result = await gql(CUSTOMER_BY_REF, {"ref": {"system": "stripe",
                                                 "externalId": unique("nobody")}})
    assert result.body == {"data": {"customer": None}}


async def test_link_external_ref_to_an_unknown_customer_is_not_found(gql):
    result = await gql(LINK_REF, {"input": {"customerId": str(uuid.uuid4()), "system": "erp",
                                            "externalId": unique("x")}})
    assert_error(result, "NOT_FOUND", "customerId")


async def test_link_external_ref_refuses_a_blank_system(gql, make_customer):
    customer_id = await make_customer()
    result = await gql(LINK_REF, {"input": {"customerId": customer_id, "system": " ",
                                            "externalId": unique("x")}})
    assert_error(result, "BAD_USER_INPUT", "system")
    assert (await customer_state(gql, customer_id))["externalRefs"] == []


AUDIT = """
query($objectId: String!) {
  auditLog(first: 100, filter: {objectId: $objectId}) { edges { node { action } } }
}"""


async def audit_actions(gql: Any, object_id: str) -> list[str]:
    result = await gql(AUDIT, {"objectId": object_id})
    return [e["node"]["action"] for e in result.data["auditLog"]["edges"]]


# --- setCreditTerms -------------------------------------------------------------------


async def test_set_credit_terms_changes_terms_and_bumps_the_account_version(gql, make_customer):
    customer_id = await make_customer()
    result = await gql(SET_TERMS, {"input": {"customerId": customer_id, "netDays": 14,
                                             "invoicingCycle": "BIWEEKLY",
                                             "expectedVersion": 1}})
    assert result.data["setCreditTerms"] == {
        "version": 2, "terms": {"netDays": 14, "invoicingCycle": "BIWEEKLY"}}
    state = await customer_state(gql, customer_id)
    assert state["creditAccount"]["terms"] == {"netDays": 14, "invoicingCycle": "BIWEEKLY"}
    assert "credit.set_terms" in await audit_actions(gql, customer_id)


@pytest.mark.parametrize("net_days", [-1, 366])
async def test_set_credit_terms_refuses_net_days_out_of_range(gql, make_customer, net_days):
    customer_id = await make_customer()
    before = await customer_state(gql, customer_id)
    result = await gql(SET_TERMS, {"input": {"customerId": customer_id, "netDays": net_days,
                                             "invoicingCycle": "WEEKLY"}})
    assert_error(result, "BAD_USER_INPUT", "netDays")
    assert await customer_state(gql, customer_id) == before


async def test_set_credit_terms_with_a_stale_version_conflicts(gql, make_customer):
    customer_id = await make_customer()
    before = await customer_state(gql, customer_id)
    result = await gql(SET_TERMS, {"input": {"customerId": customer_id, "netDays": 10,
                                             "invoicingCycle": "WEEKLY", "expectedVersion": 7}})
    assert_error(result, "CONFLICT", "expectedVersion")
    assert await customer_state(gql, customer_id) == before


# --- setCreditLimit -------------------------------------------------------------------


async def test_set_credit_limit_changes_the_limit_and_bumps_the_version(gql, make_customer):
    customer_id = await make_customer(limit="1000.00")
    result = await gql(SET_LIMIT, {"input": {"customerId": customer_id,
                                             "limit": {"amount": "750.25", "currency": "USD"},
                                             "expectedVersion": 1}})
    assert result.data["setCreditLimit"] == {
        "version": 2, "limit": {"amount": "750.25", "currency": "USD"},
        "available": {"amount": "750.25", "currency": "USD"}}
    state = await customer_state(gql, customer_id)
    assert state["creditAccount"]["limit"]["amount"] == "750.25"
    assert state["creditAccount"]["version"] == 2


async def test_set_credit_limit_without_expected_version_applies(gql, make_customer):
    customer_id = await make_customer()
    result = await gql(SET_LIMIT, {"input": {"customerId": customer_id,
                                             "limit": {"amount": "0", "currency": "USD"}}})
    assert result.data["setCreditLimit"]["limit"]["amount"] == "0.00"


async def test_set_credit_limit_with_a_stale_version_conflicts_and_changes_nothing(
        gql, make_customer):
    customer_id = await make_customer(limit="1000.00")
    await gql(SET_LIMIT, {"input": {"customerId": customer_id, "expectedVersion": 1,
                                    "limit": {"amount": "500.00", "currency": "USD"}}})
    before = await customer_state(gql, customer_id)
    result = await gql(SET_LIMIT, {"input": {"customerId": customer_id, "expectedVersion": 1,
                                             "limit": {"amount": "400.00", "currency": "USD"}}})
    assert_error(result, "CONFLICT", "expectedVersion")
    assert await customer_state(gql, customer_id) == before
    assert before["creditAccount"]["limit"]["amount"] == "500.00"


@pytest.mark.parametrize(
    ("limit", "field"),
    [
        pytest.param({"amount": "-5.00", "currency": "USD"}, "limit.amount", id="negative"),
        pytest.param({"amount": "5.005", "currency": "USD"}, "limit.amount",
                     id="too-many-decimals"),
        pytest.param({"amount": "5.00", "currency": "EUR"}, "limit.currency",
                     id="other-currency"),
        pytest.param({"amount": "abc", "currency": "USD"}, "limit.amount", id="not-a-number"),
    ],
)
async def test_set_credit_limit_refuses_bad_input_and_changes_nothing(
        gql, make_customer, limit, field):
    customer_id = await make_customer(limit="1000.00")
    before = await customer_state(gql, customer_id)
    result = await gql(SET_LIMIT, {"input": {"customerId": customer_id, "limit": limit}})
    assert_error(result, "BAD_USER_INPUT", field)
    assert await customer_state(gql, customer_id) == before


async def test_set_credit_limit_of_an_unknown_customer_is_not_found(gql):
    result = await gql(SET_LIMIT, {"input": {"customerId": str(uuid.uuid4()),
                                             "limit": {"amount": "1.00", "currency": "USD"}}})
    assert_error(result, "NOT_FOUND", "customerId")


# --- setSiteLimit ---------------------------------------------------------------------


async def test_set_site_limit_creates_then_updates_a_sub_limit(gql, make_customer, make_site):
    customer_id, site_id = await make_customer(limit="1000.00"), await make_site()
    created = await gql(SET_SITE_LIMIT, {"input": {
        "customerId": customer_id, "siteId": site_id,
        "limit": {"amount": "300.00", "currency": "USD"}}})
    site_limit = created.data["setSiteLimit"]
    assert site_limit["site"]["id"] == site_id
    assert site_limit["limit"] == {"amount": "300.00", "currency": "USD"}
    assert site_limit["balance"]["amount"] == "0.00"
    assert site_limit["held"]["amount"] == "0.00"
    assert site_limit["available"] == {"amount": "300.00", "currency": "USD"}

    updated = await gql(SET_SITE_LIMIT, {"input": {
        "customerId": customer_id, "siteId": site_id,
        "limit": {"amount": "450.00", "currency": "USD"}}})
    assert updated.data["setSiteLimit"]["limit"]["amount"] == "450.00"
    limits = (await customer_state(gql, customer_id))["siteLimits"]
    assert [(s["site"]["id"], s["limit"]["amount"]) for s in limits] == [(site_id, "450.00")]


async def test_set_site_limit_at_an_unknown_site_is_not_found_and_creates_nothing(
        gql, make_customer):
    customer_id = await make_customer()
    result = await gql(SET_SITE_LIMIT, {"input": {
        "customerId": customer_id, "siteId": str(uuid.uuid4()),
        "limit": {"amount": "10.00", "currency": "USD"}}})
    assert_error(result, "NOT_FOUND", "siteId")
    assert (await customer_state(gql, customer_id))["siteLimits"] == []


async def test_set_site_limit_with_a_malformed_site_id_is_bad_input(gql, make_customer):
    customer_id = await make_customer()
    result = await gql(SET_SITE_LIMIT, {"input": {
        "customerId": customer_id, "siteId": "yard-1",
        "limit": {"amount": "10.00", "currency": "USD"}}})
    assert_error(result, "BAD_USER_INPUT", "siteId")


async def test_set_site_limit_refuses_a_negative_limit(gql, make_customer, make_site):
    customer_id, site_id = await make_customer(), await make_site()
    result = await gql(SET_SITE_LIMIT, {"input": {
        "customerId": customer_id, "siteId": site_id,
        "limit": {"amount": "-1.00", "currency": "USD"}}})
    assert_error(result, "BAD_USER_INPUT", "limit.amount")
    assert (await customer_state(gql, customer_id))["siteLimits"] == []
