"""arq worker settings, the JSON job serializer and the embedded queue."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from arq import cron, func
from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.worker import Worker, create_worker

from ccm_gateway.config import Settings
from ccm_gateway.integration import tasks as integration_tasks
from ccm_gateway.kit.metrics import Metrics, flush_every_second
from ccm_gateway.ledger import tasks as ledger_tasks

log = logging.getLogger("ccm_gateway.worker")


def serialize(data: dict[str, Any]) -> bytes:
    return json.dumps(data, default=str).encode()


def deserialize(data: bytes) -> dict[str, Any]:
    return json.loads(data)


# A job killed with its worker keeps arq's in-progress mark for the longest function
# timeout + 10 s (about an hour, for the retention cron), so the inbox sweep, not arq,
# recovers it; 60 s bounds one stuck attempt. keep_result=0: nothing reads job
# results, and storing one costs a Redis write per event.
FUNCTIONS = [func(integration_tasks.process_inbound, timeout=60, keep_result=0)]
CRON_JOBS = [
    cron(ledger_tasks.expire_holds, name="hold.expire", second={0}, run_at_startup=True,
         unique=True, timeout=300),
    cron(integration_tasks.sweep_inbox, name="inbox.sweep", second={5, 20, 35, 50},
         run_at_startup=True, unique=True, timeout=300),
    cron(integration_tasks.purge_payloads, name="inbox.retention", hour={3}, minute={17},
         unique=True, timeout=3600),
]


async def open_queue(settings: Settings) -> ArqRedis:
    """Redis at CCM_REDIS_URL, or an in-process substitute for the embedded default."""
    if settings.redis_url:
        return await create_pool(RedisSettings.from_dsn(settings.redis_url),
                                 job_serializer=serialize, job_deserializer=deserialize)
    from fakeredis import FakeAsyncRedis, FakeServer

    fake = FakeAsyncRedis(server=FakeServer())
    return ArqRedis(connection_pool=fake.connection_pool, job_serializer=serialize,
                    job_deserializer=deserialize)


async def _start_metrics(ctx: dict[str, Any]) -> None:
    """Jobs count into one buffered Metrics, written to Redis every second."""
    ctx["metrics"] = Metrics(ctx["redis"], buffered=True)
    ctx["metrics_flusher"] = asyncio.create_task(flush_every_second(ctx["metrics"]),
                                                 name="worker-metrics-flush")


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

    arq.worker.log_redis_info = _log_redis_info  # type: ignore[assignment]
    options: dict[str, Any] = {
        "functions": FUNCTIONS,
        "ctx": {"settings": settings},
        "on_startup": _start_metrics,
        "on_shutdown": _stop_metrics,
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
    return create_worker(options)  # type: ignore[arg-type]


async def _log_redis_info(redis: Any, log_func: Any) -> None:
    try:
        info = await redis.info(section="Server")
        log_func(f"redis_version={info.get('redis_version', '?')}")
    except Exception:  # noqa: BLE001 - an in-process queue has no server info to log
        log_func("redis: embedded in-process queue")


async def run_worker(settings: Settings) -> None:
    """`ccm-gateway worker`: run until cancelled, against CCM_REDIS_URL."""
    from tortoise import Tortoise

    from ccm_gateway.db import tortoise_config

    await Tortoise.init(config=tortoise_config(settings), _enable_global_fallback=True)
    queue = await open_queue(settings)
    worker = build_worker(queue, settings, handle_signals=True)
    try:
        await worker.async_run()
    finally:
        await worker.close()
        await Tortoise.close_connections()
