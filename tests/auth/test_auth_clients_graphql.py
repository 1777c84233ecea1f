"""API clients over GraphQL (apiClients, createApiClient, rotateApiClientSecret,
revokeApiClient) and the brute-force limit on /oauth/token."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from ccm_gateway.api.schema import build_schema
from ccm_gateway.audit.models import AuditEvent
from ccm_gateway.auth import clients, endpoints
from ccm_gateway.auth.models import ApiClient

CREATE = """
mutation($input: CreateApiClientInput!) {
  createApiClient(input: $input) {
    clientSecret
    client { clientId name roles scopes expiresAt revokedAt createdAt }
  }
}"""
ROTATE = """
mutation($input: RotateApiClientSecretInput!) {
  rotateApiClientSecret(input: $input) { clientSecret client { clientId } }
}"""
REVOKE = """
mutation($input: RevokeApiClientInput!) {
  revokeApiClient(input: $input) { clientId revokedAt }
}"""
LIST = """
query($first: Int, $after: String) {
  apiClients(first: $first, after: $after) {
    edges { cursor node { clientId name roles scopes expiresAt revokedAt createdAt } }
    pageInfo { hasNextPage endCursor }
  }
}"""
SITES = {"query": "{ sites { id } }"}
GRANT = {"grant_type": "client_credentials"}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def basic(client_id: str, secret: str) -> dict[str, str]:
    token = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


async def token_response(http: httpx.AsyncClient, client_id: str, secret: str) -> Any:
    return await http.post("/oauth/token", data=GRANT, headers=basic(client_id, secret))


async def create(gql: Any, role: str = "admin", **input: Any) -> Any:
    payload = {"name": unique("gql-client"), "roles": ["VIEWER"]} | input
    return await gql(CREATE, {"input": payload}, role=role)


async def all_clients(gql: Any) -> list[dict[str, Any]]:
    nodes, after = [], None
    while True:
        page = (await gql(LIST, {"first": 100, "after": after})).data["apiClients"]
        nodes += [e["node"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


async def state() -> tuple[list[tuple[Any, ...]], int]:
    """Every client row (hashes included) and the number of audit events."""
    rows = await ApiClient.all().order_by("id").values_list(
        "client_id", "name", "secret_hash", "scopes", "roles", "expires_at", "revoked_at")
    return rows, await AuditEvent.all().count()


@pytest.fixture
async def fresh_ip(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client from an address of its own, so the per-address limit starts empty."""
    ip = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}"
    transport = httpx.ASGITransport(app=app, client=(ip, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://ccm.test") as http:
        yield http


# --- create / list ------------------------------------------------------------------------


async def test_create_returns_the_secret_once_and_the_list_never_shows_it(gql, client):
    result = await create(gql, roles=["FINANCE"], scopes=["customer:read", "ledger:read"])
    body = result.data["createApiClient"]
    secret, created = body["clientSecret"], body["client"]
    assert secret and created["clientId"].startswith("ccm_")
    assert created["roles"] == ["FINANCE"]
    assert created["scopes"] == ["customer:read", "ledger:read"]
    assert created["revokedAt"] is None and created["expiresAt"] is None

    listed = await all_clients(gql)
    mine = [n for n in listed if n["clientId"] == created["clientId"]]
    assert mine == [created]
    assert secret not in json.dumps(listed)

    # No type the schema serves has a field that could carry a secret, except the two
    # payloads of the mutations that make one.
    sdl = build_schema().as_str()
    assert "secretHash" not in sdl
    api_client = build_schema().get_type_by_name("ApiClient")
    assert not [f for f in api_client.fields if "secret" in f.name.lower()]

    # Audited, without the secret or its hash.
    row = await ApiClient.get(client_id=created["clientId"])
    event = await AuditEvent.get(action="api_client.created", object_id=created["clientId"])
    assert event.actor_id == "test-admin"
    assert secret not in json.dumps(event.after) and row.secret_hash not in json.dumps(event.after)

    # The secret works at /oauth/token, and only for what the client was given.
    response = await token_response(client, created["clientId"], secret)
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "customer:read ledger:read"


async def test_list_pages_with_cursors(gql):
    for _ in range(3):
        await create(gql)
    first = (await gql(LIST, {"first": 2})).data["apiClients"]
    assert len(first["edges"]) == 2 and first["pageInfo"]["hasNextPage"]
    second = (await gql(LIST, {"first": 2, "after": first["pageInfo"]["endCursor"]})).data
    seen = {e["node"]["clientId"] for e in first["edges"]}
    assert seen.isdisjoint({e["node"]["clientId"] for e in second["apiClients"]["edges"]})
    assert (await gql(LIST, {"first": 0})).error_code == "BAD_USER_INPUT"
    assert (await gql(LIST, {"first": 1, "after": "!!"})).error_code == "BAD_USER_INPUT"


async def test_expiry_is_kept(gql):
    expires = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    created = (await create(gql, expiresAt=expires.isoformat())).data["createApiClient"]
    assert datetime.fromisoformat(created["client"]["expiresAt"]) == expires


# --- rotate / revoke ----------------------------------------------------------------------


async def test_rotation_invalidates_the_old_secret(gql, client):
    created = (await create(gql)).data["createApiClient"]
    client_id, old = created["client"]["clientId"], created["clientSecret"]
    assert (await token_response(client, client_id, old)).status_code == 200

    rotated = (await gql(ROTATE, {"input": {"clientId": client_id}})).data
    new = rotated["rotateApiClientSecret"]["clientSecret"]
    assert new and new != old
    assert rotated["rotateApiClientSecret"]["client"]["clientId"] == client_id

    refused = await token_response(client, client_id, old)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    assert (await token_response(client, client_id, new)).status_code == 200
    event = await AuditEvent.get(action="api_client.secret_rotated", object_id=client_id)
    assert new not in json.dumps(event.after) and old not in json.dumps(event.after)


async def test_revoke_makes_its_tokens_fail_at_once(gql, client):
    created = (await create(gql)).data["createApiClient"]
    client_id, secret = created["client"]["clientId"], created["clientSecret"]
    token = (await token_response(client, client_id, secret)).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert (await client.post("/graphql", json=SITES, headers=headers)).status_code == 200

    revoked = (await gql(REVOKE, {"input": {"clientId": client_id}})).data["revokeApiClient"]
    assert revoked["clientId"] == client_id and revoked["revokedAt"]

    response = await client.post("/graphql", json=SITES, headers=headers)
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert (await token_response(client, client_id, secret)).status_code == 401
    assert await AuditEvent.filter(action="api_client.revoked", object_id=client_id).count() == 1
    # A revoked client cannot be given a new secret.
    before = await state()
    assert (await gql(ROTATE, {"input": {"clientId": client_id}})).error_code == "CONFLICT"
    assert await state() == before


# --- who may --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "finance", "auditor", "credit_manager"])
async def test_other_roles_are_forbidden_and_change_nothing(gql, role):
    target = await clients.create_client(unique("target"), ["viewer"])
    before = await state()
    calls = [
        (LIST, {"first": 1}),
        (CREATE, {"input": {"name": unique("nope"), "roles": ["VIEWER"]}}),
        (ROTATE, {"input": {"clientId": target.client_id}}),
        (REVOKE, {"input": {"clientId": target.client_id}}),
    ]
    for document, variables in calls:
        result = await gql(document, variables, role=role)
        assert result.error_code == "FORBIDDEN", result.body
        assert "client:admin" in result.errors[0]["message"]
        assert result.body["data"] is None
    assert await state() == before


async def test_it_admin_manages_clients(gql, client):
    created = (await create(gql, role="it_admin", roles=["VIEWER", "AUDITOR"])).data
    client_id = created["createApiClient"]["client"]["clientId"]
    assert (await token_response(client, client_id,
                                 created["createApiClient"]["clientSecret"])).status_code == 200
    assert any(n["clientId"] == client_id for n in await all_clients(gql))
    listed = await gql(LIST, {"first": 1}, role="it_admin")
    assert not listed.errors
    rotated = await gql(ROTATE, {"input": {"clientId": client_id}}, role="it_admin")
    assert rotated.data["rotateApiClientSecret"]["clientSecret"]
    revoked = await gql(REVOKE, {"input": {"clientId": client_id}}, role="it_admin")
    assert revoked.data["revokeApiClient"]["revokedAt"]
    actions = {e.action for e in await AuditEvent.filter(object_id=client_id,
                                                         actor_id="test-it_admin")}
    assert actions == {"api_client.created", "api_client.secret_rotated",
                       "api_client.revoked"}


async def test_no_escalation_through_client_admin(gql):
    """it_admin may not mint, nor take over, a client that can do more than itself."""
    admin_client = await clients.create_client(unique("admin-client"), ["admin"])
    before = await state()
    for roles in (["ADMIN"], ["FINANCE"], ["VIEWER", "CREDIT_MANAGER"]):
        result = await create(gql, role="it_admin", roles=roles)
        assert result.error_code == "FORBIDDEN", result.body
    result = await gql(ROTATE, {"input": {"clientId": admin_client.client_id}}, role="it_admin")
    assert result.error_code == "FORBIDDEN"
    assert await state() == before
    # Narrowed to scopes it_admin holds, a finance client is fine.
    narrowed = await create(gql, role="it_admin", roles=["FINANCE"], scopes=["customer:read"])
    assert narrowed.data["createApiClient"]["client"]["scopes"] == ["customer:read"]


async def test_partner_principals_cannot_manage_clients(gql):
    token = gql.token("admin", subject=unique("partner-admin"), partner_id="P-1")
    before = await state()
    for document, variables in [(LIST, {"first": 1}),
                                (CREATE, {"input": {"name": "p", "roles": ["VIEWER"]}})]:
        assert (await gql(document, variables, token=token)).error_code == "FORBIDDEN"
    assert await state() == before


# --- bad input changes nothing --------------------------------------------------------------


@pytest.mark.parametrize("document,variables,code", [
    (CREATE, {"input": {"name": "x", "roles": ["WIZARD"]}}, "BAD_USER_INPUT"),
    (CREATE, {"input": {"name": "x", "roles": []}}, "BAD_USER_INPUT"),
    (CREATE, {"input": {"name": "  ", "roles": ["VIEWER"]}}, "BAD_USER_INPUT"),
    (CREATE, {"input": {"name": "x" * 201, "roles": ["VIEWER"]}}, "BAD_USER_INPUT"),
    (CREATE, {"input": {"name": "x", "roles": ["VIEWER"], "scopes": ["ledger:write"]}},
     "BAD_USER_INPUT"),
    (CREATE, {"input": {"name": "x", "roles": ["VIEWER"], "scopes": ["nonsense"]}},
     "BAD_USER_INPUT"),
    (CREATE, {"input": {"name": "x", "roles": ["VIEWER"],
                        "expiresAt": "2001-01-01T00:00:00+00:00"}}, "BAD_USER_INPUT"),
    (CREATE, {"input": {"name": "x", "roles": ["VIEWER"],
                        "expiresAt": "2999-01-01T00:00:00"}}, "BAD_USER_INPUT"),
    (ROTATE, {"input": {"clientId": "ccm_nobody"}}, "NOT_FOUND"),
    (REVOKE, {"input": {"clientId": "ccm_nobody"}}, "NOT_FOUND"),
])
async def test_bad_input_changes_nothing(gql, document, variables, code):
    before = await state()
    result = await gql(document, variables)
    assert result.error_code == code, result.body
    assert await state() == before


async def test_bad_input_names_the_input_field(gql):
    result = await create(gql, scopes=["ledger:write"])
    assert result.errors[0]["extensions"]["field"] == "scopes"
    result = await create(gql, expiresAt="2001-01-01T00:00:00+00:00")
    assert result.errors[0]["extensions"]["field"] == "expiresAt"


# --- brute force on /oauth/token --------------------------------------------------------------


def assert_throttled(response: Any) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["error"] == "invalid_request"
    assert "too many attempts" in response.json()["error_description"]
    assert int(response.headers["retry-after"]) >= 1
    assert response.headers["cache-control"] == "no-store"


async def test_wrong_secrets_lock_the_client_out_until_the_window_passes(app, fresh_ip,
                                                                         monkeypatch):
    created = await clients.create_client(unique("brute"), ["viewer"])
    _, burst = endpoints.FAILED_AUTH_PER_CLIENT
    for _ in range(burst):
        response = await token_response(fresh_ip, created.client_id, "wrong")
        assert response.status_code == 401, response.text
    assert_throttled(await token_response(fresh_ip, created.client_id, "wrong"))
    # Decided before the secret is checked: the right one is refused too, unaudited.
    refusals = await AuditEvent.filter(action="oauth.client_auth_refused",
                                       object_id=created.client_id).count()
    assert_throttled(await token_response(fresh_ip, created.client_id, created.client_secret))
    assert await AuditEvent.filter(action="oauth.client_auth_refused",
                                   object_id=created.client_id).count() == refusals == burst

    # The limit is on the client id from this address: elsewhere the owner is not locked out
    # (tests/auth/test_auth_lockout.py).
    transport = httpx.ASGITransport(app=app, client=("10.255.0.1", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://ccm.test") as other:
        response = await token_response(other, created.client_id, created.client_secret)
        assert response.status_code == 200, response.text

    # Once the window has passed (a clock two minutes on), the right secret works again.
    monkeypatch.setattr(endpoints, "FAILED_AUTH_CLOCK", lambda: time.time() + 120)
    response = await token_response(fresh_ip, created.client_id, created.client_secret)
    assert response.status_code == 200, response.text


async def test_successes_do_not_count(fresh_ip):
    created = await clients.create_client(unique("busy"), ["viewer"])
    _, burst = endpoints.FAILED_AUTH_PER_CLIENT
    for _ in range(burst + 5):
        response = await token_response(fresh_ip, created.client_id, created.client_secret)
        assert response.status_code == 200, response.text
    # Post-authentication errors (a bad grant type or scope) are not guesses either.
    for _ in range(burst + 1):
        response = await fresh_ip.post("/oauth/token", data={"grant_type": "password"},
                                       headers=basic(created.client_id, created.client_secret))
        assert response.json()["error"] == "unsupported_grant_type"


async def test_unknown_client_ids_are_limited_per_address(app, fresh_ip, monkeypatch):
    monkeypatch.setattr(endpoints, "FAILED_AUTH_PER_IP", (1 / 60, 3))
    for _ in range(3):
        response = await token_response(fresh_ip, unique("ccm_guess"), "wrong")
        assert response.status_code == 401
    created = await clients.create_client(unique("bystander"), ["viewer"])
    assert_throttled(await token_response(fresh_ip, created.client_id, created.client_secret))
    # The client itself is not locked: from another address it gets its token.
    transport = httpx.ASGITransport(app=app, client=("10.255.0.2", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://ccm.test") as other:
        response = await token_response(other, created.client_id, created.client_secret)
        assert response.status_code == 200, response.text


async def test_concurrent_guesses_cannot_pass_the_limit_together(fresh_ip):
    created = await clients.create_client(unique("parallel"), ["viewer"])
    _, burst = endpoints.FAILED_AUTH_PER_CLIENT
    responses = await asyncio.gather(*[
        token_response(fresh_ip, created.client_id, f"guess-{i}") for i in range(burst * 2)])
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [401] * burst + [429] * burst
    assert await AuditEvent.filter(action="oauth.client_auth_refused",
                                   object_id=created.client_id).count() == burst
