"""Authentication: which bearer tokens /graphql accepts, how it refuses the rest; the token CLI."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import fields, replace
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey

from ccm_gateway import cli
from ccm_gateway.auth.tokens import LEEWAY_SECONDS, TokenService
from ccm_gateway.config import Settings
from ccm_gateway.errors import BadInput, Unauthenticated
from ccm_gateway.principal import Role

QUERY = {"query": "{ sites { id } }"}
OTHER_KEY = "another-deployment-secret-key-0123456789abcdef"


def claims_for(settings: Settings, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"iss": settings.token_issuer, "aud": settings.token_audience, "sub": "tester",
              "iat": now, "exp": now + 300, "roles": ["viewer"], "kind": "user"}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def sign(claims: dict[str, Any], key: str) -> str:
    return jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(key.encode()))


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


async def post(client: Any, authorization: str | None) -> Any:
    headers = {"X-Request-ID": "auth-test-1"}
    if authorization is not None:
        headers["Authorization"] = authorization
    return await client.post("/graphql", json=QUERY, headers=headers)


def assert_unauthenticated(response: Any) -> str:
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert error["extensions"]["requestId"] == response.headers["x-request-id"]
    return error["message"]


# --- the happy path ---------------------------------------------------------------------


async def test_a_valid_bearer_token_is_accepted(client, tokens):
    response = await post(client, f"Bearer {tokens.issue('alice', ['viewer'])}")
    assert response.status_code == 200
    assert "errors" not in response.json()


async def test_the_bearer_scheme_is_case_insensitive(client, tokens):
    response = await post(client, f"bearer {tokens.issue('alice', ['viewer'])}")
    assert response.status_code == 200


async def test_a_token_within_the_clock_leeway_is_accepted(client, settings):
    now = int(time.time())
    token = sign(claims_for(settings, iat=now - 600, exp=now - LEEWAY_SECONDS // 2),
                 settings.secret_key)
    assert (await post(client, f"Bearer {token}")).status_code == 200


# --- refusals ---------------------------------------------------------------------------


async def test_missing_authorization_is_401_with_www_authenticate(client):
    response = await post(client, None)
    message = assert_unauthenticated(response)
    assert "Bearer" in message
    assert response.json()["errors"][0]["extensions"]["requestId"] == "auth-test-1"


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer    ", "Token abc",
                                    "abc"])
async def test_a_malformed_authorization_header_is_401(client, header):
    assert_unauthenticated(await post(client, header))


async def test_a_token_that_is_not_a_jwt_is_401(client):
    message = assert_unauthenticated(await post(client, "Bearer not.a.jwt"))
    assert message.startswith("invalid token")


async def test_a_token_signed_with_another_key_is_401(client, settings):
    other = TokenService(replace(settings, secret_key=OTHER_KEY))
    assert_unauthenticated(await post(client, f"Bearer {other.issue('mallory', ['admin'])}"))


async def test_an_unsigned_alg_none_token_is_401(client, settings):
    token = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims_for(settings, roles=['admin']))}."
    assert_unauthenticated(await post(client, f"Bearer {token}"))


async def test_a_tampered_payload_is_401(client, tokens, settings):
    header, _, signature = tokens.issue("eve", ["viewer"]).split(".")
    forged = f"{header}.{b64(claims_for(settings, sub='eve', roles=['admin']))}.{signature}"
    assert_unauthenticated(await post(client, f"Bearer {forged}"))


async def test_an_expired_token_is_401(client, settings):
    now = int(time.time())
    token = sign(claims_for(settings, iat=now - 3600, exp=now - LEEWAY_SECONDS - 30),
                 settings.secret_key)
    assert_unauthenticated(await post(client, f"Bearer {token}"))


async def test_a_token_for_another_audience_is_401(client, settings):
    other = TokenService(replace(settings, token_audience="some-other-api"))
    assert_unauthenticated(await post(client, f"Bearer {other.issue('alice', ['viewer'])}"))


async def test_a_token_from_another_issuer_is_401(client, settings):
    other = TokenService(replace(settings, public_url="https://idp.example"))
    assert_unauthenticated(await post(client, f"Bearer {other.issue('alice', ['viewer'])}"))


async def test_a_development_token_made_for_another_public_url_names_both_issuers(client,
                                                                                  settings):
    # `ccm-gateway token` run without the CCM_PORT (or CCM_PUBLIC_URL) that `serve` has.
    other = TokenService(replace(settings, port=9999))
    message = assert_unauthenticated(await post(client, f"Bearer {other.issue('a', ['viewer'])}"))
    assert message == (f"invalid token: issued for 'http://127.0.0.1:9999', not for this "
                       f"gateway ({settings.token_issuer}); make tokens with the server's "
                       "CCM_PUBLIC_URL (or CCM_HOST and CCM_PORT)")


async def test_a_forged_development_token_for_another_issuer_is_only_a_bad_signature(
        client, settings):
    forged = sign(claims_for(settings, iss="http://127.0.0.1:9999"), OTHER_KEY)
    assert assert_unauthenticated(await post(client, f"Bearer {forged}")) == (
        "invalid token: BadSignatureError")


@pytest.mark.parametrize("missing", ["exp", "sub", "aud", "iss"])
async def test_a_token_without_an_essential_claim_is_401(client, settings, missing):
    token = sign(claims_for(settings, **{missing: None}), settings.secret_key)
    assert_unauthenticated(await post(client, f"Bearer {token}"))


async def test_a_token_with_an_unknown_role_is_401(client, settings):
    token = sign(claims_for(settings, roles=["viewer", "superuser"]), settings.secret_key)
    message = assert_unauthenticated(await post(client, f"Bearer {token}"))
    assert "unknown role" in message


async def test_issuing_a_token_for_an_unknown_role_is_refused(tokens):
    with pytest.raises(BadInput) as refused:
        tokens.issue("alice", ["superuser"])
    assert refused.value.field == "role"


# --- `ccm-gateway token` ------------------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    """Only the CCM_ variables the test sets; the session's key and audience (its issuer is
    the default public URL, as here)."""
    for f in fields(Settings):
        monkeypatch.delenv(f"CCM_{f.name.upper()}", raising=False)
    monkeypatch.setenv("CCM_SECRET_KEY", settings.secret_key)
    monkeypatch.setenv("CCM_TOKEN_AUDIENCE", settings.token_audience)


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_token_cli_prints_a_token_that_verifies(cli_env, capsys, tokens):
    code, out, err = run_cli(capsys, "token", "--subject", "alice", "--role", "finance",
                             "--role", "viewer")
    assert code == 0
    assert err.startswith("warning: signed with the development key")  # the session's key
    principal = tokens.verify(out.strip())
    assert principal.subject == "alice"
    assert principal.kind == "user"
    assert principal.roles == frozenset({Role.FINANCE, Role.VIEWER})
    assert principal.partner_id is None


def test_token_cli_sets_kind_ttl_and_partner(cli_env, capsys, tokens, settings):
    code, out, _ = run_cli(capsys, "token", "--subject", "erp-sync", "--role", "viewer",
                           "--kind", "client", "--ttl", "120", "--partner", "partner-9")
    assert code == 0
    principal = tokens.verify(out.strip())
    assert (principal.kind, principal.partner_id) == ("client", "partner-9")
    claims = jwt.decode(out.strip(), OctKey.import_key(settings.secret_key.encode())).claims
    assert claims["exp"] - claims["iat"] == 120


async def test_a_token_from_the_cli_is_accepted_by_the_api(cli_env, capsys, client):
    code, out, _ = run_cli(capsys, "token", "--subject", "ops", "--role", "auditor")
    assert code == 0
    response = await client.post("/graphql", json={"query": "{ auditLog(first: 1) { "
                                                            "pageInfo { hasNextPage } } }"},
                                 headers={"Authorization": f"Bearer {out.strip()}"})
    assert response.status_code == 200
    assert "errors" not in response.json()


def test_token_cli_signs_with_ccm_secret_key(cli_env, capsys, monkeypatch, tokens, settings):
    monkeypatch.setenv("CCM_SECRET_KEY", OTHER_KEY)
    code, out, _ = run_cli(capsys, "token", "--subject", "alice", "--role", "viewer")
    assert code == 0
    assert TokenService(replace(settings, secret_key=OTHER_KEY)).verify(out.strip())
    with pytest.raises(Unauthenticated):
        tokens.verify(out.strip())


def test_token_cli_refuses_an_unknown_role(cli_env, capsys):
    code, out, err = run_cli(capsys, "token", "--subject", "alice", "--role", "root")
    assert code == 2
    assert out == ""
    assert "unknown role" in err


def test_token_cli_refuses_a_blank_subject(cli_env, capsys):
    code, out, err = run_cli(capsys, "token", "--subject", " ", "--role", "viewer")
    assert code == 2
    assert out == ""
    assert "subject" in err


def test_token_cli_exits_2_on_bad_configuration(cli_env, capsys, monkeypatch):
    monkeypatch.setenv("CCM_ENV", "prod")
    with pytest.raises(SystemExit) as exited:
        cli.main(["token", "--subject", "alice", "--role", "viewer"])
    assert exited.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "configuration error" in captured.err
    assert "CCM_SECRET_KEY" in captured.err
