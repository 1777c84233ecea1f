"""Inbox jobs for the arq worker: process one event, sweep, retention."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from redis.exceptions import RedisError

from ccm_gateway.config import Settings
from ccm_gateway.integration import inbox, processing
from ccm_gateway.integration.models import InboundStatus
from ccm_gateway.kit import outbox
from ccm_gateway.kit.metrics import Metrics
from ccm_gateway.queue import drop_waiting

log = logging.getLogger("ccm_gateway.integration")

_COUNTED = {
    InboundStatus.APPLIED: "applied", InboundStatus.IGNORED: "ignored",
    InboundStatus.PARKED: "parked", InboundStatus.DEAD: "dead",
}


async def process_inbound(ctx: dict[str, Any], event_id: str) -> int:
    """The event's job: it and up to ``processing.BATCH_SIZE - 1`` other waiting events,
    whose own jobs are then taken off the queue. The number of events settled or deferred."""
    settings: Settings = ctx["settings"]
    async with outbox.waking(ctx["redis"]):
        batch = await processing.process_batch(event_id, delays=settings.webhook_retry_delays,
                                               queue=ctx["redis"])
    try:
        await drop_waiting(ctx["redis"], batch.dropped_jobs)
    except (RedisError, OSError) as exc:  # they run as no-ops instead
        log.warning("could not drop %d settled events' jobs: %s", len(batch.dropped_jobs),
                    exc.__class__.__name__)
    metrics: Metrics = ctx.get("metrics") or Metrics(ctx["redis"])
    for outcome in batch.outcomes:
        await _count(metrics, outcome)
    return len(batch.outcomes)


async def _count(metrics: Metrics, outcome: processing.Outcome) -> None:
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
