"""Refused bearer authentications on /graphql are audited ("auth.refused"): a reason
code, the path, the client IP and the request id, never the token; at most
REFUSED_AUDIT_PER_IP are recorded per address, and the 401 goes out regardless."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import OctKey

from ccm_gateway import app as app_module
from ccm_gateway.audit.models import AuditEvent
from ccm_gateway.config import Settings

QUERY = {"query": "{ sites { id } }"}


def _ip() -> str:
    n = uuid.uuid4().int
    return f"10.{n % 250}.{(n >> 8) % 250}.{(n >> 16) % 250 + 1}"


def _claims(settings: Settings, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"iss": settings.token_issuer, "aud": settings.token_audience, "sub": "tester",
              "iat": now, "exp": now + 300, "roles": ["viewer"], "kind": "user"}
    claims.update(overrides)
    return claims


def _sign(claims: dict[str, Any], key: str, header: dict[str, Any] | None = None) -> str:
    return jwt.encode(header or {"alg": "HS256"}, claims, OctKey.import_key(key.encode()))


async def _post(app: Any, ip: str, authorization: str | None) -> tuple[httpx.Response, str]:
    request_id = f"refused-{uuid.uuid4().hex[:16]}"
    headers = {"X-Request-ID": request_id}
    if authorization is not None:
        headers["Authorization"] = authorization
    transport = httpx.ASGITransport(app=app, client=(ip, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://ccm.test") as http:
        response = await http.post("/graphql", json=QUERY, headers=headers)
    assert response.status_code == 401
    assert response.headers["x-request-id"] == request_id
    return response, request_id


def _cases(settings: Settings) -> list[tuple[str, str | None, str]]:
    now = int(time.time())
    key = settings.secret_key
    return [
        ("missing_header", None, ""),
        ("malformed_header", "Basic dXNlcjpzZWNyZXQtcGFzc3dvcmQ=", "dXNlcjpzZWNyZXQtcGFzc3dvcmQ="),
        ("malformed_token", "Bearer not.a.jwt-secret-ish", "not.a.jwt-secret-ish"),
        ("bad_signature", None, _sign(_claims(settings), "another-key-" + "x" * 40)),
        ("expired", None, _sign(_claims(settings, iat=now - 3600, exp=now - 1800), key)),
        ("unknown_key", None, _sign(_claims(settings), key,
                                    {"alg": "HS256", "kid": "no-such-kid"})),
        ("untrusted_issuer", None, _sign(_claims(settings, iss="https://evil.example"), key)),
        ("invalid_claim", None, _sign(_claims(settings, aud="someone-else"), key)),
    ]


@pytest.mark.parametrize("reason", ["missing_header", "malformed_header", "malformed_token",
                                    "bad_signature", "expired", "unknown_key",
                                    "untrusted_issuer", "invalid_claim"])
async def test_each_refusal_is_audited_with_its_reason_and_no_token(app, settings, reason):
    [(_, header, secret)] = [c for c in _cases(settings) if c[0] == reason]
    if header is None and secret:
        header = f"Bearer {secret}"
    ip = _ip()
    _, request_id = await _post(app, ip, header)

    [event] = await AuditEvent.filter(action="auth.refused", request_id=request_id)
    assert event.actor_type == "anonymous"
    assert event.object_type == "request"
    assert event.object_id == request_id
    assert event.before is None
    assert event.after == {"reason": reason, "path": "/graphql", "client_ip": ip}
    if secret:
        dumped = json.dumps({k: getattr(event, k) for k in (
            "actor_type", "actor_id", "action", "object_type", "object_id", "before",
            "after", "request_id")}, default=str)
        assert secret not in dumped
        assert secret[-16:] not in dumped


async def test_a_valid_token_is_not_audited_as_refused(client, tokens):
    request_id = f"accepted-{uuid.uuid4().hex[:16]}"
    response = await client.post("/graphql", json=QUERY, headers={
        "X-Request-ID": request_id,
        "Authorization": f"Bearer {tokens.issue('alice', ['viewer'])}"})
    assert response.status_code == 200
    assert not await AuditEvent.filter(action="auth.refused", request_id=request_id).exists()


async def test_recording_is_limited_per_ip_but_every_refusal_is_401(app):
    _, burst = app_module.REFUSED_AUDIT_PER_IP
    ip = _ip()
    recorded = []
    for _ in range(burst + 1):
        _, request_id = await _post(app, ip, "Bearer not.a.jwt")
        recorded.append(await AuditEvent.filter(action="auth.refused",
                                                request_id=request_id).exists())
    assert recorded == [True] * burst + [False]
    # Another address still gets its refusals recorded.
    _, request_id = await _post(app, _ip(), "Bearer not.a.jwt")
    assert await AuditEvent.filter(action="auth.refused", request_id=request_id).exists()


async def test_a_failing_audit_write_does_not_fail_the_401(app, monkeypatch, caplog):
    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("audit database down")

    monkeypatch.setattr(app_module, "record", broken)
    response, request_id = await _post(app, _ip(), "Bearer not.a.jwt")
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert not await AuditEvent.filter(action="auth.refused", request_id=request_id).exists()
    assert "could not audit a refused authentication" in caplog.text


def test_reason_codes_never_echo_the_message():
    from joserfc.errors import ExpiredTokenError

    from ccm_gateway.auth.issuers import jose_refusal
    from ccm_gateway.errors import Unauthenticated

    assert Unauthenticated("invalid token: something new").reason == "invalid_token"
    assert jose_refusal(ExpiredTokenError("exp")).reason == "expired"
