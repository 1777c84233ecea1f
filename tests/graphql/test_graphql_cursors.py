"""A cursor the server did not issue is BAD_USER_INPUT "invalid cursor" on the field that
carried it (``after`` or ``before``), on every paginated field of the schema, and never an
INTERNAL.

The paginated fields are enumerated from ``build_schema()`` (every field with an
``after`` argument), so a new one without a way to reach it below fails here.
"""

from __future__ import annotations

import base64
import json

import pytest

from ccm_gateway.api.schema import build_schema

SCHEMA = build_schema()


def paginated_fields() -> list[str]:
    """'Query.customers', 'Customer.ledger', ...: every field taking an ``after`` cursor."""
    found = []
    for name, graphql_type in SCHEMA._schema.type_map.items():
        for field_name, field in (getattr(graphql_type, "fields", None) or {}).items():
            if not name.startswith("__") and "after" in getattr(field, "args", {}):
                found.append(f"{name}.{field_name}")
    return sorted(found)


# How to reach an object of each type that has a paginated field; {id} is a customer's id.
PARENTS = {
    "Query": "{field}",
    "Customer": 'customer(id: "{id}") {{ {field} }}',
    "AgingReport": "agingReport {{ {field} }}",
}
# The arguments a paginated field cannot be called without.
REQUIRED = {"Query.limitSuggestions": 'currency: "USD", '}


def cursor_arguments() -> list[tuple[str, str]]:
    """(field, argument): every cursor argument of every paginated field; a forward-only
    field (AgingReport.customers) takes ``after`` and no ``before``."""
    return [(path, argument) for path in paginated_fields() for argument in ("after", "before")
            if argument in SCHEMA._schema.get_type(path.split(".")[0]).fields[
                path.split(".")[1]].args]


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


TAMPERED = {
    "deeply nested": b64(b"[" * 100_000),
    "not base64": "%%%not-base64%%%",
    "not JSON": b64(b"\xff\xfe not json"),
    "not a list": b64(b'{"a": 1}'),
    "wrong arity": b64(json.dumps(["a", "b", "c"]).encode()),
    "NUL in a part": b64(json.dumps(["\u0000", "\u0000"]).encode()),
    "lone surrogate": b64(json.dumps(["\ud800", "\ud800"]).encode()),
    "huge number": b64(json.dumps(["9" * 30, "9" * 30]).encode()),
    "oversized": b64(json.dumps(["x" * 5000, "x"]).encode()),
}


def test_every_type_with_a_paginated_field_has_a_way_to_reach_it():
    assert {f.split(".")[0] for f in paginated_fields()} <= set(PARENTS)
    assert "Query.customers" in paginated_fields()
    assert "Customer.ledger" in paginated_fields()
    assert ("Query.customers", "before") in cursor_arguments()
    assert ("AgingReport.customers", "after") in cursor_arguments()


@pytest.fixture(scope="module")
async def customer_id(gql):
    result = await gql("""mutation($input: CreateCustomerInput!) {
        createCustomer(input: $input) { id } }""", {"input": {
        "name": "Cursor Test", "segment": "haulage", "currency": "USD",
        "creditLimit": {"amount": "10.00", "currency": "USD"}}})
    return result.data["createCustomer"]["id"]


@pytest.mark.parametrize("tampered", list(TAMPERED), ids=list(TAMPERED))
@pytest.mark.parametrize(("path", "argument"), cursor_arguments(),
                         ids=[f"{path}-{argument}" for path, argument in cursor_arguments()])
async def test_a_tampered_cursor_is_an_invalid_cursor(gql, customer_id, path, tampered,
                                                      argument):
    type_name, field_name = path.split(".")
    selection = (f"{field_name}({REQUIRED.get(path, '')}{argument}: $cursor) "
                 "{ pageInfo { endCursor } }")
    query = ("query($cursor: String) { "
             + PARENTS[type_name].format(field=selection, id=customer_id) + " }")
    result = await gql(query, {"cursor": TAMPERED[tampered]})
    [error] = result.errors
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert error["extensions"]["field"] == argument
    assert error["message"].startswith("invalid cursor")
    assert len(error["message"]) < 200  # the cursor is not echoed back


@pytest.mark.parametrize("path", paginated_fields())
async def test_a_cursor_the_server_issued_still_pages_on(gql, customer_id, path):
    type_name, field_name = path.split(".")

    def query(selection: str) -> str:
        return ("query($after: String) { "
                + PARENTS[type_name].format(field=selection, id=customer_id) + " }")

    window = f"{REQUIRED.get(path, '')}first: 1, after: $after"
    first = await gql(query(f"{field_name}({window}) {{ edges {{ cursor }} }}"))
    node = first.data if type_name == "Query" else next(iter(first.data.values()))
    edges = node[field_name]["edges"]
    if not edges:
        pytest.skip(f"{path} has no rows to page through")
    second = await gql(query(f"{field_name}({window}) {{ edges {{ cursor }} }}"),
                       {"after": edges[0]["cursor"]})
    assert not second.errors


async def test_the_cursor_of_the_longest_customer_name_is_accepted(gql):
    """The longest cursor the server issues: 200 astral characters, JSON-escaped."""
    name = "\U0001f69a" * 199 + "x"
    await gql("""mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { id } }""",
              {"input": {"name": name, "segment": "haulage", "currency": "USD",
                         "creditLimit": {"amount": "10.00", "currency": "USD"}}})
    page = """query($after: String, $name: String) { customers(first: 1, after: $after,
        filter: {nameContains: $name}) { edges { cursor node { name } } } }"""
    first = (await gql(page, {"name": name})).data["customers"]["edges"]
    assert [e["node"]["name"] for e in first] == [name]
    rest = await gql(page, {"name": name, "after": first[0]["cursor"]})
    assert rest.data["customers"]["edges"] == []
