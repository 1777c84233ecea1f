"""How outbound endpoints are doing: figures from their attempts and deliveries, and the
state of each URL's circuit breaker, which the deliverers keep in Redis.

A success rate counts attempts, not deliveries: a delivery that went through on its
third try shows two failures and a success, as the receiver saw them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from redis.exceptions import RedisError
from tortoise.functions import Count, Max, Min

from ccm_gateway.outbound.breaker import CircuitBreaker
from ccm_gateway.outbound.models import (
    DeliveryStatus,
    OutboundAttempt,
    OutboundDelivery,
    OutboundEndpoint,
)

log = logging.getLogger("ccm_gateway.outbound")

HEALTH_WINDOW = timedelta(hours=24)
# Still to go out: waiting for an attempt, or one in flight.
UNSENT_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING, DeliveryStatus.SENDING)


class CircuitState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


async def circuit_states(redis: Any, urls: Sequence[str]) -> list[CircuitState | None]:
    """Each URL's breaker state in one round trip; a URL no breaker has seen is closed.
    None where it is not known: Redis did not answer, or holds what no breaker wrote."""
    try:
        states = await CircuitBreaker(redis).states(urls)
    except (RedisError, OSError) as exc:
        log.warning("circuit states unavailable: %s", exc.__class__.__name__)
        return [None] * len(urls)
    return [None if state is None else CircuitState(state) for state in states]


async def circuit_states_by_key(keys: list[tuple[Any, str]]) -> list[CircuitState | None]:
    """Batch function (DataLoader): keys are (redis client, URL), in key order."""
    found: dict[tuple[int, str], CircuitState | None] = {}
    by_client: dict[int, tuple[Any, list[str]]] = {}
    for redis, url in keys:
        by_client.setdefault(id(redis), (redis, []))[1].append(url)
    for client_id, (redis, urls) in by_client.items():
        for url, state in zip(urls, await circuit_states(redis, urls), strict=True):
            found[(client_id, url)] = state
    return [found[(id(redis), url)] for redis, url in keys]


@dataclass(frozen=True, slots=True)
class Figures:
    """An endpoint's (or several endpoints') delivery figures."""

    attempts: int  # in the health window
    succeeded: int  # of those
    last_success_at: datetime | None
    last_failure_at: datetime | None
    unsent: int  # deliveries still to go out, now
    oldest_unsent_change_at: datetime | None  # when the change behind the oldest was made
    failed: int  # deliveries given up on (FAILED) in the health window

    @property
    def success_rate(self) -> float | None:
        """succeeded / attempts; None when nothing was attempted."""
        return self.succeeded / self.attempts if self.attempts else None


NONE = Figures(0, 0, None, None, 0, None, 0)


def _latest(values: Iterable[datetime | None]) -> datetime | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _earliest(values: Iterable[datetime | None]) -> datetime | None:
    present = [v for v in values if v is not None]
    return min(present) if present else None


def combine(figures: Sequence[Figures]) -> Figures:
    """The figures of several endpoints as one."""
    return Figures(
        attempts=sum(f.attempts for f in figures), succeeded=sum(f.succeeded for f in figures),
        last_success_at=_latest(f.last_success_at for f in figures),
        last_failure_at=_latest(f.last_failure_at for f in figures),
        unsent=sum(f.unsent for f in figures),
        oldest_unsent_change_at=_earliest(f.oldest_unsent_change_at for f in figures),
        failed=sum(f.failed for f in figures))


async def endpoint_figures(endpoint_ids: Sequence[Any]) -> dict[str, Figures]:
    """Figures of several endpoints in four grouped queries, keyed by ``str(endpoint id)``
    (grouped rows key UUIDs as UUID on PostgreSQL and may as str on SQLite)."""
    if not endpoint_ids:
        return {}
    ids = list(endpoint_ids)
    since = datetime.now(UTC) - HEALTH_WINDOW
    attempts = OutboundAttempt.filter(delivery__endpoint_id__in=ids)
    counts: dict[str, dict[bool, int]] = {}
    for r in await attempts.filter(attempted_at__gte=since).annotate(n=Count("id")).group_by(
            "delivery__endpoint_id", "succeeded").values("delivery__endpoint_id", "succeeded",
                                                         "n"):
        counts.setdefault(str(r["delivery__endpoint_id"]), {})[bool(r["succeeded"])] = r["n"]
    last: dict[str, dict[bool, datetime]] = {}
    for r in await attempts.annotate(at=Max("attempted_at")).group_by(
            "delivery__endpoint_id", "succeeded").values("delivery__endpoint_id", "succeeded",
                                                         "at"):
        last.setdefault(str(r["delivery__endpoint_id"]), {})[bool(r["succeeded"])] = r["at"]
    deliveries = OutboundDelivery.filter(endpoint_id__in=ids)
    unsent = {str(r["endpoint_id"]): (r["n"], r["oldest"]) for r in await deliveries.filter(
        status__in=UNSENT_STATUSES).annotate(n=Count("id"), oldest=Min("changed_at")).group_by(
        "endpoint_id").values("endpoint_id", "n", "oldest")}
    failed = {str(r["endpoint_id"]): r["n"] for r in await deliveries.filter(
        status=DeliveryStatus.FAILED, updated_at__gte=since).annotate(n=Count("id")).group_by(
        "endpoint_id").values("endpoint_id", "n")}
    result = {}
    for endpoint_id in map(str, ids):
        c, at = counts.get(endpoint_id, {}), last.get(endpoint_id, {})
        waiting, oldest = unsent.get(endpoint_id, (0, None))
        result[endpoint_id] = Figures(
            attempts=sum(c.values()), succeeded=c.get(True, 0),
            last_success_at=at.get(True), last_failure_at=at.get(False),
            unsent=waiting, oldest_unsent_change_at=oldest, failed=failed.get(endpoint_id, 0))
    return result


async def endpoint_figures_by_id(endpoint_ids: list[Any]) -> list[Figures]:
    """Batch function (DataLoader): each endpoint's figures, in key order."""
    found = await endpoint_figures(endpoint_ids)
    return [found[str(k)] for k in endpoint_ids]


@dataclass(frozen=True, slots=True)
class IntegrationFigures:
    """The outbound side of one integration: its live endpoints, and their figures."""

    endpoints: int  # not deleted
    enabled: int  # of those
    figures: Figures


async def integration_figures(integration_ids: Sequence[Any]) -> dict[str, IntegrationFigures]:
    """Figures of several integrations' live endpoints together, keyed by ``str(id)``."""
    if not integration_ids:
        return {}
    endpoints = await OutboundEndpoint.filter(
        integration_id__in=list(integration_ids), deleted_at=None).values(
        "id", "integration_id", "enabled")
    figures = await endpoint_figures([e["id"] for e in endpoints])
    result = {}
    for integration_id in map(str, integration_ids):
        own = [e for e in endpoints if str(e["integration_id"]) == integration_id]
        result[integration_id] = IntegrationFigures(
            endpoints=len(own), enabled=sum(1 for e in own if e["enabled"]),
            figures=combine([figures[str(e["id"])] for e in own]))
    return result


async def integration_figures_by_id(integration_ids: list[Any]) -> list[IntegrationFigures]:
    """Batch function (DataLoader): each integration's outbound figures, in key order."""
    found = await integration_figures(integration_ids)
    return [found[str(k)] for k in integration_ids]
