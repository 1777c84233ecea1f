"""Metrics kept in Redis: aggregation across processes, exposition format, /metrics access.

Every Redis test runs on the embedded queue (fakeredis) and on real Redis, and
the output is read back with prometheus_client's parser, not with our own, and linted
with Prometheus' own promtool.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from arq.connections import ArqRedis
from fakeredis import FakeAsyncRedis, FakeServer
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio.connection import AbstractConnection
from starlette.applications import Starlette
from starlette.routing import Route
from testkit import require_service

from ccm_gateway.config import Settings
from ccm_gateway.http.metrics_endpoint import metrics_endpoint
from ccm_gateway.kit.metrics import (
    FAMILIES,
    GRAPHQL_OPERATIONS,
    MAX_LABEL_VALUE_LENGTH,
    OAUTH_OUTCOMES,
    OUTCOMES,
    PROCESS_STALE_SECONDS,
    Metrics,
)
from ccm_gateway.worker import open_queue

METRICS_REDIS_URL = os.environ.get("CCM_TEST_METRICS_REDIS_URL", "redis://127.0.0.1:6379/14")


@pytest.fixture(autouse=True)
def own_keys(monkeypatch: pytest.MonkeyPatch) -> str:
    """Every Metrics a test builds keeps its families under keys of the test's own, so what
    other runs (or the session's app) write to the same Redis adds nothing to what it reads:
    every known label set is rendered, so a stray integration would show."""
    prefix = f"ccm:metrics-test:{uuid.uuid4().hex}:"
    monkeypatch.setitem(Metrics.__init__.__kwdefaults__, "prefix", prefix)
    return prefix


@pytest.fixture(params=["fakeredis", "redis"])
async def queues(request: pytest.FixtureRequest,
                 own_keys: str) -> AsyncIterator[tuple[ArqRedis, ArqRedis]]:
    """Two clients on one Redis, as two processes of the service would hold."""
    if request.param == "fakeredis":
        # What open_queue builds for the embedded default, twice on one server.
        server = FakeServer()
        pair = tuple(ArqRedis(connection_pool=FakeAsyncRedis(server=server).connection_pool)
                     for _ in range(2))
    else:
        probe = aioredis.from_url(METRICS_REDIS_URL)
        try:
            await probe.ping()
        except (OSError, aioredis.ConnectionError) as exc:
            require_service("Redis", str(exc))
        finally:
            await probe.aclose()
        settings = replace(Settings(), redis_url=METRICS_REDIS_URL)
        pair = (await open_queue(settings), await open_queue(settings))
    try:
        yield pair  # type: ignore[misc]
    finally:
        stale = [key async for key in pair[0].scan_iter(match=f"{own_keys}*")]
        if stale:
            await pair[0].delete(*stale)
        for queue in pair:
            await queue.aclose()


def parse(text: str) -> dict[str, Any]:
    families = {f.name: f for f in text_string_to_metric_families(text)}
    # The parser turns a sample it cannot place into an "untyped" family of its
    # own instead of failing, so a malformed line shows up here.
    assert all(f.type != "untyped" for f in families.values()), families
    return families


def samples(text: str, family: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for s in parse(text)[family].samples}


def counted(text: str, family: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The samples of ``family`` that are not zero."""
    return {key: value for key, value in samples(text, family).items() if value}


async def test_every_declared_family_is_exposed_with_its_type_before_anything_is_counted(
        queues: tuple[ArqRedis, ArqRedis]) -> None:
    text = await Metrics(queues[0]).render()

    families = parse(text)
    assert {name: f.type for name, f in families.items()} == {
        name: family.kind for name, family in FAMILIES.items()}
    assert "# TYPE webhook_callbacks_received_total counter" in text
    # Families with an open label (integration) have no series before a value is known.
    assert not families["webhook_callbacks_received"].samples
    assert all(not any(s.value for s in f.samples) for f in families.values())


async def test_every_known_label_set_starts_at_zero(queues: tuple[ArqRedis, ArqRedis]) -> None:
    text = await Metrics(queues[0]).render()

    requests = samples(text, "graphql_requests")
    assert len(requests) == len(GRAPHQL_OPERATIONS) * len(OUTCOMES)
    assert requests[("graphql_requests_total",
                     (("operation", "mutation"), ("outcome", "CONFLICT")))] == 0
    assert set(requests.values()) == {0}
    latency = samples(text, "graphql_request_seconds")
    labels = (("operation", "query"), ("outcome", "ok"))
    assert latency[("graphql_request_seconds_count", labels)] == 0
    assert latency[("graphql_request_seconds_sum", labels)] == 0
    assert latency[("graphql_request_seconds_bucket", (("le", "+Inf"), *labels))] == 0
    tokens = samples(text, "oauth_token_requests")
    assert {dict(labels)["outcome"] for _, labels in tokens} == OAUTH_OUTCOMES
    assert {"ok", "invalid_client", "throttled", "DATABASE_UNAVAILABLE"} <= OAUTH_OUTCOMES


async def test_an_integration_counted_anywhere_starts_at_zero_everywhere(
        queues: tuple[ArqRedis, ArqRedis]) -> None:
    metrics = Metrics(queues[0])

    await metrics.inc("webhook_callbacks_received", {"integration": "stripe"})
    await metrics.inc("webhook_callbacks_refused", {"integration": "bms", "reason": "BAD_SIG"})

    text = await metrics.render()
    assert samples(text, "webhook_events_processed") == {
        ("webhook_events_processed_total", (("integration", name), ("outcome", outcome))): 0
        for name in ("bms", "stripe") for outcome in ("applied", "dead", "ignored", "parked")}
    assert samples(text, "webhook_events_retried") == {
        ("webhook_events_retried_total", (("integration", "bms"),)): 0,
        ("webhook_events_retried_total", (("integration", "stripe"),)): 0}
    assert samples(text, "webhook_callbacks_refused") == {
        ("webhook_callbacks_refused_total", (("integration", "bms"), ("reason", "BAD_SIG"))): 1,
        ("webhook_callbacks_refused_total",
         (("integration", "stripe"), ("reason", "BAD_SIG"))): 0}
    lag = samples(text, "webhook_sync_lag_seconds")
    assert lag[("webhook_sync_lag_seconds_count", (("integration", "stripe"),))] == 0
    assert lag[("webhook_sync_lag_seconds_bucket",
                (("integration", "stripe"), ("le", "+Inf")))] == 0


async def test_counts_from_two_processes_add_up(queues: tuple[ArqRedis, ArqRedis]) -> None:
    api, worker = Metrics(queues[0]), Metrics(queues[1])

    await asyncio.gather(
        *(api.inc("webhook_callbacks_received", {"integration": "stripe"}) for _ in range(50)),
        *(worker.inc("webhook_callbacks_received", {"integration": "stripe"}) for _ in range(30)),
        worker.inc("webhook_callbacks_received", {"integration": "bms-north"}, amount=7),
        worker.inc("webhook_events_processed", {"integration": "stripe", "outcome": "applied"}),
    )

    for metrics in (api, worker):
        text = await metrics.render()
        assert samples(text, "webhook_callbacks_received") == {
            ("webhook_callbacks_received_total", (("integration", "bms-north"),)): 7,
            ("webhook_callbacks_received_total", (("integration", "stripe"),)): 80,
        }
        assert counted(text, "webhook_events_processed") == {
            ("webhook_events_processed_total",
             (("integration", "stripe"), ("outcome", "applied"))): 1,
        }


async def test_histogram_buckets_are_cumulative_with_inclusive_bounds(
        queues: tuple[ArqRedis, ArqRedis]) -> None:
    api, worker = Metrics(queues[0]), Metrics(queues[1])
    label = {"integration": "stripe"}

    await api.observe("webhook_ingest_seconds", label, 0.0)  # -> le 0.001
    await worker.observe("webhook_ingest_seconds", label, 0.001)  # on a bound: le 0.001
    await api.observe("webhook_ingest_seconds", label, 0.0011)  # -> le 0.0025
    await worker.observe("webhook_ingest_seconds", label, 2.5)  # on the last bound
    await api.observe("webhook_ingest_seconds", label, 3.25)  # above every bound: +Inf only
    await worker.observe("webhook_ingest_seconds", {"integration": "other"}, 0.3)

    got = samples(await api.render(), "webhook_ingest_seconds")
    cumulative = {"0.001": 2, "0.0025": 3, "0.005": 3, "0.01": 3, "0.025": 3, "0.05": 3,
                  "0.1": 3, "0.25": 3, "0.5": 3, "1.0": 3, "2.5": 4, "+Inf": 5}
    stripe = {("webhook_ingest_seconds_bucket", (("integration", "stripe"), ("le", le))): n
              for le, n in cumulative.items()}
    stripe[("webhook_ingest_seconds_count", (("integration", "stripe"),))] = 5
    stripe[("webhook_ingest_seconds_sum", (("integration", "stripe"),))] = 5.7521
    assert {k: v for k, v in got.items() if ("integration", "stripe") in k[1]} == stripe
    assert got[("webhook_ingest_seconds_bucket", (("integration", "other"), ("le", "0.25")))] == 0
    assert got[("webhook_ingest_seconds_bucket", (("integration", "other"), ("le", "0.5")))] == 1
    assert got[("webhook_ingest_seconds_sum", (("integration", "other"),))] == 0.3


async def test_histogram_sum_is_exact_over_many_observations(
        queues: tuple[ArqRedis, ArqRedis]) -> None:
    metrics = Metrics(queues[0])
    label = {"integration": "erp"}

    await asyncio.gather(*(metrics.observe("webhook_sync_lag_seconds", label, 0.1)
                           for _ in range(1000)))

    text = await metrics.render()
    # Adding 0.1 a thousand times as floats gives 99.9999999999986.
    assert 'webhook_sync_lag_seconds_sum{integration="erp"} 100.000000' in text
    got = samples(text, "webhook_sync_lag_seconds")
    assert got[("webhook_sync_lag_seconds_count", (("integration", "erp"),))] == 1000
    assert got[("webhook_sync_lag_seconds_bucket", (("integration", "erp"), ("le", "0.05")))] == 0
    assert got[("webhook_sync_lag_seconds_bucket", (("integration", "erp"), ("le", "0.1")))] == 1000


async def test_a_negative_lag_from_a_skewed_vendor_clock_counts_as_zero(
        queues: tuple[ArqRedis, ArqRedis]) -> None:
    metrics = Metrics(queues[0])

    await metrics.observe("webhook_sync_lag_seconds", {"integration": "erp"}, -4.0)

    got = samples(await metrics.render(), "webhook_sync_lag_seconds")
    assert got[("webhook_sync_lag_seconds_sum", (("integration", "erp"),))] == 0.0
    assert got[("webhook_sync_lag_seconds_bucket", (("integration", "erp"), ("le", "0.05")))] == 1


async def test_label_values_are_escaped_per_the_exposition_format(
        queues: tuple[ArqRedis, ArqRedis]) -> None:
    metrics = Metrics(queues[0])
    nasty = 'say "hi"\\ then\nbye'

    await metrics.inc("webhook_callbacks_refused", {"integration": nasty, "reason": "é"})

    text = await metrics.render()
    assert r'integration="say \"hi\"\\ then\nbye"' in text
    assert samples(text, "webhook_callbacks_refused") == {
        ("webhook_callbacks_refused_total", (("integration", nasty), ("reason", "é"))): 1}


async def test_long_label_values_are_cut_to_the_cap(queues: tuple[ArqRedis, ArqRedis]) -> None:
    metrics = Metrics(queues[0])

    await metrics.inc("webhook_events_retried", {"integration": "x" * 500})
    await metrics.inc("webhook_events_retried", {"integration": "x" * 501})

    assert samples(await metrics.render(), "webhook_events_retried") == {
        ("webhook_events_retried_total",
         (("integration", "x" * MAX_LABEL_VALUE_LENGTH),)): 2}


async def test_each_count_and_a_whole_render_cost_one_round_trip(
        queues: tuple[ArqRedis, ArqRedis], monkeypatch: pytest.MonkeyPatch) -> None:
    metrics = Metrics(queues[0])
    await queues[0].ping()  # connect first, so only the calls below are counted
    writes = 0
    send = AbstractConnection.send_packed_command
    pool = queues[0].connection_pool

    async def counting_send(self: AbstractConnection, *args: Any, **kwargs: Any) -> None:
        nonlocal writes
        # Only this client's connections: the session app flushes its own metrics every
        # second on other connections of the same process.
        if self in pool._in_use_connections or self in pool._available_connections:
            writes += 1
        await send(self, *args, **kwargs)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counting_send)

    await metrics.inc("webhook_callbacks_received", {"integration": "stripe"})
    assert writes == 1
    await metrics.observe("webhook_ingest_seconds", {"integration": "stripe"}, 0.02)
    assert writes == 2
    await metrics.render()
    assert writes == 3


