"""Partner-scoped tokens see and change only their own partner's customers."""

from __future__ import annotations

import uuid
from typing import Any

import pytest


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


STATE = """
query($id: ID!) {
  customer(id: $id) {
    name version creditAccount { version limit { amount } held { amount } } holds { id }
  }
}"""


@pytest.fixture
def partners(gql: Any) -> dict[str, str]:
    """Two partners, and a finance token scoped to the first."""
    own, other = unique("partner"), unique("partner")
    return {"own": own, "other": other,
            "token": gql.token("finance", subject=unique("portal"), partner_id=own)}


async def test_a_partner_lists_only_its_own_customers(gql, make_customer, partners):
    segment = unique("seg")
    mine = await make_customer(segment=segment, partnerId=partners["own"])
    await make_customer(segment=segment, partnerId=partners["other"])
    await make_customer(segment=segment)
    result = await gql("""query($segment: String!) {
        customers(first: 10, filter: {segment: $segment}) { edges { node { id } } } }""",
                       {"segment": segment}, token=partners["token"])
    assert [e["node"]["id"] for e in result.data["customers"]["edges"]] == [mine]


async def test_a_partner_reads_its_own_customer(gql, make_customer, partners):
    mine = await make_customer(partnerId=partners["own"])
    result = await gql("query($id: ID!) { customer(id: $id) { id partnerId } }", {"id": mine},
                       token=partners["token"])
    assert result.data["customer"] == {"id": mine, "partnerId": partners["own"]}


@pytest.mark.parametrize("owner", ["other", None], ids=["other-partner", "operator"])
async def test_another_partners_customer_looks_like_it_does_not_exist(
        gql, make_customer, partners, owner):
    ref = unique("cus")
    theirs = await make_customer(partnerId=partners[owner] if owner else None,
                                 externalRefs=[{"system": "stripe", "externalId": ref}])
    token = partners["token"]
    by_id = await gql("query($id: ID!) { customer(id: $id) { id } }", {"id": theirs},
                      token=token)
    by_ref = await gql("""query($ref: ExternalRefInput!) {
        customer(externalRef: $ref) { id } }""", {"ref": {"system": "stripe",
                                                          "externalId": ref}}, token=token)
    check = await gql("""query($id: ID!) {
        creditCheck(customerId: $id, amount: {amount: "1.00", currency: "USD"}) { approved } }""",
                      {"id": theirs}, token=token)
    # A lookup answers null, as for a customer that does not exist.
    for result in (by_id, by_ref):
        assert result.body == {"data": {"customer": None}}
    assert check.error_code == "NOT_FOUND"
    assert check.body["data"] is None


async def test_a_partner_cannot_change_another_partners_customer(
        gql, make_customer, partners):
    theirs = await make_customer(partnerId=partners["other"])
    before = (await gql(STATE, {"id": theirs})).data
    token = partners["token"]
    attempts = [
        ("""mutation($id: ID!) { updateCustomer(input: {id: $id, expectedVersion: 1,
            name: "Hijacked"}) { id } }""", {"id": theirs}),
        ("""mutation($id: ID!) { setCreditLimit(input: {customerId: $id,
            limit: {amount: "999999.00", currency: "USD"}}) { version } }""", {"id": theirs}),
        ("""mutation($id: ID!) { authorizeCredit(input: {customerId: $id,
            amount: {amount: "5.00", currency: "USD"}}) { __typename } }""", {"id": theirs}),
    ]
    for document, variables in attempts:
        result = await gql(document, variables, token=token)
        assert result.error_code == "NOT_FOUND", result.errors
    assert (await gql(STATE, {"id": theirs})).data == before


async def test_a_partner_cannot_read_another_partners_hold(gql, make_customer, partners):
    theirs = await make_customer(partnerId=partners["other"])
    held = await gql("""mutation($id: ID!) { authorizeCredit(input: {customerId: $id,
        amount: {amount: "5.00", currency: "USD"}}) { ... on Hold { id } } }""", {"id": theirs})
    hold_id = held.data["authorizeCredit"]["id"]
    result = await gql("query($id: ID!) { hold(id: $id) { id } }", {"id": hold_id},
                       token=partners["token"])
    assert result.body == {"data": {"hold": None}}


async def test_a_partner_creates_customers_under_its_own_partner_id(gql, partners):
    result = await gql("""mutation($input: CreateCustomerInput!) {
        createCustomer(input: $input) { partnerId } }""", {"input": {
        "name": unique("Portal"), "segment": "haulage", "currency": "USD"}},
                       token=partners["token"])
    assert result.data["createCustomer"]["partnerId"] == partners["own"]


async def test_a_partner_cannot_create_a_customer_for_another_partner(gql, partners):
    name = unique("Portal")
    result = await gql("""mutation($input: CreateCustomerInput!) {
        createCustomer(input: $input) { id } }""", {"input": {
        "name": name, "segment": "haulage", "currency": "USD",
        "partnerId": partners["other"]}}, token=partners["token"])
    assert result.error_code == "BAD_USER_INPUT"
    assert result.errors[0]["extensions"]["field"] == "partnerId"
    found = await gql("""query($name: String!) {
        customers(first: 5, filter: {nameContains: $name}) { edges { node { id } } } }""",
                      {"name": name})
    assert found.data["customers"]["edges"] == []


async def test_a_partner_cannot_read_the_audit_log_even_with_an_audit_role(
        gql, make_customer, partners):
    await make_customer(partnerId=partners["other"])
    token = gql.token("auditor", subject=unique("portal"), partner_id=partners["own"])
    result = await gql("{ auditLog(first: 5) { edges { node { objectId after } } } }",
                       token=token)
    assert result.error_code == "FORBIDDEN"
    assert result.body["data"] is None
