"""Console sign-in for tests: a browser-like client of the session's app, the calls the
console's page makes (sign in, read the session, mint a token, sign out), an app of one's
own on the session app's database and queue, and serving one on a loopback port."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpx
import uvicorn

from ccm_gateway.app import create_app
from ccm_gateway.config import Settings

# https: httpx, like a browser, sends a Secure cookie only over https (a browser also on
# http://127.0.0.1, see LoopbackBrowser).
ORIGIN = "https://ccm.test"
SAME_ORIGIN = {"Origin": ORIGIN}


class _LoopbackIsSecure(DefaultCookiePolicy):
    def return_ok_secure(self, cookie: Any, request: Any) -> bool:
        host = request.host.rsplit(":", 1)[0]
        return host in ("127.0.0.1", "localhost") or super().return_ok_secure(cookie, request)


class LoopbackBrowser(httpx.AsyncBaseTransport):
    """Real HTTP, with cookies kept as Chromium keeps them: http://127.0.0.1 and
    http://localhost are secure contexts, so their Secure cookies are sent back there.
    (The client's own jar cannot do this: httpx copies it into a jar of the standard
    policy, which sends Secure cookies only over https, for every request.)"""

    def __init__(self) -> None:
        self.cookies = httpx.Cookies(CookieJar(policy=_LoopbackIsSecure()))
        self._http = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.headers.pop("cookie", None)  # the client's jar's; this one's go instead
        self.cookies.set_cookie_header(request)
        response = await self._http.handle_async_request(request)
        response.request = request
        self.cookies.extract_cookies(response)
        return response

    async def aclose(self) -> None:
        await self._http.aclose()


@contextlib.asynccontextmanager
async def console_client(app: Any, origin: str = ORIGIN) -> AsyncIterator[httpx.AsyncClient]:
    """A client with a cookie jar of its own (one browser)."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url=origin) as client:
        yield client


def own_app(app: Any, settings: Settings, **changes: Any) -> Any:
    """An app with other settings on the session app's database and queue (its lifespan
    is not run: the session app holds Tortoise's context)."""
    own = create_app(replace(settings, **changes))
    own.state.queue = app.state.queue
    return own


async def sign_in(client: httpx.AsyncClient, *roles: str, subject: str = "ada",
                  partner_id: str | None = None) -> dict[str, Any]:
    """The development sign-in as the page makes it; the session it answers."""
    body: dict[str, Any] = {"subject": subject, "roles": list(roles)}
    if partner_id is not None:
        body["partnerId"] = partner_id
    response = await client.post("/console/session/dev", json=body, headers=SAME_ORIGIN)
    assert response.status_code == 200, response.text
    view = response.json()
    assert view["signedIn"] is True, view
    return view


async def session(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/console/session")
    assert response.status_code == 200, response.text
    return response.json()


async def mint(client: httpx.AsyncClient, csrf: str) -> str:
    response = await client.post("/console/token", headers={"X-CSRF-Token": csrf})
    assert response.status_code == 200, response.text
    return response.json()["accessToken"]


async def graphql(client: httpx.AsyncClient, token: str, query: str,
                  variables: dict[str, Any] | None = None) -> httpx.Response:
    return await client.post("/graphql", json={"query": query, "variables": variables or {}},
                             headers={"Authorization": f"Bearer {token}"})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.asynccontextmanager
async def serving(app: Any, port: int | None = None) -> AsyncIterator[str]:
    """``app`` served by uvicorn on loopback in this event loop (lifespan off); its base
    URL, http://127.0.0.1:<port>."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port or 0))
    bound = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            if task.done() or time.monotonic() > deadline:
                raise AssertionError(f"uvicorn did not start: {task}")
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{bound}"
    finally:
        server.should_exit = True
        await task
        sock.close()
