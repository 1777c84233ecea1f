"""DataLoaders: a page of customers with their relations costs a fixed number of SQL queries.

The count is taken with the ``count_queries`` fixture, restricted to the
statements issued while serving our own request (matched by its X-Request-ID),
so the embedded worker's periodic jobs cannot skew it.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest

from ccm_gateway.observability import request_id_var

PAGE = """
query($segment: String!, $first: Int!) {
  customers(first: $first, filter: {segment: $segment}) {
    edges {
      node {
        id name
        creditAccount { limit { amount } held { amount } available { amount } utilization }
        siteLimits { site { id code } limit { amount } held { amount } }
        externalRefs { system externalId }
        holds { id status amount { amount } site { id code } }
      }
    }
  }
}"""

AUTHORIZE = """
mutation($input: AuthorizeCreditInput!) {
  authorizeCredit(input: $input) { __typename }
}"""

SET_SITE_LIMIT = """
mutation($input: SetSiteLimitInput!) { setSiteLimit(input: $input) { limit { amount } } }"""

CUSTOMERS_IN_PAGE = 100
MAX_QUERIES = 10


class OnlyRequest(logging.Filter):
    """Keep the log records emitted while serving the request with this id."""

    def __init__(self, request_id: str) -> None:
        super().__init__()
        self.request_id = request_id

    def filter(self, record: logging.LogRecord) -> bool:
        return request_id_var.get() == self.request_id


@pytest.fixture(scope="module")
async def decorated_segment(gql: Any) -> str:
    """100 customers in one fresh segment, each with a site limit, an external ref and a hold."""
    segment = f"loaders-{uuid.uuid4().hex[:12]}"
    sites = []
    for _ in range(2):
        result = await gql("""mutation($input: CreateSiteInput!) {
            createSite(input: $input) { id } }""",
                           {"input": {"code": f"L-{uuid.uuid4().hex[:10]}", "name": "Yard"}})
        sites.append(result.data["createSite"]["id"])
    for index in range(CUSTOMERS_IN_PAGE):
        result = await gql("""mutation($input: CreateCustomerInput!) {
            createCustomer(input: $input) { id } }""", {"input": {
            "name": f"Loader {index:03d}", "segment": segment, "currency": "USD",
            "creditLimit": {"amount": "1000.00", "currency": "USD"},
            "externalRefs": [{"system": "erp", "externalId": f"{segment}-{index}"}]}})
        customer_id = result.data["createCustomer"]["id"]
        site_id = sites[index % 2]
        await gql(SET_SITE_LIMIT, {"input": {"customerId": customer_id, "siteId": site_id,
                                             "limit": {"amount": "500.00", "currency": "USD"}}})
        held = await gql(AUTHORIZE, {"input": {"customerId": customer_id, "siteId": site_id,
                                               "amount": {"amount": "10.00", "currency": "USD"}}})
        assert held.data["authorizeCredit"]["__typename"] == "Hold"
    return segment


async def queries_for_page(client: Any, gql: Any, counter: Any, segment: str,
                           first: int) -> tuple[int, list[dict[str, Any]]]:
    request_id = f"loaders-{uuid.uuid4().hex}"
    only_ours = OnlyRequest(request_id)
    counter.addFilter(only_ours)
    counter.count = 0
    try:
        response = await client.post(
            "/graphql", json={"query": PAGE, "variables": {"segment": segment, "first": first}},
            headers={"Authorization": f"Bearer {gql.token('viewer')}",
                     "X-Request-ID": request_id})
    finally:
        counter.removeFilter(only_ours)
    body = response.json()
    assert not body.get("errors"), body
    return counter.count, [e["node"] for e in body["data"]["customers"]["edges"]]


async def test_a_page_of_customers_with_relations_costs_a_fixed_number_of_queries(
        client, gql, count_queries, decorated_segment):
    small, small_nodes = await queries_for_page(client, gql, count_queries,
                                                decorated_segment, 10)
    large, large_nodes = await queries_for_page(client, gql, count_queries,
                                                decorated_segment, 100)

    assert len(small_nodes) == 10
    assert len(large_nodes) == CUSTOMERS_IN_PAGE
    assert small > 0, "the counter saw no SQL at all"
    assert small == large, f"10 customers took {small} queries, 100 took {large}"
    assert large <= MAX_QUERIES


async def test_the_batched_page_returns_each_customers_own_relations(
        client, gql, count_queries, decorated_segment):
    _, nodes = await queries_for_page(client, gql, count_queries, decorated_segment, 100)
    for index, node in enumerate(nodes):
        assert node["name"] == f"Loader {index:03d}"
        assert node["externalRefs"] == [{"system": "erp",
                                         "externalId": f"{decorated_segment}-{index}"}]
        assert node["creditAccount"]["held"]["amount"] == "10.00"
        assert node["creditAccount"]["available"]["amount"] == "990.00"
        [site_limit] = node["siteLimits"]
        [hold] = node["holds"]
        assert hold["status"] == "PENDING"
        assert hold["amount"]["amount"] == "10.00"
        assert hold["site"] == site_limit["site"]
        assert site_limit["held"]["amount"] == "10.00"
    # Customers alternate between the two sites.
    assert nodes[0]["siteLimits"][0]["site"] != nodes[1]["siteLimits"][0]["site"]
    assert nodes[0]["siteLimits"][0]["site"] == nodes[2]["siteLimits"][0]["site"]
