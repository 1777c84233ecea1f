"""Start-up settings that must hold before serving: the public URL the OAuth metadata
names, /metrics access in prod, the strength of CCM_SECRET_KEY, and numeric settings
within what the services accept."""

from __future__ import annotations

import base64
import secrets
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
from ops_kit import cli_env, run_cli

from ccm_gateway.app import create_app
from ccm_gateway.config import MAX_HOLD_TTL, Settings
from ccm_gateway.errors import ConfigError
from ccm_gateway.integration import inbox
from ccm_gateway.outbound import delivery as outbound_delivery
from ccm_gateway.worker import open_queue

PROD_SECRET = "prod-secret-key-that-is-long-enough-0123456789"
PROD = {"CCM_ENV": "prod", "CCM_SECRET_KEY": PROD_SECRET,
        "CCM_DATABASE_URL": "postgres://ccm@db:5432/ccm", "CCM_REDIS_URL": "redis://redis:6379/0",
        "CCM_PUBLIC_URL": "https://ccm.example.com", "CCM_METRICS_TOKEN": "m-" + "7f3a9c" * 6}
AUTHORIZE = """mutation($input: AuthorizeCreditInput!) {
  authorizeCredit(input: $input) { __typename ... on Hold { expiresAt } } }"""


def prod(**changes: str | None) -> dict[str, str]:
    env = dict(PROD)
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def asgi_client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ccm.test")


# --- the public URL of the OAuth metadata ---------------------------------------------------


async def test_authorization_server_metadata_ignores_the_host_header(client):
    response = await client.get("/.well-known/oauth-authorization-server",
                                headers={"Host": "evil.example"})
    assert response.status_code == 200
    body = response.json()
    # The session's settings: no CCM_PUBLIC_URL, so the dev default from host and port.
    assert body["token_endpoint"] == "http://127.0.0.1:8000/oauth/token"
    assert body["jwks_uri"] == "http://127.0.0.1:8000/.well-known/jwks.json"
    assert "evil.example" not in response.text


async def test_metadata_urls_come_from_ccm_public_url(settings):
    app = create_app(replace(settings, public_url="https://ccm.example.com/gateway/"))
    async with asgi_client(app) as c:
        body = (await c.get("/.well-known/oauth-authorization-server",
                            headers={"Host": "evil.example"})).json()
    assert body["token_endpoint"] == "https://ccm.example.com/gateway/oauth/token"
    assert body["jwks_uri"] == "https://ccm.example.com/gateway/.well-known/jwks.json"


@pytest.mark.parametrize(("variables", "expected"), [
    ({}, "http://127.0.0.1:8000"),
    ({"CCM_HOST": "10.1.2.3", "CCM_PORT": "9000"}, "http://10.1.2.3:9000"),
    # Listening everywhere: loopback.
    ({"CCM_HOST": "0.0.0.0"}, "http://127.0.0.1:8000"),  # noqa: S104 - compared, never bound
    ({"CCM_HOST": "::1"}, "http://[::1]:8000"),
    ({"CCM_PUBLIC_URL": "http://localhost:8000/"}, "http://localhost:8000"),
])
def test_dev_public_url_defaults_to_the_configured_host_and_port(variables, expected):
    assert Settings.from_env(variables).public_base_url == expected


def test_prod_requires_a_public_url():
    with pytest.raises(ConfigError, match="CCM_PUBLIC_URL") as refused:
        Settings.from_env(prod(CCM_PUBLIC_URL=None))
    assert "CCM_ENV=prod" in str(refused.value)


@pytest.mark.parametrize("url", [
    "ccm.example.com", "ftp://ccm.example.com", "https://", "https://ccm.example.com/?a=1",
    "https://ccm.example.com/#top", "https://user:pw@ccm.example.com", "https://ccm example.com",
])
def test_a_public_url_that_is_not_an_absolute_http_url_is_refused(url):
    with pytest.raises(ConfigError, match="CCM_PUBLIC_URL") as refused:
        Settings.from_env({"CCM_PUBLIC_URL": url})
    assert "pw" not in str(refused.value)


