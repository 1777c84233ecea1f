"""Delivery: sending what the dispatcher queued, per endpoint (the ``outbound.deliver`` job).

A job drains its endpoint's due deliveries in batches. Each batch is claimed in one
transaction (rows locked with SKIP LOCKED, so jobs in several processes split the work)
and marked SENDING; it is sent concurrently (IN_FLIGHT at a time, over one keep-alive
client per endpoint and process); then every attempt and outcome is written in one
more transaction. A batch costs a handful of statements, whatever its size.

Latest state wins (``credit.updated``): claiming a state delivery locks its
(endpoint, customer) stream row; a state older than the stream's ``sent_version`` or
than another state still waiting is SUPERSEDED, never sent; a stream with a state
SENDING gets no second one until it ends; claiming sets ``sent_version``. So a receiver
never sees a version go down, across retries, fallbacks and processes. Events are
delivered at least once, in no particular order.

Outcomes:
- 2xx: SUCCEEDED.
- 410 Gone: the endpoint is disabled (with an alert); this delivery is FAILED (it was
  refused), the endpoint's other waiting deliveries are SKIPPED (never attempted; a
  resend after re-enabling sends them).
- anything else (3xx, never followed; 4xx; 5xx; timeouts; connection errors; refused
  addresses): retried after the next delay of CCM_OUTBOUND_RETRY_SCHEDULE, +-20 %;
  429 and 503 take Retry-After within 1x to 2x of that delay. After the last delay:
  FAILED.
- Fallback: the attempt after a primary timeout, and every attempt once the primary
  failed FALLBACK_AFTER times in a row for this delivery, go to the fallback URL (same
  webhook-id). A URL whose circuit breaker is open hands its deliveries to the other
  URL if that one's is closed; else they wait for the half-open probe, which is not an
  attempt (``attempts`` does not move).
- An endpoint whose attempts failed without a success for AUTO_DISABLE_AFTER is
  disabled, with an alert.

The ``outbound.sweep`` cron finds what a lost queue message or a killed worker left
behind: it wakes endpoints with overdue deliveries, sends again deliveries stuck in
SENDING past their worst case, and skips the waiting deliveries of disabled or deleted
endpoints.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from redis.exceptions import RedisError
from tortoise.expressions import Q
from tortoise.functions import Max
from tortoise.transactions import in_transaction

from ccm_gateway.alert.models import AlertSeverity
from ccm_gateway.alert.service import raise_alert
from ccm_gateway.errors import BadInput
from ccm_gateway.kit import outbox, standard_webhooks
from ccm_gateway.kit.metrics import Metrics
from ccm_gateway.kit.ratelimit import RateLimiter
from ccm_gateway.kit.secrets import SecretBox
from ccm_gateway.outbound import http, urls
from ccm_gateway.outbound.breaker import CircuitBreaker
from ccm_gateway.outbound.models import (
    WAITING_STATUSES,
    AttemptTarget,
    DeliveryStatus,
    OutboundAttempt,
    OutboundDelivery,
    OutboundEndpoint,
    OutboundStream,
    credentials_context,
    secret_context,
)
from ccm_gateway.queue import enqueue_job

log = logging.getLogger("ccm_gateway.outbound")

DELIVER = "outbound.deliver"
SWEEP = "outbound.sweep"
# The one state type (sync/payloads.STATE_TYPE; the engine reads no domain module).
STATE_TYPE = "credit.updated"

BATCH = 64
IN_FLIGHT = 16
EXCERPT_BYTES = 2048
FALLBACK_AFTER = 3
AUTO_DISABLE_AFTER = timedelta(days=5)
JITTER = 0.2
# A rate-limited send waits this long at most inside the job; longer, it is rescheduled.
RATE_WAIT_SECONDS = 2.0
# A job drains this long, then hands on to a fresh job (other endpoints get their turn).
DRAIN_SECONDS = 30.0
# The sweep wakes an endpoint for deliveries due this long ago (a wake or a deferred job
# that was lost): sooner, the job that is on its way would race it for nothing.
SWEEP_GRACE_SECONDS = 10
# A batch is at most BATCH / IN_FLIGHT rounds of sends, each at most a timeout (twice,
# with a token refetch); past that and the margin, a SENDING delivery's worker is gone.
STUCK_TIMEOUTS = 2 * (BATCH // IN_FLIGHT) + 1


def deliver_job_id(endpoint_id: Any, tag: str) -> str:
    return f"outbound:deliver:{endpoint_id}:{tag}"


async def wake_deliverers(queue: Any, endpoint_ids: set[Any], *, tag: str | None = None,
                          defer_seconds: float = 0) -> None:
    """Enqueue a delivery job for each endpoint that was given deliveries now. Each job
    drains what is due, so an id per dispatch pass is enough to never lose a wake."""
    tag = tag or f"d{time.time_ns()}"
    for endpoint_id in endpoint_ids:
        await enqueue_job(queue, DELIVER, [str(endpoint_id)],
                          job_id=deliver_job_id(endpoint_id, tag), defer_seconds=defer_seconds)


def body_of(payload: dict[str, Any]) -> bytes:
    """The bytes sent (and signed): compact JSON, keys sorted, the same on every attempt."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True,
                      ensure_ascii=False).encode()


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """``Retry-After`` as seconds from now (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


def next_delay(schedule: Sequence[int], attempts: int, retry_after: float | None,
               jitter: float) -> float | None:
    """Seconds until the next attempt after ``attempts`` attempts, or None when the
    schedule is spent. ``jitter`` in [-1, 1] scales the +-20 %."""
    if attempts >= len(schedule):
        return None
    delay = schedule[attempts] * (1 + JITTER * jitter)
    if retry_after is not None:
        delay = min(max(retry_after, delay), 2 * delay)
    return delay


def _last_failure(delivery: OutboundDelivery) -> tuple[str, str] | None:
    """(target, error class) of the delivery's last failed attempt, from ``last_error``
    (written as "<target>/<error class>: <detail>")."""
    if not delivery.last_error or "/" not in delivery.last_error:
        return None
    target, _, rest = delivery.last_error.partition("/")
    return target, rest.split(":", 1)[0]


@dataclass(slots=True)
class Claim:
    endpoint: OutboundEndpoint
    deliveries: list[OutboundDelivery]
    previous_status: dict[Any, DeliveryStatus]
    superseded: int
    held_back: bool  # due deliveries left for another job (locked, or a stream busy)


@dataclass(slots=True)
class Outcome:
    delivery: OutboundDelivery
    attempt: OutboundAttempt | None = None  # None: not attempted, waits until wait_until
    wait_until: datetime | None = None
    retry_after: float | None = None
    gone: bool = False

    @property
    def succeeded(self) -> bool:
        return self.attempt is not None and self.attempt.succeeded


@dataclass(slots=True)
class _Route:
    target: AttemptTarget | None  # None: wait
    url: str | None = None
    wait_until: float | None = None


@dataclass(slots=True)
class _Keys:
    """What signs and authorises one endpoint's sends."""

    secrets: list[str]
    credentials: dict[str, Any] | None
    credentials_key: tuple[str, str] | None
    client: httpx.AsyncClient
    transitions: list[tuple[str, str]] = field(default_factory=list)


