"""GET /metrics: the Redis-held metrics of every process, for Prometheus to scrape."""

from __future__ import annotations

import hmac
import logging

from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ccm_gateway.config import Settings, redact_url
from ccm_gateway.errors import QueueUnavailable
from ccm_gateway.kit.metrics import Metrics

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
log = logging.getLogger("ccm_gateway.metrics")


async def metrics_endpoint(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    token = settings.metrics_token
    if token and not _bearer_matches(request.headers.get("authorization"), token):
        return JSONResponse(
            {"error": "UNAUTHENTICATED", "detail": "metrics need the configured bearer token"},
            status_code=401, headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    if not token and not settings.metrics_served_open:
        # from_env refuses this in prod; an app built from Settings directly still may not
        # publish its metrics to anyone who asks.
        return JSONResponse(
            {"error": "FORBIDDEN", "detail": "/metrics is closed: set CCM_METRICS_TOKEN "
                                             "(or CCM_METRICS_OPEN=true)"}, status_code=403)
    # Rendering needs only the shared Redis, so an app without its own Metrics
    # instance (or a different process) shows the same numbers.
    metrics = getattr(request.app.state, "metrics", None) or Metrics(request.app.state.queue)
    try:
        text = await metrics.render()
    except (RedisError, OSError) as exc:
        log.warning("metrics unavailable: cannot reach Redis at %s (CCM_REDIS_URL): %s",
                    redact_url(settings.redis_url or "embedded"), exc.__class__.__name__)
        raise QueueUnavailable("metrics live in the queue's Redis, which cannot be reached; "
                               f"retry after {QueueUnavailable.retry_after_seconds} s") from None
    return Response(text, headers={"Content-Type": CONTENT_TYPE})


def _bearer_matches(header: str | None, token: str) -> bool:
    scheme, _, presented = (header or "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    # Bytes, not str: compare_digest refuses non-ASCII str. Starlette decodes
    # headers as latin-1, so encoding back gives the bytes that were sent.
    return hmac.compare_digest(presented.strip().encode("latin-1"), token.encode())