def test_prod_refuses_a_plain_http_public_url_except_on_loopback():
    with pytest.raises(ConfigError, match="CCM_PUBLIC_URL must be an https:// URL"):
        Settings.from_env(prod(CCM_PUBLIC_URL="http://ccm.example.com"))
    assert Settings.from_env(prod(CCM_PUBLIC_URL="http://127.0.0.1:8000")).is_prod


# --- /metrics in prod -----------------------------------------------------------------------


def test_prod_requires_a_metrics_token_or_an_explicit_open_metrics_setting():
    with pytest.raises(ConfigError) as refused:
        Settings.from_env(prod(CCM_METRICS_TOKEN=None))
    assert "CCM_METRICS_TOKEN" in str(refused.value)
    assert "CCM_METRICS_OPEN=true" in str(refused.value)
    settings = Settings.from_env(prod(CCM_METRICS_TOKEN=None, CCM_METRICS_OPEN="true"))
    assert settings.metrics_token is None and settings.metrics_open is True


def test_a_metrics_token_and_open_metrics_together_are_refused():
    with pytest.raises(ConfigError, match="CCM_METRICS_OPEN=true and CCM_METRICS_TOKEN"):
        Settings.from_env(prod(CCM_METRICS_OPEN="true"))


def test_metrics_closed_in_dev_needs_a_token():
    with pytest.raises(ConfigError, match="CCM_METRICS_OPEN=false needs CCM_METRICS_TOKEN"):
        Settings.from_env({"CCM_METRICS_OPEN": "false"})


async def test_a_prod_app_without_a_metrics_token_does_not_serve_metrics(settings):
    # Built directly (no from_env): the endpoint itself still refuses in prod.
    app = create_app(replace(settings, env="prod", metrics_token=None, metrics_open=None))
    async with asgi_client(app) as c:
        response = await c.get("/metrics")
    assert response.status_code == 403
    assert response.json()["error"] == "FORBIDDEN"
    assert "CCM_METRICS_TOKEN" in response.json()["detail"]


async def test_a_prod_app_with_open_metrics_serves_them_without_a_token(settings):
    built = replace(settings, env="prod", metrics_token=None, metrics_open=True)
    app = create_app(built)
    app.state.queue = await open_queue(built)
    try:
        async with asgi_client(app) as c:
            response = await c.get("/metrics")
    finally:
        await app.state.queue.aclose()
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")


# --- CCM_SECRET_KEY strength ----------------------------------------------------------------

WEAK_KEYS = {
    "blanks": " " * 40,
    "tabs and newlines": "\t\n \t\n" * 10,
    "one character": "x" * 64,
    "two characters": "ab" * 32,
    "a short pattern repeated": "Tr0ub4dor&3" * 5,
    "digits counted up": "0123456789" * 5,
    "a word": "password",
}


@pytest.mark.parametrize("env", ["dev", "prod"])
@pytest.mark.parametrize("key", WEAK_KEYS.values(), ids=WEAK_KEYS.keys())
def test_a_blank_or_low_entropy_secret_key_is_refused_by_name(env, key):
    variables = prod(CCM_SECRET_KEY=key) if env == "prod" else {"CCM_SECRET_KEY": key}
    with pytest.raises(ConfigError, match="CCM_SECRET_KEY") as refused:
        Settings.from_env(variables)
    message = str(refused.value)
    assert key.strip() not in message if key.strip() else True
    assert "blank" in message or "too little entropy" in message or "shorter than 32" in message


def test_the_entropy_refusal_says_what_was_measured():
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({"CCM_SECRET_KEY": "Tr0ub4dor&3" * 5})
    message = str(refused.value)
    assert message.startswith("CCM_SECRET_KEY has too little entropy: about 36 bits")
    assert "at least 64" in message and "secrets.token_urlsafe(32)" in message


@pytest.mark.parametrize("make", [
    lambda: secrets.token_hex(16), lambda: secrets.token_hex(32),
    lambda: secrets.token_urlsafe(32), lambda: base64.b64encode(secrets.token_bytes(32)).decode(),
], ids=["hex-16-bytes", "hex-32-bytes", "urlsafe-32-bytes", "base64-32-bytes"])
def test_generated_secret_keys_are_accepted_in_every_env(make):
    for _ in range(200):
        key = make()
        assert Settings.from_env({"CCM_SECRET_KEY": key}).secret_key == key
        if len(key) >= 32:
            assert Settings.from_env(prod(CCM_SECRET_KEY=key)).secret_key == key


