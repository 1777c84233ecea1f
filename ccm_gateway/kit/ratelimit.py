"""Rate limiting with GCRA (the generic cell rate algorithm) stored in Redis.

GCRA keeps one number per key, the *theoretical arrival time* (TAT): when the
bucket would be empty again if requests kept coming at exactly the rate. A
request is allowed while ``TAT + interval - burst * interval <= now``; allowing
it moves TAT one emission interval (``1 / rate``) further. That is a token
bucket of ``burst`` tokens refilled at ``rate`` per second, in one key with no
background refill.

The check-and-set runs as one Lua script (EVALSHA through ``register_script``),
so it is atomic across every API process that shares the Redis; the embedded
default runs the same script on fakeredis, which executes Lua through the
``lupa`` package (the ``fakeredis[lua]`` extra). Times are integer microseconds:
Lua numbers are doubles, exact for integers up to 2**53, so no float drift can
deny the last request of a burst. Each key expires when its bucket is full
again, so idle principals leave nothing behind.

Rate and burst are set per instance and may be overridden per call, so a route
with its own limits (a webhook integration's) can use the same limiter.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# KEYS[1]: the bucket. ARGV: emission interval (us), burst, now (us; negative =
# use the Redis server's clock, shared by every API process, so host clock skew
# does not matter). Returns {allowed (0/1), remaining, retry_after_us}.
# Redis >= 5 replicates a script's effects, so TIME before a write is allowed.
_GCRA = """
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local diff = now - (new_tat - interval * burst)
if diff < 0 then
  return {0, 0, -diff}
end
local ttl_ms = math.ceil((new_tat - now) / 1000)
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', string.format('%.0f', ttl_ms))
return {1, math.floor(diff / interval), 0}
"""

# Gives back one request spent by the GCRA script (moves TAT one interval back).
# KEYS[1]: the bucket. ARGV: emission interval (us), now (us; negative = Redis TIME).
_REFUND = """
local interval = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local tat = redis.call('GET', KEYS[1])
if not tat then
  return 0
end
local new_tat = tonumber(tat) - interval
if new_tat <= now then
  redis.call('DEL', KEYS[1])
  return 1
end
local ttl_ms = math.ceil((new_tat - now) / 1000)
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', string.format('%.0f', ttl_ms))
return 1
"""

MAX_RATE_PER_SECOND = 1_000_000  # one request per microsecond, the clock's resolution


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after_seconds: float  # 0 when allowed
    remaining: int  # requests still allowed right now, after this one

    @property
    def retry_after_header(self) -> int:
        """``Retry-After`` value: whole seconds, rounded up, at least 1."""
        return max(1, math.ceil(self.retry_after_seconds))


ALLOWED_UNLIMITED = Decision(allowed=True, retry_after_seconds=0.0, remaining=-1)


class RateLimiter:
    """``rate_per_second`` sustained, ``burst`` at once; a rate of 0 turns it off.

    ``clock`` returns seconds; by default the Redis server's clock is used.
    """

    def __init__(self, redis: Any, rate_per_second: float, burst: int, *,
                 prefix: str = "ccm:ratelimit:",
                 clock: Callable[[], float] | None = None) -> None:
        _check(rate_per_second, burst)
        self.redis = redis
        self.rate_per_second = rate_per_second
        self.burst = burst
        self.prefix = prefix
        self.clock = clock
        self._script = redis.register_script(_GCRA)
        self._refund = redis.register_script(_REFUND)

    @property
    def enabled(self) -> bool:
        return self.rate_per_second > 0

    async def hit(self, key: str, *, rate_per_second: float | None = None,
                  burst: int | None = None) -> Decision:
        rate = self.rate_per_second if rate_per_second is None else rate_per_second
        burst = self.burst if burst is None else burst
        _check(rate, burst)
        if rate == 0:
            return ALLOWED_UNLIMITED
        interval_us = max(1, round(1_000_000 / rate))
        now_us = -1 if self.clock is None else round(self.clock() * 1_000_000)
        allowed, remaining, retry_us = await self._script(
            keys=[self.prefix + key], args=[interval_us, burst, now_us])
        return Decision(allowed=bool(allowed), retry_after_seconds=int(retry_us) / 1_000_000,
                        remaining=int(remaining))


    async def refund(self, key: str, *, rate_per_second: float | None = None) -> None:
        """Give back one request that ``hit`` allowed: for limits that count only some
        outcomes (failed logins), where the attempt is spent first, so concurrent
        attempts cannot all pass, and refunded when it turns out not to count."""
        rate = self.rate_per_second if rate_per_second is None else rate_per_second
        if rate == 0:
            return
        interval_us = max(1, round(1_000_000 / rate))
        now_us = -1 if self.clock is None else round(self.clock() * 1_000_000)
        await self._refund(keys=[self.prefix + key], args=[interval_us, now_us])


class LocalBlocks:
    """Keys a shared limiter refused, remembered in this process until it would allow them
    again, so a hot path can refuse a known-spent key before doing the work the limit
    protects, without a round trip to Redis for every request that is not spent.

    Only refusals are cached, so this never allows more than the shared bucket does; each
    process learns a refusal on its own, at the cost of one request per key per window.
    At most ``max_keys`` are kept, the oldest dropped first, so a sender with many keys
    cannot grow it; an evicted key is learnt again the same way."""

    def __init__(self, *, max_keys: int = 10_000) -> None:
        self.max_keys = max_keys
        self._until: dict[str, float] = {}

    def retry_after(self, key: str, now: float) -> float:
        """Seconds until ``key`` may be tried again; 0 when it is not blocked."""
        until = self._until.get(key)
        if until is None:
            return 0.0
        if until <= now:
            del self._until[key]
            return 0.0
        return until - now

    def block(self, key: str, now: float, seconds: float) -> None:
        self._until.pop(key, None)
        while len(self._until) >= self.max_keys:
            # Oldest first: with windows of one length, the first to expire.
            del self._until[next(iter(self._until))]
        self._until[key] = now + seconds


def _check(rate: float, burst: int) -> None:
    if not 0 <= rate <= MAX_RATE_PER_SECOND:
        raise ValueError(f"rate must be between 0 and {MAX_RATE_PER_SECOND} per second")
    if rate > 0 and burst < 1:
        raise ValueError("burst must be at least 1")


__all__ = ["MAX_RATE_PER_SECOND", "Decision", "LocalBlocks", "RateLimiter"]
