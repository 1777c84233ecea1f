"""OAuth 2.0 endpoints: ``POST /oauth/token`` (client_credentials only), the JWKS
and the authorization server metadata (RFC 8414).

authlib's OAuth 2.0 server is for Flask / Django only, so the small
client_credentials endpoint is written here over joserfc (RFC 6749 §4.4, §5).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from tortoise.transactions import in_transaction

from ccm_gateway.audit.service import record
from ccm_gateway.auth import clients
from ccm_gateway.auth.keys import ALGORITHMS
from ccm_gateway.auth.models import ApiClient
from ccm_gateway.auth.tokens import TokenService
from ccm_gateway.kit.ratelimit import RateLimiter
from ccm_gateway.kit.text import text_problem
from ccm_gateway.principal import Actor, Role

log = logging.getLogger("ccm_gateway.auth")

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
GRANT_TYPE = "client_credentials"
AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
_ID_MAX = 64  # longest client id worth looking up / auditing

# Brute force: failed client authentications (a wrong secret, an unknown, revoked or
# expired client) are counted per (client_id presented, client IP) and, more widely, per
# client IP, in GCRA buckets on the queue's Redis; a success is refunded. Once a bucket
# is empty, every attempt on it is refused with 429 before the secret is checked, the
# right secret included, until the bucket refills. No bucket is per client_id alone:
# that would let anyone who knows a client id lock its owner out from elsewhere, and a
# secret of 256 random bits needs no such bucket against guessing from many addresses.
# Module constants until settings carry them.
FAILED_AUTH_PER_CLIENT = (10 / 60, 10)  # per (client id, IP): (rate per second, burst)
FAILED_AUTH_PER_IP = (30 / 60, 30)  # an address may try a few clients
FAILED_AUTH_PREFIX = "ccm:oauth-failed:"
FAILED_AUTH_CLOCK: Callable[[], float] | None = None  # None: the Redis server's clock


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400,
                 retry_after: int | None = None) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status
        self.retry_after = retry_after

    def response(self) -> JSONResponse:
        headers = dict(NO_STORE)
        if self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after)
        if self.status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="ccm-gateway", charset="UTF-8"'
        return JSONResponse({"error": self.error, "error_description": self.description},
                            status_code=self.status, headers=headers)


def _invalid_client(description: str) -> OAuthError:
    return OAuthError("invalid_client", description, 401)


def _request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


async def _form(request: Request) -> dict[str, str]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request",
                         "the body must be application/x-www-form-urlencoded")
    try:
        pairs = parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True,
                          max_num_fields=50)
    except (UnicodeDecodeError, ValueError):
        raise OAuthError("invalid_request", "the body is not a valid form") from None
    values: dict[str, str] = {}
    for key, value in pairs:
        _check_text("a parameter name", key)
        if key in values:  # RFC 6749 §3.2: parameters must not repeat
            raise OAuthError("invalid_request", f"parameter {key!r} is repeated")
        _check_text(key, value)
        values[key] = value
    return values


def _check_text(name: str, value: str) -> None:
    """Refuse text the databases cannot store before it reaches a lookup or the audit log.
    For a secret it matters too: HMAC pads keys with zero bytes, so scrypt takes
    "secret\x00" for "secret"."""
    problem = text_problem(value)
    if problem is not None:
        raise OAuthError("invalid_request", f"{name} {problem}")


def _credentials(request: Request, form: dict[str, str]) -> tuple[str, str, str]:
    """(method, client_id, client_secret) from HTTP Basic or the form, never both."""
    header = request.headers.get("authorization")
    in_form = "client_id" in form or "client_secret" in form
    if header is not None:
        if in_form:
            raise OAuthError("invalid_request",
                             "use one client authentication method: HTTP Basic or "
                             "client_id/client_secret in the body, not both")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            raise _invalid_client("client authentication must use HTTP Basic")
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise _invalid_client("malformed HTTP Basic credentials") from None
        user, sep, password = decoded.partition(":")
        if not sep:
            raise _invalid_client("malformed HTTP Basic credentials")
        # RFC 6749 §2.3.1: both are form-urlencoded before Basic encoding.
        client_id, secret = unquote_plus(user), unquote_plus(password)
        _check_text("client_id", client_id)
        _check_text("client_secret", secret)
        return "client_secret_basic", client_id, secret
    if not in_form:
        raise _invalid_client("client authentication is required")
    client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
    if not client_id or not secret:
        raise _invalid_client("client_id and client_secret are both required")
    return "client_secret_post", client_id, secret


async def _refuse(request: Request, client_id: str, method: str, reason: str) -> OAuthError:
    shown = client_id[:_ID_MAX]
    async with in_transaction():
        await record(Actor(type="client", id=shown, request_id=_request_id(request)),
                     "oauth.client_auth_refused", object_type="api_client", object_id=shown,
                     after={"reason": reason, "method": method})
    return _invalid_client("client authentication failed")


def _failure_buckets(request: Request, client_id: str) -> list[tuple[str, tuple[float, int]]]:
    peer = request.scope.get("client")
    address = peer[0] if peer else "unknown"
    buckets = [(f"client-ip:{client_id[:_ID_MAX]}|{address}", FAILED_AUTH_PER_CLIENT)]
    if peer:
        buckets.append((f"ip:{address}", FAILED_AUTH_PER_IP))
    return buckets


def _limiter(request: Request) -> RateLimiter | None:
    queue = getattr(request.app.state, "queue", None)
    if queue is None:  # an app served without its lifespan (some tests)
        return None
    rate, burst = FAILED_AUTH_PER_CLIENT
    return RateLimiter(queue, rate, burst, prefix=FAILED_AUTH_PREFIX, clock=FAILED_AUTH_CLOCK)


async def _spend_attempt(request: Request, client_id: str) -> list[tuple[str, float]]:
    """Spend one attempt from the (client id, address) bucket and the address's, before
    any secret is checked; 429 when either is empty. Spending first (and refunding a
    success) means concurrent guesses cannot all slip past the check. Returns the
    buckets to refund. Fails open when Redis is down, like the GraphQL limiter."""
    limiter = _limiter(request)
    if limiter is None:
        return []
    spent: list[tuple[str, float]] = []
    retry_after = 0
    try:
        for key, (rate, burst) in _failure_buckets(request, client_id):
            decision = await limiter.hit(key, rate_per_second=rate, burst=burst)
            if decision.allowed:
                spent.append((key, rate))
            else:
                retry_after = max(retry_after, decision.retry_after_header)
        if retry_after:
            await _refund(limiter, spent)
    except (RedisError, OSError) as exc:
        log.warning("token endpoint limiter unavailable, attempt allowed: %s",
                    exc.__class__.__name__)
        return []
    if retry_after:
        log.warning("client authentication throttled", extra={
            "request_id": _request_id(request), "client_id": client_id[:_ID_MAX]})
        raise OAuthError("invalid_request",
                         f"too many attempts; retry after {retry_after} s", 429,
                         retry_after=retry_after)
    return spent


async def _refund(limiter: RateLimiter | None, spent: list[tuple[str, float]]) -> None:
    """A successful authentication does not count against the client or address."""
    if limiter is None:
        return
    try:
        for key, rate in spent:
            await limiter.refund(key, rate_per_second=rate)
    except (RedisError, OSError) as exc:
        log.warning("token endpoint limiter unavailable, attempt not refunded: %s",
                    exc.__class__.__name__)


async def token_endpoint(request: Request) -> Response:
    try:
        return await _token(request)
    except OAuthError as exc:
        return exc.response()


async def _token(request: Request) -> Response:
    tokens: TokenService = request.app.state.tokens
    form = await _form(request)
    grant_type = form.get("grant_type")
    if not grant_type:
        raise OAuthError("invalid_request", "grant_type is required")
    method, client_id, secret = _credentials(request, form)

    spent = await _spend_attempt(request, client_id)
    client = None
    if len(client_id) <= _ID_MAX:
        client = await ApiClient.filter(client_id=client_id).first()
    # scrypt is deliberately slow: keep it off the event loop.
    reason = await asyncio.to_thread(clients.refusal, client, secret)
    if reason is not None or client is None:
        raise await _refuse(request, client_id, method, reason or "unknown_client")
    await _refund(_limiter(request), spent)

    if grant_type != GRANT_TYPE:
        raise OAuthError("unsupported_grant_type",
                         f"grant_type {grant_type!r} is not supported; use {GRANT_TYPE}")
    allowed = clients.split_scope(client.scopes)
    try:
        roles = [Role(r).value for r in client.roles.split()]
    except ValueError:
        roles = []
    if not allowed or not roles:
        raise OAuthError("unauthorized_client",
                         "this client has no roles or scopes it may be issued")
    if "scope" in form and form["scope"].strip():
        requested = clients.split_scope(form["scope"])
        extra = sorted(set(requested) - set(allowed))
        if extra:
            raise OAuthError("invalid_scope",
                             f"scope(s) {' '.join(extra)} are not allowed for this client")
        granted = sorted(set(requested))
    else:
        granted = sorted(allowed)

    access_token, expires_in = await tokens.issue_client_token(client.client_id, roles, granted)
    async with in_transaction():
        await record(Actor(type="client", id=client.client_id, request_id=_request_id(request)),
                     "oauth.token_issued", object_type="api_client", object_id=client.client_id,
                     after={"scope": granted, "roles": roles, "expires_in": expires_in,
                            "method": method})
    return JSONResponse({"access_token": access_token, "token_type": "Bearer",
                         "expires_in": expires_in, "scope": " ".join(granted)},
                        headers=NO_STORE)


async def jwks_endpoint(request: Request) -> Response:
    tokens: TokenService = request.app.state.tokens
    keys = tokens.key_ring()
    await keys.current()  # publish a key even before the first token
    return JSONResponse(await keys.jwks(), headers={"Cache-Control": "max-age=60"})


async def metadata_endpoint(request: Request) -> Response:
    settings = request.app.state.settings
    # Never the request's Host header: a forged one would point clients' secrets elsewhere.
    base = settings.public_base_url
    body: dict[str, Any] = {
        "issuer": settings.token_issuer,
        "token_endpoint": f"{base}/oauth/token",
        "jwks_uri": f"{base}/.well-known/jwks.json",
        "grant_types_supported": [GRANT_TYPE],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "scopes_supported": list(clients.SCOPES_SUPPORTED),
        # REQUIRED by RFC 8414 and non-empty; with no authorization endpoint, "none" (OAuth
        # 2.0 Multiple Response Types) is the one that promises nothing.
        "response_types_supported": ["none"],
        "access_token_signing_alg_values_supported": list(ALGORITHMS),
    }
    return JSONResponse(body)
