"""Trusted OIDC issuers managed through GraphQL: CRUD, validation, audit, who may, and a
real oidc-provider (tests/oidc/provider.mjs) whose tokens are accepted on /graphql once
its issuer is created, and refused once it is disabled or deleted."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from testkit import Clock
from tortoise.transactions import in_transaction

from ccm_gateway.app import create_app
from ccm_gateway.audit.models import AuditEvent
from ccm_gateway.auth import trusted_issuers
from ccm_gateway.auth.issuers import TrustedIssuers, issuers_changed
from ccm_gateway.auth.models import TrustedIssuerRecord
from ccm_gateway.config import TrustedIssuer
from ccm_gateway.errors import BadInput
from ccm_gateway.principal import Actor

SECRET = "test-secret-0123456789abcdef0123456789"  # provider.mjs's client secret
AUDIENCE = "urn:ccm:gateway"
ENV_ISSUER = "https://login.env-partner.example"
ACTOR = Actor(type="user", id="another-process")

CREATE = """mutation($input: CreateTrustedIssuerInput!) {
  createTrustedIssuer(input: $input) {
    issuer audience roleClaim partnerClaim algorithms enabled source createdAt updatedAt
    roleMap { claimValue role } } }"""
UPDATE = """mutation($input: UpdateTrustedIssuerInput!) {
  updateTrustedIssuer(input: $input) {
    issuer audience roleClaim partnerClaim algorithms enabled source updatedAt
    roleMap { claimValue role } } }"""
DELETE = """mutation($input: DeleteTrustedIssuerInput!) {
  deleteTrustedIssuer(input: $input) { deleted { issuer enabled } } }"""
LIST = """query($first: Int, $after: String) {
  trustedIssuers(first: $first, after: $after) {
    edges { cursor node { issuer source enabled audience roleMap { claimValue role } } }
    pageInfo { hasNextPage endCursor } } }"""
SITES = "{ sites { id } }"


def https_issuer() -> str:
    return f"https://login.{uuid.uuid4().hex[:10]}.example"


def create_input(issuer: str, **changes: Any) -> dict[str, Any]:
    return {"issuer": issuer, "audience": AUDIENCE,
            "roleMap": [{"claimValue": "portal-finance", "role": "FINANCE"},
                        {"claimValue": "portal-viewer", "role": "VIEWER"}]} | changes


async def _remove_api_issuers() -> None:
    await TrustedIssuerRecord.all().delete()
    issuers_changed()


@pytest.fixture(autouse=True)
async def no_api_issuers_left(app: Any) -> AsyncIterator[None]:
    """Every test starts and ends with no API issuer: other modules' tests may have
    left some, and the session app (and the OIDC tests' apps) would otherwise trust
    what one of these tests left behind."""
    await _remove_api_issuers()
    yield
    await _remove_api_issuers()


@pytest.fixture(scope="module")
def api_provider(start_provider: Any) -> Iterator[str]:
    """A provider of this module's own: no other test trusts it through the environment."""
    with start_provider() as issuer:
        yield issuer


async def provider_token(issuer: str, client_id: str = "partner-a") -> str:
    """client_credentials at the provider; partner-a's token carries roles
    [portal-finance, portal-unknown] and partner oidc-partner-a."""
    async with httpx.AsyncClient(timeout=10) as c:
        r = await c.post(f"{issuer}/token", data={
            "grant_type": "client_credentials", "client_id": client_id,
            "client_secret": SECRET, "scope": "api"})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


async def bearer(client: httpx.AsyncClient, token: str, query: str = SITES,
                 variables: dict[str, Any] | None = None) -> httpx.Response:
    return await client.post("/graphql", json={"query": query, "variables": variables or {}},
                             headers={"Authorization": f"Bearer {token}"})


def assert_refused(response: httpx.Response, message: str) -> None:
    assert response.status_code == 401, response.text
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert message in error["message"], error["message"]


async def audit_rows(issuer: str) -> list[AuditEvent]:
    return await AuditEvent.filter(object_type="trusted_issuer",
                                   object_id=issuer).order_by("seq")


@contextlib.asynccontextmanager
async def app_with_env_issuer(app: Any, settings: Any) -> AsyncIterator[Any]:
    """An app whose CCM_TRUSTED_ISSUERS names ENV_ISSUER, on the session app's database."""
    env = TrustedIssuer(issuer=ENV_ISSUER, audience="ccm", role_map={"fin": "finance"})
    own = create_app(replace(settings, trusted_issuers=(env,)))
    own.state.queue = app.state.queue
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=own),
                                 base_url="http://ccm.test") as c:
        yield c, own


