"""arq worker settings and supervision, and the embedded queue. How a job looks in Redis
(JSON, arq's keys) is ``queue.py``, which services use without importing this module."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import logging
import random
import signal
from typing import Any

from arq import cron, func
from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.worker import Worker, create_worker
from redis.exceptions import RedisError

from ccm_gateway.alert import notify as alert_notify
from ccm_gateway.approval import tasks as approval_tasks
from ccm_gateway.config import Settings, redact_url
from ccm_gateway.errors import ServiceUnreachable
from ccm_gateway.export import tasks as export_tasks
from ccm_gateway.integration import tasks as integration_tasks
from ccm_gateway.kit.metrics import Metrics, flush_every_second
from ccm_gateway.ledger import tasks as ledger_tasks
from ccm_gateway.outbound import delivery
from ccm_gateway.policy import tasks as policy_tasks
from ccm_gateway.queue import deserialize, serialize
from ccm_gateway.reconciliation import tasks as reconciliation_tasks
from ccm_gateway.sync import tasks as sync_tasks

log = logging.getLogger("ccm_gateway.worker")


# A job killed with its worker keeps arq's in-progress mark for the longest function
# timeout + 10 s (about an hour, for the retention cron), so the inbox sweep, not arq,
# recovers it; 60 s bounds one stuck attempt. keep_result=0: nothing reads job
# results, and storing one costs a Redis write per event.
FUNCTIONS = [
    func(integration_tasks.process_inbound, timeout=60, keep_result=0),
    # A drain hands on to a fresh job after delivery.DRAIN_SECONDS; the timeout bounds
    # the batch in flight then (its sends have their endpoint's timeout each).
    func(delivery.deliver, name=delivery.DELIVER, timeout=600, keep_result=0),
]
CRON_JOBS = [
    cron(ledger_tasks.expire_holds, name="hold.expire", second={0}, run_at_startup=True,
         unique=True, timeout=300),
    cron(integration_tasks.sweep_inbox, name="inbox.sweep", second={5, 20, 35, 50},
         run_at_startup=True, unique=True, timeout=300),
    cron(delivery.sweep, name=delivery.SWEEP, second=set(range(0, 60, 5)),
         run_at_startup=True, unique=True, timeout=60),
    cron(integration_tasks.purge_payloads, name="inbox.retention", hour={3}, minute={17},
         unique=True, timeout=3600),
    cron(delivery.retention, name="outbound.retention", hour={3}, minute={27},
         unique=True, timeout=3600),
    # Each integration's own frequency (at least a minute) decides; ten seconds is the
    # most a sync starts late. Claims in the database keep workers from syncing twice.
    cron(sync_tasks.scheduled_sync, name="sync.scheduled", second={2, 12, 22, 32, 42, 52},
         unique=True, timeout=300),
    # Alert e-mail; a run drains for at most notify.DRAIN_SECONDS, then its last batch.
    cron(alert_notify.notify, name=alert_notify.NOTIFY, second=set(range(3, 60, 5)),
         run_at_startup=True, unique=True, timeout=300),
    cron(approval_tasks.expire_requests, name="limit_change.expire", second={40},
         run_at_startup=True, unique=True, timeout=300),
    cron(approval_tasks.scale_limits, name="limit.scaling", hour={4}, minute={7},
         unique=True, timeout=3600),
    cron(policy_tasks.prune_counters, name="velocity.prune", minute={47}, unique=True,
         timeout=3600),
    # Reconciliation of the integrations with new webhook or pull figures since their
    # last run; a run per integration and source, each in its own transaction.
    cron(reconciliation_tasks.run_due, name="reconciliation.run", minute=set(range(4, 60, 10)),
         unique=True, timeout=1800),
    # Yesterday's (UTC) ERP batch, once the day's last entries have committed.
    cron(export_tasks.daily_export, name="ledger.daily_export", hour={0}, minute={20},
         unique=True, timeout=3600),
]


# Start-up tries Redis this many times, a second apart, before giving up.
CONNECT_ATTEMPTS = 5
# A running worker that loses Redis waits this long before each reconnection attempt
# (then the last, repeatedly), each +-20 %, so that many workers do not retry in step.
RECONNECT_DELAYS = (0.5, 1.0, 2.0, 5.0, 10.0)
# Jobs still running when Redis is lost get this long to finish their database work.
SETTLE_SECONDS = 10.0


async def open_queue(settings: Settings, *, attempts: int = CONNECT_ATTEMPTS) -> ArqRedis:
    """Redis at CCM_REDIS_URL, or an in-process substitute for the embedded default.

    Raises ``ServiceUnreachable`` naming CCM_REDIS_URL and where it points (without the
    password) when Redis does not answer ``attempts`` tries."""
    if settings.redis_url:
        # Our own tries rather than arq's, which log a line each on the way.
        redis_settings = dataclasses.replace(RedisSettings.from_dsn(settings.redis_url),
                                             conn_retries=0)
        for attempt in range(1, attempts + 1):
            try:
                return await create_pool(redis_settings, job_serializer=serialize,
                                         job_deserializer=deserialize)
            except (RedisError, OSError) as exc:
                if attempt == attempts:
                    raise ServiceUnreachable(
                        f"cannot reach Redis at {redact_url(settings.redis_url)} "
                        f"(CCM_REDIS_URL) after {attempts} tries: {exc}") from None
                await asyncio.sleep(1.0)
    from fakeredis import FakeAsyncRedis, FakeServer

    fake = FakeAsyncRedis(server=FakeServer())
    return ArqRedis(connection_pool=fake.connection_pool, job_serializer=serialize,
                    job_deserializer=deserialize)


async def _start_metrics(ctx: dict[str, Any]) -> None:
    """Jobs count into one buffered Metrics, written to Redis every second; once per
    process, though the worker starts again after each Redis outage."""
    if "metrics" in ctx:
        return
    ctx["metrics"] = Metrics(ctx["redis"], buffered=True, process=ctx.get("metrics_process"))
    ctx["metrics_flusher"] = asyncio.create_task(flush_every_second(ctx["metrics"]),
                                                 name="worker-metrics-flush")


async def _on_startup(ctx: dict[str, Any]) -> None:
    await _start_metrics(ctx)
    await sync_tasks.start_dispatcher(ctx)


async def _on_shutdown(ctx: dict[str, Any]) -> None:
    """The dispatcher, once per process like the metrics, stops in ``supervise``."""
    await _stop_metrics(ctx)


async def _stop_metrics(ctx: dict[str, Any]) -> None:
    flusher = ctx.pop("metrics_flusher", None)
    if flusher is not None:
        flusher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await flusher
    if "metrics" in ctx:
        await ctx["metrics"].flush()


def build_worker(queue: ArqRedis, settings: Settings, **overrides: Any) -> Worker:
    """A worker on ``queue``; the caller has initialised Tortoise already."""
    # fakeredis lacks INFO, which arq only logs at start-up.
    import arq.worker

    # arq does not export the name; it is looked up on the module at start-up.
    arq.worker.log_redis_info = _log_redis_info  # type: ignore[attr-defined]
    options: dict[str, Any] = {
        "functions": FUNCTIONS,
        "ctx": {"settings": settings},
        "on_startup": _on_startup,
        "on_shutdown": _on_shutdown,
        "cron_jobs": CRON_JOBS,
        "redis_pool": queue,
        "handle_signals": False,
        "job_serializer": serialize,
        "job_deserializer": deserialize,
        # Polling every 50 ms rather than arq's 500 ms keeps the received -> applied
        # lag of a quiet queue well under a second; 20 jobs at once overlap their
        # database round trips.
        "max_jobs": 20,
        "queue_read_limit": 20,  # read no more than it can start (arq reads 100)
        "poll_delay": 0.05,
    }
    options.update(overrides)
    return create_worker(options)


async def _log_redis_info(redis: Any, log_func: Any) -> None:
    try:
        info = await redis.info(section="Server")
        log_func(f"redis_version={info.get('redis_version', '?')}")
    except Exception:  # noqa: BLE001 - an in-process queue has no server info to log
        log_func("redis: embedded in-process queue")


async def run_worker(settings: Settings) -> None:
    """`ccm-gateway worker`: run against CCM_REDIS_URL until SIGINT or SIGTERM.

    Redis must answer at start-up (``ServiceUnreachable`` otherwise); lost later, it is
    waited for (``supervise``)."""
    from tortoise import Tortoise

    from ccm_gateway.db import tortoise_config

    queue = await open_queue(settings)
    await Tortoise.init(config=tortoise_config(settings), _enable_global_fallback=True)
    # Our own handlers, not arq's: a signal while waiting for Redis must stop us too.
    runner = asyncio.current_task()
    if runner is None:
        raise RuntimeError("run_worker must run as an asyncio task")
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, _stop, runner, signum)
    try:
        await supervise(queue, settings, process="worker")
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        with contextlib.suppress(RedisError, OSError):
            await queue.aclose()
        await Tortoise.close_connections()


async def supervise(queue: ArqRedis, settings: Settings, *, process: str | None = None) -> None:
    """Run an arq worker on ``queue`` until cancelled, and again after each Redis outage.

    When Redis is lost, the jobs running get SETTLE_SECONDS to finish, then Redis is
    pinged with backoff (RECONNECT_DELAYS), each attempt logged, and a new worker starts
    once it answers. What the outage loses (a job's result, a message enqueued
    meanwhile) the inbox sweep finds again in the database.

    ``process``: the role the worker's metrics publish this process's metrics under; None
    inside the API process, whose own Metrics publishes them."""
    where = f"{redact_url(settings.redis_url or 'embedded')} (CCM_REDIS_URL)"
    # One per process: its metrics outlive each worker.
    ctx: dict[str, Any] = {"settings": settings, "metrics_process": process}
    worker = None
    try:
        while True:
            worker = build_worker(queue, settings, ctx=ctx)
            try:
                await worker.async_run()
                return
            except (RedisError, OSError) as exc:
                log.warning("lost Redis at %s: %s: %s; reconnecting with backoff", where,
                            exc.__class__.__name__, exc)
            await _settle(worker, SETTLE_SECONDS)
            await _wait_for_redis(queue, where)
    finally:
        if worker is not None:
            await _settle(worker, 0)
            with contextlib.suppress(RedisError, OSError):
                await queue.delete(worker.health_check_key)
        await sync_tasks.stop_dispatcher(ctx)
        await delivery.close(ctx)
        await _stop_metrics(ctx)


def _stop(runner: asyncio.Task[Any], signum: int) -> None:
    log.info("worker stopping on %s", signal.Signals(signum).name)
    runner.cancel()


async def _settle(worker: Worker, grace_seconds: float) -> None:
    """Give the worker's running jobs ``grace_seconds``, then cancel what is left (a
    cancelled job's transaction rolls back; the sweep enqueues it again)."""
    tasks = list(worker.tasks.values())
    if not tasks:
        return
    if grace_seconds > 0:
        await asyncio.wait(tasks, timeout=grace_seconds)
    for task in tasks:
        task.cancel()  # no-op on the finished ones
    await asyncio.gather(*tasks, return_exceptions=True)
    worker.tasks.clear()


async def _wait_for_redis(queue: ArqRedis, where: str) -> None:
    for attempt in itertools.count(1):
        delay = RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS)) - 1]
        await asyncio.sleep(delay * random.uniform(0.8, 1.2))  # noqa: S311 - jitter, not a secret
        try:
            await queue.ping()
        except (RedisError, OSError) as exc:
            log.warning("Redis at %s still unreachable (attempt %d): %s", where, attempt,
                        exc.__class__.__name__)
            continue
        log.info("Redis is back at %s; the worker starts again", where)
        return
