"""The ops console's sign-in and session (console/routes.py, console/sessions.py): the dev
sign-in, the cookie, CSRF and same-origin checks, the page's short-lived /graphql tokens,
and signing out, which ends the session and its tokens at once (also a live
subscription's)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import websockets
from session_kit import (
    SAME_ORIGIN,
    console_client,
    graphql,
    mint,
    own_app,
    serving,
    session,
    sign_in,
)

from ccm_gateway.audit.models import AuditEvent
from ccm_gateway.console import routes
from ccm_gateway.console.models import ConsoleSession
from ccm_gateway.principal import ROLE_PERMISSIONS, Role

SITES = "{ sites { id } }"
CREATE_SITE = "mutation($input: CreateSiteInput!) { createSite(input: $input) { id } }"


@pytest.fixture
async def browser(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with console_client(app) as client:
        yield client


def subject() -> str:
    return f"person-{uuid.uuid4().hex[:8]}"


async def session_row(name: str) -> ConsoleSession:
    return await ConsoleSession.get(subject=name)


async def test_signed_out_the_session_says_how_one_may_sign_in(browser):
    response = await browser.get("/console/session")

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.json() == {"signedIn": False, "env": "dev", "devSignIn": True,
                               "oidc": False}


async def test_a_dev_sign_in_gives_a_session_whose_token_works_on_graphql_with_its_roles(
        browser):
    name = subject()
    view = await sign_in(browser, "viewer", subject=name)

    assert view["subject"] == name
    assert view["roles"] == ["viewer"]
    assert view["partnerId"] is None
    assert view["permissions"] == sorted(p.value for p in ROLE_PERMISSIONS[Role.VIEWER])
    assert view["env"] == "dev" and view["devSignIn"] is True and view["oidc"] is False
    expires = datetime.fromisoformat(view["expiresAt"])
    assert abs((expires - datetime.now(UTC)).total_seconds() - 28800) < 60
    assert await session(browser) == view

    response = await browser.post("/console/token", headers={"X-CSRF-Token": view["csrfToken"]})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.json()["expiresIn"] == 300
    token = response.json()["accessToken"]

    read = await graphql(browser, token, SITES)
    assert read.status_code == 200 and "errors" not in read.json(), read.text
    write = await graphql(browser, token, CREATE_SITE,
                          {"input": {"code": f"S-{uuid.uuid4().hex[:6]}", "name": "Yard"}})
    [error] = write.json()["errors"]
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert "site:write" in error["message"]

    row = await session_row(name)
    [audit] = await AuditEvent.filter(action="console.signed_in", object_id=str(row.id))
    assert (audit.actor_type, audit.actor_id) == ("user", name)
    assert audit.after is not None and audit.after["roles"] == ["viewer"]
    assert audit.after["source"] == "dev"


async def test_the_token_names_its_session_and_a_partner_sign_in_acts_for_its_partner(
        app, browser):
    name = subject()
    view = await sign_in(browser, "finance", "viewer", subject=name, partner_id="partner-x")
    assert view["partnerId"] == "partner-x"
    assert view["roles"] == ["finance", "viewer"]
    token = await mint(browser, view["csrfToken"])

    principal = await app.state.tokens.authenticate(token)
    assert principal.subject == name and principal.partner_id == "partner-x"
    assert principal.kind == "user"
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    row = await session_row(name)
    assert claims["sid"] == str(row.id)
    assert claims["kind"] == "console"
    assert claims["exp"] - claims["iat"] == 300


async def test_the_cookie_is_httponly_secure_samesite_lax_on_console_and_stored_hashed(app):
    name = subject()
    async with console_client(app) as browser:
        response = await browser.post("/console/session/dev", headers=SAME_ORIGIN,
                                      json={"subject": name, "roles": ["viewer"]})
    [cookie] = response.headers.get_list("set-cookie")
    value, *attributes = (part.strip() for part in cookie.split(";"))
    assert value.startswith("ccm_console=")
    secret = value.removeprefix("ccm_console=")
    assert len(secret) == 43  # 32 random bytes, base64url
    assert {a.lower() for a in attributes} == {"httponly", "secure", "samesite=lax",
                                               "path=/console", "max-age=28800"}

    row = await session_row(name)
    assert row.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in json.dumps([str(v) for v in row.__dict__.values()])


async def test_a_post_without_the_csrf_header_is_refused_and_changes_nothing(browser):
    name = subject()
    view = await sign_in(browser, "admin", subject=name)

    for path in ("/console/logout", "/console/token", "/console/session/dev"):
        response = await browser.post(path, headers=SAME_ORIGIN,
                                      json={"subject": "mallory", "roles": ["admin"]})
        assert response.status_code == 403, (path, response.text)
        assert "X-CSRF-Token header is missing" in response.json()["error"]
        assert "set-cookie" not in response.headers

    assert await session(browser) == view
    row = await session_row(name)
    assert row.ended_at is None
    assert not await ConsoleSession.filter(subject="mallory").exists()


async def test_a_wrong_csrf_token_is_refused(browser):
    name = subject()
    view = await sign_in(browser, "admin", subject=name)

    for wrong in ("x" * 43, view["csrfToken"][:-1], "é".encode("latin-1")):
        response = await browser.post("/console/logout", headers={"X-CSRF-Token": wrong})
        assert response.status_code == 403
        assert "does not match this session's CSRF token" in response.json()["error"]
    assert (await session(browser))["signedIn"] is True
    assert (await session_row(name)).ended_at is None


async def test_another_sessions_csrf_token_is_refused(app, browser):
    await sign_in(browser, "admin", subject=subject())
    async with console_client(app) as other:
        theirs = await sign_in(other, "viewer", subject=subject())

    response = await browser.post("/console/token",
                                  headers={"X-CSRF-Token": theirs["csrfToken"]})
    assert response.status_code == 403


@pytest.mark.parametrize("headers", [
    {"Origin": "https://evil.example"},
    {"Origin": "http://ccm.test"},  # another scheme is another origin
    {"Origin": "https://ccm.test:8443"},
    {"Origin": "null"},
    {"Sec-Fetch-Site": "cross-site"},
    {},
], ids=["other-host", "other-scheme", "other-port", "null", "cross-site", "no-origin"])
async def test_a_cross_origin_dev_sign_in_is_refused(browser, headers):
    name = subject()
    response = await browser.post("/console/session/dev", headers=headers,
                                  json={"subject": name, "roles": ["admin"]})

    assert response.status_code == 403
    message = response.json()["error"]
    assert "cross-origin request refused" in message or "console's own page" in message
    assert "set-cookie" not in response.headers
    assert not await ConsoleSession.filter(subject=name).exists()


@pytest.mark.parametrize("headers", [
    {"Sec-Fetch-Site": "same-origin"},
    {"Origin": "https://CCM.test:443"},
], ids=["sec-fetch-site", "origin-with-default-port"])
async def test_a_same_origin_dev_sign_in_is_accepted(browser, headers):
    response = await browser.post("/console/session/dev", headers=headers,
                                  json={"subject": subject(), "roles": ["viewer"]})
    assert response.status_code == 200, response.text


async def test_the_public_urls_origin_counts_as_the_consoles_own(app, settings):
    # Behind a proxy that ends TLS, the request arrives over http from the proxy.
    proxied = own_app(app, settings, public_url="https://console.example")
    async with console_client(proxied, origin="http://10.0.0.5:8000") as browser:
        response = await browser.post(
            "/console/session/dev", headers={"Origin": "https://console.example"},
            json={"subject": subject(), "roles": ["viewer"]})
    assert response.status_code == 200, response.text


async def test_the_dev_sign_in_is_404_in_prod(app, settings):
    prod = own_app(app, settings, env="prod")
    name = subject()
    async with console_client(prod) as browser:
        response = await browser.post("/console/session/dev", headers=SAME_ORIGIN,
                                      json={"subject": name, "roles": ["admin"]})
        view = await session(browser)

    assert response.status_code == 404
    assert "CCM_ENV=dev" in response.json()["error"]
    assert not await ConsoleSession.filter(subject=name).exists()
    assert view == {"signedIn": False, "env": "prod", "devSignIn": False, "oidc": False}


async def test_signing_out_ends_the_session_and_its_token_at_once(browser):
    name = subject()
    view = await sign_in(browser, "admin", subject=name)
    token = await mint(browser, view["csrfToken"])
    assert "errors" not in (await graphql(browser, token, SITES)).json()
    cookie = browser.cookies["ccm_console"]

    response = await browser.post("/console/logout", headers={"X-CSRF-Token": view["csrfToken"]})

    assert response.status_code == 200
    assert response.json() == {"signedIn": False}
    [cleared] = response.headers.get_list("set-cookie")
    assert cleared.startswith('ccm_console=""') and "Max-Age=0" in cleared
    assert "Path=/console" in cleared
    refused = await graphql(browser, token, SITES)
    assert refused.status_code == 401
    assert "console session has ended" in refused.json()["errors"][0]["message"]
    assert (await session(browser))["signedIn"] is False

    row = await session_row(name)
    assert row.ended_at is not None
    [audit] = await AuditEvent.filter(action="console.signed_out", object_id=str(row.id))
    assert audit.actor_id == name
    assert audit.before is not None and audit.before["ended_at"] is None
    assert audit.after is not None and audit.after["ended_at"] is not None

    # The old cookie, sent again, is no session at all.
    again = await browser.post("/console/token", headers={**SAME_ORIGIN,
                                                          "Cookie": f"ccm_console={cookie}"})
    assert again.status_code == 401
    assert "not signed in" in again.json()["error"]


async def test_signing_out_without_a_session_is_harmless(browser):
    response = await browser.post("/console/logout", headers=SAME_ORIGIN)
    assert response.status_code == 200
    assert response.json() == {"signedIn": False}


async def test_an_expired_session_is_refused_everywhere(browser):
    name = subject()
    view = await sign_in(browser, "admin", subject=name)
    token = await mint(browser, view["csrfToken"])
    await ConsoleSession.filter(subject=name).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1))

    assert (await session(browser))["signedIn"] is False
    refused = await graphql(browser, token, SITES)
    assert refused.status_code == 401
    assert "session_ended" not in refused.text  # the reason code is audited, not shown
    assert "console session has ended" in refused.json()["errors"][0]["message"]


async def test_a_token_never_outlives_its_session(browser):
    name = subject()
    view = await sign_in(browser, "viewer", subject=name)
    await ConsoleSession.filter(subject=name).update(
        expires_at=datetime.now(UTC) + timedelta(seconds=100))

    response = await browser.post("/console/token", headers={"X-CSRF-Token": view["csrfToken"]})
    assert 98 <= response.json()["expiresIn"] <= 100


async def test_a_new_sign_in_ends_the_browsers_previous_session(browser):
    first, second = subject(), subject()
    view = await sign_in(browser, "admin", subject=first)
    token = await mint(browser, view["csrfToken"])

    response = await browser.post("/console/session/dev",
                                  headers={"X-CSRF-Token": view["csrfToken"]},
                                  json={"subject": second, "roles": ["viewer"]})

    assert response.status_code == 200, response.text
    assert response.json()["subject"] == second
    assert (await session_row(first)).ended_at is not None
    assert (await graphql(browser, token, SITES)).status_code == 401
    assert (await session(browser))["subject"] == second


@pytest.mark.parametrize(("body", "message"), [
    (b"not json", "the body must be a JSON object"),
    (b'["viewer"]', "the body must be a JSON object"),
    (b"", "the body must be a JSON object"),
    (b'{"subject": "ada", "roles": ["boss", "viewer"]}', "unknown role 'boss'"),
    (b'{"subject": "ada", "roles": []}', "at least one role is required"),
    (b'{"subject": "ada", "roles": "admin"}', "roles must be a list of role names"),
    (b'{"subject": "ada"}', "roles must be a list of role names"),
    (b'{"subject": "", "roles": ["viewer"]}', "subject must be a non-empty string"),
    (b'{"subject": "   ", "roles": ["viewer"]}', "subject must be a non-empty string"),
    (b'{"subject": 7, "roles": ["viewer"]}', "subject must be a non-empty string"),
    (b'{"subject": "ada", "roles": ["viewer"], "partnerId": ""}', "partnerId must be null"),
    (b'{"subject": "ada", "roles": ["viewer"], "admin": true}', "unknown field(s) admin"),
], ids=["not-json", "a-list", "empty", "unknown-role", "no-role", "roles-a-string",
        "no-roles", "empty-subject", "blank-subject", "subject-a-number", "empty-partner",
        "unknown-field"])
async def test_a_bad_dev_sign_in_is_a_clear_error_and_signs_nobody_in(browser, body, message):
    before = await ConsoleSession.all().count()
    response = await browser.post("/console/session/dev", content=body,
                                  headers={**SAME_ORIGIN, "Content-Type": "application/json"})

    assert response.status_code == 400
    assert message in response.json()["error"], response.json()
    assert response.json()["code"] == "BAD_USER_INPUT"
    assert "set-cookie" not in response.headers
    assert await ConsoleSession.all().count() == before


async def test_a_token_without_a_session_is_refused(browser):
    response = await browser.post("/console/token", headers=SAME_ORIGIN)
    assert response.status_code == 401
    assert "not signed in" in response.json()["error"]


async def test_the_page_is_served_uncached_and_the_slash_redirects(browser, tmp_path,
                                                                   monkeypatch):
    page = tmp_path / "index.html"
    page.write_text("<!doctype html><title>console</title>")
    monkeypatch.setattr(routes, "PAGE", page)

    response = await browser.get("/console")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    assert response.text == page.read_text()

    slash = await browser.get("/console/")
    assert slash.status_code == 308
    assert slash.headers["location"] == "../console"

    monkeypatch.setattr(routes, "PAGE", tmp_path / "missing.html")
    missing = await browser.get("/console")
    assert missing.status_code == 404
    assert "page is not installed" in missing.json()["error"]


async def test_static_files_come_only_from_the_consoles_directory(app, settings, tmp_path,
                                                                  monkeypatch):
    static = tmp_path / "console"
    static.mkdir()
    (static / "app.js").write_text("export const ok = 1;\n")
    (tmp_path / "secret.txt").write_text("not for you")
    monkeypatch.setattr(routes, "STATIC_DIR", static)
    own = own_app(app, settings)

    async with console_client(own) as browser:
        script = await browser.get("/console/static/app.js")
        assert script.status_code == 200
        assert script.headers["content-type"].startswith("text/javascript")
        assert script.headers["cache-control"] == "no-cache"
        for escape in ("/console/static/%2e%2e/secret.txt", "/console/static/..%2fsecret.txt"):
            outside = await browser.get(escape)
            assert outside.status_code == 404, escape
            assert "not for you" not in outside.text
        assert (await browser.get("/console/static/nope.js")).status_code == 404


async def test_without_the_front_end_static_files_are_404_not_500(app, settings, tmp_path,
                                                                  monkeypatch):
    monkeypatch.setattr(routes, "STATIC_DIR", tmp_path / "absent")
    own = own_app(app, settings)
    async with console_client(own) as browser:
        assert (await browser.get("/console/static/app.js")).status_code == 404


async def test_a_live_subscription_ends_when_its_session_ends(app, settings):
    live = own_app(app, settings, live_recheck_seconds=1)
    async with serving(live) as base, console_client(live) as browser:
        view = await sign_in(browser, "admin", subject=subject())
        token = await mint(browser, view["csrfToken"])
        url = base.replace("http://", "ws://") + "/graphql"
        async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:
            await ws.send(json.dumps({"type": "connection_init",
                                      "payload": {"Authorization": f"Bearer {token}"}}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
            await ws.send(json.dumps({"id": "1", "type": "subscribe",
                                      "payload": {"query": "subscription { alertRaised { id } }"}}))

            signed_out = await browser.post("/console/logout",
                                            headers={"X-CSRF-Token": view["csrfToken"]})
            assert signed_out.status_code == 200
            started = time.monotonic()
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(ws.recv(), 10)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4401
        assert "session_ended" in closed.value.rcvd.reason
        assert time.monotonic() - started < 5

