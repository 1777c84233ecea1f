"""Collection jobs for the arq worker: one collection's attempt, the sweep that attempts
whatever is due (and recovers expired leases), and the due-date start."""

from __future__ import annotations

import logging
from typing import Any

from ccm_gateway.collection import service as collection_service
from ccm_gateway.kit import outbox

log = logging.getLogger("ccm_gateway.collection")


async def attempt_collection(ctx: dict[str, Any], collection_id: str) -> int:
    """`collection.attempt`: attempt one collection now, if it is due and unclaimed."""
    async with outbox.waking(ctx.get("redis")):
        return await collection_service.run_due(ctx["settings"], collection_id=collection_id)


async def sweep(ctx: dict[str, Any]) -> int:
    """`collection.sweep`: attempt every due collection (retries, dunning days, status
    queries, a lost `collection.attempt`)."""
    total = 0
    async with outbox.waking(ctx.get("redis")):
        while attempted := await collection_service.run_due(ctx["settings"]):
            total += attempted
            if attempted < collection_service.BATCH:
                break
    return total


async def collect_due(ctx: dict[str, Any]) -> int:
    """`collection.due`: start collecting the invoices due today."""
    async with outbox.waking(ctx.get("redis")):
        started = await collection_service.start_due_collections()
    for collection_id in started:
        await collection_service.enqueue_attempt(ctx.get("redis"), collection_id)
    if started:
        log.info("collections started on invoices' due date", extra={"count": len(started)})
    return len(started)