@pytest.mark.parametrize(("call", "message"), [
    (lambda m: m.inc("webhook_callbacks_recieved", {"integration": "a"}), "undeclared"),
    (lambda m: m.inc("webhook_callbacks_received", {"integratoin": "a"}), "takes labels"),
    (lambda m: m.inc("webhook_callbacks_received"), "takes labels"),
    (lambda m: m.inc("webhook_callbacks_refused", {"integration": "a"}), "takes labels"),
    (lambda m: m.inc("webhook_events_processed", {"integration": "a", "outcome": "aplied"}),
     "must be one of"),
    (lambda m: m.inc("webhook_callbacks_received", {"integration": "a"}, amount=-1), "whole"),
    (lambda m: m.inc("webhook_ingest_seconds", {"integration": "a"}), "use observe"),
    (lambda m: m.observe("webhook_callbacks_received", {"integration": "a"}, 1.0), "use inc"),
    (lambda m: m.observe("webhook_ingest_seconds", {"integration": "a"}, float("nan")),
     "cannot observe"),
])
async def test_misuse_is_a_programming_error(call: Any, message: str) -> None:
    # Raised before any I/O: this client points at nothing and is never used.
    metrics = Metrics(ArqRedis(host="127.0.0.1", port=_closed_port()))

    with pytest.raises(ValueError, match=message):
        await call(metrics)


