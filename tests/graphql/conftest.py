"""The session's app served on a loopback port, and node with tests/apollo's packages, for
the stock front-end tools (front_end_kit.py runs them)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
from front_end_kit import APOLLO_DIR
from testkit import npm_installed


@pytest.fixture(scope="session")
async def live_url(app: Any) -> AsyncIterator[str]:
    """The base URL of the session's app, served by uvicorn on a free loopback port in this
    event loop (its lifespan already runs under the ``app`` fixture)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
    # Ctrl-C stays pytest's: uvicorn would take SIGINT over for the whole session.
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve(sockets=[sock]))
    deadline = time.monotonic() + 20
    while not server.started:
        if task.done() or time.monotonic() > deadline:
            raise AssertionError(f"uvicorn did not start: {task}")
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task
    sock.close()


@pytest.fixture(scope="session")
def node_tools() -> str:
    """The node binary, with tests/apollo's packages installed."""
    return npm_installed(APOLLO_DIR, "@apollo/client")
