"""Ledger jobs for the arq worker."""

from __future__ import annotations

import logging
from typing import Any

from ccm_gateway.kit import outbox
from ccm_gateway.ledger import service as ledger_service

log = logging.getLogger("ccm_gateway.ledger")


async def expire_holds(ctx: dict[str, Any]) -> int:
    """`hold.expire`: release every pending hold past its deadline."""
    total = 0
    async with outbox.waking(ctx.get("redis")):
        while expired := await ledger_service.expire_holds():
            total += expired
    if total:
        log.info("expired holds", extra={"count": total})
    return total
