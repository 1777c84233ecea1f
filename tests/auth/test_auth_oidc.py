"""Trusted OIDC issuers: access tokens of a real OIDC provider (oidc-provider 9 on
node, tests/oidc/provider.mjs) on /graphql, and the tokens it would never issue
(forged, ``alg: none``, unknown ``kid``) crafted with joserfc."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import socket
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey
from testkit import Clock

from ccm_gateway.app import create_app
from ccm_gateway.auth.issuers import TrustedIssuers
from ccm_gateway.config import Settings, TrustedIssuer
from ccm_gateway.errors import ConfigError

SECRET = "test-secret-0123456789abcdef0123456789"
AUDIENCE = "urn:ccm:gateway"
ROLE_MAP = {"portal-finance": "finance", "portal-viewer": "viewer"}
REFETCH_INTERVAL = 60.0
# The providers (fixtures node, trusted_provider, other_provider) are in conftest.py.


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def trusted(issuer: str, **extra: Any) -> TrustedIssuer:
    return TrustedIssuer(issuer=issuer, audience=AUDIENCE, role_map=ROLE_MAP, **extra)


async def provider_token(issuer: str, client_id: str = "partner-a",
                         resource: str | None = None) -> str:
    data = {"grant_type": "client_credentials", "client_id": client_id,
            "client_secret": SECRET, "scope": "api"}
    if resource:
        data["resource"] = resource
    async with httpx.AsyncClient(timeout=10) as c:
        r = await c.post(f"{issuer}/token", data=data)
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


@contextlib.asynccontextmanager
async def gateway(app: Any, settings: Settings, *issuers: TrustedIssuer,
                  clock: Clock | None = None) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """An app trusting these issuers, on the session app's database and queue (its
    lifespan is not run: the session app holds Tortoise's global context).

    Its JWKS client is a real httpx client to the loopback providers, with a hook
    recording every URL fetched."""
    own = create_app(replace(settings, trusted_issuers=issuers))
    own.state.queue = app.state.queue
    fetched: list[str] = []

    async def record(request: httpx.Request) -> None:
        fetched.append(str(request.url))

    http = httpx.AsyncClient(timeout=httpx.Timeout(5.0, connect=2.0),
                             event_hooks={"request": [record]})
    own.state.tokens.issuers = TrustedIssuers(issuers, http=http, clock=clock or Clock(),
                                              refetch_interval=REFETCH_INTERVAL)
    own.state.fetched = fetched
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=own),
                                     base_url="http://ccm.test") as c:
            yield c, own
    finally:
        await http.aclose()


async def graphql(c: httpx.AsyncClient, token: str, query: str,
                  variables: dict[str, Any] | None = None) -> httpx.Response:
    return await c.post("/graphql", json={"query": query, "variables": variables or {}},
                        headers={"Authorization": f"Bearer {token}"})


ME_QUERY = "{ sites { id } }"
CUSTOMERS = """query($segment: String!) {
  customers(first: 10, filter: {segment: $segment}) { edges { node { id partnerId } } } }"""


def assert_refused(response: httpx.Response, reason: str) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert reason in error["message"], error["message"]


def b64(data: bytes | dict[str, Any]) -> str:
    raw = json.dumps(data).encode() if isinstance(data, dict) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    def part(s: str) -> dict[str, Any]:
        return json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))

    header, payload, _ = token.split(".")
    return part(header), part(payload)


def fresh_claims(issuer: str, **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": issuer, "aud": AUDIENCE, "sub": "partner-a", "iat": now, "exp": now + 300,
            "roles": ["portal-finance"], "partner": "oidc-partner-a", **extra}


# --- accepted ----------------------------------------------------------------------------


async def test_provider_tokens_act_for_their_partner_with_mapped_roles(
        app, settings, trusted_provider, make_customer):
    segment = f"oidc-{uuid.uuid4().hex[:10]}"
    mine = await make_customer(segment=segment, partnerId="oidc-partner-a")
    theirs = await make_customer(segment=segment, partnerId="oidc-partner-b")
    await make_customer(segment=segment)  # an operator's customer, no partner

    async with gateway(app, settings, trusted(trusted_provider)) as (c, own):
        token_a = await provider_token(trusted_provider, "partner-a")
        header, claims = unverified(token_a)
        assert header["alg"] == "RS256" and header["kid"]
        assert claims["roles"] == ["portal-finance", "portal-unknown"]

        a = await graphql(c, token_a, CUSTOMERS, {"segment": segment})
        assert a.status_code == 200, a.text
        assert a.json()["data"]["customers"]["edges"] == [
            {"node": {"id": mine, "partnerId": "oidc-partner-a"}}]

        b = await graphql(c, await provider_token(trusted_provider, "partner-b-viewer"),
                          CUSTOMERS, {"segment": segment})
        assert [e["node"]["id"] for e in b.json()["data"]["customers"]["edges"]] == [theirs]

        # The principal: mapped roles (unknown values dropped), the partner, a user.
        principal = await own.state.tokens.authenticate(token_a)
        assert (principal.subject, principal.kind, principal.partner_id) == (
            "partner-a", "user", "oidc-partner-a")
        assert {r.value for r in principal.roles} == {"finance"}
        # A viewer may not write: the role map decides what the token may do.
        write = await graphql(c, await provider_token(trusted_provider, "partner-b-viewer"),
                              """mutation($input: CreateCustomerInput!) {
                                   createCustomer(input: $input) { id } }""",
                              {"input": {"name": "x", "segment": segment, "currency": "USD",
                                         "creditLimit": {"amount": "1.00",
                                                         "currency": "USD"}}})
        assert write.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        # One discovery and one JWKS fetch served every token above.
        jwks_fetches = [u for u in own.state.fetched if "openid-configuration" not in u]
        assert len(jwks_fetches) == 1


async def test_our_own_tokens_still_work_next_to_trusted_issuers(app, settings,
                                                                 trusted_provider):
    async with gateway(app, settings, trusted(trusted_provider)) as (c, own):
        token = own.state.tokens.issue("operator", ["admin"])
        assert (await graphql(c, token, ME_QUERY)).status_code == 200


async def test_the_default_http_client_fetches_the_keys(app, settings, trusted_provider):
    own = create_app(replace(settings, trusted_issuers=(trusted(trusted_provider),)))
    own.state.queue = app.state.queue
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=own),
                                     base_url="http://ccm.test") as c:
            token = await provider_token(trusted_provider)
            assert (await graphql(c, token, ME_QUERY)).status_code == 200
    finally:
        await own.state.tokens.aclose()


# --- refused -----------------------------------------------------------------------------


async def test_a_token_with_no_mapped_role_is_refused(app, settings, trusted_provider):
    async with gateway(app, settings, trusted(trusted_provider)) as (c, _):
        token = await provider_token(trusted_provider, "no-role")
        assert_refused(await graphql(c, token, ME_QUERY), "no role granted")


async def test_a_token_for_another_audience_is_refused(app, settings, trusted_provider):
    async with gateway(app, settings, trusted(trusted_provider)) as (c, _):
        token = await provider_token(trusted_provider, resource="urn:another:api")
        assert unverified(token)[1]["aud"] == "urn:another:api"
        assert_refused(await graphql(c, token, ME_QUERY), "InvalidClaimError")


async def test_an_untrusted_issuer_is_refused(app, settings, trusted_provider, other_provider):
    async with gateway(app, settings, trusted(trusted_provider)) as (c, own):
        token = await provider_token(other_provider)
        assert_refused(await graphql(c, token, ME_QUERY), "untrusted issuer")
        assert own.state.fetched == []  # nothing fetched for an issuer we do not trust


async def test_a_trusted_issuer_token_is_refused_by_an_app_trusting_none(
        client, trusted_provider):
    token = await provider_token(trusted_provider)
    response = await client.post("/graphql", json={"query": ME_QUERY},
                                 headers={"Authorization": f"Bearer {token}"})
    assert_refused(response, "untrusted issuer")


async def test_an_expired_token_is_refused(app, settings, trusted_provider, other_provider):
    # The second provider's clock runs two hours slow: exp is long past, beyond leeway.
    async with gateway(app, settings, trusted(trusted_provider),
                       trusted(other_provider)) as (c, _):
        token = await provider_token(other_provider)
        claims = unverified(token)[1]
        assert claims["exp"] < time.time() - 3600
        assert_refused(await graphql(c, token, ME_QUERY), "ExpiredTokenError")


async def test_a_forged_payload_is_refused(app, settings, trusted_provider):
    async with gateway(app, settings, trusted(trusted_provider)) as (c, _):
        token = await provider_token(trusted_provider)
        header, _, signature = token.split(".")
        claims = unverified(token)[1] | {"partner": "oidc-partner-b", "roles": ["portal-finance"]}
        forged = f"{header}.{b64(claims)}.{signature}"
        assert_refused(await graphql(c, forged, ME_QUERY), "BadSignatureError")


async def test_alg_none_is_refused(app, settings, trusted_provider):
    async with gateway(app, settings, trusted(trusted_provider)) as (c, _):
        kid = unverified(await provider_token(trusted_provider))[0]["kid"]
        for alg in ("none", "None"):
            token = f"{b64({'alg': alg, 'kid': kid, 'typ': 'JWT'})}." \
                    f"{b64(fresh_claims(trusted_provider))}."
            assert_refused(await graphql(c, token, ME_QUERY), "algorithm not allowed")


async def test_hs256_signed_with_the_public_key_is_refused(app, settings, trusted_provider):
    async with gateway(app, settings, trusted(trusted_provider)) as (c, _):
        kid = unverified(await provider_token(trusted_provider))[0]["kid"]
        async with httpx.AsyncClient(timeout=10) as http:
            jwks = (await http.get(f"{trusted_provider}/jwks")).json()
        [public] = [k for k in jwks["keys"] if k["kid"] == kid]
        pem = RSAKey.import_key(public).as_pem(private=False)
        # joserfc itself refuses a public key as an HMAC secret: sign by hand.
        signing_input = f"{b64({'alg': 'HS256', 'kid': kid})}." \
                        f"{b64(fresh_claims(trusted_provider))}"
        mac = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
        token = f"{signing_input}.{b64(mac)}"
        assert_refused(await graphql(c, token, ME_QUERY), "algorithm not allowed")
        # An allowed algorithm of another key type than the key named: refused too.
        other = jwt.encode({"alg": "ES256", "kid": kid}, fresh_claims(trusted_provider),
                           ECKey.generate_key("P-256"), algorithms=["ES256"])
        assert_refused(await graphql(c, other, ME_QUERY), "does not match the key")


async def test_an_unknown_kid_refetches_the_jwks_once_and_is_refused(
        app, settings, trusted_provider):
    clock = Clock()
    async with gateway(app, settings, trusted(trusted_provider), clock=clock) as (c, own):
        fetched: list[str] = own.state.fetched

        def jwks_fetches() -> int:
            return sum(1 for u in fetched if "openid-configuration" not in u)

        good = await provider_token(trusted_provider)
        assert (await graphql(c, good, ME_QUERY)).status_code == 200
        assert jwks_fetches() == 1

        rogue = RSAKey.generate_key(2048, parameters={"kid": "rogue-key"})
        forged = jwt.encode({"alg": "RS256", "kid": "rogue-key"},
                            fresh_claims(trusted_provider), rogue, algorithms=["RS256"])
        clock.now += REFETCH_INTERVAL + 1
        assert_refused(await graphql(c, forged, ME_QUERY), "unknown key id")
        assert jwks_fetches() == 2  # refetched: the provider might have rotated

        # Within the interval another unknown kid does not reach the provider.
        for i in range(5):
            again = jwt.encode({"alg": "RS256", "kid": f"rogue-{i}"},
                               fresh_claims(trusted_provider), rogue, algorithms=["RS256"])
            assert_refused(await graphql(c, again, ME_QUERY), "unknown key id")
        assert jwks_fetches() == 2
        # And the known key still works from the cache.
        assert (await graphql(c, good, ME_QUERY)).status_code == 200
        assert jwks_fetches() == 2


async def test_an_unreachable_issuer_refuses_without_crashing(app, settings):
    dead = f"http://127.0.0.1:{free_port()}"
    async with gateway(app, settings, trusted(dead)) as (c, _):
        rogue = RSAKey.generate_key(2048, parameters={"kid": "k1"})
        token = jwt.encode({"alg": "RS256", "kid": "k1"}, fresh_claims(dead), rogue,
                           algorithms=["RS256"])
        assert_refused(await graphql(c, token, ME_QUERY), "issuer keys unavailable")


# --- configuration -----------------------------------------------------------------------


def test_trusted_issuers_from_the_environment():
    raw = json.dumps([{"issuer": "https://login.partner.example", "audience": "ccm",
                       "role_map": {"fin": "finance"}},
                      {"issuer": "http://127.0.0.1:9000", "audience": "ccm",
                       "role_claim": "groups", "partner_claim": "org",
                       "role_map": {"view": "viewer"}, "algorithms": ["ES256"]}])
    first, second = Settings.from_env({"CCM_TRUSTED_ISSUERS": raw}).trusted_issuers
    assert (first.role_claim, first.partner_claim) == ("roles", "partner")
    assert first.algorithms == ("RS256", "ES256", "EdDSA", "Ed25519")
    assert (second.role_claim, second.partner_claim, second.algorithms) == (
        "groups", "org", ("ES256",))
    assert Settings.from_env({}).trusted_issuers == ()


def entry(**changes: Any) -> str:
    base = {"issuer": "https://login.partner.example", "audience": "ccm",
            "role_map": {"fin": "finance"}}
    return json.dumps([{k: v for k, v in (base | changes).items() if v is not None}])


@pytest.mark.parametrize(("raw", "named"), [
    ("[{not json", "not valid JSON"),
    ('{"issuer": "https://x"}', "JSON list"),
    (entry(issuer=None), "entry 1: 'issuer' is required"),
    (entry(audience=None), "'audience' is required"),
    (entry(issuer="http://login.partner.example"), "https://"),
    (entry(issuer="http://10.0.0.1:8080"), "https://"),
    (entry(role_map={"fin": "superuser"}), "is not a role"),
    (entry(algorithms=["HS256"]), "'HS256' is not allowed"),
    (entry(algorithms=["RS256", "none"]), "'none' is not allowed"),
    (entry(algorithms=[]), "must not be empty"),
    (entry(extra=1), "unknown keys"),
])
def test_bad_trusted_issuers_are_named(raw, named):
    with pytest.raises(ConfigError, match="CCM_TRUSTED_ISSUERS") as info:
        Settings.from_env({"CCM_TRUSTED_ISSUERS": raw})
    assert named in str(info.value)
