"""Fixtures of the ops console's browser tests: a real `ccm-gateway serve` in dev on a free
loopback port with a SQLite file of its own, seeded through GraphQL (console_kit.seed_gateway);
Debian's Chromium driven by Python Playwright, every request beyond the gateway's origin
refused and recorded. Helpers (signed_in, screenshot, charts_ready, chart_data) are in
console_kit.py; screenshots go under ``CCM_TEST_ARTIFACTS`` (default
``test-artifacts/console/`` at the repository root, never committed).

Each test module gets a gateway of its own (``gateway``, ``seed``), so one module's changes
never move another's figures; the browser is shared by the session.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from console_kit import CHROMIUM, DESKTOP, Gateway, Seed, Watched, origin, seed_gateway
from ops.ops_kit import Processes, cli_env, free_port
from testkit import require_service

from ccm_gateway.config import Settings


@pytest.fixture(scope="module")
async def gateway(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Gateway]:
    """`ccm-gateway serve` in dev on loopback, with a fresh SQLite file and its embedded
    queue; stopped when the module's tests are done."""
    workdir = tmp_path_factory.mktemp("console-gateway")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = cli_env(CCM_DATABASE_URL=f"sqlite://{workdir / 'ccm.sqlite3'}", CCM_ENV="dev",
                  CCM_PUBLIC_URL=base, CCM_SECRET_KEY="console-tests-" + uuid.uuid4().hex)
    processes = Processes(workdir)
    try:
        await processes.serve("serve", env, port=port)
        settings = Settings.from_env(env)
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            yield Gateway(base, settings, http)
    finally:
        processes.stop_all()


@pytest.fixture(scope="module")
async def seed(gateway: Gateway) -> Seed:
    return await seed_gateway(gateway)


def _chromium_installed() -> bool:
    return Path(CHROMIUM).exists()


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    """Debian's headless Chromium under Python Playwright (no browser download)."""
    if not _chromium_installed():
        require_service("Chromium", f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        require_service("playwright", "pip install -e '.[test]' installs the Python package")
    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def open_page(browser: Any, gateway: Gateway) -> AsyncIterator[
        Callable[..., Awaitable[Any]]]:
    """``await open_page(viewport=DESKTOP)``: a page in a fresh browser context (no cookies)
    whose requests may go only to the gateway; at the end, nothing may have gone elsewhere,
    and no script error may have been raised."""
    allowed = {origin(gateway.base)}
    ws_allowed = {allowed_origin.replace("http", "ws", 1) for allowed_origin in allowed}
    contexts: list[Any] = []
    watched = Watched()

    async def route(route: Any) -> None:
        url = route.request.url
        if origin(url) in allowed:
            await route.continue_()
        else:
            watched.off_origin.append(url)
            await route.abort("blockedbyclient")

    async def open_one(viewport: dict[str, int] | None = None) -> Any:
        context = await browser.new_context(viewport=viewport or DESKTOP, base_url=gateway.base)
        contexts.append(context)
        await context.route("**/*", route)
        page = await context.new_page()
        page.on("pageerror", lambda exc: watched.page_errors.append(str(exc)))
        page.on("console", lambda msg: watched.console_errors.append(msg.text)
                if msg.type == "error" else None)
        page.on("websocket", lambda ws: None if origin(ws.url) in ws_allowed
                else watched.off_origin.append(ws.url))
        page.watched = watched
        return page

    try:
        yield open_one
    finally:
        for context in contexts:
            await context.close()
    assert watched.off_origin == [], "the console asked for something beyond the gateway"
    assert watched.page_errors == [], watched.page_errors


