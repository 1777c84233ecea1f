"""Reconciliation jobs for the arq worker."""

from __future__ import annotations

import logging
from typing import Any

from tortoise.transactions import in_transaction

from ccm_gateway.errors import NotFound
from ccm_gateway.kit import outbox
from ccm_gateway.principal import SYSTEM_ACTOR
from ccm_gateway.reconciliation import service as reconciliation_service

log = logging.getLogger("ccm_gateway.reconciliation")


async def run_due(ctx: dict[str, Any]) -> int:
    """`reconciliation.run`: a webhook or pull run for each integration that stored new
    figures of that source since its last run; one transaction per run."""
    runs = 0
    async with outbox.waking(ctx.get("redis")):
        for integration_id, source in await reconciliation_service.due_runs():
            try:
                integration = await reconciliation_service.live_integration(integration_id)
            except NotFound:  # deleted since it reported
                continue
            async with in_transaction():
                run = await reconciliation_service.run_reported(SYSTEM_ACTOR, integration,
                                                                source)
            runs += 1
            log.info("reconciliation run", extra={
                "integration": integration.slug, "source": source.value, "matched": run.matched,
                "broken": run.broken, "missing_externally": run.missing_externally})
    return runs
