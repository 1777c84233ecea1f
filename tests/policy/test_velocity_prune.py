"""velocity.prune: buckets older than the longest window of their size are deleted; every
bucket a window can still count stays."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from ccm_gateway.policy import evaluate
from ccm_gateway.policy.models import VelocityCounter
from ccm_gateway.policy.tasks import prune_velocity_counters

NOW = datetime(2026, 12, 3, 12, 0, 30, tzinfo=UTC)


async def _bucket(customer: uuid.UUID, size: int, age: timedelta) -> None:
    start = evaluate._bucket_start(NOW - age, size)
    await VelocityCounter.create(customer_id=customer, bucket_seconds=size, bucket_start=start,
                                 spend_minor=100, authorizations=1)


async def test_pruning_keeps_every_bucket_a_window_can_still_count(app):
    customer = uuid.uuid4()
    minute, hour = evaluate.MINUTE, evaluate.HOUR
    # The longest minute window (6 h) ending now starts inside the bucket 6 h ago.
    longest = evaluate.MINUTE_BUCKETS_UP_TO
    await _bucket(customer, minute, timedelta(seconds=longest - minute))
    await _bucket(customer, minute, timedelta(seconds=longest + 2 * minute))
    await _bucket(customer, minute, timedelta(days=2))
    await _bucket(customer, hour, timedelta(seconds=evaluate.MAX_WINDOW_SECONDS - hour))
    await _bucket(customer, hour, timedelta(seconds=evaluate.MAX_WINDOW_SECONDS + 2 * hour))

    deleted = await prune_velocity_counters(NOW)

    rows = await VelocityCounter.filter(customer_id=customer).order_by("bucket_start")
    assert deleted >= 3  # the shared database may hold other tests' old buckets too
    assert [(r.bucket_seconds, r.bucket_start) for r in rows] == [
        (hour, evaluate._bucket_start(
            NOW - timedelta(seconds=evaluate.MAX_WINDOW_SECONDS - hour), hour)),
        (minute, evaluate._bucket_start(NOW - timedelta(seconds=longest - minute), minute)),
    ]
    for size, window in ((minute, longest), (hour, evaluate.MAX_WINDOW_SECONDS)):
        oldest_counted = evaluate.window_start(NOW, window)
        assert all(r.bucket_start >= oldest_counted for r in rows if r.bucket_seconds == size)
