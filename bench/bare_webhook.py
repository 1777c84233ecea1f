"""The webhook benchmark's reference point: webhook ingestion behind bare Starlette + asyncpg.

``POST /webhooks/{slug}`` does the minimum the service's endpoint does for a
Stripe callback, on the service's own tables in the same database:

1. content type ``application/json`` and a declared length of at most 1 MiB;
2. ``SELECT id, secret, enabled FROM integration WHERE slug = $1`` (not deleted);
3. decrypts the stored signing secret (``SecretBox``, as the service does on
   every request) and checks ``Stripe-Signature: t=<unix>,v1=<hex>``: HMAC-SHA256
   of ``{t}.{body}`` keyed with the secret's UTF-8 bytes, ``hmac.compare_digest``
   against each ``v1``, ``t`` within 300 s;
4. ``json.loads`` the body for the event id, type and ``created``;
5. ``INSERT INTO inbound_event ... ON CONFLICT (integration_id, external_id) DO
   NOTHING RETURNING id`` (a duplicate answers 200 with the first event's id);
6. one Redis call to enqueue: ``LPUSH <BARE_QUEUE_KEY> <event id>``;
7. answers 202 ``{"id", "status": "received", "duplicate": false}``, the same
   body as the service.

Left out compared with the service: the per-integration rate limit (one EVALSHA),
the Redis metrics (three calls per callback), arq's job bookkeeping (job key +
queue sorted set in a WATCH/MULTI transaction instead of one LPUSH), the ORM,
the profile engine (generic header parsing, envelope extraction), the
middleware stack and the access log. ``GET /healthz`` for readiness.

Environment: ``BARE_DATABASE_URL``, ``BARE_POOL_SIZE`` (10, like
``CCM_DB_POOL_SIZE``), ``BARE_REDIS_URL``, ``BARE_QUEUE_KEY`` (``bench:inbound``)
and ``CCM_SECRET_KEY`` (the service's development default when unset; it must be
the service's, since the secrets were encrypted by it)::

    python -m uvicorn bare_webhook:create_app --factory --app-dir bench --port 8721 \\
        --loop uvloop --http httptools --no-access-log
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import redis.asyncio as aioredis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ccm_gateway.config import DEV_SECRET_KEY
from ccm_gateway.kit.secrets import SecretBox

MAX_BODY = 1024 * 1024
TOLERANCE_SECONDS = 300

SQL_INTEGRATION = ('SELECT "id", "secret", "enabled" FROM "integration" '
                   'WHERE "slug" = $1 AND "deleted_at" IS NULL')
SQL_INSERT = (
    'INSERT INTO "inbound_event" ("id", "integration_id", "external_id", "event_type", '
    '"status", "content_type", "payload", "occurred_at", "received_at", "attempts") '
    "VALUES ($1, $2, $3, $4, 'received', $5, $6, $7, $8, 0) "
    'ON CONFLICT ("integration_id", "external_id") DO NOTHING RETURNING "id"'
)
SQL_FIRST = ('SELECT "id", "status" FROM "inbound_event" '
             'WHERE "integration_id" = $1 AND "external_id" = $2')


def _refuse(status: int, error: str) -> JSONResponse:
    return JSONResponse({"error": error}, status_code=status)


def _signature_ok(header: str, body: bytes, secret: str, now: float) -> bool:
    stamp, offered = None, []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            stamp = value
        elif key == "v1":
            offered.append(value)
    if stamp is None or not stamp.isdigit() or not offered:
        return False
    expected = hmac.new(secret.encode("utf-8"), stamp.encode() + b"." + body,
                        hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, v) for v in offered):
        return False
    return abs(now - int(stamp)) <= TOLERANCE_SECONDS


async def webhook(request: Request) -> Response:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return _refuse(415, "UNSUPPORTED_MEDIA_TYPE")
    declared = request.headers.get("content-length", "")
    if not declared.isdigit() or int(declared) > MAX_BODY:
        return _refuse(413, "PAYLOAD_TOO_LARGE")
    slug = request.path_params["slug"]
    pool: asyncpg.Pool = request.app.state.pool
    async with pool.acquire() as conn:
        integration = await conn.fetchrow(SQL_INTEGRATION, slug)
        if integration is None:
            return _refuse(404, "NOT_FOUND")
        if not integration["enabled"]:
            return _refuse(403, "INTEGRATION_DISABLED")
        body = await request.body()
        if len(body) > MAX_BODY:
            return _refuse(413, "PAYLOAD_TOO_LARGE")
        box: SecretBox = request.app.state.box
        secret = box.decrypt(integration["secret"],
                             context=f"integration-secret:{integration['id']}")
        if not _signature_ok(request.headers.get("stripe-signature", ""), body, secret,
                             time.time()):
            return _refuse(401, "SIGNATURE_MISMATCH")
        try:
            event = json.loads(body)
            external_id, event_type = str(event["id"]), event.get("type")
            created = event.get("created")
            occurred_at = datetime.fromtimestamp(created, UTC) if created else None
        except (ValueError, KeyError, TypeError):
            return _refuse(400, "MALFORMED_BODY")
        event_id = uuid.uuid4()
        inserted = await conn.fetchval(SQL_INSERT, event_id, integration["id"], external_id,
                                       event_type, "application/json", body, occurred_at,
                                       datetime.now(UTC))
        if inserted is None:
            first = await conn.fetchrow(SQL_FIRST, integration["id"], external_id)
            return JSONResponse({"id": str(first["id"]), "status": first["status"],
                                 "duplicate": True})
    await request.app.state.redis.lpush(request.app.state.queue_key, str(event_id))
    return JSONResponse({"id": str(event_id), "status": "received", "duplicate": False},
                        status_code=202)


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def create_app() -> Starlette:
    dsn = os.environ.get("BARE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ccm_bench")
    pool_size = int(os.environ.get("BARE_POOL_SIZE", "10"))
    redis_url = os.environ.get("BARE_REDIS_URL", "redis://127.0.0.1:6379/13")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.pool = await asyncpg.create_pool(dsn, min_size=1, max_size=pool_size)
        app.state.redis = aioredis.Redis.from_url(redis_url)
        app.state.queue_key = os.environ.get("BARE_QUEUE_KEY", "bench:inbound")
        app.state.box = SecretBox(os.environ.get("CCM_SECRET_KEY") or DEV_SECRET_KEY)
        try:
            yield
        finally:
            await app.state.redis.aclose()
            await app.state.pool.close()

    return Starlette(routes=[
        Route("/webhooks/{slug}", webhook, methods=["POST"]),
        Route("/healthz", healthz),
    ], lifespan=lifespan)
