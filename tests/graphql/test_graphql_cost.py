"""Query cost: page sizes multiply down the tree, and a document over the maximum is
refused before it runs, with its cost in the error.

A connection asked for ``first: n`` (or ``last: n``) costs ``n`` times (1 + the cost of the
connections below it), so ``customers(first: 100) { ledger(first: 100) }`` costs
100 + 100 x 100 = 10,100 (GitHub's node count). A connection without ``first``
counts the default page size.
"""

from __future__ import annotations

import uuid
from dataclasses import replace

import httpx
import pytest

from ccm_gateway.app import create_app
from ccm_gateway.config import Settings
from ccm_gateway.errors import ConfigError
from ccm_gateway.graphql import cost

LEDGER = "ledger(first: 100) { edges { node { id } } }"
FULL_PAGE = f"customers(first: 100) {{ edges {{ node {{ id {LEDGER} }} }} }}"


def cost_error(result) -> dict:
    """The one error of a refused document, after checking that nothing ran."""
    assert result.body["data"] is None, result.body
    [error] = result.errors
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    return error


async def test_thirty_aliased_nested_pages_are_refused_with_their_cost(gql, settings):
    query = "{ " + " ".join(f"a{i}: {FULL_PAGE}" for i in range(30)) + " }"
    error = cost_error(await gql(query, role="viewer"))
    assert error["extensions"]["cost"] == 303_000
    assert error["extensions"]["maxCost"] == settings.max_query_cost
    assert "303000" in error["message"]
    assert str(settings.max_query_cost) in error["message"]


async def test_one_full_page_of_customers_each_with_a_full_page_of_ledger_runs(
        gql, make_customer):
    await make_customer()
    result = await gql(f"{{ {FULL_PAGE} }}", role="viewer")
    assert result.data["customers"]["edges"]


async def test_two_full_nested_pages_are_over_the_default_maximum(gql):
    error = cost_error(await gql(f"{{ a: {FULL_PAGE} b: {FULL_PAGE} }}"))
    assert error["extensions"]["cost"] == 20_200


async def test_a_refused_mutation_writes_nothing(gql):
    name = f"Costly {uuid.uuid4().hex[:8]}"
    mutation = """mutation($input: CreateCustomerInput!) { createCustomer(input: $input) {
        id ledger(first: 100000) { edges { node { id } } } } }"""
    result = await gql(mutation, {"input": {
        "name": name, "segment": "haulage", "currency": "USD",
        "creditLimit": {"amount": "100.00", "currency": "USD"}}})
    assert cost_error(result)["extensions"]["cost"] == 100_000
    found = await gql("""query($n: String) { customers(filter: {nameContains: $n}) {
        edges { node { id } } } }""", {"n": name})
    assert found.data["customers"]["edges"] == []


NESTED_BY_VARIABLE = """query($n: Int) { customers(first: $n) { edges { node {
    ledger(first: $n) { edges { node { id } } } } } } }"""


async def test_first_given_as_a_variable_is_counted_at_its_value(gql):
    error = cost_error(await gql(NESTED_BY_VARIABLE, {"n": 200}))
    assert error["extensions"]["cost"] == 200 + 200 * 200


async def test_first_given_as_a_variable_within_the_maximum_runs(gql, make_customer):
    await make_customer()
    result = await gql(NESTED_BY_VARIABLE, {"n": 100})
    assert result.data["customers"]["edges"]


@pytest.mark.parametrize("size", ["last: 200", "last: $n", "first: 5, last: $n"])
async def test_last_is_counted_as_first_is(gql, size):
    # Reading backward must cost as much as reading forward; both given count the larger.
    declared = "($n: Int)" if "$n" in size else ""
    query = f"""query{declared} {{ customers({size}) {{ edges {{ node {{
        ledger({size}) {{ edges {{ node {{ id }} }} }} }} }} }} }}"""
    error = cost_error(await gql(query, {"n": 200} if declared else {}))
    assert error["extensions"]["cost"] == 200 + 200 * 200


async def test_a_variable_default_is_counted_when_the_variable_is_not_sent(gql):
    query = NESTED_BY_VARIABLE.replace("$n: Int", "$n: Int = 150")
    error = cost_error(await gql(query))
    assert error["extensions"]["cost"] == 150 + 150 * 150


async def test_a_connection_without_first_counts_the_default_page_size(gql, settings):
    per_alias = 100 * (1 + settings.default_page_size)
    aliases = settings.max_query_cost // per_alias + 1
    page = "customers(first: 100) { edges { node { ledger { edges { node { id } } } } } }"
    query = "{ " + " ".join(f"a{i}: {page}" for i in range(aliases)) + " }"
    error = cost_error(await gql(query))
    assert error["extensions"]["cost"] == aliases * per_alias


