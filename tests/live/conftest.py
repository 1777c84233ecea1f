"""The session's app on a loopback port, and a graphql-transport-ws client over a real
WebSocket (the ``websockets`` library)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
import websockets
from testkit import eventually
from websockets.asyncio.client import ClientConnection

from ccm_gateway.live.hub import hub_for

PROTOCOL = "graphql-transport-ws"
RECEIVE_TIMEOUT = 10.0


@pytest.fixture(scope="session")
async def ws_url(app: Any) -> AsyncIterator[str]:
    """The session's app served by uvicorn on a free loopback port in this event loop
    (its lifespan already runs under the ``app`` fixture); the WebSocket URL of /graphql."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve(sockets=[sock]))
    deadline = time.monotonic() + 20
    while not server.started:
        if task.done() or time.monotonic() > deadline:
            raise AssertionError(f"uvicorn did not start: {task}")
        await asyncio.sleep(0.02)
    yield f"ws://127.0.0.1:{port}/graphql"
    server.should_exit = True
    await task
    sock.close()


class LiveClient:
    """One graphql-transport-ws connection."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self._ids = 0

    async def send(self, message: dict[str, Any]) -> None:
        await self.socket.send(json.dumps(message))

    async def receive(self, timeout: float = RECEIVE_TIMEOUT) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.socket.recv(), timeout)
        return json.loads(raw)

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> str:
        self._ids += 1
        op_id = str(self._ids)
        await self.send({"id": op_id, "type": "subscribe",
                         "payload": {"query": query, "variables": variables or {}}})
        return op_id

    async def next_data(self, op_id: str, timeout: float = RECEIVE_TIMEOUT) -> dict[str, Any]:
        """The data of the operation's next push (any error fails)."""
        message = await self.receive(timeout)
        assert message["id"] == op_id, message
        assert message["type"] == "next", message
        assert not message["payload"].get("errors"), message
        return message["payload"]["data"]

    async def closed_with(self, timeout: float = RECEIVE_TIMEOUT) -> tuple[int, str]:
        """Wait for the server to close the connection; its code and reason."""
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                message = await self.receive(timeout)
                assert message["type"] not in ("next",), f"pushed after refusal: {message}"
        assert self.socket.close_code is not None
        return self.socket.close_code, self.socket.close_reason or ""


@contextlib.asynccontextmanager
async def connect(url: str, payload: dict[str, Any] | None, *,
                  expect_ack: bool = True) -> AsyncIterator[LiveClient]:
    async with websockets.connect(url, subprotocols=[PROTOCOL]) as socket:  # type: ignore[list-item]
        client = LiveClient(socket)
        if payload is not None:
            await client.send({"type": "connection_init", "payload": payload})
            if expect_ack:
                ack = await client.receive()
                assert ack["type"] == "connection_ack", ack
        yield client


@pytest.fixture
def live(ws_url: str, tokens: Any):
    """live(token=..., role=...) -> an acknowledged connection."""

    def open_(token: str | None = None, *, role: str = "admin",
              payload: dict[str, Any] | str | None = "token",
              expect_ack: bool = True) -> Any:
        """``payload``: connection_init's (None: send no connection_init)."""
        if payload == "token":
            payload = {"Authorization": f"Bearer {token or tokens.issue(f'live-{role}', [role])}"}
        assert not isinstance(payload, str)
        return connect(ws_url, payload, expect_ack=expect_ack)

    return open_


@pytest.fixture
def listening(app: Any):
    """``async with listening(n):`` wait on leaving until ``n`` more subscriptions than on
    entering listen in this process (one starts a moment after its subscribe message)."""
    hub = hub_for(app.state.queue)

    @contextlib.asynccontextmanager
    async def wait(count: int = 1) -> AsyncIterator[None]:
        before = hub.size
        yield

        async def ready() -> bool:
            return hub.size >= before + count

        await eventually(ready)

    return wait