async def test_redis_down_loses_the_count_but_never_fails_the_caller(
        caplog: pytest.LogCaptureFixture) -> None:
    down = ArqRedis(host="127.0.0.1", port=_closed_port())
    metrics = Metrics(down)
    caplog.set_level(logging.WARNING, logger="ccm_gateway.metrics")

    try:
        for _ in range(3):
            await metrics.inc("webhook_callbacks_received", {"integration": "stripe"})
            await metrics.observe("webhook_ingest_seconds", {"integration": "stripe"}, 0.01)
    finally:
        await down.aclose()

    warnings = [r for r in caplog.records if r.name == "ccm_gateway.metrics"]
    assert len(warnings) == 1, "one warning a minute, not one per dropped count"
    assert warnings[0].levelno == logging.WARNING
    assert warnings[0].metric == "webhook_callbacks_received"  # type: ignore[attr-defined]


# --- GET /metrics ---------------------------------------------------------------


def metrics_app(queue: ArqRedis, token: str | None) -> Starlette:
    app = Starlette(routes=[Route("/metrics", metrics_endpoint)])
    app.state.queue = queue
    app.state.settings = replace(Settings(), metrics_token=token)
    return app


async def get_metrics(app: Starlette,
                      headers: dict[str, str | bytes] | None = None) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ccm.test") as client:
        return await client.get("/metrics", headers=headers or {})


