"""A /graphql body that is JSON but not a request object answers 400 JSON, like any other
body the GraphQL view cannot use."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("body", [b'"x"', b"null", b"5", b"true", b"1.5", b"[]", b"[1]",
                                  b'[{"query": "{ sites { id } }"}]'])
async def test_a_json_body_that_is_not_an_object_is_refused_with_400_json(client, gql, body):
    response = await client.post("/graphql", content=body, headers={
        "Authorization": f"Bearer {gql.token()}", "content-type": "application/json"})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    payload = response.json()
    assert payload["error"] == "BAD_USER_INPUT"
    assert payload["detail"]


async def test_the_server_answers_normally_after_a_refused_body(client, gql):
    await client.post("/graphql", content=b'"x"', headers={
        "Authorization": f"Bearer {gql.token()}", "content-type": "application/json"})
    assert (await gql("{ sites { id } }")).status == 200
