"""The stock tools front-end teams use, run against the real server on loopback: Apollo
Client 4's InMemoryCache, graphql-schema-linter's Relay rules, and graphql-http's audit of
the GraphQL-over-HTTP spec (tests/apollo holds the node side)."""

from __future__ import annotations

from typing import Any

from front_end_kit import run_node, run_script
from test_graphql_schema_sdl import SDL

# The Relay rules, and the descriptions a front-end reads: every type and every field of an
# object type (input fields are what it writes, left out).
LINT_RULES = ("relay-connection-types-spec,relay-connection-arguments-spec,relay-page-info-spec,"
              "types-have-descriptions,fields-have-descriptions")


def by_step(lines: list[dict[str, Any]]) -> dict[str, Any]:
    return {line["step"]: line["data"] for line in lines}


async def test_apollo_cache_shows_the_limit_set_credit_limit_returned(
        live_url, node_tools, gql, make_customer):
    customer_id = await make_customer(limit="25000.00")
    steps = by_step(await run_script(node_tools, "cache.mjs", f"{live_url}/graphql",
                                     gql.token("credit_manager"), customer_id))

    assert steps["query"]["customer"]["creditAccount"]["limit"]["amount"] == "25000.00"
    assert steps["setCreditLimit"]["setCreditLimit"]["limit"]["amount"] == "20000.00"
    # Read from the cache alone: the mutation's CreditAccount merged into the customer's.
    cached = steps["cached after setCreditLimit"]["customer"]["creditAccount"]
    assert cached["limit"] == {"__typename": "Money", "amount": "20000.00", "currency": "USD"}
    assert cached["available"]["amount"] == "20000.00"
    assert cached["version"] == steps["setCreditLimit"]["setCreditLimit"]["version"]


async def test_apollo_cache_shows_the_held_amount_after_authorize_credit(
        live_url, node_tools, gql, make_customer):
    customer_id = await make_customer(limit="25000.00")
    steps = by_step(await run_script(node_tools, "cache.mjs", f"{live_url}/graphql",
                                     gql.token("credit_manager"), customer_id))

    assert steps["authorizeCredit"]["authorizeCredit"]["__typename"] == "Hold"
    cached = steps["cached after authorizeCredit"]["customer"]["creditAccount"]
    assert cached["held"]["amount"] == "100.00"
    assert cached["available"]["amount"] == "19900.00"


async def test_schema_graphql_passes_graphql_schema_linters_relay_and_description_rules(
        node_tools):
    # schema.graphql is what the server serves (test_graphql_schema_sdl.py).
    code, output = await run_node(
        node_tools, "node_modules/graphql-schema-linter/lib/cli.js", "--rules", LINT_RULES,
        "--format", "compact", str(SDL))
    assert code == 0, output


async def test_graphql_over_http_audit_passes_every_must_and_should(
        live_url, node_tools, gql):
    results = await run_script(node_tools, "http_audit.mjs", f"{live_url}/graphql",
                               gql.token("viewer"))
    assert len(results) > 50
    # "error" is a MUST not met, "warn" a SHOULD; "notice" (a MAY) is allowed.
    assert [r for r in results if r["status"] in ("error", "warn")] == []
