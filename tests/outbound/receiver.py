"""A connected system on loopback, for outbound delivery tests: a real HTTP/1.1 server
(asyncio + h11, keep-alive) on 127.0.0.1 at a random port.

Every request is recorded in arrival order with its path, headers and body, and whether
its Standard Webhooks signature verifies with the official ``standardwebhooks`` package
against the receiver's secrets (each secret separately: a rotation test checks both).

Failures are programmed per path: ``script(path, Answer(503, retry_after=7), ...)``
queues answers used once each, in order; ``answer(path, Answer(...))`` sets what the
path answers after its script runs out (200 by default); ``handle(path, fn)`` answers
with a function of the request. ``Answer(delay=...)`` answers slowly (past a client's
timeout). ``refuse()`` closes the listener and every open connection, so connecting is
refused until ``accept()`` listens again on the same port.

    async with Receiver(secrets=[secret]) as receiver:
        receiver.script("/hook", Answer(500), Answer(410))
        ... deliver to receiver.url("/hook") ...
        await receiver.wait_for(lambda: len(receiver.on("/hook")) >= 3)
        assert all(r.verified for r in receiver.on("/hook"))

``TokenServer`` (a handler) answers OAuth 2.0 client-credentials token requests.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import secrets as random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import h11
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: bytes | str | dict[str, Any] = b""
    headers: dict[str, str] = field(default_factory=dict)
    retry_after: int | str | None = None  # the Retry-After header
    delay: float = 0.0  # seconds before answering
    location: str | None = None  # for 3xx


@dataclass
class Received:
    """One request as it arrived."""

    order: int  # 0, 1, 2, ... across every path
    at: float  # time.time() when its body was read
    method: str
    path: str
    query: str
    headers: dict[str, str]  # names lower-cased
    body: bytes
    verified: bool  # its webhook-signature verifies with some secret of the receiver
    verified_by: list[bool]  # per secret, in the receiver's order
    status: int | None = None  # what it was answered (None: still answering, or the
    # client hung up first, e.g. on its timeout)

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def webhook_id(self) -> str | None:
        return self.headers.get("webhook-id")

    @property
    def version(self) -> int | None:
        """A credit.updated body's data.version."""
        try:
            data = self.json().get("data") or {}
        except (ValueError, AttributeError):
            return None
        version = data.get("version")
        return int(version) if version is not None else None


Handler = Callable[[Received], Answer | Awaitable[Answer]]


