"""Wake the outbox dispatcher after an operation whose mutations wrote outbox messages."""

from __future__ import annotations

from collections.abc import AsyncIterator

from strawberry.extensions import SchemaExtension

from ccm_gateway.graphql.context import Context
from ccm_gateway.kit import outbox


class WakeOutbox(SchemaExtension):
    """Each mutation commits its own transaction inside the operation, so by the time the
    operation ends, what it recorded is committed and the wake cannot come too early."""

    async def on_operation(self) -> AsyncIterator[None]:
        context = self.execution_context.context
        queue = context.queue if isinstance(context, Context) else None
        if queue is None:
            yield
            return
        async with outbox.waking(queue, coalesced=True):
            yield
