"""Approval jobs for the arq worker: expiring pending requests, segment scaling."""

from __future__ import annotations

import logging
from typing import Any

from ccm_gateway.approval import scaling
from ccm_gateway.approval import service as approval_service
from ccm_gateway.kit import outbox

log = logging.getLogger("ccm_gateway.approval")


async def expire_requests(ctx: dict[str, Any]) -> int:
    """`limit_change.expire`: EXPIRED for every pending request past its 7 days."""
    total = 0
    async with outbox.waking(ctx.get("redis")):
        while expired := await approval_service.expire_requests():
            total += expired
    if total:
        log.info("expired limit change requests", extra={"count": total})
    return total


async def scale_limits(ctx: dict[str, Any]) -> int:
    """`limit.scaling`: proposals from behaviour, for the segments with scaling on."""
    async with outbox.waking(ctx.get("redis")):
        opened = await scaling.propose_changes()
    if opened:
        log.info("segment scaling proposed limit changes", extra={"count": opened})
    return opened
