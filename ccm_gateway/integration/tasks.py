"""Inbox jobs for the arq worker: process one event, sweep, retention."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from ccm_gateway.config import Settings
from ccm_gateway.integration import inbox, processing
from ccm_gateway.integration.models import InboundStatus
from ccm_gateway.kit import outbox
from ccm_gateway.kit.metrics import Metrics

log = logging.getLogger("ccm_gateway.integration")

_COUNTED = {
    InboundStatus.APPLIED: "applied", InboundStatus.IGNORED: "ignored",
    InboundStatus.PARKED: "parked", InboundStatus.DEAD: "dead",
}


async def process_inbound(ctx: dict[str, Any], event_id: str) -> str | None:
    settings: Settings = ctx["settings"]
    async with outbox.waking(ctx["redis"]):
        outcome = await processing.process(event_id, delays=settings.webhook_retry_delays,
                                           queue=ctx["redis"])
    if outcome is None:
        return None
    metrics: Metrics = ctx.get("metrics") or Metrics(ctx["redis"])
    labels = {"integration": outcome.integration_slug}
    if outcome.status == InboundStatus.RETRYING:
        await metrics.inc("webhook_events_retried", labels)
    else:
        await metrics.inc("webhook_events_processed",
                          labels | {"outcome": _COUNTED[outcome.status]})
    if outcome.status == InboundStatus.DEAD:
        await metrics.inc("webhook_events_dead_lettered", labels)
    if outcome.lag_seconds is not None:
        await metrics.observe("webhook_sync_lag_seconds", labels, outcome.lag_seconds)
    return outcome.status.value


async def sweep_inbox(ctx: dict[str, Any]) -> int:
    """`inbox.sweep`: re-enqueue events whose queue message was lost."""
    settings: Settings = ctx["settings"]
    count = await inbox.sweep(ctx["redis"],
                              older_than=timedelta(seconds=settings.webhook_sweep_after_seconds))
    if count:
        log.warning("re-enqueued inbound events left behind", extra={"count": count})
    return count


async def purge_payloads(ctx: dict[str, Any]) -> int:
    """`inbox.retention`: delete raw payloads past CCM_WEBHOOK_RETENTION_DAYS."""
    settings: Settings = ctx["settings"]
    count = await inbox.purge_payloads(older_than_days=settings.webhook_retention_days)
    if count:
        log.info("deleted raw payloads past retention", extra={"count": count})
    return count