def test_a_weak_previous_secret_key_still_decrypts_so_it_can_be_rotated_away():
    settings = Settings.from_env({"CCM_SECRET_KEY": secrets.token_urlsafe(32),
                                  "CCM_SECRET_KEY_PREVIOUS": "changeme"})
    assert settings.previous_secret_keys == ("changeme",)


# --- numeric settings within what the services accept ---------------------------------------

HOLD_MAX = int(MAX_HOLD_TTL.total_seconds())


def test_a_default_hold_ttl_longer_than_the_longest_hold_is_refused_at_start_up():
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({"CCM_HOLD_TTL_SECONDS": "8000000"})
    assert str(refused.value) == (f"CCM_HOLD_TTL_SECONDS must be between 1 and {HOLD_MAX} "
                                  "(90 days, the longest hold), not 8000000")


def test_serve_exits_2_on_a_hold_ttl_longer_than_the_longest_hold(tmp_path):
    completed = run_cli(cli_env(CCM_HOLD_TTL_SECONDS="8000000",
                                CCM_DATABASE_URL=f"sqlite://{tmp_path / 'x.sqlite3'}"),
                        "serve", "--port", "1")
    assert completed.returncode == 2, completed.stderr
    assert "CCM_HOLD_TTL_SECONDS must be between 1 and 7776000" in completed.stderr
    assert "Traceback" not in completed.stderr
    assert not (tmp_path / "x.sqlite3").exists()


async def test_the_longest_default_hold_ttl_is_one_authorize_credit_accepts(
        settings, make_customer, gql):
    customer_id = await make_customer(limit="100.00")
    app = create_app(replace(settings, hold_ttl_seconds=HOLD_MAX))
    async with asgi_client(app) as c:
        response = await c.post("/graphql", json={"query": AUTHORIZE, "variables": {"input": {
            "customerId": customer_id, "amount": {"amount": "1.00", "currency": "USD"}}}},
            headers={"Authorization": f"Bearer {gql.token()}"})
    body = response.json()
    assert "errors" not in body, body
    assert body["data"]["authorizeCredit"]["__typename"] == "Hold"


BOUNDED = [
    # (variable, lowest accepted, highest accepted)
    ("CCM_TOKEN_TTL_SECONDS", 1, 86400),
    ("CCM_HOLD_TTL_SECONDS", 1, HOLD_MAX),
    ("CCM_DB_POOL_SIZE", 1, 1000),
    ("CCM_MAX_BODY_BYTES", 1, 2**30),
    ("CCM_WEBHOOK_MAX_BODY_BYTES", 1, 2**30),
    ("CCM_WEBHOOK_RETENTION_DAYS", 1, 3650),
    ("CCM_OUTBOUND_RETENTION_DAYS", 15, 3650),
    ("CCM_WEBHOOK_SWEEP_AFTER_SECONDS", 1, 86400),
    ("CCM_RATE_LIMIT_BURST", 1, 1_000_000),
]


@pytest.mark.parametrize(("name", "lowest", "highest"), BOUNDED, ids=[b[0] for b in BOUNDED])
def test_numeric_settings_are_refused_outside_their_range_naming_it(name, lowest, highest):
    for value in (lowest, highest):
        Settings.from_env({name: str(value)})
    for value in (lowest - 1, highest + 1, 10**30):
        with pytest.raises(ConfigError) as refused:
            Settings.from_env({name: str(value)})
        assert str(refused.value).startswith(f"{name} must be between {lowest} and {highest}")


async def test_the_longest_retention_and_sweep_delay_are_ones_the_inbox_accepts(app):
    # Far enough past these bounds the inbox's date arithmetic overflows: a cron that fails.
    assert await inbox.purge_payloads(older_than_days=3650) >= 0
    assert await outbound_delivery.purge(older_than_days=3650) >= 0
    assert await inbox.sweep(app.state.queue, older_than=timedelta(seconds=86400)) >= 0