class Engine:
    """One per worker process: clients, token cache, breaker and limiter handles."""

    def __init__(self, settings: Any, queue: Any, metrics: Metrics | None, *,
                 clock: Callable[[], float] = time.time,
                 jitter: Callable[[], float] = lambda: random.uniform(-1, 1),  # noqa: S311
                 ) -> None:
        self.settings = settings
        self.queue = queue
        self.metrics = metrics
        self.clock = clock
        self.jitter = jitter
        self.prod = bool(settings.is_prod)
        self.schedule = settings.outbound_retry_delays
        self.box = SecretBox.from_settings(settings)
        shared_clock = None if clock is time.time else clock
        self.breaker = CircuitBreaker(queue, clock=shared_clock)
        self.limiter = RateLimiter(queue, 1, 1, prefix="ccm:outbound:rate:")
        self.tokens = http.TokenCache(prod=self.prod)
        self._clients: dict[Any, httpx.AsyncClient] = {}

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    async def aclose(self) -> None:
        clients, self._clients = self._clients, {}
        for client in clients.values():
            await client.aclose()

    def _client(self, endpoint: OutboundEndpoint) -> httpx.AsyncClient:
        client = self._clients.get(endpoint.id)
        if client is None:
            client = http.new_client(prod=self.prod, max_connections=2 * IN_FLIGHT,
                                     timeout=float(endpoint.timeout_seconds))
            self._clients[endpoint.id] = client
        return client

    # --- the job ----------------------------------------------------------------------

    async def drain(self, endpoint_id: Any) -> None:
        """Send every due delivery of the endpoint."""
        started = time.monotonic()
        while True:
            claim = await self.claim(endpoint_id)
            if claim is None:
                return
            if claim.deliveries:
                outcomes = await self.send(claim)
                await self.record(claim, outcomes)
            elif claim.held_back:
                # Another job holds them (or a stream's state is in flight): look again soon.
                await self._wake(endpoint_id, 1.0)
                return
            else:
                return
            if time.monotonic() - started > DRAIN_SECONDS:
                await self._wake(endpoint_id, 0)
                return

    async def _wake(self, endpoint_id: Any, defer_seconds: float) -> None:
        due = self.clock() + defer_seconds
        try:
            await wake_deliverers(self.queue, {endpoint_id}, tag=f"r{int(due)}",
                                  defer_seconds=defer_seconds)
        except (RedisError, OSError) as exc:  # the sweep finds what a lost wake leaves
            log.warning("could not schedule outbound delivery: %s", exc.__class__.__name__)

    # --- claiming -----------------------------------------------------------------------

    async def claim(self, endpoint_id: Any) -> Claim | None:
        """Mark a batch of due deliveries SENDING; None if the endpoint may not be sent to
        (its waiting deliveries are SKIPPED)."""
        now = self.now()
        async with in_transaction():
            endpoint = await OutboundEndpoint.get_or_none(id=endpoint_id)
            if endpoint is None or not endpoint.enabled or endpoint.deleted_at is not None:
                skipped = await OutboundDelivery.filter(
                    endpoint_id=endpoint_id, status__in=WAITING_STATUSES,
                ).update(status=DeliveryStatus.SKIPPED, next_attempt_at=None, updated_at=now)
                await self._count(endpoint_id, "skipped", skipped)
                return None
            limit = BATCH
            if endpoint.rate_limit_per_second:
                limit = max(1, min(BATCH, 2 * endpoint.rate_limit_per_second))
            rows = await OutboundDelivery.filter(
                Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
                endpoint_id=endpoint.id, status__in=WAITING_STATUSES,
            ).order_by("created_at").limit(limit).select_for_update(skip_locked=True)
            held_back = len(rows) == limit
            claimed, superseded, held = await self._order_states(endpoint.id, rows)
            held_back = held_back or held
            if superseded:
                await OutboundDelivery.filter(id__in=superseded).update(
                    status=DeliveryStatus.SUPERSEDED, next_attempt_at=None, updated_at=now)
            previous = {d.id: DeliveryStatus(d.status) for d in claimed}
            if claimed:
                await OutboundDelivery.filter(id__in=[d.id for d in claimed]).update(
                    status=DeliveryStatus.SENDING, updated_at=now)
        await self._count(endpoint.id, "superseded", len(superseded))
        return Claim(endpoint, claimed, previous, len(superseded), held_back)

    async def _order_states(self, endpoint_id: Any, rows: list[OutboundDelivery],
                            ) -> tuple[list[OutboundDelivery], list[Any], bool]:
        """Which of ``rows`` to send now, which to supersede, and whether some were held
        back; the claimed states' streams get their ``sent_version`` (caller's transaction)."""
        states = [d for d in rows if d.event_type == STATE_TYPE and d.customer_id is not None]
        claimed = [d for d in rows if not (d.event_type == STATE_TYPE
                                           and d.customer_id is not None)]
        if not states:
            return claimed, [], False
        customers = {d.customer_id for d in states}
        # SKIP LOCKED: a stream the dispatcher or another claim holds is left for later
        # (both wake a job when they commit), and no lock order can deadlock with theirs.
        streams = {s.customer_id: s for s in await OutboundStream.filter(
            endpoint_id=endpoint_id, customer_id__in=customers,
        ).order_by("id").select_for_update(skip_locked=True)}
        held = len(streams) < len(customers)
        if not streams:
            return claimed, [], held
        same_streams = OutboundDelivery.filter(endpoint_id=endpoint_id, event_type=STATE_TYPE,
                                               customer_id__in=list(streams))
        busy: set[Any] = set(await same_streams.filter(status=DeliveryStatus.SENDING)
                   .values_list("customer_id", flat=True))
        newest = dict(await same_streams.filter(status__in=WAITING_STATUSES)
                      .annotate(newest=Max("version")).group_by("customer_id")
                      .values_list("customer_id", "newest"))
        superseded: list[Any] = []
        moved: list[OutboundStream] = []
        for delivery in sorted(states, key=lambda d: d.version or 0, reverse=True):
            customer_id: Any = delivery.customer_id
            stream = streams.get(customer_id)
            if stream is None:
                continue
            version = delivery.version or 0
            if version < stream.sent_version or version < (newest.get(customer_id) or 0):
                superseded.append(delivery.id)
            elif customer_id in busy:
                held = True
            else:
                busy.add(customer_id)
                stream.sent_version = version
                moved.append(stream)
                claimed.append(delivery)
        if moved:
            await OutboundStream.bulk_update(moved, fields=["sent_version"])
        return claimed, superseded, held

    # --- sending ------------------------------------------------------------------------

    def _keys(self, endpoint: OutboundEndpoint) -> _Keys:
        secrets = [self.box.decrypt(endpoint.secret, context=secret_context(endpoint.id))]
        if (endpoint.previous_secret and endpoint.previous_secret_expires_at is not None
                and endpoint.previous_secret_expires_at > self.now()):
            secrets.append(self.box.decrypt(endpoint.previous_secret,
                                            context=secret_context(endpoint.id)))
        credentials = None
        key = None
        if endpoint.credentials:
            credentials = json.loads(self.box.decrypt(
                endpoint.credentials, context=credentials_context(endpoint.id)))
            key = (str(endpoint.id), endpoint.credentials)
        return _Keys(secrets, credentials, key, self._client(endpoint))

    async def send(self, claim: Claim) -> list[Outcome]:
        endpoint = claim.endpoint
        keys = self._keys(endpoint)
        routes = await self._route(endpoint, claim.deliveries, keys)
        gate = asyncio.Semaphore(IN_FLIGHT)

        async def one(delivery: OutboundDelivery, route: _Route) -> Outcome:
            if route.target is None or route.url is None:
                return Outcome(delivery, wait_until=self._at(route.wait_until))
            async with gate:
                return await self._send_one(endpoint, keys, delivery, route.target, route.url)

        outcomes = list(await asyncio.gather(*(one(d, r) for d, r in zip(
            claim.deliveries, routes, strict=True))))
        for target, url in ((AttemptTarget.PRIMARY, endpoint.url),
                            (AttemptTarget.FALLBACK, endpoint.fallback_url)):
            results = [o.attempt.succeeded for o in outcomes
                       if o.attempt is not None and o.attempt.target == target]
            if url and results:
                transition = await self._breaker_record(url, results)
                if transition:
                    await self._inc("outbound_circuit_transitions",
                                    {"endpoint": str(endpoint.id), "target": target.value,
                                     "transition": transition})
        return outcomes

    def _at(self, seconds: float | None) -> datetime:
        return datetime.fromtimestamp(seconds if seconds is not None else self.clock() + 1, UTC)

    def _preferred(self, endpoint: OutboundEndpoint, delivery: OutboundDelivery) -> AttemptTarget:
        if not endpoint.fallback_url:
            return AttemptTarget.PRIMARY
        if delivery.primary_failures >= FALLBACK_AFTER:
            return AttemptTarget.FALLBACK
        last = _last_failure(delivery)
        if last is not None and last[0] == AttemptTarget.PRIMARY.value \
                and last[1] in http.TIMEOUT_ERRORS:
            return AttemptTarget.FALLBACK
        return AttemptTarget.PRIMARY

    async def _route(self, endpoint: OutboundEndpoint, deliveries: list[OutboundDelivery],
                     keys: _Keys) -> list[_Route]:
        """Each delivery's URL for this attempt, as its rule and the breakers allow: a URL
        whose breaker refuses hands over to the other one, else the delivery waits."""
        url_of = {AttemptTarget.PRIMARY: endpoint.url,
                  AttemptTarget.FALLBACK: endpoint.fallback_url}
        other = {AttemptTarget.PRIMARY: AttemptTarget.FALLBACK,
                 AttemptTarget.FALLBACK: AttemptTarget.PRIMARY}
        wanted: dict[AttemptTarget, list[int]] = defaultdict(list)
        for i, delivery in enumerate(deliveries):
            wanted[self._preferred(endpoint, delivery)].append(i)
        routes: list[_Route] = [_Route(None) for _ in deliveries]
        lease = 2.0 * endpoint.timeout_seconds + 5
        refused: dict[AttemptTarget, list[int]] = {}
        waits: list[float] = []
        for target, indexes in wanted.items():
            permit = await self.breaker.acquire(url_of[target] or "", len(indexes),
                                                probe_lease_seconds=lease)
            for i in indexes[:permit.allowed]:
                routes[i] = _Route(target, url_of[target])
            refused[target] = indexes[permit.allowed:]
            if permit.retry_at is not None:
                waits.append(permit.retry_at)
        for target, indexes in refused.items():
            alternative = other[target]
            if not indexes or not url_of[alternative]:
                continue
            permit = await self.breaker.acquire(url_of[alternative] or "", len(indexes),
                                                probe_lease_seconds=lease)
            for i in indexes[:permit.allowed]:
                routes[i] = _Route(alternative, url_of[alternative])
            if permit.retry_at is not None:
                waits.append(permit.retry_at)
        wait_until = min(waits) if waits else self.clock() + 1
        for route in routes:
            if route.target is None:
                route.wait_until = wait_until
        return routes

    async def _breaker_record(self, url: str, results: list[bool]) -> str:
        try:
            return await self.breaker.record(url, results)
        except (RedisError, OSError) as exc:
            log.warning("circuit breaker not updated: %s", exc.__class__.__name__)
            return ""

    async def _rate_wait(self, endpoint: OutboundEndpoint) -> float | None:
        """None when the send may go now (after waiting up to RATE_WAIT_SECONDS), else
        when to try again."""
        rate = endpoint.rate_limit_per_second
        if not rate:
            return None
        waited = 0.0
        while True:
            decision = await self.limiter.hit(str(endpoint.id), rate_per_second=rate, burst=1)
            if decision.allowed:
                return None
            if waited + decision.retry_after_seconds > RATE_WAIT_SECONDS:
                return self.clock() + decision.retry_after_seconds
            await asyncio.sleep(decision.retry_after_seconds)
            waited += decision.retry_after_seconds

    async def _send_one(self, endpoint: OutboundEndpoint, keys: _Keys,
                        delivery: OutboundDelivery, target: AttemptTarget,
                        url: str) -> Outcome:
        try:
            later = await self._rate_wait(endpoint)
        except (RedisError, OSError):
            later = None  # the limit protects the vendor, not us: a Redis outage sends
        if later is not None:
            return Outcome(delivery, wait_until=self._at(later))
        attempted_at = self.now()
        started = time.perf_counter()
        status: int | None = None
        excerpt: str | None = None
        error: str | None = None
        detail = ""
        retry_after: float | None = None
        try:
            urls.parse_url(url, "url", prod=self.prod)
            status, excerpt, headers = await self._post(endpoint, keys, delivery, url)
            if 200 <= status < 300:
                pass
            elif 300 <= status < 400:
                error, detail = "Redirect", f"HTTP {status}, not followed"
            else:
                error, detail = "HTTPStatus", f"HTTP {status}"
                if status in (429, 503):
                    retry_after = retry_after_seconds(headers.get("retry-after"),
                                                      self.clock())
        except BadInput as exc:
            error, detail = "RefusedURL", exc.message
        except http.TokenError as exc:
            error, detail = "TokenError", str(exc)
        except (httpx.HTTPError, urls.RefusedAddress) as exc:
            error, detail = http.error_class(exc), str(exc) or type(exc).__name__
        duration = time.perf_counter() - started
        attempt = OutboundAttempt(
            delivery_id=delivery.id, attempted_at=attempted_at, target=target, url=url,
            status_code=status, duration_ms=round(duration * 1000), response_excerpt=excerpt,
            error_class=error, succeeded=error is None)
        if error is not None:
            delivery.last_error = f"{target.value}/{error}: {detail}"[:500]
        await self._observe("outbound_attempt_seconds",
                            {"endpoint": str(endpoint.id), "target": target.value}, duration)
        return Outcome(delivery, attempt, retry_after=retry_after, gone=status == 410)

    async def _post(self, endpoint: OutboundEndpoint, keys: _Keys, delivery: OutboundDelivery,
                    url: str) -> tuple[int, str | None, httpx.Headers]:
        body = body_of(delivery.payload)
        timeout = float(endpoint.timeout_seconds)
        for refetched in (False, True):
            headers = standard_webhooks.headers(keys.secrets, delivery.webhook_id,
                                                int(time.time()), body)
            token = await self._authorization(keys, timeout)
            if token is not None:
                headers["authorization"] = f"Bearer {token[0]}"
            async with keys.client.stream("POST", url, content=body, headers=headers,
                                          timeout=timeout) as response:
                excerpt = await _excerpt(response)
            if (response.status_code == 401 and token is not None and token[1]
                    and keys.credentials_key is not None and not refetched):
                self.tokens.forget(keys.credentials_key, token[0])
                continue
            return response.status_code, excerpt, response.headers
        raise AssertionError("unreachable")  # pragma: no cover

    async def _authorization(self, keys: _Keys,
                             timeout_seconds: float) -> tuple[str, bool] | None:
        """The bearer token to send and whether it can be fetched again, or None."""
        credentials = keys.credentials
        if not credentials:
            return None
        if credentials.get("type") == "bearer":
            return str(credentials.get("token") or ""), False
        if credentials.get("type") == "oauth2_client_credentials" and keys.credentials_key:
            return await self.tokens.token(keys.credentials_key, credentials,
                                           timeout_seconds=timeout_seconds), True
        raise http.TokenError(f"unknown credentials type {credentials.get('type')!r}")

    # --- recording ----------------------------------------------------------------------

    async def record(self, claim: Claim, outcomes: list[Outcome]) -> None:
        """Write the batch's attempts and outcomes in one transaction."""
        endpoint = claim.endpoint
        now = self.now()
        counts: Counter[str] = Counter()
        attempts = [o.attempt for o in outcomes if o.attempt is not None]
        wake_at: float | None = None
        gone = any(o.gone for o in outcomes)
        succeeded = any(o.succeeded for o in outcomes)
        for outcome in outcomes:
            delivery, attempt = outcome.delivery, outcome.attempt
            delivery.updated_at = now
            if attempt is None:
                delivery.status = claim.previous_status[delivery.id]
                delivery.next_attempt_at = outcome.wait_until
                wake_at = _earliest(wake_at, outcome.wait_until)
                continue
            delivery.attempts += 1
            delivery.last_status_code = attempt.status_code
            if attempt.succeeded:
                delivery.status = DeliveryStatus.SUCCEEDED
                delivery.delivered_at = now
                delivery.next_attempt_at = None
                delivery.last_error = None
                if attempt.target == AttemptTarget.PRIMARY:
                    delivery.primary_failures = 0
                counts["succeeded"] += 1
                await self._observe("outbound_sync_lag_seconds", {"endpoint": str(endpoint.id)},
                                    (now - delivery.changed_at).total_seconds())
                continue
            if attempt.target == AttemptTarget.PRIMARY:
                delivery.primary_failures += 1
            delay = None if outcome.gone else next_delay(
                self.schedule, delivery.attempts, outcome.retry_after, self.jitter())
            if delay is None:
                delivery.status = DeliveryStatus.FAILED
                delivery.next_attempt_at = None
                counts["failed"] += 1
            else:
                delivery.status = DeliveryStatus.RETRYING
                delivery.next_attempt_at = now + timedelta(seconds=delay)
                wake_at = _earliest(wake_at, delivery.next_attempt_at)
                counts["retrying"] += 1
        disable_reason = None
        failing_since = endpoint.failing_since
        if succeeded:
            failing_since = None
        elif attempts:
            failing_since = failing_since or now
            if now - failing_since >= AUTO_DISABLE_AFTER:
                disable_reason = (f"failing continuously since {failing_since.isoformat()}; "
                                  "disabled automatically")
        if gone:
            disable_reason = "the receiver answered 410 Gone"
        async with in_transaction():
            if attempts:
                await OutboundAttempt.bulk_create(attempts)
            await OutboundDelivery.bulk_update(
                [o.delivery for o in outcomes],
                fields=["status", "attempts", "primary_failures", "next_attempt_at",
                        "last_status_code", "last_error", "delivered_at", "updated_at"])
            changes: dict[str, Any] = {}
            if failing_since != endpoint.failing_since:
                changes["failing_since"] = failing_since
            if disable_reason is not None:
                changes.update(enabled=False, disabled_reason=disable_reason)
            if changes:
                # Only while enabled: an operator's own disable (and reason) stands.
                changed = await OutboundEndpoint.filter(id=endpoint.id, enabled=True) \
                    .update(**changes, updated_at=now)
                if disable_reason is not None and changed:
                    counts["skipped"] += await OutboundDelivery.filter(
                        endpoint_id=endpoint.id, status__in=WAITING_STATUSES,
                    ).update(status=DeliveryStatus.SKIPPED, next_attempt_at=None,
                             updated_at=now)
                    await raise_alert(
                        "outbound.endpoint_disabled", AlertSeverity.CRITICAL,
                        f"outbound endpoint {endpoint.url} disabled: {disable_reason}",
                        integration_id=endpoint.integration_id,
                        details={"endpointId": str(endpoint.id), "reason": disable_reason})
                    log.warning("outbound endpoint disabled", extra={
                        "endpoint": str(endpoint.id), "reason": disable_reason})
                else:
                    disable_reason = None
        if disable_reason is not None:
            await outbox.wake(self.queue)
        for outcome_name, count in counts.items():
            await self._count(endpoint.id, outcome_name, count)
        if wake_at is not None and disable_reason is None:
            await self._wake(endpoint.id, max(0.0, wake_at - self.clock()))

    async def _count(self, endpoint_id: Any, outcome: str, amount: int) -> None:
        if amount:
            await self._inc("outbound_deliveries",
                            {"endpoint": str(endpoint_id), "outcome": outcome}, amount)

    async def _inc(self, name: str, labels: dict[str, str], amount: int = 1) -> None:
        if self.metrics is not None:
            await self.metrics.inc(name, labels, amount)

    async def _observe(self, name: str, labels: dict[str, str], value: float) -> None:
        if self.metrics is not None:
            await self.metrics.observe(name, labels, value)

    # --- the sweep ----------------------------------------------------------------------

    async def sweep(self) -> dict[str, int]:
        now = self.now()
        skipped = await OutboundDelivery.filter(
            Q(endpoint__enabled=False) | Q(endpoint__deleted_at__isnull=False),
            status__in=WAITING_STATUSES,
        ).update(status=DeliveryStatus.SKIPPED, next_attempt_at=None, updated_at=now)
        reset = 0
        sending = await OutboundDelivery.filter(status=DeliveryStatus.SENDING) \
            .distinct().values_list("endpoint_id", flat=True)
        if sending:
            timeouts = dict(await OutboundEndpoint.filter(id__in=list(sending))
                            .values_list("id", "timeout_seconds"))
            margin = self.settings.outbound_stuck_margin_seconds
            for endpoint_id, timeout in timeouts.items():
                stuck_before = now - timedelta(seconds=STUCK_TIMEOUTS * timeout + margin)
                reset += await OutboundDelivery.filter(
                    endpoint_id=endpoint_id, status=DeliveryStatus.SENDING,
                    updated_at__lt=stuck_before,
                ).update(status=DeliveryStatus.RETRYING, next_attempt_at=now, updated_at=now)
        overdue = now - timedelta(seconds=SWEEP_GRACE_SECONDS)
        due = set(await OutboundDelivery.filter(
            Q(next_attempt_at__lte=overdue)
            | Q(next_attempt_at__isnull=True, updated_at__lte=overdue),
            status__in=WAITING_STATUSES,
        ).distinct().values_list("endpoint_id", flat=True))
        if reset:
            due |= set(sending)
        if due:
            await wake_deliverers(self.queue, due, tag=f"s{int(self.clock()) // 5}")
        if skipped or reset:
            log.info("outbound sweep", extra={"skipped": skipped, "reset": reset,
                                              "woken": len(due)})
        return {"skipped": skipped, "reset": reset, "woken": len(due)}