async def gql_as(c: httpx.AsyncClient, own: Any, query: str,
                 variables: dict[str, Any] | None = None) -> dict[str, Any]:
    token = own.state.tokens.issue("it-admin", ["it_admin"])
    response = await c.post("/graphql", json={"query": query, "variables": variables or {}},
                            headers={"Authorization": f"Bearer {token}"})
    return response.json()


# --- CRUD and audit --------------------------------------------------------------------------


async def test_an_it_admin_creates_lists_updates_and_deletes_an_issuer(gql):
    issuer = https_issuer()
    created = await gql(CREATE, {"input": create_input(issuer)}, role="it_admin")
    node = created.data["createTrustedIssuer"]
    assert node | {"createdAt": None, "updatedAt": None} == {
        "issuer": issuer, "audience": AUDIENCE, "roleClaim": "roles", "partnerClaim": "partner",
        "algorithms": ["RS256", "ES256", "EdDSA", "Ed25519"], "enabled": True, "source": "API",
        "createdAt": None, "updatedAt": None,
        "roleMap": [{"claimValue": "portal-finance", "role": "FINANCE"},
                    {"claimValue": "portal-viewer", "role": "VIEWER"}]}
    assert node["createdAt"] and node["createdAt"] == node["updatedAt"]

    listed = (await gql(LIST, {"first": 10}, role="it_admin")).data["trustedIssuers"]["edges"]
    assert [(e["node"]["issuer"], e["node"]["source"]) for e in listed] == [(issuer, "API")]

    # Partial: only what is given changes.
    updated = (await gql(UPDATE, {"input": {"issuer": issuer, "audience": "urn:other",
                                            "algorithms": ["ES256"], "enabled": False}},
                         role="it_admin")).data["updateTrustedIssuer"]
    assert (updated["audience"], updated["algorithms"], updated["enabled"]) == (
        "urn:other", ["ES256"], False)
    assert updated["roleMap"] == node["roleMap"] and updated["roleClaim"] == "roles"
    assert updated["updatedAt"] > node["updatedAt"]
    remapped = (await gql(UPDATE, {"input": {"issuer": issuer, "roleClaim": "groups",
                                             "partnerClaim": "org",
                                             "roleMap": [{"claimValue": "admins",
                                                          "role": "IT_ADMIN"}]}},
                          role="it_admin")).data["updateTrustedIssuer"]
    assert (remapped["roleClaim"], remapped["partnerClaim"], remapped["roleMap"]) == (
        "groups", "org", [{"claimValue": "admins", "role": "IT_ADMIN"}])
    assert remapped["audience"] == "urn:other" and remapped["enabled"] is False

    deleted = await gql(DELETE, {"input": {"issuer": issuer}}, role="it_admin")
    assert deleted.data["deleteTrustedIssuer"]["deleted"] == {"issuer": issuer,
                                                              "enabled": False}
    assert not await TrustedIssuerRecord.exists(issuer=issuer)
    again = await gql(DELETE, {"input": {"issuer": issuer}}, role="it_admin")
    assert again.error_code == "NOT_FOUND"


