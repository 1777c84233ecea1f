"""A circuit breaker per URL, shared by every worker process through Redis.

Closed, it lets everything through and counts outcomes in 10-second buckets over the
last 5 minutes. It opens at >= 70 % failures over that window with at least 10
attempts, or at 10 failures in a row. Open, it lets nothing through for 30 s; then it
is half-open: one probe at a time goes through (the probe holds a lease, so a probe
whose worker died is replaced once the lease ends). A success closes it and clears the
window; a failed probe opens it for another 30 s.

Each ``acquire`` and ``record`` is one Lua script call (atomic across processes) for a
whole batch of deliveries to one URL. Times are integer microseconds from ``clock``
(seconds), or from the Redis server's clock when there is none, as in kit/ratelimit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

WINDOW_SECONDS = 300
BUCKET_SECONDS = 10
MIN_ATTEMPTS = 10
FAILURE_RATIO = 0.7
CONSECUTIVE_FAILURES = 10
OPEN_SECONDS = 30

State = Literal["closed", "open", "half_open"]
STATES: tuple[State, ...] = ("closed", "open", "half_open")

_NOW = """
local now = tonumber(ARGV[1])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
"""

# KEYS[1]: the breaker. ARGV: now (us), wanted, open (us), probe lease (us).
# Returns {allowed, retry at (us, 0 when allowed), state index in STATES}.
_ACQUIRE = _NOW + """
local wanted = tonumber(ARGV[2])
local open_us = tonumber(ARGV[3])
local lease_us = tonumber(ARGV[4])
local st = redis.call('HMGET', KEYS[1], 'opened_at', 'probe_until')
local opened = tonumber(st[1])
if not opened then
  return {wanted, 0, 0}
end
local half_open_at = opened + open_us
if now < half_open_at then
  return {0, half_open_at, 1}
end
local probe = tonumber(st[2] or '0') or 0
if probe > now then
  return {0, probe, 2}
end
redis.call('HSET', KEYS[1], 'probe_until', string.format('%.0f', now + lease_us))
return {math.min(wanted, 1), 0, 2}
"""

# KEYS[1]: the breaker, KEYS[2]: its window. ARGV: now (us), outcomes ("S"/"F" in the
# order they happened), window (us), bucket (us), min attempts, failure ratio,
# consecutive failures. Returns the transition: "opened", "closed" or "".
_RECORD = _NOW + """
local outcomes = ARGV[2]
local window_us = tonumber(ARGV[3])
local bucket_us = tonumber(ARGV[4])
local min_attempts = tonumber(ARGV[5])
local ratio = tonumber(ARGV[6])
local limit = tonumber(ARGV[7])
local st = redis.call('HMGET', KEYS[1], 'consecutive', 'opened_at', 'probe_until')
local consecutive = tonumber(st[1] or '0') or 0
local opened = st[2]
local s, f = 0, 0
for i = 1, #outcomes do
  if outcomes:sub(i, i) == 'S' then
    s = s + 1
    consecutive = 0
  else
    f = f + 1
    consecutive = consecutive + 1
  end
end
if opened then
  if s > 0 then
    redis.call('DEL', KEYS[1], KEYS[2])
    return 'closed'
  end
  if (tonumber(st[3] or '0') or 0) > 0 then
    redis.call('HSET', KEYS[1], 'opened_at', string.format('%.0f', now), 'probe_until', '0')
    redis.call('PEXPIRE', KEYS[1], math.ceil(window_us / 1000) * 2)
    return 'opened'
  end
  return ''
end
local bucket = math.floor(now / bucket_us)
local oldest = bucket - math.floor(window_us / bucket_us) + 1
if s > 0 then redis.call('HINCRBY', KEYS[2], 's:' .. bucket, s) end
if f > 0 then redis.call('HINCRBY', KEYS[2], 'f:' .. bucket, f) end
local fields = redis.call('HGETALL', KEYS[2])
local total, failed = 0, 0
for i = 1, #fields, 2 do
  local kind, b = fields[i]:match('^(%a):(%-?%d+)$')
  b = tonumber(b)
  if b == nil or b < oldest then
    redis.call('HDEL', KEYS[2], fields[i])
  else
    local n = tonumber(fields[i + 1])
    total = total + n
    if kind == 'f' then failed = failed + n end
  end
