"""Sync jobs for the arq worker: the outbox dispatcher each worker process runs, and the
scheduled sync (``sync.scheduled``) of integrations at their own frequencies."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ccm_gateway.config import Settings
from ccm_gateway.integration import service as integration_service
from ccm_gateway.integration.models import Integration
from ccm_gateway.kit.outbox import OutboxMessage
from ccm_gateway.kit.secrets import SecretBox
from ccm_gateway.live import hub as live_hub
from ccm_gateway.outbound.delivery import wake_deliverers
from ccm_gateway.sync import dispatch, pull, snapshot

log = logging.getLogger("ccm_gateway.sync")

# Integrations synced at once by one run: a slow vendor API holds up only its own pull.
SYNC_CONCURRENCY = 4


async def start_dispatcher(ctx: dict[str, Any]) -> None:
    """Once per worker process (the worker starts again after each Redis outage)."""
    if "outbox_dispatcher" in ctx:
        return
    queue = ctx["redis"]

    embedded = ctx["settings"].redis_url is None

    async def on_deliveries(endpoint_ids: set[Any]) -> None:
        await wake_deliverers(queue, endpoint_ids)

    async def publish_live(messages: Sequence[OutboxMessage]) -> None:
        await live_hub.publish(queue, live_hub.events_of(messages), embedded=embedded)

    running = dispatch.running(queue, on_deliveries, after_commit=publish_live)
    ctx["outbox_dispatcher"] = (running, await running.__aenter__())


async def stop_dispatcher(ctx: dict[str, Any]) -> None:
    running = ctx.pop("outbox_dispatcher", None)
    if running is not None:
        with contextlib.suppress(Exception):
            await running[0].__aexit__(None, None, None)


@dataclass(frozen=True, slots=True)
class Synced:
    integration_id: Any
    snapshot_endpoints: int  # endpoints given a snapshot
    pulled: pull.PullOutcome | None  # None: no pull section, or the pull failed
    pull_error: str | None = None


async def scheduled_sync(ctx: dict[str, Any]) -> int:
    """`sync.scheduled`: sync the integrations that are due; how many were."""
    return len(await run_scheduled(ctx["redis"], ctx["settings"]))


async def run_scheduled(queue: Any, settings: Settings, *,
                        now: datetime | None = None) -> list[Synced]:
    """Claim the integrations due at ``now`` and sync each: the snapshot push, then the pull.
    One integration's failure is logged and leaves the others alone."""
    now = now or datetime.now(UTC)
    due = await snapshot.claim_due(now)
    if not due:
        return []
    box = SecretBox.from_settings(settings)
    gate = asyncio.Semaphore(SYNC_CONCURRENCY)

    async def one(integration: Integration) -> Synced | None:
        async with gate:
            try:
                return await sync_integration(queue, box, integration, now=now,
                                              prod=settings.is_prod)
            except Exception:  # one integration's fault must not stop the others'
                log.exception("scheduled sync failed", extra={"integration": integration.slug})
                return None

    done = await asyncio.gather(*(one(i) for i in due))
    return [s for s in done if s is not None]


async def sync_integration(queue: Any, box: SecretBox, integration: Integration, *,
                           now: datetime, prod: bool) -> Synced:
    endpoint_ids = await snapshot.push_snapshot(integration, now)
    if endpoint_ids:
        await wake_deliverers(queue, endpoint_ids)  # committed: push_snapshot's own
    profile = await integration_service.resolve_profile(integration.profile)
    if profile.pull is None:
        return Synced(integration.id, len(endpoint_ids), None)
    credential = (integration_service.current_secret(box, integration)
                  if profile.pull.auth.credential == "integration_secret" else None)
    try:
        outcome = await pull.pull_balances(integration, profile.pull, credential, prod=prod)
    except pull.PullFailed as exc:
        log.error("balance pull wrote nothing: %s", exc,
                  extra={"integration": integration.slug, "profile": profile.name})
        return Synced(integration.id, len(endpoint_ids), None, str(exc))
    if outcome.unknown_refs or outcome.outside_segments:
        log.warning("balance pull skipped balances", extra={
            "integration": integration.slug, "unknown_refs": outcome.unknown_refs,
            "outside_segments": outcome.outside_segments})
    log.info("balances pulled", extra={"integration": integration.slug,
                                       "pages": outcome.pages, "written": outcome.written})
    return Synced(integration.id, len(endpoint_ids), outcome)