async def test_each_change_is_audited_with_actor_before_and_after(gql):
    issuer = https_issuer()
    subject = f"it-{uuid.uuid4().hex[:8]}"
    token = gql.token("it_admin", subject=subject)
    await gql(CREATE, {"input": create_input(issuer)}, token=token)
    await gql(UPDATE, {"input": {"issuer": issuer, "enabled": False}}, token=token)
    # The same values again: nothing changes, so nothing is recorded.
    await gql(UPDATE, {"input": {"issuer": issuer, "enabled": False}}, token=token)
    await gql(DELETE, {"input": {"issuer": issuer}}, token=token)

    rows = await audit_rows(issuer)
    assert [r.action for r in rows] == ["issuer.create", "issuer.update", "issuer.delete"]
    assert {(r.actor_type, r.actor_id) for r in rows} == {("user", subject)}
    assert all(r.request_id for r in rows)
    create, update, delete = rows
    assert create.before is None and create.after["issuer"] == issuer
    assert create.after["role_map"] == {"portal-finance": "finance", "portal-viewer": "viewer"}
    assert (update.before["enabled"], update.after["enabled"]) == (True, False)
    assert delete.before == update.after and delete.after is None


async def test_the_environments_issuers_are_listed_first_and_cannot_be_changed(app, settings):
    async with app_with_env_issuer(app, settings) as (c, own):
        api_issuer = https_issuer()
        created = await gql_as(c, own, CREATE, {"input": create_input(api_issuer)})
        assert not created.get("errors"), created

        first = (await gql_as(c, own, LIST, {"first": 1}))["data"]["trustedIssuers"]
        [env] = first["edges"]
        assert env["node"] == {"issuer": ENV_ISSUER, "source": "ENVIRONMENT", "enabled": True,
                               "audience": "ccm",
                               "roleMap": [{"claimValue": "fin", "role": "FINANCE"}]}
        assert first["pageInfo"]["hasNextPage"] is True
        second = (await gql_as(c, own, LIST, {"first": 1,
                                              "after": first["pageInfo"]["endCursor"]})
                  )["data"]["trustedIssuers"]
        assert [e["node"]["issuer"] for e in second["edges"]] == [api_issuer]
        assert second["pageInfo"]["hasNextPage"] is False

        for document, variables in [
                (CREATE, {"input": create_input(ENV_ISSUER)}),
                (UPDATE, {"input": {"issuer": ENV_ISSUER, "enabled": False}}),
                (DELETE, {"input": {"issuer": ENV_ISSUER}})]:
            body = await gql_as(c, own, document, variables)
            [error] = body["errors"]
            assert error["extensions"]["code"] == "CONFLICT", error
            assert "configured by the environment" in error["message"]
        assert not await TrustedIssuerRecord.exists(issuer=ENV_ISSUER)
        assert await audit_rows(ENV_ISSUER) == []


async def test_a_malformed_cursor_is_bad_input(gql):
    result = await gql(LIST, {"first": 1, "after": "bm90LWEtY3Vyc29y"}, role="it_admin")
    assert result.error_code == "BAD_USER_INPUT"
    assert result.errors[0]["extensions"]["field"] == "after"


# --- bad input changes nothing ---------------------------------------------------------------


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"issuer": "http://login.partner.example"}, "issuer", "https://"),
    ({"issuer": "http://10.0.0.1:8080"}, "issuer", "https://"),
    ({"issuer": ""}, "issuer", "'issuer' is required"),
    ({"audience": ""}, "audience", "'audience' is required"),
    ({"algorithms": ["HS256"]}, "algorithms", "'HS256' is not allowed"),
    ({"algorithms": ["RS256", "none"]}, "algorithms", "'none' is not allowed"),
    ({"algorithms": []}, "algorithms", "must not be empty"),
    ({"roleMap": []}, "roleMap", "must map claim values to roles"),
    ({"roleMap": [{"claimValue": "a", "role": "VIEWER"},
                  {"claimValue": "a", "role": "ADMIN"}]}, "roleMap", "mapped twice"),
    ({"roleMap": [{"claimValue": "", "role": "VIEWER"}]}, "roleMap", "claim value"),
    ({"roleClaim": ""}, "roleClaim", "non-empty"),
    ({"partnerClaim": ""}, "partnerClaim", "non-empty"),
    ({"audience": "a" * 501}, "audience", "at most 500"),
], ids=["http", "http-private-ip", "no-issuer", "no-audience", "hs256", "none", "no-algorithms",
        "empty-role-map", "claim-twice", "empty-claim", "no-role-claim", "no-partner-claim",
        "long-audience"])
