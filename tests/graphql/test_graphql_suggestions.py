"""With introspection off, errors do not suggest names ("Did you mean 'customer'?"): a
caller that may not read the schema cannot spell it out by typos either."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

from ccm_gateway.api.schema import build_schema
from ccm_gateway.app import create_app

# Each is wrong by one typo, and graphql-core suggests the right name for each.
TYPOS = {
    "field": ("{ custmer(id: 1) { id } }", None),
    "argument": ("{ customers(frist: 1) { edges { cursor } } }", None),
    "variable type": ("query($f: CustomerFiltr) { customers(filter: $f) { edges { cursor } } }",
                      None),
    "input field": ('{ customers(filter: {segmnt: "x"}) { edges { cursor } } }', None),
    "enum literal": ('{ customers(filter: {status: ACTIV}) { edges { cursor } } }', None),
    "enum variable": (("query($s: CustomerStatus) { customers(filter: {status: $s}) "
                       "{ edges { cursor } } }"), {"s": "ACTIV"}),
    "input field variable": (("query($f: CustomerFilter) { customers(filter: $f) "
                              "{ edges { cursor } } }"), {"f": {"segmnt": "x"}}),
}


def messages(result) -> list[str]:
    assert result.errors, result
    return [e.message for e in result.errors]


@pytest.mark.parametrize("typo", list(TYPOS))
async def test_suggestions_are_given_while_introspection_is_on(typo):
    query, variables = TYPOS[typo]
    result = await build_schema(introspection=True).execute(query, variables)
    assert any("Did you mean" in m for m in messages(result)), messages(result)


@pytest.mark.parametrize("typo", list(TYPOS))
async def test_no_suggestion_is_given_when_introspection_is_off(typo):
    query, variables = TYPOS[typo]
    result = await build_schema(introspection=False).execute(query, variables)
    for message in messages(result):
        assert "Did you mean" not in message
    assert all(e.extensions["code"] == "BAD_USER_INPUT" for e in result.errors)


async def test_the_served_schema_gives_no_suggestion_when_introspection_is_off(settings):
    app = create_app(replace(settings, introspection=False))
    token = app.state.tokens.issue("ops", ["viewer"])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://ccm.test") as c:
        response = await c.post("/graphql", json={"query": "{ custmer(id: 1) { id } }"},
                                headers={"Authorization": f"Bearer {token}"})
    [error] = response.json()["errors"]
    assert error["message"] == "Cannot query field 'custmer' on type 'Query'."
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
