"""Prometheus metrics held in Redis, so N API and M worker processes add up to one view.

A webhook callback is counted at the API edge and processed in a worker, so no
single process sees a whole story. Every process therefore increments the same
Redis hashes (the queue's Redis), and whichever API process is scraped renders
them: nothing lives in process memory, a restart loses nothing and every
replica answers a scrape with the service-wide totals.

Storage: one hash per family at ``<prefix><family name>``. A counter's field is
its label values as a compact JSON list, in declared label order. A histogram
has ``<bucket index>:<json>`` fields, each counting only the observations that
fall into that bucket (index ``len(buckets)`` is ``+Inf``), and a
``sum:<json>`` field in integer microseconds: HINCRBY is exact where
HINCRBYFLOAT would drift. ``render`` adds the buckets up into Prometheus'
cumulative ones, so ``_count`` equals the ``+Inf`` bucket by construction.
Bucket bounds are part of the stored layout: change them under a new family
name, not in place.

Each ``inc`` / ``observe`` is one Redis round trip, or none when buffered (the
API and the workers buffer and flush every second). They are best effort: a
Redis failure is logged (at most once a minute per instance) and swallowed,
because counting must never fail a callback. Misuse (an undeclared family,
wrong label names) raises ``ValueError`` at once; that is a bug, not an outage.

Every known label set is exposed from the start, at zero, so that ``rate()`` and
``increase()`` see the first event instead of a series that appears with it: the
whole product of a family's closed label sets (``Family.allowed``) and, for an
open label such as ``integration``, each value already stored under that label
name by any family.

Process metrics (CPU, memory, file descriptors, GC) come from prometheus_client's
own collectors. They belong to one process, and a scrape reaches only one of N
API processes (M workers have no port at all), so each process that names itself
(``process=``) writes a snapshot of its collectors with every flush, and the
scraped process renders every live snapshot with a ``process`` label.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import math
import os
import re
import socket
import time
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from prometheus_client import (
    CollectorRegistry,
    GCCollector,
    Metric,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from redis.exceptions import RedisError

from ccm_gateway.errors import CCMError

log = logging.getLogger("ccm_gateway.metrics")

# Integration slugs are bounded by admins; the cap only guards against a bug
# that puts free text (an error message, a payload field) into a label.
MAX_LABEL_VALUE_LENGTH = 64
WARNING_INTERVAL_SECONDS = 60.0
# A process snapshot older than this is a process that is gone (each live one writes
# its own every second); it is left out of the scrape and deleted.
PROCESS_STALE_SECONDS = 30.0

_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


@dataclass(frozen=True)
class Family:
    """One metric family: what it counts, its label names and, for a histogram, bounds."""

    name: str
    kind: Literal["counter", "histogram"]
    help: str
    labels: tuple[str, ...]
    buckets: tuple[float, ...] = ()
    # Labels with a closed set of values: an unknown value is a typo, caught like
    # an undeclared family rather than becoming a new time series.
    allowed: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _METRIC_NAME.match(self.name) or self.name.endswith("_total"):
            raise ValueError(f"bad metric name {self.name!r} (counters get _total on render)")
        for label in self.labels:
            if not _LABEL_NAME.match(label) or label.startswith("__") or label == "le":
                raise ValueError(f"bad label name {label!r} in {self.name}")
        if not set(self.allowed) <= set(self.labels):
            raise ValueError(f"{self.name}: allowed values for undeclared labels")
        if self.kind == "histogram":
            bounds = self.buckets
            if not bounds or not all(math.isfinite(b) for b in bounds) or any(
                    a >= b for a, b in itertools.pairwise(bounds)):
                raise ValueError(f"{self.name}: buckets must be finite and increasing")
        elif self.buckets:
            raise ValueError(f"{self.name}: only a histogram has buckets")


def _declare(*families: Family) -> dict[str, Family]:
    return {f.name: f for f in families}


def _codes(error: type[CCMError] = CCMError) -> frozenset[str]:
    return frozenset({error.code}).union(*(_codes(sub) for sub in error.__subclasses__()))


# Every code the error tree can answer with (errors.py), and success.
OUTCOMES = frozenset({"ok"}) | _codes()
# "unknown": refused before the document was parsed (no token, rate limited, a body
# that is not a GraphQL request, a syntax error), or an operation type the schema does
# not serve (subscriptions, until they are built).
GRAPHQL_OPERATIONS = frozenset({"query", "mutation", "unknown"})
# RFC 6749 §5.2's error codes, "throttled" (429 after repeated failed client
# authentications), and the error tree's for what fails outside OAuth (the database).
OAUTH_OUTCOMES = OUTCOMES | {"invalid_request", "invalid_client", "invalid_grant",
                             "unauthorized_client", "unsupported_grant_type", "invalid_scope",
                             "throttled"}
OUTBOUND_OUTCOMES = frozenset({"succeeded", "retrying", "failed", "superseded", "skipped"})
# Prometheus' default buckets: an API request takes milliseconds to seconds.
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

FAMILIES: Mapping[str, Family] = _declare(
    Family("graphql_requests", "counter",
           "GraphQL requests on /graphql, by operation type and outcome (ok or the error "
           "code of the first error).",
           ("operation", "outcome"),
           allowed={"operation": GRAPHQL_OPERATIONS, "outcome": OUTCOMES}),
    Family("graphql_request_seconds", "histogram",
           "Seconds from a GraphQL request's arrival on /graphql to its response, by "
           "operation type and outcome.",
           ("operation", "outcome"), buckets=REQUEST_BUCKETS,
           allowed={"operation": GRAPHQL_OPERATIONS, "outcome": OUTCOMES}),
    Family("oauth_token_requests", "counter",
           "Token requests on /oauth/token, by outcome (ok or the OAuth error code).",
           ("outcome",), allowed={"outcome": OAUTH_OUTCOMES}),
    Family("oauth_token_request_seconds", "histogram",
           "Seconds from a token request's arrival on /oauth/token to its response, by "
           "outcome.",
           ("outcome",), buckets=REQUEST_BUCKETS, allowed={"outcome": OAUTH_OUTCOMES}),
    Family("webhook_callbacks_received", "counter",
           "Webhook callbacks received at the API edge, before any check.",
           ("integration",)),
    Family("webhook_callbacks_refused", "counter",
           "Webhook callbacks refused at the API edge, by reason code.",
           ("integration", "reason")),
    Family("webhook_events_processed", "counter",
           "Inbound events a worker finished with, by outcome.",
           ("integration", "outcome"),
           allowed={"outcome": frozenset({"applied", "ignored", "parked", "dead"})}),
    Family("webhook_events_retried", "counter",
           "Inbound event attempts that failed transiently and were scheduled again.",
           ("integration",)),
    Family("webhook_events_dead_lettered", "counter",
           "Inbound events dead-lettered after a permanent failure or the last retry.",
           ("integration",)),
    Family("webhook_ingest_seconds", "histogram",
           "Seconds from a webhook callback's arrival to its acknowledgement.",
           ("integration",),
           buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)),
    Family("webhook_sync_lag_seconds", "histogram",
           "Seconds from an event's time at the vendor to its effect on the ledger.",
           ("integration",),
           buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
                    600.0, 1800.0, 3600.0)),
    Family("outbound_deliveries", "counter",
           "Outbound deliveries that reached an outcome, by endpoint id: succeeded, "
           "retrying (an attempt failed, another is scheduled), failed (out of retries or "
           "refused), superseded (a newer state replaced it unsent), skipped (the endpoint "
           "was disabled or deleted).",
           ("endpoint", "outcome"), allowed={"outcome": OUTBOUND_OUTCOMES}),
    Family("outbound_attempt_seconds", "histogram",
           "Seconds one outbound delivery attempt took, by endpoint id and target "
           "(primary or fallback URL).",
           ("endpoint", "target"), buckets=REQUEST_BUCKETS,
           allowed={"target": frozenset({"primary", "fallback"})}),
    Family("outbound_sync_lag_seconds", "histogram",
           "Seconds from a change's commit to the receiver's 2xx for it, by endpoint id.",
           ("endpoint",),
           buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0,
                    7200.0, 36000.0, 86400.0)),
    Family("outbound_circuit_transitions", "counter",
           "Circuit breaker transitions of an endpoint's URLs (opened, closed), by endpoint "
           "id and target; the state itself is in the endpoint's health.",
           ("endpoint", "target", "transition"),
           allowed={"target": frozenset({"primary", "fallback"}),
                    "transition": frozenset({"opened", "closed"})}),
    Family("alert_emails", "counter",
           "Alert e-mail attempts by outcome: sent, retrying (refused or unreachable, "
           "another try is scheduled), failed (refused for good or out of retries).",
           ("outcome",), allowed={"outcome": frozenset({"sent", "retrying", "failed"})}),
)


class Metrics:
    """Counters and histograms of ``FAMILIES``, shared through ``redis``."""

    def __init__(self, redis: Any, *, prefix: str = "ccm:metrics:",
                 buffered: bool = False, process: str | None = None) -> None:
        """``process``: this process's role ("api", "worker"); each flush then also
        writes its process metrics, as ``process="<role>-<host>-<pid>"``."""
        self.redis = redis
        self.prefix = prefix
        self._warned_at: float | None = None
        self._dropped = 0
        # Buffered: counts add up in memory and ``flush()`` writes them in one round
        # trip (the API flushes every second), which keeps Redis off the request path.
        # A crash loses at most the unflushed second; metrics are not the ledger.
        self._buffered = buffered
        self._pending: dict[str, dict[str, int]] = {}
        self.process = (None if process is None else
                        f"{process}-{socket.gethostname()}-{os.getpid()}"[
                            :MAX_LABEL_VALUE_LENGTH])
        self._collectors: CollectorRegistry | None = None
        if self.process is not None:
            self._collectors = CollectorRegistry(auto_describe=False)
            for collector in (ProcessCollector, PlatformCollector, GCCollector):
                collector(registry=self._collectors)

    @property
    def _processes_key(self) -> str:
        return self.prefix + "processes"

    def _add(self, key: str, field: str, amount: int) -> None:
        fields = self._pending.setdefault(key, {})
        fields[field] = fields.get(field, 0) + amount

    async def flush(self) -> None:
        """Write the buffered counts (no-op unbuffered); on a Redis error they are kept
        for the next flush."""
        snapshot = self._process_snapshot()
        if not self._pending and snapshot is None:
            return
        pending = self._pending or {}
        if self._pending:
            self._pending = {}
        try:
            # MULTI/EXEC: a scrape never sees a histogram bucket without its sum.
            async with self.redis.pipeline(transaction=True) as pipe:
                for key, fields in pending.items():
                    for field, amount in fields.items():
                        pipe.hincrby(key, field, amount)
                if snapshot is not None:
                    pipe.hset(self._processes_key, self.process, snapshot)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            for key, fields in pending.items():
                for field, amount in fields.items():
                    self._add(key, field, amount)
            self._dropped_one("flush", exc)

    def _process_snapshot(self) -> str | None:
        """This process's collectors as JSON: the time, and each family's name, type,
        help, unit and samples."""
        if self._collectors is None:
            return None
        families = [[m.name, m.type, m.documentation, m.unit,
                     [[s.name, s.labels, s.value] for s in m.samples]]
                    for m in self._collectors.collect()]
        return json.dumps({"at": time.time(), "families": families}, separators=(",", ":"))

    async def inc(self, name: str, labels: Mapping[str, str] | None = None,
                  amount: int = 1) -> None:
        family = _family(name, "counter")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
            raise ValueError(f"{name}: a counter goes up by a whole number, not {amount!r}")
        series = _series(family, labels)
        if self._buffered:
            self._add(self.prefix + name, series, amount)
            return
        try:
            await self.redis.hincrby(self.prefix + name, series, amount)
        except (RedisError, OSError) as exc:
            self._dropped_one(name, exc)

    async def observe(self, name: str, labels: Mapping[str, str] | None, value: float) -> None:
        """Record ``value`` seconds."""
        family = _family(name, "histogram")
        if isinstance(value, bool) or not math.isfinite(value):
            raise ValueError(f"{name}: cannot observe {value!r}")
        # A vendor clock ahead of ours gives a negative lag: that is no lag, and
        # a negative observation would make _sum go down, which rate() reads as a reset.
        value = max(float(value), 0.0)
        series = _series(family, labels)
        bucket = bisect_left(family.buckets, value)  # "le" is inclusive
        key = self.prefix + name
        if self._buffered:
            self._add(key, f"{bucket}:{series}", 1)
            self._add(key, f"sum:{series}", round(value * 1_000_000))
            return
        try:
            # MULTI/EXEC: a scrape never sees a bucket without its sum; still one round trip.
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.hincrby(key, f"{bucket}:{series}", 1)
                pipe.hincrby(key, f"sum:{series}", round(value * 1_000_000))
                await pipe.execute()
        except (RedisError, OSError) as exc:
            self._dropped_one(name, exc)

    async def render(self) -> str:
        """Every family in text exposition format 0.0.4; raises if Redis is unreachable."""
        await self.flush()  # this process's own counts are never a second behind
        async with self.redis.pipeline(transaction=False) as pipe:
            for family in FAMILIES.values():
                pipe.hgetall(self.prefix + family.name)
            pipe.hgetall(self._processes_key)
            *stored, processes = await pipe.execute()
        decoded = [{_text(k): _text(v) for k, v in fields.items()} for fields in stored]
        known = _known_values(zip(FAMILIES.values(), decoded, strict=True))
        lines: list[str] = []
        for family, fields in zip(FAMILIES.values(), decoded, strict=True):
            lines.append(f"# HELP {_exposed_name(family)} {_escape_help(family.help)}")
            lines.append(f"# TYPE {_exposed_name(family)} {family.kind}")
            series = _known_series(family, known)
            if family.kind == "counter":
                lines.extend(_counter_samples(family, fields, series))
            else:
                lines.extend(_histogram_samples(family, fields, series))
        text = "\n".join(lines) + "\n"
        live, stale = _live_snapshots(processes)
        if stale:
            with contextlib.suppress(RedisError, OSError):  # the next scrape tries again
                await self.redis.hdel(self._processes_key, *stale)
        if live:
            text += _render_snapshots(live)
        return text

    def _dropped_one(self, name: str, exc: Exception) -> None:
        self._dropped += 1
        now = time.monotonic()
        if self._warned_at is not None and now - self._warned_at < WARNING_INTERVAL_SECONDS:
            return
        log.warning("metrics not recorded: Redis error", extra={
            "metric": name, "error": exc.__class__.__name__, "detail": str(exc),
            "dropped": self._dropped})
        self._warned_at = now
        self._dropped = 0


def _family(name: str, kind: str) -> Family:
    family = FAMILIES.get(name)
    if family is None:
        raise ValueError(f"undeclared metric {name!r}")
    if family.kind != kind:
        raise ValueError(f"{name} is a {family.kind}; "
                         f"use {'inc' if family.kind == 'counter' else 'observe'}()")
    return family


def _series(family: Family, labels: Mapping[str, str] | None) -> str:
    """The hash field naming one label set: its values, JSON-encoded, in declared order."""
    labels = labels or {}
    if set(labels) != set(family.labels):
        raise ValueError(f"{family.name} takes labels {sorted(family.labels)}, "
                         f"not {sorted(labels)}")
    values = []
    for label in family.labels:
        value = labels[label]
        if not isinstance(value, str):
            raise ValueError(f"{family.name}: label {label} must be a string, not {value!r}")
        allowed = family.allowed.get(label)
        if allowed is not None and value not in allowed:
            raise ValueError(f"{family.name}: {label} must be one of {sorted(allowed)}")
        values.append(value[:MAX_LABEL_VALUE_LENGTH])
    return json.dumps(values, separators=(",", ":"))


def _parse_series(family: Family, encoded: str) -> tuple[str, ...] | None:
    # A field this code did not write (an older label layout) is skipped, not
    # allowed to break every scrape.
    try:
        values = json.loads(encoded)
    except ValueError:
        return None
    if (not isinstance(values, list) or len(values) != len(family.labels)
            or not all(isinstance(v, str) for v in values)):
        return None
    return tuple(values)


def _known_values(stored: Iterable[tuple[Family, Mapping[str, str]]]) -> dict[str, set[str]]:
    """Each open label name's values stored by any family (e.g. every integration
    that has been counted anywhere)."""
    known: dict[str, set[str]] = {}
    for family, fields in stored:
        open_labels = [(i, n) for i, n in enumerate(family.labels) if n not in family.allowed]
        if not open_labels:
            continue
        for stored_field in fields:
            encoded = stored_field if family.kind == "counter" else stored_field.partition(":")[2]
            values = _parse_series(family, encoded)
            if values is not None:
                for index, name in open_labels:
                    known.setdefault(name, set()).add(values[index])
    return known


def _known_series(family: Family, known: Mapping[str, set[str]]) -> list[tuple[str, ...]]:
    """Every label set exposed at zero before its first event: the product of each
    label's allowed values, or known values for an open label."""
    domains = [sorted(family.allowed.get(name) or known.get(name) or ()) for name in family.labels]
    return list(itertools.product(*domains))


