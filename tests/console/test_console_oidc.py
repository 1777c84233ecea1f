"""Signing in to the console with OpenID Connect (console/oidc.py): the whole authorization
code flow with PKCE against a real provider (oidc-provider 9 on node, tests/oidc), driven
by an httpx client through the provider's development login and consent forms, to the
gateway served by uvicorn on loopback; and CCM_CONSOLE_OIDC's checks at start-up."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit, urlunsplit

import httpx
import oidc_kit
import pytest
from session_kit import LoopbackBrowser, free_port, own_app, serving

from ccm_gateway.audit.models import AuditEvent
from ccm_gateway.config import ConsoleOidc, Settings
from ccm_gateway.console.models import ConsoleSession
from ccm_gateway.errors import ConfigError
from ccm_gateway.principal import ROLE_PERMISSIONS, Role

CLIENT_ID = "ccm-console"
SECRET = "test-secret-0123456789abcdef0123456789"  # tests/oidc/provider.mjs
ROLE_MAP = {"ccm-finance": "finance", "ccm-it": "it_admin", "ccm-viewer": "viewer"}
SITES = "{ sites { id } }"


@dataclass
class Console:
    base: str  # the gateway, http://127.0.0.1:<port>
    issuer: str


@pytest.fixture(scope="module")
async def console(app: Any, settings: Settings) -> AsyncIterator[Console]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with oidc_kit.provider(oidc_kit.node(),
                           console_redirect_uri=f"{base}/console/callback") as issuer:
        config = ConsoleOidc(issuer=issuer, client_id=CLIENT_ID, client_secret=SECRET,
                             role_map=ROLE_MAP)
        gateway = own_app(app, settings, public_url=base, console_oidc=config)
        async with serving(gateway, port=port):
            yield Console(base, issuer)


def browser() -> httpx.AsyncClient:
    """One browser: a cookie jar of its own that, like Chromium, sends Secure cookies to
    loopback over http."""
    return httpx.AsyncClient(transport=LoopbackBrowser(), timeout=10,
                             headers={"Accept": "text/html,application/json"})


def form(page: httpx.Response) -> tuple[str, dict[str, str]]:
    """The page's form: where it posts, and its hidden inputs."""
    action = re.search(r'<form[^>]*action="([^"]+)"', page.text)
    assert action is not None, page.text
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"/?>',
                             page.text))
    return urljoin(str(page.url), action.group(1)), hidden


async def until_callback(client: httpx.AsyncClient, response: httpx.Response,
                         console: Console) -> httpx.Response:
    """Follow the redirects of ``response`` until a page to fill in, or the gateway's
    answer at its callback (not followed further)."""
    while response.is_redirect:
        location = urljoin(str(response.url), response.headers["location"])
        response = await client.get(location)
        if location.startswith(f"{console.base}/console/callback"):
            return response
    return response


async def sign_in(client: httpx.AsyncClient, console: Console, login: str) -> httpx.Response:
    """From /console/login, through the provider's login and consent forms; the gateway's
    answer at /console/callback."""
    response = await until_callback(client, await client.get(f"{console.base}/console/login"),
                                    console)
    while not str(response.url).startswith(f"{console.base}/console/callback"):
        assert response.status_code == 200, response.text
        action, fields = form(response)
        if fields.get("prompt") == "login":
            fields |= {"login": login, "password": "any"}
        response = await until_callback(client, await client.post(action, data=fields),
                                        console)
    return response


async def session_of(client: httpx.AsyncClient, console: Console) -> dict[str, Any]:
    response = await client.get(f"{console.base}/console/session")
    assert response.status_code == 200
    return response.json()


async def token_of(client: httpx.AsyncClient, console: Console, csrf: str) -> str:
    response = await client.post(f"{console.base}/console/token",
                                 headers={"X-CSRF-Token": csrf})
    assert response.status_code == 200, response.text
    return response.json()["accessToken"]


async def test_the_login_redirect_asks_for_a_code_with_pkce_s256_state_and_nonce(console):
    async with browser() as client:
        response = await client.get(f"{console.base}/console/login")

    assert response.status_code == 302
    target = urlsplit(response.headers["location"])
    assert f"{target.scheme}://{target.netloc}" == console.issuer
    query = {k: v[0] for k, v in parse_qs(target.query).items()}
    assert query["response_type"] == "code"
    assert query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == f"{console.base}/console/callback"
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43
    assert query["scope"] == "openid profile"
    assert query["state"] and query["nonce"]
    [state_cookie] = response.headers.get_list("set-cookie")
    assert state_cookie.startswith("ccm_console_login=")
    assert {"httponly", "secure", "samesite=lax", "path=/console"} <= {
        part.strip().lower() for part in state_cookie.split(";")[1:]}


