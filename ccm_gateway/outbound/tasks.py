"""Outbound jobs for the arq worker: the dispatcher each worker process runs, and the
delivery job it enqueues per endpoint."""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

from ccm_gateway.outbound import dispatch
from ccm_gateway.queue import enqueue_job

log = logging.getLogger("ccm_gateway.outbound")

DELIVER = "outbound.deliver"


def deliver_job_id(endpoint_id: Any, tag: str) -> str:
    return f"outbound:deliver:{endpoint_id}:{tag}"


async def wake_deliverers(queue: Any, endpoint_ids: set[Any]) -> None:
    """Enqueue a delivery job for each endpoint that was given deliveries now. Each job
    drains what is due, so an id per dispatch pass is enough to never lose a wake."""
    tag = f"d{time.time_ns()}"
    for endpoint_id in endpoint_ids:
        await enqueue_job(queue, DELIVER, [str(endpoint_id)],
                          job_id=deliver_job_id(endpoint_id, tag))


async def start_dispatcher(ctx: dict[str, Any]) -> None:
    """Once per worker process (the worker starts again after each Redis outage)."""
    if "outbox_dispatcher" in ctx:
        return
    queue = ctx["redis"]

    async def on_deliveries(endpoint_ids: set[Any]) -> None:
        await wake_deliverers(queue, endpoint_ids)

    cm = dispatch.running(queue, on_deliveries)
    ctx["outbox_dispatcher"] = (cm, await cm.__aenter__())


async def stop_dispatcher(ctx: dict[str, Any]) -> None:
    running = ctx.pop("outbox_dispatcher", None)
    if running is not None:
        with contextlib.suppress(Exception):
            await running[0].__aexit__(None, None, None)
