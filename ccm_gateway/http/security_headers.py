"""Security response headers, as a pure ASGI middleware (no body buffering).

Every HTTP response gets ``X-Content-Type-Options: nosniff``,
``X-Frame-Options: DENY`` and ``Referrer-Policy: no-referrer``: they cost
nothing and also help when TLS ends at a proxy in front of the service.
``/graphql`` responses carry credit data, so they get ``Cache-Control:
no-store`` whatever the handler set. ``Strict-Transport-Security`` is sent
only when the service itself serves TLS (``Settings.tls_enabled``): HSTS over
plain HTTP is meaningless, and a wrong one locks browsers out of the host.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HSTS_VALUE = b"max-age=31536000; includeSubDomains"
BASE_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)
NO_STORE_PATHS = frozenset({"/graphql"})


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.defaults = BASE_HEADERS + (((b"strict-transport-security", HSTS_VALUE),)
                                        if hsts else ())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        no_store = scope["path"].rstrip("/") in NO_STORE_PATHS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", ())
                           if not (no_store and k.lower() == b"cache-control")]
                present = {k.lower() for k, _ in headers}
                headers.extend((k, v) for k, v in self.defaults if k not in present)
                if no_store:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


__all__ = ["SecurityHeadersMiddleware"]
