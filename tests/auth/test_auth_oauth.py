"""OAuth 2.0 client_credentials: /oauth/token, JWKS, metadata, key rotation, revocation,
and what /graphql does with the access tokens; the clients / keys CLI."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
import warnings
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from authlib.deprecate import AuthlibDeprecationWarning
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, OctKey, RSAKey

from ccm_gateway.audit.models import AuditEvent
from ccm_gateway.auth import clients
from ccm_gateway.auth.keys import KeyRing
from ccm_gateway.auth.models import ApiClient, SigningKey
from ccm_gateway.kit.secrets import SecretBox

with warnings.catch_warnings():
    # authlib 1.9 prefers the `httpx2` package and warns once when it falls back to httpx.
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client

BASE = "http://ccm.test"
TOKEN_URL = f"{BASE}/oauth/token"
SITES = {"query": "{ sites { id } }"}
ALGS = ["ES256", "RS256"]


async def new_client(*roles: str, scopes: list[str] | None = None,
                     **kwargs: Any) -> clients.CreatedClient:
    return await clients.create_client("test client", list(roles or ["viewer"]), scopes,
                                       **kwargs)


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


async def token_request(client: httpx.AsyncClient, data: dict[str, str] | str | None = None,
                        *, auth: str | None = None, content_type: str | None = None) -> Any:
    headers = {}
    if auth is not None:
        headers["Authorization"] = auth
    if content_type is not None:
        headers["Content-Type"] = content_type
    if isinstance(data, str):
        return await client.post("/oauth/token", content=data, headers=headers)
    return await client.post("/oauth/token", data=data or {}, headers=headers)


def assert_oauth_error(response: Any, error: str, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error, body
    assert isinstance(body["error_description"], str) and body["error_description"]
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Basic")
    return body


async def graphql(client: httpx.AsyncClient, token: str, query: dict[str, Any] = SITES) -> Any:
    return await client.post("/graphql", json=query, headers={"Authorization": f"Bearer {token}"})


def assert_unauthenticated(response: Any) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def fetch(app: Any, client_id: str, secret: str, **kwargs: Any) -> dict[str, Any]:
    async with AsyncOAuth2Client(client_id, secret, transport=httpx.ASGITransport(app=app),
                                 base_url=BASE, **kwargs) as oauth:
        return await oauth.fetch_token(TOKEN_URL, grant_type="client_credentials")


# --- the happy path -----------------------------------------------------------------------


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
async def test_authlib_client_gets_a_token_and_uses_it_on_graphql(app, client, settings,
                                                                  method):
    created = await new_client("viewer")
    token = await fetch(app, created.client_id, created.client_secret,
                        token_endpoint_auth_method=method)
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == settings.token_ttl_seconds
    assert token["scope"] == ("alert:read credit:check customer:read invoice:read ledger:read "
                              "policy:read report:read")

    # The claims: asymmetric signature, checked against the published JWKS.
    jwks = (await client.get("/.well-known/jwks.json")).json()
    decoded = jwt.decode(token["access_token"], KeySet.import_key_set(jwks),
                         algorithms=ALGS)
    assert decoded.header["alg"] in ALGS and decoded.header["kid"]
    claims = decoded.claims
    assert claims["iss"] == settings.token_issuer and claims["aud"] == settings.token_audience
    assert claims["sub"] == created.client_id and claims["kind"] == "client"
    assert claims["roles"] == ["viewer"] and claims["jti"]
    assert claims["exp"] - claims["iat"] == settings.token_ttl_seconds

    # Authlib attaches it as a bearer token; /graphql accepts it.
    async with AsyncOAuth2Client(created.client_id, created.client_secret, token=token,
                                 transport=httpx.ASGITransport(app=app),
                                 base_url=BASE) as oauth:
        response = await oauth.post("/graphql", json=SITES)
    assert response.status_code == 200, response.text
    assert "errors" not in response.json()

    # Issuance is audited, and the audit log never holds the secret or the token.
    event = await AuditEvent.filter(action="oauth.token_issued",
                                    object_id=created.client_id).order_by("-id").first()
    assert event is not None and event.actor_type == "client"
    assert event.after["method"] == method
    dumped = json.dumps(event.after)
    assert created.client_secret not in dumped and token["access_token"] not in dumped


async def test_token_endpoint_answers_no_store(client):
    created = await new_client("viewer")
    response = await token_request(client, {"grant_type": "client_credentials"},
                                   auth=basic(created.client_id, created.client_secret))
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"


async def test_requested_scope_narrows_the_token(app, client, make_customer):
    created = await new_client("finance")
    auth = basic(created.client_id, created.client_secret)
    response = await token_request(client, {"grant_type": "client_credentials",
                                            "scope": "customer:read"}, auth=auth)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["scope"] == "customer:read"
    # The token may read but no longer write, although the finance role could.
    assert (await graphql(client, body["access_token"])).status_code == 200
    mutation = {"query": 'mutation { createSite(input: {code: "X-OAUTH", name: "n"}) { id } }'}
    result = (await graphql(client, body["access_token"], mutation)).json()
    assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_refusal_by_the_tokens_scope_names_the_missing_scope(client):
    created = await new_client("finance")
    response = await token_request(client, {"grant_type": "client_credentials",
                                            "scope": "customer:read ledger:read"},
                                   auth=basic(created.client_id, created.client_secret))
    token = response.json()["access_token"]
    create = {"query": 'mutation { createCustomer(input: {name: "n", segment: "s", '
                       'currency: "USD"}) { id } }'}
    site = {"query": 'mutation { createSite(input: {code: "X-SCOPE", name: "n"}) { id } }'}

    # finance grants customer:write; the scope withheld it.
    [by_scope] = (await graphql(client, token, create)).json()["errors"]
    # finance does not grant site:write, whatever the scope.
    [by_role] = (await graphql(client, token, site)).json()["errors"]

    assert by_scope["extensions"]["code"] == "FORBIDDEN"
    assert by_scope["message"] == (
        "customer:write is required; the token's scope (customer:read ledger:read) does not "
        "include it, although roles finance grant it: ask for a token with scope "
        "customer:write")
    assert by_role["extensions"]["code"] == "FORBIDDEN"
    assert by_role["message"] == "site:write is required; roles finance do not grant it"


async def test_a_client_created_with_scopes_gets_only_those(client):
    created = await new_client("finance", scopes=["customer:read", "ledger:read"])
    response = await token_request(client, {"grant_type": "client_credentials"},
                                   auth=basic(created.client_id, created.client_secret))
    assert response.json()["scope"] == "customer:read ledger:read"


# --- RFC 6749 §5.2 errors -----------------------------------------------------------------


async def test_invalid_request_cases(client):
    created = await new_client("viewer")
    auth = basic(created.client_id, created.client_secret)
    # No grant_type.
    assert_oauth_error(await token_request(client, {}, auth=auth), "invalid_request")
    # Not form-encoded.
    assert_oauth_error(await token_request(client, '{"grant_type": "client_credentials"}',
                                           auth=auth, content_type="application/json"),
                       "invalid_request")
    # A repeated parameter.
    assert_oauth_error(await token_request(
        client, "grant_type=client_credentials&grant_type=client_credentials", auth=auth,
        content_type="application/x-www-form-urlencoded"), "invalid_request")
    # Two client authentication methods at once.
    assert_oauth_error(await token_request(
        client, {"grant_type": "client_credentials", "client_id": created.client_id,
                 "client_secret": created.client_secret}, auth=auth), "invalid_request")


async def test_invalid_client_cases_are_401_with_basic_challenge(client):
    created = await new_client("viewer")
    grant = {"grant_type": "client_credentials"}
    cases = [
        await token_request(client, grant),  # no client authentication
        await token_request(client, grant, auth=basic(created.client_id, "wrong")),
        await token_request(client, grant, auth=basic("ccm_nobody", created.client_secret)),
        await token_request(client, grant, auth="Basic !!!not-base64"),
        await token_request(client, grant, auth="Bearer something"),
        await token_request(client, {**grant, "client_id": created.client_id}),  # no secret
        await token_request(client, {**grant, "client_id": created.client_id,
                                     "client_secret": "wrong"}),
    ]
    for response in cases:
        assert_oauth_error(response, "invalid_client", 401)

    # Refusals are audited with a reason, never the presented secret.
    event = await AuditEvent.filter(action="oauth.client_auth_refused",
                                    object_id=created.client_id).order_by("-id").first()
    assert event is not None and event.after["reason"] == "bad_secret"
    assert "wrong" not in json.dumps(event.after)


async def test_unsupported_grant_type(client):
    created = await new_client("viewer")
    for grant in ("password", "authorization_code", "refresh_token", "urn:x"):
        assert_oauth_error(await token_request(
            client, {"grant_type": grant}, auth=basic(created.client_id, created.client_secret)),
            "unsupported_grant_type")


async def test_invalid_scope(client):
    created = await new_client("viewer")
    auth = basic(created.client_id, created.client_secret)
    for scope in ("customer:write", "customer:read nonsense", "admin"):
        assert_oauth_error(await token_request(
            client, {"grant_type": "client_credentials", "scope": scope}, auth=auth),
            "invalid_scope")


async def test_unauthorized_client_when_it_has_nothing_to_be_issued(client):
    created = await new_client("viewer")
    await ApiClient.filter(client_id=created.client_id).update(scopes="")
    assert_oauth_error(await token_request(
        client, {"grant_type": "client_credentials"},
        auth=basic(created.client_id, created.client_secret)), "unauthorized_client")


async def test_revoked_and_expired_clients_are_invalid_client(client):
    revoked = await new_client("viewer")
    await clients.revoke_client(revoked.client_id)
    expired = await new_client("viewer", expires_in_days=1)
    await ApiClient.filter(client_id=expired.client_id).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1))
    for c in (revoked, expired):
        assert_oauth_error(await token_request(
            client, {"grant_type": "client_credentials"},
            auth=basic(c.client_id, c.client_secret)), "invalid_client", 401)
    reasons = {e.object_id: e.after["reason"] for e in await AuditEvent.filter(
        action="oauth.client_auth_refused",
        object_id__in=[revoked.client_id, expired.client_id])}
    assert reasons == {revoked.client_id: "revoked", expired.client_id: "expired"}


async def test_revoking_a_client_refuses_its_tokens_at_once(app, client):
    created = await new_client("viewer")
    token = (await fetch(app, created.client_id, created.client_secret))["access_token"]
    assert (await graphql(client, token)).status_code == 200
    await clients.revoke_client(created.client_id)
    assert_unauthenticated(await graphql(client, token))


# --- keys ---------------------------------------------------------------------------------


async def test_rotation_keeps_old_tokens_valid_and_jwks_lists_both(app, client, settings):
    created = await new_client("viewer")
    old = (await fetch(app, created.client_id, created.client_secret))["access_token"]
    old_kid = jwt.decode(old, KeySet.import_key_set(
        (await client.get("/.well-known/jwks.json")).json()), algorithms=ALGS).header["kid"]

    # Rotated elsewhere (as `ccm-gateway keys rotate` would): the app picks the key up.
    new_key = await KeyRing(settings).rotate("RS256")
    new = (await fetch(app, created.client_id, created.client_secret))["access_token"]

    jwks = (await client.get("/.well-known/jwks.json")).json()
    kids = {k["kid"]: k for k in jwks["keys"]}
    assert {old_kid, new_key.kid} <= set(kids)
    assert kids[new_key.kid]["alg"] == "RS256" and kids[new_key.kid]["kty"] == "RSA"
    for k in jwks["keys"]:  # public halves only
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(k)
    decoded = jwt.decode(new, KeySet.import_key_set(jwks), algorithms=ALGS)
    assert decoded.header["kid"] == new_key.kid

    assert (await graphql(client, old)).status_code == 200
    assert (await graphql(client, new)).status_code == 200


async def test_private_keys_are_encrypted_at_rest(app, client, settings):
    await client.get("/.well-known/jwks.json")
    row = await SigningKey.filter(retired_at=None).order_by("-id").first()
    assert row is not None and row.private_jwk.startswith("v1.")
    plain = json.loads(SecretBox.from_settings(settings).decrypt(
        row.private_jwk, context=f"signing-key:{row.kid}"))
    assert "d" in plain


async def test_rotation_retires_keys_no_token_can_still_need(settings):
    ring = KeyRing(replace(settings, token_ttl_seconds=1))
    first = await ring.rotate()
    await SigningKey.filter(id=first.id).update(
        created_at=datetime.now(UTC) - timedelta(hours=2))
    second = await ring.rotate()
    await SigningKey.filter(id=second.id).update(
        created_at=datetime.now(UTC) - timedelta(hours=1))
    third = await ring.rotate()
    rows = {r.kid: r for r in await SigningKey.filter(kid__in=[first.kid, second.kid, third.kid])}
    # `first` was superseded an hour ago, longer than a token lives: retired. `second` was
    # superseded just now (its tokens may still be live) and `third` is current: kept.
    assert rows[first.kid].retired_at is not None
    assert rows[second.kid].retired_at is None
    assert rows[third.kid].retired_at is None
    jwks_kids = {k["kid"] for k in (await ring.jwks())["keys"]}
    assert first.kid not in jwks_kids and {second.kid, third.kid} <= jwks_kids


# --- what /graphql refuses ----------------------------------------------------------------


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


async def test_forged_none_and_unknown_kid_tokens_are_unauthenticated(app, client, settings):
    created = await new_client("admin")
    token = (await fetch(app, created.client_id, created.client_secret))["access_token"]
    header_b64, payload_b64, signature = token.split(".")
    header = json.loads(base64.urlsafe_b64decode(header_b64 + "=="))
    claims = json.loads(base64.urlsafe_b64decode(payload_b64 + "=" * (-len(payload_b64) % 4)))

    # Signature of another key under the real kid.
    stranger = (ECKey.generate_key("P-256") if header["alg"] == "ES256"
                else RSAKey.generate_key(2048))
    forged = jwt.encode({"alg": header["alg"], "kid": header["kid"]}, claims, stranger,
                        algorithms=[header["alg"]])
    # The real signature, a tampered payload.
    tampered = ".".join([header_b64, _b64({**claims, "roles": ["admin"], "sub": "x"}),
                         signature])
    # alg none, with and without the kid.
    none_kid = f"{_b64({'alg': 'none', 'kid': header['kid']})}.{payload_b64}."
    none_plain = f"{_b64({'alg': 'none'})}.{payload_b64}."
    # An unknown kid.
    unknown = jwt.encode({"alg": header["alg"], "kid": "no-such-key"}, claims, stranger,
                         algorithms=[header["alg"]])
    # Algorithm confusion: HS256 under the kid, keyed with the public key's bytes.
    public_x = next(k for k in (await client.get("/.well-known/jwks.json")).json()["keys"]
                    if k["kid"] == header["kid"])
    confused = jwt.encode({"alg": "HS256", "kid": header["kid"]}, claims,
                          OctKey.import_key(json.dumps(public_x).encode()),
                          algorithms=["HS256"])
    # The HS256 development key cannot sign a kid token either.
    hs_with_kid = jwt.encode({"alg": "HS256", "kid": header["kid"]}, claims,
                             OctKey.import_key(settings.secret_key.encode()),
                             algorithms=["HS256"])
    for bad in (forged, tampered, none_kid, none_plain, unknown, confused, hs_with_kid):
        assert_unauthenticated(await graphql(client, bad))
    # The untouched token still works.
    assert (await graphql(client, token)).status_code == 200


async def test_hs256_development_tokens_still_work(client, tokens):
    assert (await graphql(client, tokens.issue("dev", ["viewer"]))).status_code == 200


async def test_expired_access_token_is_refused(app, client, settings):
    created = await new_client("viewer")
    ring = app.state.tokens.keys
    kid, alg, key = await ring.current()
    now = int(time.time())
    claims = {"iss": settings.token_issuer, "aud": settings.token_audience,
              "sub": created.client_id, "iat": now - 4000, "exp": now - 3600,
              "roles": ["viewer"], "scope": "customer:read", "kind": "client", "jti": "x"}
    expired = jwt.encode({"alg": alg, "kid": kid}, claims, key, algorithms=[alg])
    assert_unauthenticated(await graphql(client, expired))


# --- metadata -----------------------------------------------------------------------------


async def test_authorization_server_metadata(client, settings):
    body = (await client.get("/.well-known/oauth-authorization-server")).json()
    assert body["issuer"] == settings.token_issuer
    # From the settings' public URL, not the request's Host (tests/ops/test_ops_prod_defaults.py).
    assert body["token_endpoint"] == f"{settings.public_base_url}/oauth/token"
    assert body["jwks_uri"] == f"{settings.public_base_url}/.well-known/jwks.json"
    assert body["grant_types_supported"] == ["client_credentials"]
    assert set(body["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic", "client_secret_post"}
    assert "customer:read" in body["scopes_supported"]


async def test_token_endpoint_is_post_only(client):
    assert (await client.get("/oauth/token")).status_code == 405


# --- secrets and the CLI ------------------------------------------------------------------


def test_secret_hash_is_salted_and_checked():
    first, second = clients.hash_secret("s3cret"), clients.hash_secret("s3cret")
    assert first != second and first.startswith("scrypt$")
    assert clients.check_secret("s3cret", first) and clients.check_secret("s3cret", second)
    assert not clients.check_secret("s3cret!", first)
    assert not clients.check_secret("s3cret", "garbage")


def ccm(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCM_")}
    env["CCM_DATABASE_URL"] = database_url
    return subprocess.run([sys.executable, "-m", "ccm_gateway.cli", *args], env=env,
                          capture_output=True, text=True, timeout=60)


def test_cli_clients_and_keys(tmp_path):
    url = f"sqlite://{tmp_path / 'cli.sqlite3'}"
    assert ccm(url, "migrate").returncode == 0

    done = ccm(url, "clients", "create", "--name", "ERP", "--role", "viewer",
               "--scope", "customer:read", "--expires-in-days", "30")
    assert done.returncode == 0, done.stderr
    fields = dict(line.split(":", 1) for line in done.stdout.strip().splitlines())
    client_id, secret = fields["client_id"].strip(), fields["client_secret"].strip()
    assert client_id.startswith("ccm_") and len(secret) >= 40

    listed = ccm(url, "clients", "list").stdout
    [row] = json.loads(listed)
    assert row["client_id"] == client_id and row["scopes"] == ["customer:read"]
    assert secret not in listed and "scrypt" not in listed and row["expires_at"]

    revoked = ccm(url, "clients", "revoke", client_id)
    assert revoked.returncode == 0 and client_id in revoked.stdout
    assert json.loads(ccm(url, "clients", "list").stdout)[0]["revoked_at"]
    assert ccm(url, "clients", "revoke", "ccm_nobody").returncode == 2
    refused = ccm(url, "clients", "create", "--name", "x", "--role", "viewer",
                  "--scope", "hold:write")
    assert refused.returncode == 2 and "not granted" in refused.stderr

    for algorithm in ("ES256", "RS256"):
        rotated = ccm(url, "keys", "rotate", "--algorithm", algorithm)
        assert rotated.returncode == 0 and f"({algorithm})" in rotated.stdout