class Receiver:
    def __init__(self, secrets: Sequence[str] = (), *, host: str = "127.0.0.1") -> None:
        self.secrets = list(secrets)
        self.host = host
        self.port = 0
        self.requests: list[Received] = []
        self._order = itertools.count()
        self._scripts: dict[str, list[Answer]] = {}
        self._answers: dict[str, Answer] = {}
        self._handlers: dict[str, Handler] = {}
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Event()

    # --- lifecycle ------------------------------------------------------------------

    async def start(self) -> Receiver:
        await self.accept()
        return self

    async def accept(self) -> None:
        """Listen (again, on the same port once it had one)."""
        if self._server is not None:
            return
        self._server = await asyncio.start_server(self._serve, self.host, self.port,
                                                  reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def refuse(self) -> None:
        """Close the listener and every open connection: connecting is refused."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._connections):
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        if server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2)

    async def stop(self) -> None:
        await self.refuse()

    async def __aenter__(self) -> Receiver:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def url(self, path: str = "/hook") -> str:
        return f"http://{self.host}:{self.port}{path}"

    # --- programming answers ----------------------------------------------------------

    def script(self, path: str, *answers: Answer) -> None:
        """Answer the next requests on ``path`` with these, one each, in order."""
        self._scripts.setdefault(path, []).extend(answers)

    def answer(self, path: str, answer: Answer) -> None:
        """What ``path`` answers once its script is used up."""
        self._answers[path] = answer

    def handle(self, path: str, handler: Handler) -> None:
        """Answer ``path`` with ``handler(request)`` (after any script)."""
        self._handlers[path] = handler

    def reset(self) -> None:
        self.requests.clear()
        self._scripts.clear()
        self._answers.clear()
        self._handlers.clear()

    # --- what arrived -----------------------------------------------------------------

    def on(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]

    def answered(self, path: str | None = None, status: int = 200) -> list[Received]:
        return [r for r in self.requests
                if (path is None or r.path == path) and r.status == status]

    async def wait_for(self, check: Callable[[], bool], timeout: float = 15.0) -> None:
        """Until ``check()`` holds after some request, or AssertionError."""
        deadline = time.monotonic() + timeout
        while not check():
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"receiver: condition not met within {timeout}s; "
                                     f"{len(self.requests)} requests: {self.summary()}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(left, 0.2))

    def summary(self) -> list[tuple[str, int | None, str | None]]:
        return [(r.path, r.status, r.webhook_id) for r in self.requests[-20:]]

    # --- the server ---------------------------------------------------------------------

    def _verify(self, headers: dict[str, str], body: bytes) -> list[bool]:
        results = []
        for secret in self.secrets:
            try:
                Webhook(secret).verify(body, headers, json_parse=False)
                results.append(True)
            except (WebhookVerificationError, ValueError):
                results.append(False)
        return results

    async def _next_answer(self, request: Received) -> Answer:
        script = self._scripts.get(request.path)
        if script:
            return script.pop(0)
        handler = self._handlers.get(request.path)
        if handler is not None:
            answer = handler(request)
            return await answer if not isinstance(answer, Answer) else answer
        return self._answers.get(request.path, Answer())

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._connections.add(writer)
        conn = h11.Connection(h11.SERVER)
        try:
            while True:
                request = await self._read(conn, reader)
                if request is None:
                    return
                answer = await self._next_answer(request)
                if answer.delay:
                    await asyncio.sleep(answer.delay)
                    if reader.at_eof():  # the client gave up waiting: no answer reached it
                        self._changed.set()
                        return
                writer.write(self._respond(conn, answer))
                await writer.drain()
                request.status = answer.status
                self._changed.set()
                if conn.our_state is h11.MUST_CLOSE:
                    return
                conn.start_next_cycle()
        except (ConnectionError, h11.ProtocolError, asyncio.CancelledError):
            return
        finally:
            self._tasks.discard(task)
            self._connections.discard(writer)
            writer.close()

    async def _read(self, conn: h11.Connection, reader: asyncio.StreamReader) -> Received | None:
        head: h11.Request | None = None
        body = bytearray()
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await reader.read(65536))
                continue
            if isinstance(event, h11.Request):
                head = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage) and head is not None:
                break
            elif event is h11.PAUSED or isinstance(event, h11.ConnectionClosed):
                return None
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in head.headers}
        target = urlsplit(head.target.decode("latin-1"))
        verified_by = self._verify(headers, bytes(body))
        request = Received(order=next(self._order), at=time.time(),
                           method=head.method.decode(), path=target.path, query=target.query,
                           headers=headers, body=bytes(body), verified=any(verified_by),
                           verified_by=verified_by)
        self.requests.append(request)
        self._changed.set()
        return request

    @staticmethod
    def _respond(conn: h11.Connection, answer: Answer) -> bytes:
        body = answer.body
        if isinstance(body, dict):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        headers = [("content-length", str(len(body)))]
        if isinstance(answer.body, dict):
            headers.append(("content-type", "application/json"))
        if answer.retry_after is not None:
            headers.append(("retry-after", str(answer.retry_after)))
        if answer.location is not None:
            headers.append(("location", answer.location))
        headers += list(answer.headers.items())
        return (conn.send(h11.Response(status_code=answer.status, headers=headers)) or b"") + \
            (conn.send(h11.Data(data=body)) or b"") + (conn.send(h11.EndOfMessage()) or b"")


class TokenServer:
    """An OAuth 2.0 token endpoint (client credentials) as a receiver handler: checks
    the client (HTTP Basic or form fields), issues random bearer tokens that live
    ``expires_in`` seconds, and says whether a request carries a live one."""

    def __init__(self, client_id: str, client_secret: str, *, expires_in: int = 3600) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.expires_in = expires_in
        self.issued: list[str] = []
        self.revoked: set[str] = set()
        self.scopes: list[str | None] = []

    def __call__(self, request: Received) -> Answer:
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("basic "):
            client_id, _, client_secret = base64.b64decode(auth[6:]).decode().partition(":")
        if form.get("grant_type") != "client_credentials":
            return Answer(400, {"error": "unsupported_grant_type"})
        if (client_id, client_secret) != (self.client_id, self.client_secret):
            return Answer(401, {"error": "invalid_client"})
        token = random.token_urlsafe(24)
        self.issued.append(token)
        self.scopes.append(form.get("scope"))
        return Answer(200, {"access_token": token, "token_type": "Bearer",
                            "expires_in": self.expires_in})

    def authorized(self, request: Received) -> bool:
        auth = request.headers.get("authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else None
        return token is not None and token in self.issued and token not in self.revoked
