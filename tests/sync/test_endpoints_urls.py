"""What an endpoint may be saved with: each bad input refused with BAD_USER_INPUT naming its
field, nothing created; in prod only https to public addresses (no SSRF), in dev http to
this machine too."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx
import pytest
from endpoint_kit import (
    CREATE_ENDPOINT,
    UPDATE_ENDPOINT,
    endpoint_input,
    make_endpoint,
    make_integration,
)

from ccm_gateway.app import create_app
from ccm_gateway.auth.tokens import TokenService
from ccm_gateway.outbound.models import OutboundEndpoint

# A public address as a literal: checking it resolves nothing, so no test needs DNS.
PUBLIC = "https://93.184.215.14/hooks"


class ProdGraphQL:
    """GraphQL against an app built with CCM_ENV=prod (no lifespan: the session's database
    serves it)."""

    def __init__(self, http: httpx.AsyncClient, tokens: TokenService) -> None:
        self.http, self.tokens = http, tokens

    async def __call__(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        token = self.tokens.issue("prod-admin", ["admin"])
        response = await self.http.post("/graphql", json={"query": query,
                                                          "variables": variables},
                                        headers={"Authorization": f"Bearer {token}"})
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture
async def prod(settings):
    prod_settings = replace(settings, env="prod", public_url="https://ccm.example.com/")
    app = create_app(prod_settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="https://ccm.example.com") as http:
        yield ProdGraphQL(http, TokenService(prod_settings))


def _refused(body: dict[str, Any]) -> str:
    errors = body.get("errors") or []
    assert errors, body
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT", errors
    field: str = errors[0]["extensions"]["field"]
    return field


OAUTH = "credentials.oauth2ClientCredentials"


@pytest.mark.parametrize(("change", "field"), [
    ({"url": "not a url"}, "url"),
    ({"url": "ftp://127.0.0.1/x"}, "url"),
    ({"url": "http://user:pw@127.0.0.1/x"}, "url"),
    ({"url": "http://127.0.0.1:99999/x"}, "url"),
    ({"fallbackUrl": "gopher://127.0.0.1/"}, "fallbackUrl"),
    ({"url": "http://127.0.0.1:9/a", "fallbackUrl": "http://127.0.0.1:9/a"}, "fallbackUrl"),
    ({"eventTypes": []}, "eventTypes"),
    ({"eventTypes": ["credit.updated", "customer.deleted"]}, "eventTypes"),
    ({"timeoutSeconds": 0}, "timeoutSeconds"),
    ({"timeoutSeconds": 31}, "timeoutSeconds"),
    ({"rateLimitPerSecond": 0}, "rateLimitPerSecond"),
    ({"rateLimitPerSecond": 1001}, "rateLimitPerSecond"),
    ({"description": "x" * 501}, "description"),
    ({"credentials": {"bearerToken": "has space"}}, "credentials.bearerToken"),
    ({"credentials": {"bearerToken": "line\r\nX-Injected: 1"}}, "credentials.bearerToken"),
    ({"credentials": {"bearerToken": ""}}, "credentials.bearerToken"),
    ({"credentials": {"oauth2ClientCredentials": {
        "tokenUrl": "file:///etc/passwd", "clientId": "a", "clientSecret": "b"}}},
     f"{OAUTH}.tokenUrl"),
    ({"credentials": {"oauth2ClientCredentials": {
        "tokenUrl": "http://127.0.0.1:9/t", "clientId": "", "clientSecret": "b"}}},
     f"{OAUTH}.clientId"),
    ({"credentials": {"oauth2ClientCredentials": {
        "tokenUrl": "http://127.0.0.1:9/t", "clientId": "a", "clientSecret": "b\n"}}},
     f"{OAUTH}.clientSecret"),
])
async def test_bad_input_is_refused_naming_the_field_and_nothing_is_created(gql, change,
                                                                           field):
    partner = await make_integration(gql)
    before = await OutboundEndpoint.all().count()
    result = await gql(CREATE_ENDPOINT, {"input": endpoint_input(partner.integration_id,
                                                                  **change)})
    assert _refused(result.body) == field
    assert await OutboundEndpoint.all().count() == before


async def test_dev_allows_http_to_this_machine(gql):
    partner = await make_integration(gql)
    created = await make_endpoint(gql, partner.integration_id, url="http://127.0.0.1:8080/in",
                                  fallbackUrl="http://localhost:8081/in")
    assert created["endpoint"]["url"] == "http://127.0.0.1:8080/in"


@pytest.mark.parametrize(("change", "field"), [
    ({"url": "http://93.184.215.14/hooks"}, "url"),
    ({"url": "https://10.0.0.1/hooks"}, "url"),
    ({"url": "https://192.168.1.20/hooks"}, "url"),
    ({"url": "http://169.254.169.254/latest/meta-data/"}, "url"),
    ({"url": "https://169.254.169.254/latest/meta-data/"}, "url"),
    ({"url": "https://127.0.0.1/hooks"}, "url"),
    ({"url": "https://localhost/hooks"}, "url"),
    ({"url": "https://[::1]/hooks"}, "url"),
    ({"url": "https://[::ffff:10.0.0.1]/hooks"}, "url"),
    ({"url": "https://0.0.0.0/hooks"}, "url"),
    ({"fallbackUrl": "https://10.0.0.1/fallback"}, "fallbackUrl"),
    ({"fallbackUrl": "http://93.184.215.14/fallback"}, "fallbackUrl"),
    ({"credentials": {"oauth2ClientCredentials": {
        "tokenUrl": "https://169.254.169.254/token", "clientId": "a", "clientSecret": "b"}}},
     f"{OAUTH}.tokenUrl"),
    ({"credentials": {"oauth2ClientCredentials": {
        "tokenUrl": "http://93.184.215.14/token", "clientId": "a", "clientSecret": "b"}}},
     f"{OAUTH}.tokenUrl"),
])
async def test_prod_refuses_http_and_addresses_that_are_not_public(gql, prod, change, field):
    partner = await make_integration(gql)
    before = await OutboundEndpoint.all().count()
    body = await prod(CREATE_ENDPOINT, {"input": endpoint_input(
        partner.integration_id, **({"url": PUBLIC} | change))})
    assert _refused(body) == field
    assert await OutboundEndpoint.all().count() == before


async def test_prod_accepts_https_to_a_public_address(gql, prod):
    partner = await make_integration(gql)
    body = await prod(CREATE_ENDPOINT, {"input": endpoint_input(
        partner.integration_id, url=PUBLIC, fallbackUrl="https://93.184.215.15/hooks",
        credentials={"oauth2ClientCredentials": {
            "tokenUrl": "https://93.184.215.16/token", "clientId": "a",
            "clientSecret": "b"}})})
    assert "errors" not in body, body
    assert body["data"]["createOutboundEndpoint"]["endpoint"]["url"] == PUBLIC


async def test_prod_checks_urls_on_update_too(gql, prod):
    partner = await make_integration(gql)
    created = await prod(CREATE_ENDPOINT, {"input": endpoint_input(partner.integration_id,
                                                                    url=PUBLIC)})
    endpoint = created["data"]["createOutboundEndpoint"]["endpoint"]
    body = await prod(UPDATE_ENDPOINT, {"input": {
        "id": endpoint["id"], "expectedVersion": 1, "url": "https://169.254.169.254/"}})
    assert _refused(body) == "url"
    body = await prod(UPDATE_ENDPOINT, {"input": {
        "id": endpoint["id"], "expectedVersion": 1, "fallbackUrl": "https://10.1.2.3/"}})
    assert _refused(body) == "fallbackUrl"
    row = await OutboundEndpoint.get(id=endpoint["id"])
    assert row.url == PUBLIC and row.fallback_url is None and row.version == 1