async def test_a_bad_create_names_the_field_and_creates_nothing(gql, changes, field, message):
    issuer = https_issuer()
    variables = create_input(issuer) | changes
    result = await gql(CREATE, {"input": variables}, role="it_admin")
    assert result.error_code == "BAD_USER_INPUT", result.errors
    assert result.errors[0]["extensions"]["field"] == field
    assert message in result.errors[0]["message"]
    assert await TrustedIssuerRecord.all().count() == 0
    assert await audit_rows(variables["issuer"]) == []


async def test_an_unknown_role_is_refused_before_anything_runs(gql):
    result = await gql(CREATE, {"input": create_input(https_issuer(), roleMap=[
        {"claimValue": "root", "role": "SUPERUSER"}])}, role="it_admin")
    assert result.error_code == "BAD_USER_INPUT"
    assert "SUPERUSER" in result.errors[0]["message"]
    assert await TrustedIssuerRecord.all().count() == 0


async def test_the_service_refuses_a_role_that_is_not_ours():
    with pytest.raises(BadInput, match="is not a role") as info:
        async with in_transaction():
            await trusted_issuers.create_issuer(ACTOR, (), issuer=https_issuer(),
                                                audience=AUDIENCE,
                                                role_map={"root": "superuser"})
    assert info.value.field == "role_map"
    assert await TrustedIssuerRecord.all().count() == 0


async def test_a_bad_update_names_the_field_and_changes_nothing(gql):
    issuer = https_issuer()
    await gql(CREATE, {"input": create_input(issuer)}, role="it_admin")
    before = await TrustedIssuerRecord.get(issuer=issuer).values()
    for changes, field in [({"algorithms": ["HS256"]}, "algorithms"),
                           ({"roleMap": []}, "roleMap"), ({"audience": ""}, "audience")]:
        result = await gql(UPDATE, {"input": {"issuer": issuer, "enabled": False} | changes},
                           role="it_admin")
        assert result.error_code == "BAD_USER_INPUT", result.errors
        assert result.errors[0]["extensions"]["field"] == field
    assert await TrustedIssuerRecord.get(issuer=issuer).values() == before
    assert [r.action for r in await audit_rows(issuer)] == ["issuer.create"]


async def test_an_issuer_is_created_once(gql):
    issuer = https_issuer()
    assert not (await gql(CREATE, {"input": create_input(issuer)}, role="it_admin")).errors
    again = await gql(CREATE, {"input": create_input(issuer, audience="urn:x")},
                      role="it_admin")
    assert again.error_code == "CONFLICT"
    assert "already trusted" in again.errors[0]["message"]
    assert (await TrustedIssuerRecord.get(issuer=issuer)).audience == AUDIENCE


async def test_updating_an_unknown_issuer_is_not_found(gql):
    result = await gql(UPDATE, {"input": {"issuer": https_issuer(), "enabled": False}},
                       role="it_admin")
    assert result.error_code == "NOT_FOUND"


# --- who may ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "finance", "credit_manager", "auditor"])
async def test_roles_without_issuer_admin_are_forbidden(gql, role):
    issuer = https_issuer()
    await gql(CREATE, {"input": create_input(issuer)}, role="admin")
    for document, variables in [(LIST, {"first": 5}),
                                (CREATE, {"input": create_input(https_issuer())}),
                                (UPDATE, {"input": {"issuer": issuer, "enabled": False}}),
                                (DELETE, {"input": {"issuer": issuer}})]:
        result = await gql(document, variables, role=role)
        assert result.error_code == "FORBIDDEN", result.errors
        assert "issuer:admin" in result.errors[0]["message"]
    row = await TrustedIssuerRecord.get(issuer=issuer)
    assert row.enabled is True and await TrustedIssuerRecord.all().count() == 1


