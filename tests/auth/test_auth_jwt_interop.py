"""The gateway's access tokens as stock JWT libraries see them: PyJWT's PyJWKClient, joserfc
with its defaults and npm jose each verify them against /.well-known/jwks.json served over
real loopback HTTP; authlib validates the RFC 8414 metadata. Tokens signed before the
change (an Ed25519 key labelled "Ed25519", iss "ccm-gateway") keep verifying."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jwt as pyjwt
import pytest
import uvicorn
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from joserfc import jwt as jose_jwt
from joserfc.jwk import KeySet, OKPKey
from joserfc.jwt import JWTClaimsRegistry

from ccm_gateway.app import create_app
from ccm_gateway.auth import clients
from ccm_gateway.auth.models import SigningKey
from ccm_gateway.config import Settings
from ccm_gateway.errors import ConfigError
from ccm_gateway.kit.secrets import SecretBox

JWT_DIR = Path(__file__).resolve().parents[1] / "jwt"
IN_CI = os.environ.get("CI", "").lower() == "true"
METADATA = "/.well-known/oauth-authorization-server"
SITES = {"query": "{ sites { id } }"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
async def served(app: Any) -> AsyncIterator[str]:
    """The session's app on a real loopback port (uvicorn, in this event loop)."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off",
                                           log_config=None, access_log=False))
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 20
    while not server.started:
        assert not task.done(), "uvicorn stopped before it started"
        assert time.monotonic() < deadline, "uvicorn did not start within 20 s"
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


