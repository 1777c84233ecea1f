"""Delivery: sending what the dispatcher queued, per endpoint (the ``outbound.deliver`` job)."""

from __future__ import annotations

import time
from typing import Any

from ccm_gateway.queue import enqueue_job

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
