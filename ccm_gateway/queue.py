"""The queue's wire format: arq's job records and Redis keys, and the few writes and reads
of them that callers outside the worker need.

Services put work on the queue and ask after it through these functions, so they import
neither arq nor the worker (``worker.py``, which imports every domain's jobs). Jobs are
JSON, never pickle.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix, job_key_prefix
from arq.jobs import serialize_job


def serialize(data: dict[str, Any]) -> bytes:
    return json.dumps(data, default=str).encode()


def deserialize(data: bytes) -> dict[str, Any]:
    job: dict[str, Any] = json.loads(data)
    return job


async def enqueue_job(queue: ArqRedis, function: str, args: Sequence[Any], *, job_id: str,
                      defer_seconds: float = 0) -> None:
    """Queue ``function(*args)`` as arq's ``enqueue_job`` with ``_job_id`` would, in one
    round trip; a job still waiting under ``job_id`` is left as it is. Raises
    ``RedisError`` or ``OSError`` when Redis does not answer.

    arq spends three round trips making the job id unique (WATCH, EXISTS, MULTI); a caller
    whose ids are unique already needs only the job record and the queue entry, written
    here in one MULTI, each NX."""
    enqueued_ms = round(time.time() * 1000)
    score = enqueued_ms + round(defer_seconds * 1000)
    job = serialize_job(function, tuple(args), {}, None, enqueued_ms,
                        serializer=queue.job_serializer)
    async with queue.pipeline(transaction=True) as pipe:
        pipe.set(job_key_prefix + job_id, job,
                 px=score - enqueued_ms + queue.expires_extra_ms, nx=True)
        pipe.zadd(queue.default_queue_name, {job_id: score}, nx=True)
        await pipe.execute()


async def jobs_waiting(queue: ArqRedis, job_ids: Sequence[str]) -> list[bool]:
    """For each job id, in one round trip: whether its job waits in the queue with no
    worker holding it. A job held by a worker that died keeps arq's in-progress mark for
    about an hour, so a held job counts as not waiting."""
    async with queue.pipeline(transaction=False) as pipe:
        for job_id in job_ids:
            pipe.exists(job_key_prefix + job_id)
            pipe.exists(in_progress_key_prefix + job_id)
        flags = await pipe.execute()
    return [bool(queued) and not held for queued, held in zip(flags[::2], flags[1::2],
                                                              strict=True)]


async def drop_waiting(queue: ArqRedis, job_ids: Sequence[str]) -> None:
    """Take jobs that have become no-ops off the queue, in one round trip, before a worker
    spends a job on each. A job a worker has started already is left to finish (its
    record is gone, which arq reports and skips). Raises ``RedisError`` or ``OSError``
    when Redis does not answer."""
    if not job_ids:
        return
    async with queue.pipeline(transaction=True) as pipe:
        pipe.zrem(queue.default_queue_name, *job_ids)
        pipe.delete(*(job_key_prefix + job_id for job_id in job_ids))
        await pipe.execute()