def unavailable(message: str) -> None:
    """Skip on a laptop without node; fail under CI=true."""
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def jose_verifier() -> list[str]:
    """node and tests/jwt/verify.mjs with npm jose installed (.ci/run does `npm ci`)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        unavailable("node and npm are needed to verify tokens with npm jose")
    if not (JWT_DIR / "node_modules" / "jose").is_dir():
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=JWT_DIR,
                              capture_output=True, text=True, timeout=300, check=False)
        if done.returncode != 0:
            unavailable(f"npm ci in tests/jwt failed: {done.stderr[-2000:]}")
    return [node, str(JWT_DIR / "verify.mjs")]  # type: ignore[list-item]


async def access_token(base: str, *roles: str) -> str:
    created = await clients.create_client("interop client", list(roles or ["viewer"]))
    async with httpx.AsyncClient(base_url=base) as http:
        response = await http.post("/oauth/token", data={"grant_type": "client_credentials"},
                                   auth=(created.client_id, created.client_secret))
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


async def graphql_status(base: str, token: str) -> int:
    async with httpx.AsyncClient(base_url=base) as http:
        response = await http.post("/graphql", json=SITES,
                                   headers={"Authorization": f"Bearer {token}"})
    return response.status_code


async def plant_legacy_key(settings: Any) -> tuple[str, OKPKey]:
    """An Ed25519 key as the gateway stored it before: algorithm "Ed25519", the newest."""
    key = OKPKey.generate_key("Ed25519")
    kid = key.thumbprint()
    sealed = SecretBox.from_settings(settings).encrypt(
        json.dumps(key.as_dict(private=True)), context=f"signing-key:{kid}")
    await SigningKey.create(kid=kid, algorithm="Ed25519", private_jwk=sealed,
                            created_at=datetime.now(UTC))
    return kid, key


def legacy_token(settings: Any, kid: str, key: OKPKey, subject: str) -> str:
    """A token as the gateway signed them before: alg "Ed25519", iss "ccm-gateway"."""
    now = int(time.time())
    claims = {"iss": "ccm-gateway", "aud": settings.token_audience, "sub": subject,
              "iat": now, "exp": now + 600, "jti": "legacy", "roles": ["viewer"],
              "scope": "customer:read", "kind": "client"}
    return jose_jwt.encode({"alg": "Ed25519", "kid": kid, "typ": "JWT"}, claims, key,
                           algorithms=["Ed25519"])


# --- the three libraries ---------------------------------------------------------------------


async def test_pyjwt_finds_the_key_in_the_jwks_and_verifies_the_token(served, settings):
    token = await access_token(served)
    jwks_client = pyjwt.PyJWKClient(f"{served}/.well-known/jwks.json")

    # PyJWKClient is synchronous; the server runs on this event loop.
    signing_key = await asyncio.to_thread(jwks_client.get_signing_key_from_jwt, token)
    claims = pyjwt.decode(token, signing_key.key, algorithms=[signing_key.algorithm_name],
                          audience=settings.token_audience, issuer=settings.token_issuer)

    assert pyjwt.get_unverified_header(token)["alg"] == "ES256"
    assert claims["iss"] == settings.token_issuer and claims["kind"] == "client"


async def test_joserfc_with_its_default_algorithms_verifies_the_token(served, settings):
    token = await access_token(served)
    async with httpx.AsyncClient(base_url=served) as http:
        jwks = (await http.get("/.well-known/jwks.json")).json()

    decoded = jose_jwt.decode(token, KeySet.import_key_set(jwks))  # no algorithms= given
    JWTClaimsRegistry(iss={"essential": True, "value": settings.token_issuer},
                      aud={"essential": True, "value": settings.token_audience}
                      ).validate(decoded.claims)

    assert decoded.header["alg"] == "ES256"


async def test_npm_jose_verifies_the_token(served, settings, jose_verifier):
    token = await access_token(served)

    # Asynchronously: node fetches the JWKS from the server on this event loop.
    process = await asyncio.create_subprocess_exec(
        *jose_verifier, f"{served}/.well-known/jwks.json", settings.token_issuer,
        settings.token_audience, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(token.encode()), timeout=60)

    assert process.returncode == 0, err.decode()
    verified = json.loads(out)
    assert verified["header"]["alg"] == "ES256"
    assert verified["claims"]["iss"] == settings.token_issuer


# --- what was issued before keeps working ------------------------------------------------------


async def test_a_key_from_before_keeps_verifying_its_tokens_and_signs_no_new_ones(
        app, served, settings):
    created = await clients.create_client("legacy client", ["viewer"])
    kid, key = await plant_legacy_key(settings)
    await app.state.tokens.keys.refresh()  # as the next unknown kid would, after a second

    assert await graphql_status(served, legacy_token(settings, kid, key,
                                                     created.client_id)) == 200

    # The newest key is the old kind: the next token is signed by a new ES256 key instead.
    fresh = await access_token(served)
    header = pyjwt.get_unverified_header(fresh)
    assert header["alg"] == "ES256" and header["kid"] != kid
    # The old key stays published, under RFC 8037's name, which PyJWT can read.
    async with httpx.AsyncClient(base_url=served) as http:
        jwks = (await http.get("/.well-known/jwks.json")).json()
    published = {k["kid"]: k for k in jwks["keys"]}
    assert published[kid]["alg"] == "EdDSA" and published[kid]["crv"] == "Ed25519"
    assert len(pyjwt.PyJWKSet.from_dict(jwks).keys) == len(jwks["keys"])


async def test_a_development_token_from_before_with_the_old_issuer_still_verifies(
        served, settings):
    now = int(time.time())
    claims = {"iss": "ccm-gateway", "aud": settings.token_audience, "sub": "dev-admin",
              "iat": now, "exp": now + 600, "roles": ["viewer"], "kind": "user"}
    old = pyjwt.encode(claims, settings.secret_key, algorithm="HS256")
    other = pyjwt.encode(claims | {"iss": "ccm-gateway-2"}, settings.secret_key,
                         algorithm="HS256")

    assert await graphql_status(served, old) == 200
    assert await graphql_status(served, other) == 401


# --- RFC 8414 metadata ------------------------------------------------------------------------


async def test_the_metadata_passes_authlib_validation_and_names_the_tokens_issuer(
        served, settings):
    token = await access_token(served)
    async with httpx.AsyncClient(base_url=served) as http:
        body = (await http.get(METADATA)).json()

    AuthorizationServerMetadata(body).validate()  # a loopback http URL is allowed in dev

    assert body["issuer"] == settings.public_base_url
    assert pyjwt.decode(token, options={"verify_signature": False})["iss"] == body["issuer"]


def test_the_removed_token_issuer_setting_is_refused_naming_the_public_url():
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({"CCM_TOKEN_ISSUER": "ccm-gateway"})
    assert "CCM_TOKEN_ISSUER" in str(refused.value) and "CCM_PUBLIC_URL" in str(refused.value)


async def test_a_production_shaped_metadata_passes_authlib_validation(settings):
    app = create_app(replace(settings, env="prod", public_url="https://ccm.example.com/"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="https://ccm.example.com") as http:
        body = (await http.get(METADATA)).json()

    AuthorizationServerMetadata(body).validate()

    assert body["issuer"] == "https://ccm.example.com"
    assert body["token_endpoint"] == "https://ccm.example.com/oauth/token"
    assert "ES256" in body["access_token_signing_alg_values_supported"]
