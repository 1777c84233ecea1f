"""/metrics for the whole service: /graphql by operation type and outcome, /oauth/token by
outcome, and the process metrics of the API process, read back with prometheus_client's
parser from the session's app (whose counts the other tests add to: each test compares a
scrape before with one after)."""

from __future__ import annotations

import base64
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from ccm_gateway.auth import clients

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text)
            for s in family.samples}


def delta(before: Samples, after: Samples, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """The label sets of sample ``name`` that moved between two scrapes, and by how much."""
    moved = {}
    for (sample, labels), value in after.items():
        if sample == name and value != before.get((sample, labels), 0):
            moved[labels] = value - before.get((sample, labels), 0)
    return moved


def labels(**pairs: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(pairs.items()))


async def test_graphql_requests_are_counted_and_timed_by_operation_type_and_outcome(
        client: httpx.AsyncClient, gql: Any) -> None:
    admin = {"Authorization": f"Bearer {gql.token('admin')}"}
    viewer = {"Authorization": f"Bearer {gql.token('viewer')}"}
    before = await scrape(client)

    async def post(headers: dict[str, str], **body: Any) -> httpx.Response:
        return await client.post("/graphql", json=body, headers=headers)

    assert (await post(admin, query="{ sites { id } }")).status_code == 200
    assert (await post(admin, query="query Named { sites { id } }")).status_code == 200
    forbidden = await post(viewer, query='mutation { createSite(input: {code: "M-1", '
                                         'name: "Yard"}) { id } }')
    assert forbidden.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await post({}, query="{ sites { id } }")).status_code == 401
    await post(admin, query="{ sites { nope } }")  # fails validation: still a query
    await post(admin, query="{ sites {")  # does not parse: no operation type
    await client.post("/graphql", content=b"not json",
                      headers=admin | {"content-type": "application/json"})

    after = await scrape(client)
    assert delta(before, after, "graphql_requests_total") == {
        labels(operation="query", outcome="ok"): 2,
        labels(operation="mutation", outcome="FORBIDDEN"): 1,
        labels(operation="unknown", outcome="UNAUTHENTICATED"): 1,
        labels(operation="query", outcome="BAD_USER_INPUT"): 1,
        labels(operation="unknown", outcome="BAD_USER_INPUT"): 2,
    }
    timed = delta(before, after, "graphql_request_seconds_count")
    assert timed == delta(before, after, "graphql_requests_total")
    took = delta(before, after, "graphql_request_seconds_sum")[labels(operation="query",
                                                                      outcome="ok")]
    assert 0 < took < 10
    inf = delta(before, after, "graphql_request_seconds_bucket")
    assert inf[labels(operation="query", outcome="ok", le="+Inf")] == 2


async def test_token_requests_are_counted_and_timed_by_outcome(
        client: httpx.AsyncClient) -> None:
    created = await clients.create_client("metrics client", ["viewer"], None)
    good = base64.b64encode(f"{created.client_id}:{created.client_secret}".encode()).decode()
    bad = base64.b64encode(f"{created.client_id}:wrong".encode()).decode()
    before = await scrape(client)

    async def token(authorization: str, grant_type: str = "client_credentials") -> int:
        response = await client.post("/oauth/token", data={"grant_type": grant_type},
                                     headers={"Authorization": f"Basic {authorization}"})
        return response.status_code

    assert await token(good) == 200
    assert await token(bad) == 401
    assert await token(good, "password") == 400

    after = await scrape(client)
    assert delta(before, after, "oauth_token_requests_total") == {
        labels(outcome="ok"): 1, labels(outcome="invalid_client"): 1,
        labels(outcome="unsupported_grant_type"): 1}
    assert delta(before, after, "oauth_token_request_seconds_count") == {
        labels(outcome="ok"): 1, labels(outcome="invalid_client"): 1,
        labels(outcome="unsupported_grant_type"): 1}


async def test_metrics_show_the_api_process_through_prometheus_clients_collectors(
        client: httpx.AsyncClient) -> None:
    samples = await scrape(client)

    processes = {dict(key)["process"] for name, key in samples
                 if name == "process_resident_memory_bytes"}
    assert any(p.startswith("api-") for p in processes), processes
    assert all(samples[("process_resident_memory_bytes", labels(process=p))] > 0
               for p in processes)
    assert any(name == "python_gc_collections_total" for name, _ in samples)
