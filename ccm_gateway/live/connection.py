"""A subscription connection's authentication: the bearer token from ``connection_init``,
checked again before every push, every ``CCM_LIVE_RECHECK_SECONDS`` and at its expiry.
A token that no longer holds closes the connection, which ends its subscriptions."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from ccm_gateway.auth.tokens import TokenService, expires_at
from ccm_gateway.errors import Unauthenticated
from ccm_gateway.live.hub import Hub
from ccm_gateway.principal import Principal

log = logging.getLogger("ccm_gateway.live")

# graphql-transport-ws leaves 4400-4499 to the server; 4401 is the protocol's own code for
# "Unauthorized", which clients treat as "authenticate again", not "retry as is".
CLOSE_UNAUTHORIZED = 4401
CLOSE_INTERNAL = 1011

Close = Callable[[int, str], Awaitable[None]]


def bearer_token(payload: Mapping[str, Any]) -> str:
    """The token of a ``connection_init`` payload: ``{"Authorization": "Bearer <token>"}``
    (any case of the key) or ``{"token": "<token>"}``."""
    for key, value in payload.items():
        if isinstance(key, str) and key.lower() == "authorization":
            if not isinstance(value, str):
                break
            scheme, _, token = value.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthenticated("Authorization must be 'Bearer <token>'",
                                      reason="malformed_header")
            return token.strip()
    plain = payload.get("token")
    if isinstance(plain, str) and plain.strip():
        return plain.strip()
    raise Unauthenticated('connection_init needs a payload {"Authorization": "Bearer <token>"} '
                          'or {"token": "<token>"}', reason="missing_header")


class LiveConnection:
    def __init__(self, tokens: TokenService, hub: Hub, close: Close, *,
                 recheck_seconds: float) -> None:
        self.tokens = tokens
        self.hub = hub
        self._close = close
        self.recheck_seconds = recheck_seconds
        self._token: str | None = None
        self._expires_at: float | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._closed = asyncio.Event()

    async def open(self, payload: Mapping[str, Any]) -> Principal:
        """Authenticate ``connection_init``'s payload; raises ``Unauthenticated``."""
        token = bearer_token(payload)
        principal = await self.tokens.authenticate(token)
        self._token, self._expires_at = token, expires_at(token)
        self._watchdog = asyncio.create_task(self._watch(), name="live-token-watchdog")
        return principal

    async def authorized(self) -> bool:
        """Whether the token still holds; if not, the connection is closed (4401)."""
        if self._closed.is_set() or self._token is None:
            return False
        if self._expires_at is not None and time.time() >= self._expires_at:
            await self.close(CLOSE_UNAUTHORIZED, "token expired")
            return False
        try:
            await self.tokens.authenticate(self._token)
        except Unauthenticated as exc:
            await self.close(CLOSE_UNAUTHORIZED, f"token no longer valid: {exc.reason}")
            return False
        except Exception:  # the check could not be made: end rather than push unchecked
            log.exception("live subscription: token check failed")
            await self.close(CLOSE_INTERNAL, "token check failed; connect again")
            return False
        return True

    async def _watch(self) -> None:
        while not self._closed.is_set():
            delay = self.recheck_seconds
            if self._expires_at is not None:
                delay = min(delay, max(0.0, self._expires_at - time.time()))
            await asyncio.sleep(delay)
            if not await self.authorized():
                return

    async def close(self, code: int, reason: str) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        with contextlib.suppress(RuntimeError, OSError):  # closed by the client already
            await self._close(code, reason)

    async def ended(self) -> None:
        """Wait for the connection's end (a subscription whose token failed waits here
        for the protocol handler to cancel it)."""
        await self._closed.wait()
        await asyncio.Future()  # cancelled by the handler's shutdown

    async def shutdown(self) -> None:
        self._closed.set()
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
