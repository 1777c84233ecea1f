"""GraphQL over HTTP: queries on GET, application/graphql-response+json with the spec's status
codes, and GraphQL-shaped errors on GET (graphql-http's audit of the whole spec is in
test_graphql_front_end_tools.py)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

NEWER = "application/graphql-response+json"
SITES = "{ sites { id } }"


def headers(gql: Any, accept: str | None = None, role: str = "admin") -> dict[str, str]:
    found = {"Authorization": f"Bearer {gql.token(role)}"}
    return found | ({"Accept": accept} if accept else {})


def media(response: Any) -> str:
    return response.headers["content-type"].split(";")[0].strip()


async def test_a_query_on_get_answers_like_a_post(client, gql, make_site):
    site_id = await make_site()
    response = await client.get("/graphql", params={"query": SITES}, headers=headers(gql))
    assert response.status_code == 200
    assert media(response) == "application/json"
    assert site_id in {s["id"] for s in response.json()["data"]["sites"]}


async def test_get_takes_variables_as_a_json_parameter(client, gql, make_customer):
    customer_id = await make_customer()
    response = await client.get("/graphql", headers=headers(gql), params={
        "query": "query($id: ID!) { customer(id: $id) { id } }",
        "variables": f'{{"id": "{customer_id}"}}'})
    assert response.json() == {"data": {"customer": {"id": customer_id}}}


async def test_a_mutation_on_get_is_405_and_changes_nothing(client, gql):
    code = f"GET-{uuid.uuid4().hex[:8]}"
    response = await client.get("/graphql", headers=headers(gql), params={
        "query": f'mutation {{ createSite(input: {{code: "{code}", name: "x"}}) {{ id }} }}'})
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    assert error["extensions"]["requestId"] == response.headers["x-request-id"]
    codes = [s["code"] for s in (await gql("{ sites { code } }")).data["sites"]]
    assert code not in codes


# Without a query, a GET that accepts anything (*/*, as a browser's) is shown GraphiQL.
REFUSED_GETS = [(params, message, accept) for params, message in [
    ({}, "No GraphQL query found in the request"),
    ({"query": SITES, "variables": "{not json"}, "must be JSON objects"),
    ({"query": SITES, "variables": "[1, 2]"}, "must be an object"),
] for accept in (None, "application/json", NEWER) if params or accept]


@pytest.mark.parametrize(("params", "message", "accept"), REFUSED_GETS)
async def test_a_get_refused_before_it_runs_is_400_with_graphql_errors(
        client, gql, params, message, accept):
    response = await client.get("/graphql", params=params, headers=headers(gql, accept))
    assert response.status_code == 400
    assert media(response) == (NEWER if accept == NEWER else "application/json")
    body = response.json()
    assert set(body) == {"errors"}
    [error] = body["errors"]
    assert message in error["message"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT",
                                   "requestId": response.headers["x-request-id"]}


@pytest.mark.parametrize("accept", [NEWER, f"{NEWER}, application/json;q=0.9",
                                    f"application/json;q=0.5, {NEWER}"])
async def test_the_newer_media_type_is_served_when_accepted(client, gql, accept):
    response = await client.post("/graphql", json={"query": SITES},
                                 headers=headers(gql, accept))
    assert response.status_code == 200
    assert media(response) == NEWER
    assert "sites" in response.json()["data"]


@pytest.mark.parametrize("accept", [None, "*/*", "application/json",
                                    f"application/json, {NEWER};q=0.5", "text/plain"])
async def test_application_json_is_served_otherwise(client, gql, accept):
    response = await client.post("/graphql", json={"query": SITES},
                                 headers=headers(gql, accept))
    assert response.status_code == 200
    assert media(response) == "application/json"


@pytest.mark.parametrize("query", [
    "{ sites { id ",  # does not parse
    "{ sites { nope } }",  # does not validate
])
async def test_a_request_error_is_400_without_data_as_the_newer_media_type(
        client, gql, query):
    response = await client.post("/graphql", json={"query": query},
                                 headers=headers(gql, NEWER))
    assert response.status_code == 400
    assert media(response) == NEWER
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_variable_that_does_not_coerce_is_a_request_error(client, gql):
    response = await client.post("/graphql", headers=headers(gql, NEWER), json={
        "query": "query($n: Int) { customers(first: $n) { edges { cursor } } }",
        "variables": {"n": "ten"}})
    assert response.status_code == 400
    assert "data" not in response.json()


async def test_a_request_error_is_200_with_null_data_as_application_json(client, gql):
    # Legacy clients of application/json keep their 200 (the spec's watershed rule).
    response = await client.post("/graphql", json={"query": "{ sites { nope } }"},
                                 headers=headers(gql, "application/json"))
    assert response.status_code == 200
    assert response.json()["data"] is None


async def test_a_field_error_is_200_with_data_as_the_newer_media_type(client, gql):
    # A viewer may not read the audit log: a field error, the operation ran.
    response = await client.post("/graphql", headers=headers(gql, NEWER, role="viewer"), json={
        "query": "query($id: ID!) { sites { id } hold(id: $id) { id } "
                 "auditLog(first: 1) { edges { cursor } } }",
        "variables": {"id": str(uuid.uuid4())}})
    assert response.status_code == 200
    assert media(response) == NEWER
    body = response.json()
    assert body["data"] is None  # auditLog is non-null: the error nulls the whole answer
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert body["errors"][0]["path"] == ["auditLog"]


async def test_a_refusal_before_the_request_runs_is_sent_as_the_negotiated_type(client):
    response = await client.post("/graphql", json={"query": SITES}, headers={"Accept": NEWER})
    assert response.status_code == 401
    assert media(response) == NEWER
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_body_that_is_not_a_request_is_graphql_shaped_as_the_newer_type(client, gql):
    response = await client.post("/graphql", content=b'"x"', headers=headers(gql, NEWER) | {
        "content-type": "application/json"})
    assert response.status_code == 400
    assert media(response) == NEWER
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