async def test_staff_sign_in_by_oidc_gets_a_session_with_its_mapped_roles(console):
    async with browser() as client:
        callback = await sign_in(client, console, "staff-finance")

        assert callback.status_code == 303, callback.text
        assert callback.headers["location"] == "/console#/"
        cookies = callback.headers.get_list("set-cookie")
        [session_cookie] = [c for c in cookies if c.startswith("ccm_console=")]
        assert {"httponly", "secure", "samesite=lax", "path=/console", "max-age=28800"} == {
            part.strip().lower() for part in session_cookie.split(";")[1:]}
        view = await session_of(client, console)
        assert view["signedIn"] is True and view["oidc"] is True
        assert view["subject"] == "staff-finance"
        assert view["roles"] == ["finance"]  # ccm-unknown maps to nothing
        assert view["partnerId"] is None
        assert view["permissions"] == sorted(p.value for p in ROLE_PERMISSIONS[Role.FINANCE])

        token = await token_of(client, console, view["csrfToken"])
        read = await client.post(f"{console.base}/graphql", json={"query": SITES},
                                 headers={"Authorization": f"Bearer {token}"})
        assert read.status_code == 200 and "errors" not in read.json(), read.text

    row = await ConsoleSession.filter(subject="staff-finance").order_by("-created_at").first()
    assert row is not None and row.source == console.issuer
    [audit] = await AuditEvent.filter(action="console.signed_in", object_id=str(row.id))
    assert audit.after is not None and audit.after["source"] == console.issuer


async def test_a_single_role_string_claim_is_mapped_too(console):
    async with browser() as client:
        callback = await sign_in(client, console, "staff-it")
        assert callback.status_code == 303, callback.text
        assert (await session_of(client, console))["roles"] == ["it_admin"]


async def test_a_partner_portal_user_signs_in_as_their_partner(console, make_customer):
    staffs = await make_customer()  # no partner: not the partner's to see
    async with browser() as client:
        callback = await sign_in(client, console, "partner-viewer")
        assert callback.status_code == 303, callback.text
        view = await session_of(client, console)
        assert view["subject"] == "partner-viewer"
        assert view["roles"] == ["viewer"]
        assert view["partnerId"] == "oidc-partner-a"
        token = await token_of(client, console, view["csrfToken"])
        listed = await client.post(
            f"{console.base}/graphql", headers={"Authorization": f"Bearer {token}"},
            json={"query": "{ customers(first: 100) { edges { node { id partnerId } } } }"})
        nodes = [e["node"] for e in listed.json()["data"]["customers"]["edges"]]
        assert staffs not in {n["id"] for n in nodes}
        assert all(n["partnerId"] == "oidc-partner-a" for n in nodes)


async def test_an_account_without_a_mapped_role_is_refused_and_gets_no_session(console):
    before = await ConsoleSession.filter(subject="no-role").count()
    async with browser() as client:
        callback = await sign_in(client, console, "no-role")

        assert callback.status_code == 403
        assert callback.headers["content-type"].startswith("text/html")
        assert "no-role has no role in the ops console" in callback.text
        assert not any(c.startswith("ccm_console=")
                       for c in callback.headers.get_list("set-cookie"))
        assert (await session_of(client, console))["signedIn"] is False
    assert await ConsoleSession.filter(subject="no-role").count() == before


async def test_a_tampered_state_is_refused(console):
    async with browser() as client:
        start = await client.get(f"{console.base}/console/login")
        authorize = urlsplit(start.headers["location"])
        query = {k: v[0] for k, v in parse_qs(authorize.query).items()}
        query["state"] = query["state"][::-1]  # the attacker's own flow's state, say
        tampered = urlunsplit(authorize._replace(query=urlencode(query)))
        page = await client.get(tampered)
        response = await until_callback(client, page, console)
        while not str(response.url).startswith(f"{console.base}/console/callback"):
            action, fields = form(response)
            if fields.get("prompt") == "login":
                fields |= {"login": "staff-finance", "password": "any"}
            response = await until_callback(client, await client.post(action, data=fields),
                                            console)

        assert response.status_code == 400
        assert "state does not match" in response.text
        assert (await session_of(client, console))["signedIn"] is False