async def test_a_partner_scoped_admin_is_forbidden(gql):
    issuer = https_issuer()
    await gql(CREATE, {"input": create_input(issuer)}, role="admin")
    token = gql.token("admin", subject="portal-admin", partner_id="partner-x")
    for document, variables in [(LIST, {"first": 5}),
                                (CREATE, {"input": create_input(https_issuer())}),
                                (UPDATE, {"input": {"issuer": issuer, "enabled": False}}),
                                (DELETE, {"input": {"issuer": issuer}})]:
        result = await gql(document, variables, token=token)
        assert result.error_code == "FORBIDDEN", result.errors
        assert "partner principals" in result.errors[0]["message"]
    assert (await TrustedIssuerRecord.get(issuer=issuer)).enabled is True
    assert [r.action for r in await audit_rows(issuer)] == ["issuer.create"]


# --- end to end with a real OIDC provider ----------------------------------------------------


async def test_a_created_issuers_tokens_work_until_it_is_disabled_or_deleted(
        gql, client, api_provider, make_customer):
    token = await provider_token(api_provider)
    assert_refused(await bearer(client, token), "untrusted issuer")

    created = await gql(CREATE, {"input": create_input(api_provider)}, role="it_admin")
    assert created.data["createTrustedIssuer"]["issuer"] == api_provider
    # At once in this process: no wait for the refresh interval.
    segment = f"issuer-{uuid.uuid4().hex[:10]}"
    mine = await make_customer(partnerId="oidc-partner-a", segment=segment)
    await make_customer(partnerId="oidc-partner-b", segment=segment)
    customers = await bearer(client, token, """query($s: String!) { customers(first: 10,
        filter: {segment: $s}) { edges { node { id partnerId } } } }""", {"s": segment})
    assert customers.status_code == 200, customers.text
    assert customers.json()["data"]["customers"]["edges"] == [
        {"node": {"id": mine, "partnerId": "oidc-partner-a"}}]
    # The role map decides what the token may do: portal-finance is finance, not it_admin.
    forbidden = await bearer(client, token, "{ trustedIssuers { edges { cursor } } }")
    assert forbidden.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    await gql(UPDATE, {"input": {"issuer": api_provider, "enabled": False}}, role="it_admin")
    assert_refused(await bearer(client, token), "untrusted issuer")

    await gql(UPDATE, {"input": {"issuer": api_provider, "enabled": True}}, role="it_admin")
    assert (await bearer(client, token)).status_code == 200

    # A role map that no longer grants the token's roles: refused for that reason.
    await gql(UPDATE, {"input": {"issuer": api_provider, "roleMap": [
        {"claimValue": "portal-viewer", "role": "VIEWER"}]}}, role="it_admin")
    assert_refused(await bearer(client, token), "no role granted")

    await gql(DELETE, {"input": {"issuer": api_provider}}, role="it_admin")
    assert_refused(await bearer(client, token), "untrusted issuer")
    refused = await AuditEvent.filter(action="auth.refused").order_by("-seq").first()
    assert refused is not None and refused.after["reason"] == "untrusted_issuer"


@contextlib.asynccontextmanager
async def other_process(app: Any, settings: Any,
                        clock: Clock) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """An app standing for another API process: its issuers reload on its own clock,
    every REFRESH seconds; a change made through the service (no ``issuers_changed``
    here) reaches it only that way. Its JWKS fetches are recorded."""
    own = create_app(settings)
    own.state.queue = app.state.queue
    fetched: list[str] = []

    async def record(request: httpx.Request) -> None:
        fetched.append(str(request.url))

    http = httpx.AsyncClient(timeout=httpx.Timeout(5.0, connect=2.0),
                             event_hooks={"request": [record]})
    own.state.tokens.issuers = TrustedIssuers((), http=http, clock=clock,
                                              refresh_interval=REFRESH)
    own.state.fetched = fetched
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=own),
                                     base_url="http://ccm.test") as c:
            yield c, own
    finally:
        await http.aclose()


