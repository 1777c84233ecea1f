"""GraphQL over WebSocket (``graphql-transport-ws``) on ``/graphql``: the subscriptions'
transport. The bearer token comes in ``connection_init``; a connection without a valid
one is closed with 4403 before anything runs."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.schema import BaseSchema
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET, UnsetType

from ccm_gateway.auth.tokens import TokenService
from ccm_gateway.config import Settings
from ccm_gateway.errors import Unauthenticated
from ccm_gateway.graphql.context import Context
from ccm_gateway.graphql.loaders import Loaders
from ccm_gateway.live.connection import LiveConnection
from ccm_gateway.live.context import LiveContext
from ccm_gateway.live.hub import hub_for
from ccm_gateway.principal import Principal

# Until connection_init: no permissions at all (strawberry refuses a subscribe before it).
ANONYMOUS = Principal(subject="anonymous", kind="user", roles=frozenset())
CONNECTION_INIT_SECONDS = 10
MAX_SUBSCRIPTIONS_PER_CONNECTION = 20


class LiveGraphQL(GraphQL[Context, None]):
    def __init__(self, schema: BaseSchema, settings: Settings, tokens: TokenService) -> None:
        super().__init__(
            schema, graphql_ide=None,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(seconds=CONNECTION_INIT_SECONDS),
            max_subscriptions_per_connection=MAX_SUBSCRIPTIONS_PER_CONNECTION,
            # Any origin: the token travels in connection_init, never in a cookie, so a
            # page on another origin gains nothing a script of its own could not do.
            allowed_origins=("*",))
        self.settings = settings
        self.tokens = tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        websocket = WebSocket(scope, receive=receive, send=send)
        context = self._context(websocket)
        try:
            await self.run(websocket, context=context)
        finally:
            if context.connection is not None:
                await context.connection.shutdown()

    def _context(self, websocket: WebSocket) -> LiveContext:
        queue = getattr(websocket.app.state, "queue", None)

        async def close(code: int, reason: str) -> None:
            await websocket.close(code=code, reason=reason)

        state = websocket.scope.get("state") or {}
        return LiveContext(
            principal=ANONYMOUS, request_id=state.get("request_id") or uuid.uuid4().hex,
            settings=self.settings, loaders=Loaders(), queue=queue,
            connection=LiveConnection(self.tokens, hub_for(queue), close,
                                      recheck_seconds=self.settings.live_recheck_seconds))

    async def get_context(self, request: Any, response: Any) -> Context:
        raise AssertionError("the context is built in __call__")  # pragma: no cover

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        if not isinstance(context, LiveContext) or context.connection is None:
            raise ConnectionRejectionError
        try:
            context.principal = await context.connection.open(context.connection_params or {})
        except Unauthenticated:
            raise ConnectionRejectionError from None
        ack: UnsetType = UNSET  # connection_ack without a payload
        return ack
