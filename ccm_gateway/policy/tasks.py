"""Policy jobs for the arq worker: pruning velocity buckets no window can reach."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from ccm_gateway.policy import evaluate
from ccm_gateway.policy.models import VelocityCounter

log = logging.getLogger("ccm_gateway.policy")

_BATCH = 5000


def _oldest_needed(now: datetime) -> dict[int, datetime]:
    """Per bucket size, the start of the oldest bucket the longest window of that size can
    still count (one bucket of margin: a window ends inside its current bucket)."""
    longest = {evaluate.MINUTE: evaluate.MINUTE_BUCKETS_UP_TO,
               evaluate.HOUR: evaluate.MAX_WINDOW_SECONDS}
    return {size: now - timedelta(seconds=window + size) for size, window in longest.items()}


async def prune_velocity_counters(now: datetime | None = None) -> int:
    """Delete the buckets older than any window of their size reaches; in small batches, so
    no delete holds many row locks. Writers only touch the current bucket."""
    now = now or datetime.now(UTC)
    deleted = 0
    for size, cutoff in _oldest_needed(now).items():
        while ids := await VelocityCounter.filter(
                bucket_seconds=size, bucket_start__lt=cutoff).limit(_BATCH) \
                .values_list("id", flat=True):
            deleted += await VelocityCounter.filter(id__in=list(ids)).delete()
    return deleted


async def prune_counters(ctx: dict[str, Any]) -> int:
    """`velocity.prune`: hourly."""
    deleted = await prune_velocity_counters()
    if deleted:
        log.info("pruned velocity buckets", extra={"count": deleted})
    return deleted
