"""GET /metrics: the Redis-held metrics of every process, for Prometheus to scrape."""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ccm_gateway.kit.metrics import Metrics

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


async def metrics_endpoint(request: Request) -> Response:
    token = request.app.state.settings.metrics_token
    if token and not _bearer_matches(request.headers.get("authorization"), token):
        return JSONResponse(
            {"error": "UNAUTHENTICATED", "detail": "metrics need the configured bearer token"},
            status_code=401, headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    # Rendering needs only the shared Redis, so an app without its own Metrics
    # instance (or a different process) shows the same numbers.
    metrics = getattr(request.app.state, "metrics", None) or Metrics(request.app.state.queue)
    return Response(await metrics.render(), headers={"Content-Type": CONTENT_TYPE})


def _bearer_matches(header: str | None, token: str) -> bool:
    scheme, _, presented = (header or "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    # Bytes, not str: compare_digest refuses non-ASCII str. Starlette decodes
    # headers as latin-1, so encoding back gives the bytes that were sent.
    return hmac.compare_digest(presented.strip().encode("latin-1"), token.encode())