def _earliest(current: float | None, candidate: datetime | None) -> float | None:
    if candidate is None:
        return current
    seconds = candidate.timestamp()
    return seconds if current is None else min(current, seconds)


async def _excerpt(response: httpx.Response) -> str | None:
    """At most EXCERPT_BYTES of the body, decoded leniently; the rest is not read."""
    chunks = bytearray()
    async for chunk in response.aiter_bytes():
        chunks += chunk
        if len(chunks) >= EXCERPT_BYTES:
            break
    if not chunks:
        return None
    return bytes(chunks[:EXCERPT_BYTES]).decode(response.encoding or "utf-8", errors="replace")


# --- arq ------------------------------------------------------------------------------


def engine(ctx: dict[str, Any]) -> Engine:
    """The worker process's engine (made on first use, kept across worker restarts)."""
    found: Engine | None = ctx.get("outbound_engine")
    if found is None:
        found = Engine(ctx["settings"], ctx["redis"], ctx.get("metrics"))
        ctx["outbound_engine"] = found
    return found


async def deliver(ctx: dict[str, Any], endpoint_id: str) -> None:
    await engine(ctx).drain(endpoint_id)


async def sweep(ctx: dict[str, Any]) -> dict[str, int]:
    return await engine(ctx).sweep()


# Settled deliveries: nothing will send them again, so their records can go.
SETTLED_STATUSES = (DeliveryStatus.SUCCEEDED, DeliveryStatus.FAILED,
                    DeliveryStatus.SUPERSEDED, DeliveryStatus.SKIPPED)


