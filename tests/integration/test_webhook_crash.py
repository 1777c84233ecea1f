"""Invariant 5 under a crash: a burst of callbacks while the worker is SIGKILLed.

A burst of 2,000 signed Stripe callbacks (plus exact resends) goes to a real
`ccm-gateway serve` process; midway the separate `ccm-gateway worker` process
is killed with SIGKILL and later a new one is started. Every callback must be
acknowledged only once stored, and end up applied exactly once: one ledger
entry per vendor event, balances equal to the payments sent, and
`ccm-gateway verify` clean.

What the killed worker held is recovered by the `inbox.sweep` cron (every 15 s,
for events left RECEIVED longer than CCM_WEBHOOK_SWEEP_AFTER_SECONDS, here 3 s):
arq's own in-progress key would block a rerun of those jobs for about an hour.

Only on PostgreSQL + Redis: the embedded default is one process, with no
separate worker to kill. The subprocesses use their own Redis database (the
session app's embedded worker consumes the queue in CCM_TEST_REDIS_URL's), so
only the worker processes started here see these callbacks' jobs; the
PostgreSQL database is the session's. (The session app's own sweep, at the
default 60 s, could join in only for an event left unapplied that long, and
would apply it under the same row lock and idempotency key.)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from webhook_kit import (
    balance,
    payment_intent,
    stripe_event,
    stripe_headers,
)

from ccm_gateway.integration.models import InboundEvent, InboundStatus
from ccm_gateway.ledger.models import EntryKind, LedgerEntry

BACKEND = os.environ.get("CCM_TEST_BACKEND", "sqlite")

pytestmark = pytest.mark.skipif(
    BACKEND != "postgres",
    reason="needs PostgreSQL + Redis and separate API and worker processes "
           "(CCM_TEST_BACKEND=postgres); the embedded default runs in one process")

CALLBACKS = 2000
CUSTOMERS = 50
CONCURRENCY = 50
DUPLICATE_SHARE = 0.05
KILL_AFTER_ACKS = 700
RESTART_AFTER_ACKS = 1400
SETTLE_TIMEOUT = 180.0
START_TIMEOUT = 30.0
# Candidate Redis databases for the subprocesses (the session app's embedded worker uses
# CCM_TEST_REDIS_URL's, 15 by default; tests/kit uses 14, bench/ 11, 13 and 14). The first
# one whose claim key this run can take is used, so two suites running side by side on
# one machine do not share (and flush) one arq queue.
CRASH_REDIS_DBS = tuple(int(db) for db in os.environ.get("CCM_TEST_CRASH_REDIS_DB",
                                                         "12,10,9,8").split(","))
CLAIM_KEY = "ccm-test:webhook-crash:claim"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _claim_redis_db(session_url: str) -> tuple[str, Any]:
    """A Redis database of our own, flushed: its URL and a client on it."""
    import redis.asyncio as aioredis

    parts = urlsplit(session_url)
    token = uuid.uuid4().hex
    for db in CRASH_REDIS_DBS:
        if parts.path.strip("/") == str(db):
            continue  # the session app's own queue
        url = urlunsplit(parts._replace(path=f"/{db}"))
        client = aioredis.from_url(url)
        if await client.set(CLAIM_KEY, token, nx=True, ex=900):
            await client.flushdb()
            await client.set(CLAIM_KEY, token, ex=900)
            return url, client
        await client.aclose()
    raise AssertionError(f"no free Redis database among {CRASH_REDIS_DBS} (each is claimed "
                         f"by another run; set CCM_TEST_CRASH_REDIS_DB)")


class Processes:
    """`ccm-gateway` subprocesses with their output in files; all killed at the end."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.started: list[tuple[str, subprocess.Popen[bytes], Path]] = []

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = self.logs / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen([sys.executable, "-m", "ccm_gateway.cli", *args],
                                    env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL)
        self.started.append((name, proc, log))
        return proc

    def log_of(self, proc: subprocess.Popen[bytes]) -> Path:
        return next(log for _, p, log in self.started if p is proc)

    def stop_all(self) -> None:
        for _, proc, _ in self.started:
            if proc.poll() is None:
                proc.terminate()
        for _, proc, _ in self.started:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)

    def tails(self, lines: int = 40) -> str:
        out = []
        for name, proc, log in self.started:
            text = log.read_text(errors="replace").splitlines() if log.exists() else []
            out.append(f"----- {name} (pid {proc.pid}, exit {proc.returncode}), "
                       f"last {lines} of {len(text)} lines -----")
            out.extend(text[-lines:])
        return "\n".join(out)