async def test_a_callback_this_browser_never_started_is_refused_as_json(console):
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(f"{console.base}/console/callback",
                                    params={"code": "forged", "state": "forged"})
    assert response.status_code == 400
    assert response.json()["code"] == "BAD_USER_INPUT"
    assert "state does not match" in response.json()["error"]


async def test_the_providers_error_is_shown(console):
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(f"{console.base}/console/callback",
                                    params={"error": "access_denied",
                                            "error_description": "the user said no"})
    assert response.status_code == 400
    assert "access_denied: the user said no" in response.json()["error"]


async def test_without_oidc_login_is_404_and_the_session_says_so(app, settings):
    gateway = own_app(app, settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=gateway),
                                 base_url="https://ccm.test") as client:
        login = await client.get("/console/login")
        view = (await client.get("/console/session")).json()
    assert login.status_code == 404
    assert "CCM_CONSOLE_OIDC" in login.json()["error"]
    assert view["oidc"] is False


async def test_an_unreachable_provider_is_a_clear_502(app, settings):
    gone = f"http://127.0.0.1:{free_port()}"
    gateway = own_app(app, settings, console_oidc=ConsoleOidc(
        issuer=gone, client_id=CLIENT_ID, client_secret=SECRET, role_map=ROLE_MAP))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=gateway),
                                 base_url="https://ccm.test") as client:
        response = await client.get("/console/login")
    assert response.status_code == 502
    assert f"the sign-in provider {gone} could not be used" in response.json()["error"]


VALID = {"issuer": "https://login.example.com", "client_id": "ccm-console",
         "client_secret": "s3cret-value", "role_map": {"ccm-finance": "finance"}}


def test_a_valid_console_oidc_gets_its_defaults():
    config = Settings.from_env({"CCM_CONSOLE_OIDC": json.dumps(VALID)}).console_oidc
    assert config is not None
    assert (config.scope, config.role_claim, config.partner_claim) == (
        "openid profile", "roles", "partner")
    assert "s3cret-value" not in repr(config)


@pytest.mark.parametrize(("raw", "message"), [
    ("{not json", "CCM_CONSOLE_OIDC is not valid JSON"),
    ("[]", "CCM_CONSOLE_OIDC must be a JSON object"),
    (json.dumps({k: v for k, v in VALID.items() if k != "issuer"}), "'issuer' is required"),
    (json.dumps({k: v for k, v in VALID.items() if k != "client_secret"}),
     "'client_secret' is required"),
    (json.dumps(VALID | {"issuer": "http://login.example.com"}),
     "issuer must be an https:// URL (http:// only on loopback)"),
    (json.dumps(VALID | {"role_map": {"x": "boss"}}), "role_map['x'] = 'boss' is not a role"),
    (json.dumps(VALID | {"role_map": ["finance"]}), "'role_map' must be an object"),
    (json.dumps(VALID | {"scope": "profile"}), "'scope' must include openid"),
    (json.dumps(VALID | {"role_claim": ""}), "'role_claim' must be a non-empty string"),
    (json.dumps(VALID | {"client_id": 7}), "'client_id' must be a non-empty string"),
    (json.dumps(VALID | {"audience": "x"}), "unknown keys audience"),
], ids=["not-json", "not-an-object", "no-issuer", "no-secret", "http-issuer", "unknown-role",
        "role-map-a-list", "no-openid", "empty-role-claim", "client-id-a-number",
        "unknown-key"])
def test_a_bad_console_oidc_stops_start_up_with_a_clear_error(raw, message):
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({"CCM_CONSOLE_OIDC": raw})
    assert message in str(refused.value)
    assert str(refused.value).startswith("CCM_CONSOLE_OIDC")
    assert "s3cret-value" not in str(refused.value)


def test_a_loopback_http_issuer_is_allowed():
    config = Settings.from_env({"CCM_CONSOLE_OIDC": json.dumps(
        VALID | {"issuer": "http://127.0.0.1:9000"})}).console_oidc
    assert config is not None and config.issuer == "http://127.0.0.1:9000"


@pytest.mark.parametrize(("name", "value"), [("CCM_CONSOLE_SESSION_SECONDS", "30"),
                                             ("CCM_CONSOLE_TOKEN_SECONDS", "7200")])
def test_session_and_token_lifetimes_are_range_checked(name, value):
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: value})