async def purge(*, older_than_days: int, now: datetime | None = None,
                batch: int = 5000) -> int:
    """Delete settled deliveries last changed before the retention window, with their
    attempts, in batches of ``batch`` so that no transaction grows large; how many.
    Waiting and sending deliveries stay, however old."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=older_than_days)
    total = 0
    while True:
        ids = await OutboundDelivery.filter(
            updated_at__lt=cutoff, status__in=SETTLED_STATUSES,
        ).order_by("updated_at").limit(batch).values_list("id", flat=True)
        if not ids:
            return total
        async with in_transaction():
            # Not left to the foreign key's cascade: SQLite enforces it only when asked.
            await OutboundAttempt.filter(delivery_id__in=list(ids)).delete()
            total += await OutboundDelivery.filter(id__in=list(ids)).delete()


async def retention(ctx: dict[str, Any]) -> int:
    """`outbound.retention`: delete delivery records past CCM_OUTBOUND_RETENTION_DAYS."""
    count = await purge(older_than_days=ctx["settings"].outbound_retention_days)
    if count:
        log.info("deleted outbound deliveries past retention", extra={"count": count})
    return count


async def close(ctx: dict[str, Any]) -> None:
    found = ctx.pop("outbound_engine", None)
    if found is not None:
        await found.aclose()
