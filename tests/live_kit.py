"""Run a subscription once, in process, through the schema and the live hub: for the
tables that enumerate every root field (permissions, partner leaks). tests/live runs
them over a real WebSocket."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from testkit import eventually

from ccm_gateway.graphql.loaders import Loaders
from ccm_gateway.live.connection import LiveConnection
from ccm_gateway.live.context import LiveContext
from ccm_gateway.live.hub import hub_for

PUSH_TIMEOUT = 10.0


@dataclass
class Answer:
    """A subscription's first answer, shaped as conftest's GraphQLResult."""

    body: dict[str, Any]
    status: int = 200

    @property
    def errors(self) -> list[dict[str, Any]]:
        return self.body.get("errors") or []

    @property
    def data(self) -> dict[str, Any]:
        assert not self.errors, self.errors
        return self.body["data"]

    @property
    def error_code(self) -> str:
        assert self.errors, f"expected an error, got {self.body}"
        return self.errors[0]["extensions"]["code"]


async def subscribe_once(app: Any, schema: Any, token: str, document: str,
                         variables: dict[str, Any],
                         trigger: Callable[[], Awaitable[None]] | None = None,
                         ) -> Answer:
    """The subscription's first answer: its refusal, or the push that
    ``trigger`` (run once the subscription listens) causes."""
    hub = hub_for(app.state.queue)

    async def close(code: int, reason: str) -> None:
        raise AssertionError(f"the connection was closed: {code} {reason}")

    connection = LiveConnection(app.state.tokens, hub, close, recheck_seconds=3600)
    principal = await connection.open({"token": token})
    context = LiveContext(principal=principal, request_id=uuid.uuid4().hex,
                          settings=app.state.settings, loaders=Loaders(),
                          queue=app.state.queue, connection=connection)
    before = hub.size

    async def first_answer() -> Any:
        # In one task from start to end, as the WebSocket handler runs an operation.
        stream = await schema.subscribe(document, variable_values=variables,
                                        context_value=context)
        async with contextlib.aclosing(stream):
            async for answer in stream:
                return answer
        raise AssertionError("the subscription ended without an answer")

    first = asyncio.ensure_future(first_answer())
    try:
        async def settled() -> bool:
            return first.done() or hub.size > before

        await eventually(settled)
        if not first.done() and trigger is not None:
            await trigger()
        result = await asyncio.wait_for(first, PUSH_TIMEOUT)
    finally:
        first.cancel()
        with contextlib.suppress(BaseException):
            await first
        await connection.shutdown()
    errors = [e.formatted for e in result.errors or []]
    return Answer({"data": result.data} | ({"errors": errors} if errors else {}))