async def test_metrics_endpoint_serves_the_exposition_format_with_the_token(
        queues: tuple[ArqRedis, ArqRedis]) -> None:
    await Metrics(queues[1]).inc("webhook_events_dead_lettered", {"integration": "stripe"})
    app = metrics_app(queues[0], token="s3cret-token")

    response = await get_metrics(app, {"Authorization": "Bearer s3cret-token"})

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert samples(response.text, "webhook_events_dead_lettered") == {
        ("webhook_events_dead_lettered_total", (("integration", "stripe"),)): 1}


@pytest.mark.parametrize("authorization", [
    None, "Bearer wrong-token", "Bearer s3cret-toke", "Basic s3cret-token", "s3cret-token",
    "Bearer s3cret-tokén".encode(),
])
async def test_metrics_endpoint_refuses_a_missing_or_wrong_token(
        authorization: str | bytes | None) -> None:
    app = metrics_app(ArqRedis(host="127.0.0.1", port=_closed_port()), token="s3cret-token")
    headers: dict[str, str | bytes] = {}
    if authorization is not None:
        headers["Authorization"] = authorization

    response = await get_metrics(app, headers)

    assert response.status_code == 401
    assert response.json()["error"] == "UNAUTHENTICATED"
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_metrics_endpoint_is_open_when_no_token_is_configured(
        queues: tuple[ArqRedis, ArqRedis]) -> None:
    response = await get_metrics(metrics_app(queues[0], token=None))

    assert response.status_code == 200
    assert "webhook_ingest_seconds" in parse(response.text)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_buffered_counts_reach_redis_only_when_flushed(
        queues: tuple[ArqRedis, ArqRedis]) -> None:
    api, other = Metrics(queues[0], buffered=True), Metrics(queues[1])
    label = {"integration": "stripe"}
    for _ in range(3):
        await api.inc("webhook_callbacks_received", label)
    await api.observe("webhook_ingest_seconds", label, 0.004)

    # Another process sees nothing yet ...
    assert not parse(await other.render())["webhook_callbacks_received"].samples
    # ... until this one flushes, in one MULTI with histogram bucket and sum together.
    await api.flush()
    text = await other.render()
    assert samples(text, "webhook_callbacks_received") == {
        ("webhook_callbacks_received_total", (("integration", "stripe"),)): 3}
    ingest = samples(text, "webhook_ingest_seconds")
    assert ingest[("webhook_ingest_seconds_count", (("integration", "stripe"),))] == 1
    assert ingest[("webhook_ingest_seconds_sum", (("integration", "stripe"),))] == 0.004
    await api.flush()  # nothing pending: nothing added twice
    assert samples(await other.render(), "webhook_callbacks_received")[
        ("webhook_callbacks_received_total", (("integration", "stripe"),))] == 3


