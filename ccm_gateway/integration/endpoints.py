"""POST /webhooks/{integration}: verify, store in the inbox, enqueue, answer 202.

Order matters: the cheap refusals (a sender address out of budget, unknown,
disabled, size, content type) come before reading the body, the signature is
checked on the raw bytes before parsing them, and nothing is stored until the
signature holds. A refused request leaves no row anywhere.

Two budgets: only a verified callback spends its integration's rate limit, so
junk cannot starve a vendor; a callback refused before its signature held
(unknown integration, wrong content type, too large, unsigned or badly signed)
spends its sender address's budget instead. That budget is checked first, from
this process's memory of addresses Redis has refused (``LocalBlocks``), so a
flood of junk costs neither a signature nor a lookup per request once it is
spent, and a genuine callback pays no extra Redis round trip for it.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from redis.exceptions import RedisError
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from ccm_gateway.integration import inbox
from ccm_gateway.integration.models import Integration
from ccm_gateway.integration.profiles.reading import MalformedBody
from ccm_gateway.integration.profiles.signatures import (
    SignatureRefused,
    verify,
    with_header_aliases,
)
from ccm_gateway.integration.service import EdgeIntegration, edge_integration
from ccm_gateway.kit.metrics import Metrics
from ccm_gateway.kit.ratelimit import LocalBlocks, RateLimiter

log = logging.getLogger("ccm_gateway.integration.endpoints")

RATE_LIMIT_PREFIX = "ccm:integration-rate:"
# Refusals per sender address (rate per second, burst), in buckets of their own; module
# constants until settings carry them. Holding back a vendor whose secret is wrong costs
# nothing: its callbacks are refused either way.
REFUSED_PER_ADDRESS = (1.0, 20)
REFUSED_PREFIX = "ccm:webhook-refused:"
REFUSED_CLOCK: Callable[[], float] | None = None  # None: Redis TIME, and monotonic locally


def _refusal(status: int, error: str, detail: str,
             headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail}, status_code=status, headers=headers)


class _Refused(Exception):
    """``unverified``: refused before the signature held, so it spends the address's budget."""

    def __init__(self, response: JSONResponse, reason: str, *, unverified: bool = False) -> None:
        self.response = response
        self.reason = reason
        self.unverified = unverified


async def webhook_endpoint(request: Request) -> Response:
    started = time.perf_counter()
    slug = request.path_params["integration"]
    queue = request.app.state.queue
    metrics: Metrics = request.app.state.metrics
    address = request.client.host if request.client else "unknown"
    wait = _blocks(request.app).retry_after(address, _local_now())
    if wait:
        return _address_limited(wait)
    edge = await edge_integration(request.app.state.secret_box, slug)
    if edge is None:
        # No metrics label for a name nobody configured: it would let callers
        # create unbounded label values.
        limited = await _spend_refusal(request, address)
        return limited or _refusal(404, "NOT_FOUND", f"no integration {slug!r}")
    labels = {"integration": edge.integration.slug}
    await metrics.inc("webhook_callbacks_received", labels)
    try:
        received = await _receive(request, edge, queue)
    except _Refused as refused:
        response, reason = refused.response, refused.reason
        if refused.unverified and (limited := await _spend_refusal(request, address)):
            response, reason = limited, "ADDRESS_RATE_LIMITED"
        await metrics.inc("webhook_callbacks_refused", labels | {"reason": reason})
        return response
    await metrics.observe("webhook_ingest_seconds", labels, time.perf_counter() - started)
    body = {"id": str(received.event_id), "status": received.status,
            "duplicate": received.duplicate}
    if received.duplicate:
        body["result"] = received.result
    return JSONResponse(body, status_code=200 if received.duplicate else 202)


async def _receive(request: Request, edge: EdgeIntegration, queue: Any) -> inbox.Received:
    settings = request.app.state.settings
    integration, profile = edge.integration, edge.profile
    if not integration.enabled:
        raise _Refused(_refusal(403, "INTEGRATION_DISABLED",
                                f"integration {integration.slug} is disabled"), "DISABLED")
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in profile.content_types:
        raise _Refused(_refusal(415, "UNSUPPORTED_MEDIA_TYPE",
                                f"content type must be {' or '.join(profile.content_types)}"),
                       "CONTENT_TYPE", unverified=True)
    body = await _read_body(request, settings.webhook_max_body_bytes)
    headers = with_header_aliases(profile, {k.lower(): v for k, v in request.headers.items()})
    now = datetime.now(UTC)
    try:
        verify(profile, headers, body, edge.active_secrets(now), now=now.timestamp())
    except SignatureRefused as exc:
        raise _Refused(_refusal(401, exc.reason, exc.message), exc.reason,
                       unverified=True) from None
    await _rate_limit(request, integration)
    try:
        return await inbox.receive(queue, integration, profile, headers, body, media_type, now)
    except MalformedBody as exc:
        raise _Refused(_refusal(400, "MALFORMED_BODY", exc.message), "MALFORMED_BODY") from None


async def _rate_limit(request: Request, integration: Integration) -> None:
    limiter: RateLimiter = request.app.state.integration_limiter
    try:
        decision = await limiter.hit(str(integration.id),
                                     rate_per_second=integration.rate_limit_per_second,
                                     burst=integration.rate_limit_burst)
    except (RedisError, OSError):
        return  # fail open, like the API's limiter: an outage must not drop payments
    if not decision.allowed:
        retry_after = decision.retry_after_header
        raise _Refused(_refusal(429, "RATE_LIMITED", f"rate limit exceeded; retry after "
                                f"{retry_after} s", {"Retry-After": str(retry_after)}),
                       "RATE_LIMITED")


def _local_now() -> float:
    return REFUSED_CLOCK() if REFUSED_CLOCK is not None else time.monotonic()


def _blocks(app: Starlette) -> LocalBlocks:
    blocks: LocalBlocks | None = getattr(app.state, "refused_address_blocks", None)
    if blocks is None:
        blocks = app.state.refused_address_blocks = LocalBlocks()
    return blocks


def _address_limited(wait_seconds: float) -> JSONResponse:
    retry_after = max(1, math.ceil(wait_seconds))
    return _refusal(429, "RATE_LIMITED", f"too many refused callbacks from this address; "
                    f"retry after {retry_after} s", {"Retry-After": str(retry_after)})


async def _spend_refusal(request: Request, address: str) -> JSONResponse | None:
    """Spend one refusal from the sender address's bucket; a 429 once it is empty, and the
    address is then refused from memory until the bucket would allow it again."""
    rate, burst = REFUSED_PER_ADDRESS
    limiter = RateLimiter(request.app.state.queue, rate, burst, prefix=REFUSED_PREFIX,
                          clock=REFUSED_CLOCK)
    try:
        decision = await limiter.hit(f"ip:{address}")
    except (RedisError, OSError):
        return None  # fail open: the refusal itself still stands
    if decision.allowed:
        return None
    _blocks(request.app).block(address, _local_now(), decision.retry_after_seconds)
    log.warning("webhook callbacks from %s refused for %.0f s: too many refused callbacks",
                address, decision.retry_after_seconds)
    return _address_limited(decision.retry_after_seconds)


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    too_large = _Refused(_refusal(413, "PAYLOAD_TOO_LARGE",
                                  f"request body exceeds {limit} bytes"), "TOO_LARGE",
                         unverified=True)
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise too_large
    chunks = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
    except ClientDisconnect:
        raise _Refused(_refusal(400, "MALFORMED_BODY", "the client disconnected"),
                       "DISCONNECTED", unverified=True) from None
    return b"".join(chunks)