async def test_connections_inside_fragments_are_counted(gql):
    query = f"""
    fragment Ledger on Customer {{ {LEDGER} }}
    fragment Page on Query {{ customers(first: 100) {{ edges {{ node {{ ...Ledger }} }} }} }}
    query {{
      ...Page
      other: customers(first: 100) {{ edges {{ node {{ ... on Customer {{ {LEDGER} }} }} }} }}
    }}"""
    error = cost_error(await gql(query))
    assert error["extensions"]["cost"] == 20_200


async def test_a_fragment_spread_twice_in_one_selection_is_counted_once(gql, make_customer):
    """The same field from two spreads is one field in the response, as in execution."""
    await make_customer()
    query = f"""
    fragment Ledger on Customer {{ {LEDGER} }}
    {{ customers(first: 100) {{ edges {{ node {{ ...Ledger ...Ledger {LEDGER} }} }} }} }}"""
    result = await gql(query)
    assert result.data["customers"]["edges"]


async def test_the_maximum_is_the_ccm_max_query_cost_setting(settings):
    assert Settings.from_env({"CCM_MAX_QUERY_COST": "50"}).max_query_cost == 50
    app = create_app(replace(settings, max_query_cost=50))
    token = app.state.tokens.issue("ops", ["viewer"])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://ccm.test") as c:
        async def cost_of_page(first: int) -> dict:
            response = await c.post("/graphql", headers={"Authorization": f"Bearer {token}"},
                                    json={"query": f"{{ customers(first: {first}) "
                                                   "{ edges { cursor } } }"})
            return response.json()

        assert "errors" not in await cost_of_page(50)
        [error] = (await cost_of_page(51))["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "cost": 51, "maxCost": 50,
                                   "requestId": error["extensions"]["requestId"]}


@pytest.mark.parametrize("value", ["0", "-1"])
def test_a_maximum_query_cost_that_is_not_positive_is_refused_at_start_up(value):
    with pytest.raises(ConfigError, match="CCM_MAX_QUERY_COST"):
        Settings.from_env({"CCM_MAX_QUERY_COST": value})


# --- the computation itself (no database) -----------------------------------------------


@pytest.fixture(scope="module")
def schema():
    from ccm_gateway.api.schema import build_schema

    return build_schema()


def cost_of(schema, query: str, variables: dict | None = None, *, default: int = 20) -> int:
    from graphql import parse

    return cost.document_cost(schema._schema, parse(query), None, variables or {},
                              default_page_size=default)


def test_page_sizes_multiply_down_the_tree_and_add_across_fields(schema):
    assert cost_of(schema, f"{{ {FULL_PAGE} }}") == 10_100
    assert cost_of(schema, "{ customers(first: 10) { edges { node { id } } } "
                           "auditLog(first: 5) { edges { node { id } } } }") == 15


def test_fields_that_are_not_connections_cost_nothing(schema):
    assert cost_of(schema, "{ sites { id } }") == 0
    check = ('{ creditCheck(customerId: "x", amount: {amount: "1", currency: "USD"}) '
             '{ approved } }')
    assert cost_of(schema, check) == 0


@pytest.mark.parametrize("value", [None, "100", 1.5, True])
def test_a_variable_that_is_not_an_int_counts_the_default_page_size(schema, value):
    """It is refused when coerced; until then it must not make the query look cheaper."""
    assert cost_of(schema, NESTED_BY_VARIABLE, {"n": value}, default=7) == 7 + 7 * 7


def test_the_selected_operation_is_the_one_counted(schema):
    from graphql import parse

    document = parse(f"query Cheap {{ sites {{ id }} }} query Dear {{ {FULL_PAGE} }}")
    assert cost.document_cost(schema._schema, document, "Cheap", {},
                              default_page_size=20) == 0
    assert cost.document_cost(schema._schema, document, "Dear", {},
                              default_page_size=20) == 10_100


# --- the time budget -----------------------------------------------------------------------


async def test_a_query_over_its_time_budget_is_stopped(gql, make_customer, monkeypatch):
    await make_customer()
    monkeypatch.setattr(cost, "QUERY_TIME_BUDGET_SECONDS", 0)
    result = await gql(f"{{ {FULL_PAGE} }}")
    assert result.body["data"] is None
    [error] = result.errors
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["timeBudgetSeconds"] == 0
    assert error["extensions"]["requestId"]
    assert "time budget" in error["message"]
    monkeypatch.undo()
    assert (await gql(f"{{ {FULL_PAGE} }}")).data["customers"]["edges"]


async def test_a_mutation_is_never_stopped_by_the_query_time_budget(gql, monkeypatch):
    """A mutation runs to its commit: cutting one short would leave the caller not
    knowing whether it was applied."""
    monkeypatch.setattr(cost, "QUERY_TIME_BUDGET_SECONDS", 0)
    result = await gql("mutation($i: CreateSiteInput!) { createSite(input: $i) { id } }",
                       {"i": {"code": f"S-{uuid.uuid4().hex[:8]}", "name": "Yard"}})
    assert result.data["createSite"]["id"]