async def test_buffered_counts_survive_a_failed_flush(
        queues: tuple[ArqRedis, ArqRedis]) -> None:
    down = aioredis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    metrics = Metrics(down, buffered=True)
    await metrics.inc("webhook_callbacks_received", {"integration": "stripe"}, amount=5)
    await metrics.flush()  # Redis unreachable: logged, kept
    await down.aclose()
    metrics.redis = queues[0]
    await metrics.flush()
    assert samples(await Metrics(queues[1]).render(), "webhook_callbacks_received") == {
        ("webhook_callbacks_received_total", (("integration", "stripe"),)): 5}


# --- process metrics (prometheus_client's collectors) ----------------------------------


async def test_each_process_publishes_its_own_process_metrics(
        queues: tuple[ArqRedis, ArqRedis]) -> None:
    api = Metrics(queues[0], buffered=True, process="api")
    worker = Metrics(queues[1], buffered=True, process="worker")
    await worker.flush()  # every second in a live process, counts or not

    text = await api.render()  # the scraped process flushes its own first

    families = parse(text)
    cpu = {s.labels["process"]: s.value for s in families["process_cpu_seconds"].samples}
    assert set(cpu) == {api.process, worker.process}
    assert api.process.startswith("api-") and worker.process.startswith("worker-")
    assert all(seconds > 0 for seconds in cpu.values())
    assert families["process_cpu_seconds"].type == "counter"
    memory = families["process_resident_memory_bytes"].samples
    assert {s.labels["process"] for s in memory} == {api.process, worker.process}
    assert all(s.value > 0 for s in memory)
    assert {s.labels["process"] for s in families["python_info"].samples} == {
        api.process, worker.process}
    assert families["python_gc_collections"].samples


async def test_a_gone_process_drops_out_of_the_scrape(
        queues: tuple[ArqRedis, ArqRedis], monkeypatch: pytest.MonkeyPatch,
        own_keys: str) -> None:
    gone = Metrics(queues[1], buffered=True, process="worker")
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now - PROCESS_STALE_SECONDS - 1)
    await gone.flush()
    monkeypatch.setattr(time, "time", lambda: now)
    api = Metrics(queues[0], buffered=True, process="api")

    first = parse(await api.render())
    assert {s.labels["process"] for s in first["process_open_fds"].samples} == {api.process}
    assert await queues[0].hkeys(f"{own_keys}processes") == [api.process.encode()]


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        require_service("promtool", "not installed (Debian package prometheus)")
    assert path is not None
    return path


async def test_promtool_finds_nothing_to_lint_in_a_full_exposition(
        queues: tuple[ArqRedis, ArqRedis]) -> None:
    binary = promtool()
    metrics = Metrics(queues[0], buffered=True, process="api")
    for family in FAMILIES.values():
        labels = {name: min(family.allowed.get(name, {'say "hi"\\\n'}))
                  for name in family.labels}
        if family.kind == "counter":
            await metrics.inc(family.name, labels, amount=3)
        else:
            await metrics.observe(family.name, labels, 0.042)
    await Metrics(queues[1], buffered=True, process="worker").flush()

    text = await metrics.render()

    assert "process_cpu_seconds_total{" in text and 'graphql_requests_total{' in text
    checked = await asyncio.to_thread(
        subprocess.run, [binary, "check", "metrics"], input=text, capture_output=True,
        text=True, timeout=60, check=False)
    assert (checked.returncode, checked.stdout, checked.stderr) == (0, "", "")