REFRESH = 5.0


async def test_another_process_follows_changes_within_the_refresh_interval(
        app, settings, api_provider, count_queries):
    clock = Clock()
    token = await provider_token(api_provider)
    async with other_process(app, settings, clock) as (c, own):
        assert_refused(await bearer(c, token), "untrusted issuer")  # loads the empty set

        async with in_transaction():
            await trusted_issuers.create_issuer(
                ACTOR, (), issuer=api_provider, audience=AUDIENCE,
                role_map={"portal-finance": "finance"})
        clock.now += REFRESH - 1
        assert_refused(await bearer(c, token), "untrusted issuer")  # not reloaded yet
        clock.now += 1
        assert (await bearer(c, token)).status_code == 200
        jwks = [u for u in own.state.fetched if "openid-configuration" not in u]
        assert len(jwks) == 1

        # Within the interval, verifying sends nothing to the database.
        count_queries.count = 0
        for _ in range(5):
            await own.state.tokens.authenticate(token)
        assert count_queries.count == 0

        # A change that leaves the issuer trusted keeps its cached keys.
        async with in_transaction():
            await trusted_issuers.update_issuer(
                ACTOR, (), api_provider,
                role_map={"portal-finance": "finance", "portal-viewer": "viewer"})
        clock.now += REFRESH
        principal = await own.state.tokens.authenticate(token)
        assert {r.value for r in principal.roles} == {"finance"}
        assert principal.partner_id == "oidc-partner-a"
        assert len([u for u in own.state.fetched if "openid-configuration" not in u]) == 1

        async with in_transaction():
            await trusted_issuers.update_issuer(ACTOR, (), api_provider, enabled=False)
        assert (await bearer(c, token)).status_code == 200  # until the next reload
        clock.now += REFRESH
        assert_refused(await bearer(c, token), "untrusted issuer")

        async with in_transaction():
            await trusted_issuers.update_issuer(ACTOR, (), api_provider, enabled=True)
        clock.now += REFRESH
        assert (await bearer(c, token)).status_code == 200
        async with in_transaction():
            await trusted_issuers.delete_issuer(ACTOR, (), api_provider)
        clock.now += REFRESH
        assert_refused(await bearer(c, token), "untrusted issuer")


async def test_a_flood_of_unknown_issuers_reads_the_database_once_per_interval(
        app, settings, count_queries):
    clock = Clock()
    async with other_process(app, settings, clock) as (_, own):
        issuers: TrustedIssuers = own.state.tokens.issuers
        assert await issuers.get("https://a.example") is None  # the first load
        count_queries.count = 0
        for i in range(20):
            assert await issuers.get(f"https://unknown-{i}.example") is None
        assert count_queries.count == 0
        clock.now += REFRESH
        assert await issuers.get("https://unknown.example") is None
        assert count_queries.count == 1


async def test_the_environments_entry_wins_over_an_api_row_for_the_same_issuer(
        app, settings, api_provider):
    # A row left from before the environment came to name this issuer too.
    async with in_transaction():
        await trusted_issuers.create_issuer(ACTOR, (), issuer=api_provider, audience="urn:old",
                                            role_map={"portal-finance": "finance"})
    env = TrustedIssuer(issuer=api_provider, audience=AUDIENCE,
                        role_map={"portal-finance": "viewer"})
    issuers = TrustedIssuers((env,), load=trusted_issuers.enabled_issuers)
    try:
        await issuers.refresh_if_due()
        assert api_provider in issuers
        keys = await issuers.get(api_provider)
        assert keys is not None and keys.config == env
        assert issuers[api_provider].config.audience == AUDIENCE
    finally:
        await issuers.aclose()