end
if consecutive >= limit or (total >= min_attempts and failed >= ratio * total) then
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'opened_at', string.format('%.0f', now), 'probe_until', '0',
             'consecutive', '0')
  redis.call('PEXPIRE', KEYS[1], math.ceil(window_us / 1000) * 2)
  return 'opened'
end
redis.call('HSET', KEYS[1], 'consecutive', consecutive)
redis.call('PEXPIRE', KEYS[1], math.ceil(window_us / 1000))
redis.call('PEXPIRE', KEYS[2], math.ceil(window_us / 1000))
return ''
"""


@dataclass(frozen=True, slots=True)
class Permit:
    allowed: int  # how many of those asked for may go now
    retry_at: float | None  # seconds: when to ask again, if none may go
    state: State


class CircuitBreaker:
    def __init__(self, redis: Any, *, prefix: str = "ccm:outbound:breaker:",
                 clock: Callable[[], float] | None = None) -> None:
        self.redis = redis
        self.prefix = prefix
        self.clock = clock
        self._acquire = redis.register_script(_ACQUIRE)
        self._record = redis.register_script(_RECORD)

    def key(self, url: str) -> str:
        """The breaker's Redis hash (its window of outcomes is this + ":w")."""
        return self.prefix + hashlib.sha256(url.encode()).hexdigest()[:32]

    def _now_us(self) -> int:
        return -1 if self.clock is None else round(self.clock() * 1_000_000)

    async def acquire(self, url: str, wanted: int, *, probe_lease_seconds: float) -> Permit:
        """How many of ``wanted`` sends to ``url`` may go now."""
        allowed, retry_us, state = await self._acquire(
            keys=[self.key(url)],
            args=[self._now_us(), wanted, OPEN_SECONDS * 1_000_000,
                  round(probe_lease_seconds * 1_000_000)])
        return Permit(int(allowed), int(retry_us) / 1_000_000 if int(retry_us) else None,
                      STATES[int(state)])

    async def record(self, url: str, outcomes: Sequence[bool]) -> str:
        """Count sends' outcomes (True: success), in the order they ended; returns the
        transition they caused: "opened", "closed" or ""."""
        if not outcomes:
            return ""
        result = await self._record(
            keys=[self.key(url), self.key(url) + ":w"],
            args=[self._now_us(), "".join("S" if ok else "F" for ok in outcomes),
                  WINDOW_SECONDS * 1_000_000, BUCKET_SECONDS * 1_000_000, MIN_ATTEMPTS,
                  FAILURE_RATIO, CONSECUTIVE_FAILURES])
        return result.decode() if isinstance(result, bytes) else str(result)

    async def state(self, url: str) -> State | None:
        """The breaker's state now, without taking a probe."""
        return (await self.states([url]))[0]

    async def states(self, urls: Sequence[str]) -> list[State | None]:
        """Each URL's breaker state now, in one round trip, without taking a probe; None
        where Redis holds something no breaker wrote."""
        if not urls:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for url in urls:
                pipe.hget(self.key(url), "opened_at")
            pipe.time()
            *opened, (seconds, micros) = await pipe.execute()
        now_us = self._now_us()
        if now_us < 0:
            now_us = int(seconds) * 1_000_000 + int(micros)
        return [_state_at(value, now_us) for value in opened]


def _state_at(opened_at: Any, now_us: int) -> State | None:
    if opened_at is None:
        return "closed"
    try:
        opened_us = int(opened_at)
    except ValueError:
        return None
    # In whole microseconds, as the scripts compare.
    return "open" if now_us < opened_us + OPEN_SECONDS * 1_000_000 else "half_open"


__all__ = ["STATES", "CircuitBreaker", "Permit", "State"]
