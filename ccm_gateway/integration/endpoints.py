"""POST /webhooks/{integration}: verify, store in the inbox, enqueue, answer 202.

Order matters: the cheap refusals (unknown, disabled, rate, size, content type)
come before reading the body, the signature is checked on the raw bytes before
parsing them, and nothing is stored until the signature holds. A refused
request leaves no row anywhere.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from redis.exceptions import RedisError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from ccm_gateway.integration import inbox, profiles
from ccm_gateway.integration.models import Integration
from ccm_gateway.integration.service import EdgeIntegration, edge_integration
from ccm_gateway.kit.metrics import Metrics
from ccm_gateway.kit.ratelimit import RateLimiter

RATE_LIMIT_PREFIX = "ccm:integration-rate:"


def _refusal(status: int, error: str, detail: str,
             headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail}, status_code=status, headers=headers)


class _Refused(Exception):
    def __init__(self, response: JSONResponse, reason: str) -> None:
        self.response = response
        self.reason = reason


async def webhook_endpoint(request: Request) -> Response:
    started = time.perf_counter()
    slug = request.path_params["integration"]
    queue = request.app.state.queue
    metrics: Metrics = request.app.state.metrics
    edge = await edge_integration(request.app.state.secret_box, slug)
    if edge is None:
        # No metrics label for a name nobody configured: it would let callers
        # create unbounded label values.
        return _refusal(404, "NOT_FOUND", f"no integration {slug!r}")
    labels = {"integration": edge.integration.slug}
    await metrics.inc("webhook_callbacks_received", labels)
    try:
        received = await _receive(request, edge, queue)
    except _Refused as refused:
        await metrics.inc("webhook_callbacks_refused", labels | {"reason": refused.reason})
        return refused.response
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
    await _rate_limit(request, integration)
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in profile.content_types:
        raise _Refused(_refusal(415, "UNSUPPORTED_MEDIA_TYPE",
                                f"content type must be {' or '.join(profile.content_types)}"),
                       "CONTENT_TYPE")
    body = await _read_body(request, settings.webhook_max_body_bytes)
    headers = {k.lower(): v for k, v in request.headers.items()}
    now = datetime.now(UTC)
    try:
        profiles.verify(profile, headers, body, edge.active_secrets(now), now=now.timestamp())
    except profiles.SignatureRefused as exc:
        raise _Refused(_refusal(401, exc.reason, exc.message), exc.reason) from None
    try:
        return await inbox.receive(queue, integration, profile, headers, body, media_type, now)
    except profiles.MalformedBody as exc:
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


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    too_large = _Refused(_refusal(413, "PAYLOAD_TOO_LARGE",
                                  f"request body exceeds {limit} bytes"), "TOO_LARGE")
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
                       "DISCONNECTED") from None
    return b"".join(chunks)