async def _wait_ready(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    async with httpx.AsyncClient(base_url=base, timeout=2.0) as http:
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"ccm-gateway serve exited with {proc.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get("/readyz")).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise AssertionError(f"{base}/readyz not ready within {START_TIMEOUT}s")
            await asyncio.sleep(0.2)


async def _wait_worker_started(processes: Processes, proc: subprocess.Popen[bytes]) -> None:
    log = processes.log_of(proc)
    deadline = time.monotonic() + START_TIMEOUT
    while "Starting worker" not in log.read_text(errors="replace"):
        if proc.poll() is not None:
            raise AssertionError(f"ccm-gateway worker exited with {proc.returncode}")
        if time.monotonic() > deadline:
            raise AssertionError(f"the worker did not start within {START_TIMEOUT}s")
        await asyncio.sleep(0.1)


async def _status_counts(integration_id: str) -> Counter[str]:
    rows = await InboundEvent.filter(integration_id=integration_id).values_list("status",
                                                                                flat=True)
    return Counter(str(s) for s in rows)


async def test_burst_with_worker_killed_midway_applies_each_callback_once(
        settings, make_integration, linked_customer, tmp_path):
    assert settings.redis_url, "the postgres backend runs with Redis"
    hook = await make_integration("stripe", rateLimit={"perSecond": 1_000_000,
                                                        "burst": 100_000})
    rng = random.Random(20261123)
    refs = [f"cus_crash_{i:02d}" for i in range(CUSTOMERS)]
    customers = {ref: await linked_customer(hook, ref, limit="5000.00") for ref in refs}

    # 2,000 distinct payment_intent.succeeded events, amounts varied, spread over customers.
    events = []
    expected: dict[str, int] = defaultdict(int)
    for i in range(CALLBACKS):
        ref = refs[i % CUSTOMERS] if i < CUSTOMERS else rng.choice(refs)
        amount = rng.randint(1, 250_000)
        event = stripe_event("payment_intent.succeeded", payment_intent(ref, amount),
                             event_id=f"evt_crash_{i:04d}_{uuid.uuid4().hex[:8]}")
        events.append(event)
        expected[ref] += amount
    duplicates = set(rng.sample(range(CALLBACKS), int(CALLBACKS * DUPLICATE_SHARE)))

    redis_url, crash_redis = await _claim_redis_db(settings.redis_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCM_")}
    env.update({
        "CCM_DATABASE_URL": settings.database_url,
        "CCM_REDIS_URL": redis_url,
        "CCM_SECRET_KEY": settings.secret_key,
        "CCM_EMBEDDED_WORKER": "false",
        "CCM_RATE_LIMIT_PER_SECOND": "0",
        "CCM_WEBHOOK_SWEEP_AFTER_SECONDS": "3",
        "CCM_LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    })
    if settings.secret_key_previous:
        env["CCM_SECRET_KEY_PREVIOUS"] = settings.secret_key_previous
    processes = Processes(env, tmp_path)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    stats: dict[str, Any] = {}
    started = time.monotonic()
    try:
        serve = processes.start("serve", "serve", "--host", "127.0.0.1", "--port", str(port))
        first_worker = processes.start("worker-1", "worker")
        await _wait_ready(base, serve)
        await _wait_worker_started(processes, first_worker)

        acks: dict[int, str] = {}
        problems: list[str] = []
        kill_at = asyncio.Event()
        restart_at = asyncio.Event()
        gate = asyncio.Semaphore(CONCURRENCY)

        async def post(http: httpx.AsyncClient, body: str,
                       headers: dict[str, str]) -> httpx.Response:
            return await http.post(f"/webhooks/{hook.slug}", content=body, headers=headers)

        async def deliver(http: httpx.AsyncClient, i: int) -> None:
            async with gate:
                body = json.dumps(events[i])
                headers = stripe_headers(body, hook.secret)
                response = await post(http, body, headers)
                if response.status_code != 202:
                    problems.append(f"event {i}: {response.status_code} {response.text}")
                    return
                acks[i] = response.json()["id"]
                if len(acks) >= KILL_AFTER_ACKS:
                    kill_at.set()
                if len(acks) >= RESTART_AFTER_ACKS:
                    restart_at.set()
                if i in duplicates:  # the vendor resends the very same request
                    again = await post(http, body, headers)
                    reply = again.json() if again.status_code == 200 else {}
                    if (again.status_code != 200 or reply.get("duplicate") is not True
                            or reply.get("id") != acks[i]):
                        problems.append(f"resend of event {i}: {again.status_code} "
                                        f"{again.text}")

        async def crash_and_recover() -> None:
            await kill_at.wait()
            first_worker.send_signal(signal.SIGKILL)
            await asyncio.to_thread(first_worker.wait, 10)
            stats["acked_at_kill"] = len(acks)
            counts = await _status_counts(hook.id)
            stats["applied_at_kill"] = counts[InboundStatus.APPLIED.value]
            stats["stored_at_kill"] = sum(counts.values())
            stats["held_at_kill"] = len([k async for k in crash_redis.scan_iter(
                "arq:in-progress:inbound:*")])
            stats["killed_after_s"] = round(time.monotonic() - started, 1)
            await restart_at.wait()
            processes.start("worker-2", "worker")
            stats["restarted_after_s"] = round(time.monotonic() - started, 1)

        recovery = asyncio.create_task(crash_and_recover())
        # Idle connections are dropped well before uvicorn's 5 s keep-alive timeout: reusing
        # one the server is closing at that moment would fail a callback with a ReadError.
        limits = httpx.Limits(max_connections=CONCURRENCY,
                              max_keepalive_connections=CONCURRENCY, keepalive_expiry=1.0)
        async with httpx.AsyncClient(base_url=base, timeout=60.0, limits=limits) as http:
            await asyncio.gather(*(deliver(http, i) for i in range(CALLBACKS)))
        stats["sent_after_s"] = round(time.monotonic() - started, 1)
        kill_at.set()
        restart_at.set()
        await asyncio.wait_for(recovery, timeout=30)

        assert not problems, f"{len(problems)} callbacks answered wrongly: {problems[:5]}"
        assert len(acks) == CALLBACKS and len(set(acks.values())) == CALLBACKS
        # The crash really happened mid-run: part applied, the rest still to do.
        assert first_worker.returncode == -signal.SIGKILL
        assert 0 < stats["applied_at_kill"] < CALLBACKS, stats
        assert stats["stored_at_kill"] >= stats["acked_at_kill"], stats

        deadline = time.monotonic() + SETTLE_TIMEOUT
        while True:
            counts = await _status_counts(hook.id)
            if counts[InboundStatus.APPLIED.value] == CALLBACKS:
                break
            assert time.monotonic() < deadline, (
                f"not all applied within {SETTLE_TIMEOUT}s: {dict(counts)}; {stats}")
            await asyncio.sleep(0.5)
        stats["settled_after_s"] = round(time.monotonic() - started, 1)

        # Exactly once: one inbox row and one ledger entry per vendor event.
        assert await InboundEvent.filter(integration_id=hook.id).count() == CALLBACKS
        rows = await InboundEvent.filter(integration_id=hook.id).values_list("id", "external_id")
        assert {str(row_id) for row_id, _ in rows} == set(acks.values())
        assert {ext for _, ext in rows} == {e["id"] for e in events}
        keys = await LedgerEntry.filter(source_id=hook.slug).values_list("idempotency_key",
                                                                         "kind")
        assert len(keys) == CALLBACKS
        assert all(kind == EntryKind.PAYMENT for _, kind in keys)
        assert sorted(key for key, _ in keys) == sorted(f"{hook.slug}:{e['id']}"
                                                        for e in events)
        for ref, customer_id in customers.items():
            assert await balance(customer_id) == -expected[ref], ref

        verify = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "ccm_gateway.cli", "verify"], env=env,
            capture_output=True, text=True, timeout=120)
        assert verify.returncode == 0, verify.stdout + verify.stderr
        report = json.loads(verify.stdout)
        assert report["ok"] is True and report["accounts_checked"] >= CUSTOMERS, report
        print(f"crash test: {stats}")
    except BaseException:
        print(f"crash test stats: {stats}")
        print(processes.tails())
        raise
    finally:
        processes.stop_all()
        with contextlib.suppress(Exception):
            await crash_redis.flushdb()
        await crash_redis.aclose()
