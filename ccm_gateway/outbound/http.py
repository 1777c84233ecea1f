"""HTTP for outbound calls: clients that never follow redirects nor read proxies from
the environment, and in prod connect only to public addresses.

The prod check runs at connect time, inside httpcore's network backend: the host is
resolved once through ``urls.public_addresses`` and the connection goes to the address
that was checked, so a DNS answer that changes between the check and the connect (DNS
rebinding) cannot reach a private address. TLS still names the original host (SNI and
certificate check), as does the Host header. A refused connection raises
``urls.RefusedAddress`` out of the request.

Also here: OAuth 2.0 client-credentials tokens for endpoints' vendor APIs (authlib's
httpx client over the same checked transport), cached per endpoint until they expire.
"""

from __future__ import annotations

import asyncio
import time
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from ccm_gateway.outbound import urls

with warnings.catch_warnings():
    # authlib 1.9 prefers httpx2 and warns once, on import, that it falls back to httpx,
    # which is what the rest of the service (and this module's transport) uses.
    # Its import adds an "always" filter; ours must come after it to go first.
    import authlib.deprecate  # type: ignore[import-untyped]  # noqa: F401

    warnings.filterwarnings("ignore", message="The httpx module is deprecated")
    from authlib.integrations.httpx_client import (  # type: ignore[import-untyped]
        AsyncOAuth2Client,
    )

# A token is fetched again this long before the expiry it was given with.
TOKEN_EXPIRY_MARGIN_SECONDS = 30
# A token without expires_in is kept this long.
DEFAULT_TOKEN_SECONDS = 300

TIMEOUT_ERRORS = frozenset({"ConnectTimeout", "ReadTimeout", "WriteTimeout", "PoolTimeout",
                            "TimeoutException"})


class CheckedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to public addresses of the requested host (see the module docstring)."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int,
                          timeout: float | None = None,  # noqa: ASYNC109 - httpcore's API
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None,
                          ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await asyncio.wait_for(urls.public_addresses(host, port), timeout)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from None
        except urls.RefusedAddress:
            raise
        except OSError as exc:
            raise httpcore.ConnectError(f"{host} does not resolve: {exc}") from None
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(address, port, timeout, local_address,
                                                     socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure or httpcore.ConnectError(f"{host} has no address")

    async def connect_unix_socket(self, path: str,
                                  timeout: float | None = None,  # noqa: ASYNC109 - httpcore
                                  socket_options: Iterable[Any] | None = None,
                                  ) -> httpcore.AsyncNetworkStream:
        raise urls.RefusedAddress("outbound calls never use a unix socket")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class CheckedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over ``CheckedBackend``."""

    def __init__(self, *, limits: httpx.Limits) -> None:
        super().__init__(limits=limits, trust_env=False)
        # httpx takes no network backend, so its pool is rebuilt with ours; mapping
        # httpcore's errors to httpx's stays with the transport.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=CheckedBackend())


def transport(*, prod: bool, max_connections: int = 32) -> httpx.AsyncBaseTransport:
    limits = httpx.Limits(max_connections=max_connections,
                          max_keepalive_connections=max_connections, keepalive_expiry=30.0)
    if prod:
        return CheckedTransport(limits=limits)
    return httpx.AsyncHTTPTransport(limits=limits, trust_env=False)


def new_client(*, prod: bool, max_connections: int = 32,
               timeout: float = 10.0) -> httpx.AsyncClient:
    """A client for one endpoint, kept for its keep-alive connections."""
    return httpx.AsyncClient(transport=transport(prod=prod, max_connections=max_connections),
                             follow_redirects=False, trust_env=False,
                             timeout=httpx.Timeout(timeout))


def error_class(exc: BaseException) -> str:
    """The attempt record's name for why a request failed."""
    if isinstance(exc, urls.RefusedAddress):
        return "RefusedAddress"
    return type(exc).__name__


class TokenError(Exception):
    """The token endpoint did not give a token; the message names no secret."""


@dataclass(frozen=True, slots=True)
class _Token:
    value: str
    expires_at: float


class TokenCache:
    """OAuth 2.0 client-credentials access tokens, one per endpoint and credentials."""

    def __init__(self, *, prod: bool) -> None:
        self.prod = prod
        self._tokens: dict[tuple[str, str], _Token] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    async def token(self, key: tuple[str, str], credentials: dict[str, Any], *,
                    timeout_seconds: float) -> str:
        """A live token for ``key`` (endpoint id, credentials ciphertext): the cached one,
        else one fetched now (once, however many sends ask at the same time)."""
        cached = self._tokens.get(key)
        if cached is not None and cached.expires_at > time.time():
            return cached.value
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            cached = self._tokens.get(key)
            if cached is not None and cached.expires_at > time.time():
                return cached.value
            fetched = await self._fetch(credentials, timeout_seconds)
            self._tokens[key] = fetched
            return fetched.value

    def forget(self, key: tuple[str, str], value: str) -> None:
        """The API refused ``value``: the next send fetches a new one."""
        cached = self._tokens.get(key)
        if cached is not None and cached.value == value:
            del self._tokens[key]

    async def _fetch(self, credentials: dict[str, Any], timeout_seconds: float) -> _Token:
        token_url = str(credentials.get("token_url") or "")
        urls.parse_url(token_url, "credentials.token_url", prod=self.prod)
        client = AsyncOAuth2Client(
            client_id=credentials.get("client_id"),
            client_secret=credentials.get("client_secret"),
            scope=credentials.get("scope"),
            transport=transport(prod=self.prod, max_connections=2),
            follow_redirects=False, trust_env=False, timeout=httpx.Timeout(timeout_seconds))
        try:
            async with client:
                token = await client.fetch_token(token_url, grant_type="client_credentials")
        except (httpx.HTTPError, urls.RefusedAddress) as exc:
            raise TokenError(f"token endpoint unreachable: {error_class(exc)}") from None
        except Exception as exc:  # noqa: BLE001 - authlib's OAuth errors have no common base
            raise TokenError(f"token endpoint refused: {error_class(exc)}") from None
        value = token.get("access_token")
        if not isinstance(value, str) or not value:
            raise TokenError("token endpoint answered without an access_token")
        expires_at = token.get("expires_at")
        if not isinstance(expires_at, int | float):
            expires_at = time.time() + DEFAULT_TOKEN_SECONDS
        return _Token(value, float(expires_at) - TOKEN_EXPIRY_MARGIN_SECONDS)


__all__ = ["TIMEOUT_ERRORS", "CheckedBackend", "CheckedTransport", "TokenCache", "TokenError",
           "error_class", "new_client", "transport"]