def _counter_samples(family: Family, fields: Mapping[str, str],
                     known: Iterable[tuple[str, ...]] = ()) -> list[str]:
    totals: dict[tuple[str, ...], int] = dict.fromkeys(known, 0)
    for encoded, count in fields.items():
        values = _parse_series(family, encoded)
        if values is not None:
            totals[values] = int(count)
    name = _exposed_name(family)
    return [f"{name}{_label_text(family.labels, values)} {totals[values]}"
            for values in sorted(totals)]


def _histogram_samples(family: Family, fields: Mapping[str, str],
                       known: Iterable[tuple[str, ...]] = ()) -> list[str]:
    n_buckets = len(family.buckets) + 1
    counts: dict[tuple[str, ...], list[int]] = {values: [0] * n_buckets for values in known}
    sums_us: dict[tuple[str, ...], int] = dict.fromkeys(counts, 0)
    for stored, number in fields.items():
        head, _, encoded = stored.partition(":")
        values = _parse_series(family, encoded)
        if values is None:
            continue
        series_counts = counts.setdefault(values, [0] * n_buckets)
        sums_us.setdefault(values, 0)
        if head == "sum":
            sums_us[values] += int(number)
        elif head.isdigit() and int(head) < n_buckets:
            series_counts[int(head)] += int(number)
    bounds = [_go_float(b) for b in family.buckets] + ["+Inf"]
    lines: list[str] = []
    for values in sorted(counts):
        cumulative = 0
        for bound, count in zip(bounds, counts[values], strict=True):
            cumulative += count
            labels = _label_text((*family.labels, "le"), (*values, bound))
            lines.append(f"{family.name}_bucket{labels} {cumulative}")
        labels = _label_text(family.labels, values)
        lines.append(f"{family.name}_sum{labels} {_seconds(sums_us[values])}")
        lines.append(f"{family.name}_count{labels} {cumulative}")
    return lines


