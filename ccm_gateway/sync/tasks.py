"""Sync jobs for the arq worker: the outbox dispatcher each worker process runs."""

from __future__ import annotations

import contextlib
from typing import Any

from ccm_gateway.outbound.delivery import wake_deliverers
from ccm_gateway.sync import dispatch


async def start_dispatcher(ctx: dict[str, Any]) -> None:
    """Once per worker process (the worker starts again after each Redis outage)."""
    if "outbox_dispatcher" in ctx:
        return
    queue = ctx["redis"]

    async def on_deliveries(endpoint_ids: set[Any]) -> None:
        await wake_deliverers(queue, endpoint_ids)

    running = dispatch.running(queue, on_deliveries)
    ctx["outbox_dispatcher"] = (running, await running.__aenter__())


async def stop_dispatcher(ctx: dict[str, Any]) -> None:
    running = ctx.pop("outbox_dispatcher", None)
    if running is not None:
        with contextlib.suppress(Exception):
            await running[0].__aexit__(None, None, None)
