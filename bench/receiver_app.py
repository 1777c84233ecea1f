"""A fast receiver for the outbound benchmark: answers every POST with 204 and remembers
(path, webhook-id, arrival time); ``GET /arrivals`` returns them, ``DELETE /arrivals``
forgets them. Bare ASGI under uvicorn (uvloop + httptools), so the receiver costs as little
as it can and both the service and the bare loop post to the same thing. It does not check
signatures: the tests do that with the official library; here it would only add CPU."""

from __future__ import annotations

import json
import time
from typing import Any

Arrival = tuple[str, str, float]


def create_app() -> Any:
    arrivals: list[Arrival] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        method, path = scope["method"], scope["path"]
        if method == "POST":
            more = True
            while more:
                more = (await receive()).get("more_body", False)
            webhook_id = next((v.decode() for k, v in scope["headers"]
                               if k == b"webhook-id"), "")
            arrivals.append((path, webhook_id, time.time()))
            await _answer(send, 204, b"")
        elif method == "GET" and path == "/arrivals":
            await _answer(send, 200, json.dumps(arrivals).encode())
        elif method == "DELETE" and path == "/arrivals":
            arrivals.clear()
            await _answer(send, 204, b"")
        elif path == "/healthz":
            await _answer(send, 200, b"ok")
        else:
            await _answer(send, 404, b"")

    return app


async def _answer(send: Any, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