def _exposed_name(family: Family) -> str:
    return f"{family.name}_total" if family.kind == "counter" else family.name


def _label_text(names: Iterable[str], values: Iterable[str]) -> str:
    pairs = [f'{n}="{_escape_label_value(v)}"' for n, v in zip(names, values, strict=True)]
    return "{" + ",".join(pairs) + "}" if pairs else ""


def _escape_label_value(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _escape_help(text: str) -> str:
    return text.replace("\\", r"\\").replace("\n", r"\n")


def _go_float(value: float) -> str:
    # Prometheus matches "le" as a string across scrapes; Python's repr gives the
    # same shortest round-trip form its own client uses ("1.0", "0.005").
    return repr(float(value))


def _seconds(microseconds: int) -> str:
    # Exact decimal from the integer sum; float division could print 0.30000000000000004.
    whole, fraction = divmod(microseconds, 1_000_000)
    return f"{whole}.{fraction:06d}"


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _live_snapshots(stored: Mapping[Any, Any]) -> tuple[dict[str, Any], list[str]]:
    """(process -> its snapshot) of the live processes, and the fields of the gone
    (or unreadable) ones."""
    live: dict[str, Any] = {}
    stale: list[str] = []
    oldest = time.time() - PROCESS_STALE_SECONDS
    for key, value in stored.items():
        process = _text(key)
        try:
            snapshot = json.loads(_text(value))
            fresh = float(snapshot["at"]) >= oldest
        except (ValueError, KeyError, TypeError):
            fresh = False
        if fresh:
            live[process] = snapshot
        else:
            stale.append(process)
    return live, stale


class _Snapshots:
    """A prometheus_client collector of stored snapshots, each sample labelled with its
    process, so prometheus_client writes their exposition."""

    def __init__(self, snapshots: Mapping[str, Any]) -> None:
        self.snapshots = snapshots

    def collect(self) -> Iterable[Metric]:
        families: dict[str, Metric] = {}
        for process in sorted(self.snapshots):
            for name, kind, documentation, unit, samples in self.snapshots[process]["families"]:
                metric = families.get(name)
                if metric is None:
                    metric = families[name] = Metric(name, documentation, kind, unit)
                for sample_name, labels, value in samples:
                    metric.add_sample(sample_name, {**labels, "process": process}, value)
        return families.values()


def _render_snapshots(snapshots: Mapping[str, Any]) -> str:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshots(snapshots))
    return generate_latest(registry).decode()


__all__ = ["FAMILIES", "GRAPHQL_OPERATIONS", "MAX_LABEL_VALUE_LENGTH", "OAUTH_OUTCOMES",
           "OUTCOMES", "Family", "Metrics"]


async def flush_every_second(metrics: Metrics) -> None:
    """Run for the life of a process that buffers its metrics; cancel it to stop."""
    while True:
        await asyncio.sleep(1.0)
        await metrics.flush()
