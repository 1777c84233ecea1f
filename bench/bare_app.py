"""The benchmark's reference point: the same SQL as the service, behind bare Starlette + asyncpg.

No GraphQL, no ORM, no bearer-token check, no request-id middleware and no
access log: JSON in, the statements a credit check or an authorisation needs,
JSON out. It uses the service's own tables in the same database, so the ratio
service/bare is the cost of everything the service puts around that SQL.

* ``POST /credit-check`` ``{"customerId", "amount", "currency"}``: on one pooled
  connection, select the customer (status) and its credit account, decide.
* ``POST /authorize`` ``{"customerId", "amount", "currency"}``: one transaction in the
  service's statement shape (``ccm_gateway.ledger.service``): the account row ``FOR
  UPDATE`` with the customer's status and the audit stream's advisory lock in one
  statement; the status and limit check; one statement whose data-modifying CTEs raise
  ``held_minor``, insert the ``hold`` and the outbox message and that reads the audit
  chain's last link; the ``hold.authorize`` audit insert with the same hash
  (``compute_hash``), so ``ccm-gateway verify`` still passes after a run.
* ``POST /gate-access`` ``{"siteId", "customerId"}``: customer, account, site and site
  sub-limit on one pooled connection; open while any credit is available.
* ``POST /capture`` ``{"holdId"}``: the hold ``FOR UPDATE``, its account ``FOR UPDATE``,
  the stream lock, then the balance move, the hold marked captured, the charge entry and
  the outbox message in one statement with the last link, and the ``hold.capture`` audit
  event: the service's shape.
* ``POST /post-entry`` ``{"customerId", "amount", "currency"}``: a CHARGE, in
  authorize's shape: the locks, the check, one statement of writes and the last link,
  the ``entry.post`` audit event.
* Every credit change writes its outbox message (``outbox_message``), as the service does.
* ``GET /healthz``.

Responses mimic the GraphQL payloads' shape (``{"data": {...}}``), so one load
generator check fits both. Run it with uvicorn (uvloop + httptools)::

    BARE_DATABASE_URL=postgres://postgres@127.0.0.1:5432/ccm_bench \\
    python -m uvicorn bare_app:create_app --factory --app-dir bench --port 8711 \\
        --loop uvloop --http httptools --no-access-log

``BARE_POOL_SIZE`` (default 10, like ``CCM_DB_POOL_SIZE``) sizes the pool.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ccm_gateway.audit.service import GENESIS_HASH, compute_hash
from ccm_gateway.kit.money import format_minor, parse_amount

HOLD_TTL = timedelta(seconds=7 * 24 * 3600)  # the service's default CCM_HOLD_TTL_SECONDS
ACTOR_TYPE, ACTOR_ID = "user", "bench"  # what the service records for the bench token

SQL_CUSTOMER = 'SELECT "status", "partner_id" FROM "customer" WHERE "id" = $1'
SQL_ACCOUNT = (
    'SELECT "id", "currency", "credit_limit_minor", "posted_balance_minor", "held_minor" '
    'FROM "credit_account" WHERE "customer_id" = $1'
)
SQL_HOLD_UP = 'UPDATE "credit_account" SET "held_minor" = "held_minor" + $1 WHERE "id" = $2'
SQL_HOLD_INSERT = (
    'INSERT INTO "hold" ("id", "amount_minor", "captured_minor", "currency", "status", '
    '"reference", "source_type", "source_id", "expires_at", "created_at", "updated_at", '
    '"account_id", "site_id") '
    "VALUES ($1, $2, 0, $3, 'pending', NULL, $4, $5, $6, $7, $7, $8, NULL)"
)
SQL_SITE = 'SELECT true FROM "site" WHERE "id" = $1'
SQL_SITE_LIMIT = ('SELECT "limit_minor", "posted_minor", "held_minor" FROM "site_limit" '
                  'WHERE "account_id" = $1 AND "site_id" = $2')
SQL_HOLD_LOCK = ('SELECT "account_id", "amount_minor", "currency", "status", "expires_at" '
                 'FROM "hold" WHERE "id" = $1 FOR UPDATE')
SQL_ACCOUNT_BY_ID_LOCK = ('SELECT "id", "customer_id" FROM "credit_account" WHERE "id" = $1 '
                          'FOR UPDATE')
SQL_CAPTURE_UP = ('UPDATE "credit_account" SET "held_minor" = "held_minor" - $1, '
                  '"posted_balance_minor" = "posted_balance_minor" + $1 WHERE "id" = $2')
SQL_HOLD_DONE = ('UPDATE "hold" SET "status" = \'captured\', "captured_minor" = $1, '
                 '"updated_at" = $2 WHERE "id" = $3')
SQL_POST_UP = ('UPDATE "credit_account" SET "posted_balance_minor" = "posted_balance_minor" + $1 '
               'WHERE "id" = $2')
SQL_ENTRY_INSERT = (
    'INSERT INTO "ledger_entry" ("id", "account_id", "site_id", "kind", "amount_minor", '
    '"currency", "source_type", "source_id", "hold_id", "description", "over_limit", '
    '"occurred_at", "recorded_at") '
    "VALUES ($1, $2, NULL, $3, $4, $5, 'user', 'bench', $6, $7, false, $8, $8)"
)
SQL_OUTBOX_INSERT = (
    'INSERT INTO "outbox_message" ("customer_id", "integration_id", "event_type", "data", '
    '"state_changed", "created_at") VALUES ($1, NULL, $2, $3::jsonb, true, $4)'
)
SQL_STREAM_LOCK = "SELECT pg_advisory_xact_lock($1)"
# As the service (ledger/service.py): the account row and the customer's status, then the
# audit stream's lock, in one round trip.
SQL_ACCOUNT_AND_STREAM_LOCK = (
    'WITH a AS MATERIALIZED (SELECT ca."id", ca."currency", ca."credit_limit_minor", '
    'ca."posted_balance_minor", ca."held_minor", cu."status" FROM "credit_account" ca '
    'JOIN "customer" cu ON cu."id" = ca."customer_id" WHERE ca."customer_id" = $1 '
    "FOR UPDATE OF ca) SELECT a.*, pg_advisory_xact_lock($2) FROM a")
SQL_LAST_LINK = (
    'SELECT "seq", "hash" FROM "audit_event" WHERE "stream" = $1 ORDER BY "seq" DESC LIMIT 1'
)
SQL_AUDIT_INSERT = (
    'INSERT INTO "audit_event" ("stream", "seq", "actor_type", "actor_id", "action", '
    '"object_type", "object_id", "before", "after", "request_id", "created_at", "prev_hash", '
    '"hash") VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8::jsonb, $9, $10, $11, $12)'
)


def _lock_key(name: str) -> int:
    # ccm_gateway.kit.locking._key64: the same key, so both contend on one lock.
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big",
                          signed=True)


def _bad(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"errors": [{"message": message}]}, status_code=status)


def _money(minor: int, currency: str) -> dict[str, str]:
    return {"amount": format_minor(minor, currency), "currency": currency}


async def _input(request: Request) -> tuple[uuid.UUID, int, str]:
    body = await request.json()
    currency = body["currency"]
    return uuid.UUID(body["customerId"]), parse_amount(body["amount"], currency), currency


def _decline(status: str, available: int, amount: int, currency: str) -> tuple[str, str] | None:
    if status == "blocked":
        return "ACCOUNT_BLOCKED", "the customer is blocked"
    if status == "on_hold":
        return "ACCOUNT_ON_HOLD", "the customer is on hold: no new credit"
    if amount > available:
        return "LIMIT_EXCEEDED", (f"{format_minor(amount, currency)} {currency} exceeds the "
                                  f"available {format_minor(available, currency)} {currency}")
    return None


async def credit_check(request: Request) -> Response:
    try:
        customer_id, amount, currency = await _input(request)
    except (KeyError, ValueError, TypeError) as exc:
        return _bad(f"bad input: {exc}")
    pool: asyncpg.Pool = request.app.state.pool
    async with pool.acquire() as conn:
        customer = await conn.fetchrow(SQL_CUSTOMER, customer_id)
        account = await conn.fetchrow(SQL_ACCOUNT, customer_id)
    if customer is None or account is None:
        return _bad(f"customer {customer_id} not found", 404)
    if currency != account["currency"]:
        return _bad("currency differs from the account's currency")
    available = (account["credit_limit_minor"] - account["posted_balance_minor"]
                 - account["held_minor"])
    decline = _decline(customer["status"], available, amount, currency)
    result = {
        "approved": decline is None,
        "reason": decline[0] if decline else None,
        "message": decline[1] if decline else "approved",
        "available": _money(max(available, 0), currency),
    }
    return JSONResponse({"data": {"creditCheck": result}})


def _outbox(customer_id: uuid.UUID,
            event: dict[str, Any] | None = None) -> tuple[str, list[Any]]:
    """``ccm_gateway.kit.outbox.record``: the message a credit change writes."""
    return SQL_OUTBOX_INSERT, [customer_id, "ledger.entry.posted" if event else None,
                               json.dumps(event) if event else None, datetime.now(UTC)]


def _renumber(sql: str, offset: int) -> str:
    return re.sub(r"\$(\d+)", lambda m: f"${int(m.group(1)) + offset}", sql)


async def _write_and_head(conn: asyncpg.Connection, writes: list[tuple[str, list[Any]]],
                          stream: str) -> asyncpg.Record | None:
    """As the service: the change's writes as data-modifying CTEs of one statement that
    also reads the audit stream's last link (the stream locked already)."""
    parts, args = [], []
    for n, (sql, values) in enumerate(writes):
        parts.append(f"w{n} AS ({_renumber(sql, len(args))})")
        args.extend(values)
    args.append(stream)
    return await conn.fetchrow(
        f"WITH {', '.join(parts)} {_renumber(SQL_LAST_LINK, len(args) - 1)}", *args)


async def _append_audit(conn: asyncpg.Connection, stream: str, last: asyncpg.Record | None,
                        action: str, object_type: str, object_id: str,
                        after: dict[str, Any]) -> None:
    event = SimpleNamespace(
        stream=stream, seq=(last["seq"] + 1) if last else 1, actor_type=ACTOR_TYPE,
        actor_id=ACTOR_ID, action=action, object_type=object_type, object_id=object_id,
        before=None, after=after, request_id=uuid.uuid4().hex, created_at=datetime.now(UTC),
        prev_hash=last["hash"] if last else GENESIS_HASH)
    event.hash = compute_hash(event)  # type: ignore[arg-type]
    await conn.execute(SQL_AUDIT_INSERT, event.stream, event.seq, event.actor_type,
                       event.actor_id, event.action, event.object_type, event.object_id,
                       json.dumps(after), event.request_id, event.created_at,
                       event.prev_hash, event.hash)


async def authorize(request: Request) -> Response:
    try:
        customer_id, amount, currency = await _input(request)
    except (KeyError, ValueError, TypeError) as exc:
        return _bad(f"bad input: {exc}")
    pool: asyncpg.Pool = request.app.state.pool
    stream = f"customer:{customer_id}"
    async with pool.acquire() as conn, conn.transaction():
        account = await conn.fetchrow(SQL_ACCOUNT_AND_STREAM_LOCK, customer_id,
                                      _lock_key(f"audit:{stream}"))
        if account is None:
            return _bad(f"customer {customer_id} not found", 404)
        if currency != account["currency"]:
            return _bad("currency differs from the account's currency")
        available = (account["credit_limit_minor"] - account["posted_balance_minor"]
                     - account["held_minor"])
        decline = _decline(account["status"], available, amount, currency)
        now = datetime.now(UTC)
        if decline:
            action, object_type, object_id = "hold.declined", "credit_account", str(customer_id)
            after = {"amount_minor": amount, "currency": currency, "reason": decline[0]}
            last = await conn.fetchrow(SQL_LAST_LINK, stream)
        else:
            hold_id = uuid.uuid4()
            expires_at = now + HOLD_TTL
            last = await _write_and_head(conn, [
                (SQL_HOLD_UP, [amount, account["id"]]),
                (SQL_HOLD_INSERT, [hold_id, amount, currency, ACTOR_TYPE, ACTOR_ID,
                                   expires_at, now, account["id"]]),
                _outbox(customer_id)], stream)
            action, object_type, object_id = "hold.authorize", "hold", str(hold_id)
            after = {"amount_minor": amount, "captured_minor": 0, "currency": currency,
                     "status": "pending", "site_id": None,
                     "expires_at": expires_at.isoformat(), "reference": None}
        await _append_audit(conn, stream, last, action, object_type, object_id, after)
    if decline:
        result: dict[str, Any] = {"__typename": "CreditDeclined", "reason": decline[0],
                                  "message": decline[1]}
    else:
        result = {"__typename": "Hold", "id": str(hold_id), "status": "PENDING",
                  "amount": _money(amount, currency)}
    return JSONResponse({"data": {"authorizeCredit": result}})


async def gate_access(request: Request) -> Response:
    try:
        body = await request.json()
        customer_id, site_id = uuid.UUID(body["customerId"]), uuid.UUID(body["siteId"])
    except (KeyError, ValueError, TypeError) as exc:
        return _bad(f"bad input: {exc}")
    pool: asyncpg.Pool = request.app.state.pool
    async with pool.acquire() as conn:
        customer = await conn.fetchrow(SQL_CUSTOMER, customer_id)
        account = await conn.fetchrow(SQL_ACCOUNT, customer_id)
        site = await conn.fetchval(SQL_SITE, site_id)
        site_limit = (await conn.fetchrow(SQL_SITE_LIMIT, account["id"], site_id)
                      if account is not None and site else None)
    if customer is None or account is None:
        return _bad(f"customer {customer_id} not found", 404)
    if not site:
        return _bad(f"site {site_id} not found", 404)
    available = (account["credit_limit_minor"] - account["posted_balance_minor"]
                 - account["held_minor"])
    if site_limit is not None:
        available = min(available, site_limit["limit_minor"] - site_limit["posted_minor"]
                        - site_limit["held_minor"])
    decline = _decline(customer["status"], available, 1, account["currency"])
    result = {"allowed": decline is None, "reason": decline[0] if decline else "APPROVED",
              "message": decline[1] if decline else "credit available"}
    return JSONResponse({"data": {"gateAccess": result}})


async def capture(request: Request) -> Response:
    try:
        hold_id = uuid.UUID((await request.json())["holdId"])
    except (KeyError, ValueError, TypeError) as exc:
        return _bad(f"bad input: {exc}")
    pool: asyncpg.Pool = request.app.state.pool
    async with pool.acquire() as conn, conn.transaction():
        hold = await conn.fetchrow(SQL_HOLD_LOCK, hold_id)
        if hold is None:
            return _bad(f"hold {hold_id} not found", 404)
        now = datetime.now(UTC)
        if hold["status"] != "pending" or hold["expires_at"] <= now:
            return _bad(f"hold {hold_id} is not pending", 409)
        # As the service: by account id the stream is known only after the row lock.
        account = await conn.fetchrow(SQL_ACCOUNT_BY_ID_LOCK, hold["account_id"])
        customer_id = account["customer_id"]
        stream = f"customer:{customer_id}"
        await conn.execute(SQL_STREAM_LOCK, _lock_key(f"audit:{stream}"))
        amount = hold["amount_minor"]
        entry_id = uuid.uuid4()
        last = await _write_and_head(conn, [
            (SQL_CAPTURE_UP, [amount, account["id"]]),
            (SQL_HOLD_DONE, [amount, now, hold_id]),
            (SQL_ENTRY_INSERT, [entry_id, account["id"], "charge", amount, hold["currency"],
                                hold_id, "capture of hold", now]),
            _outbox(customer_id, {
                "entryId": str(entry_id), "customerId": str(customer_id), "kind": "CHARGE",
                "amount": _money(amount, hold["currency"]), "holdId": str(hold_id),
                "occurredAt": now.isoformat()})], stream)
        await _append_audit(conn, stream, last, "hold.capture", "hold", str(hold_id), {
            "amount_minor": amount, "captured_minor": amount, "currency": hold["currency"],
            "status": "captured", "entry_id": str(entry_id)})
    result = {"id": str(hold_id), "status": "CAPTURED",
              "captured": _money(amount, hold["currency"])}
    return JSONResponse({"data": {"captureHold": result}})


async def post_entry(request: Request) -> Response:
    try:
        customer_id, amount, currency = await _input(request)
    except (KeyError, ValueError, TypeError) as exc:
        return _bad(f"bad input: {exc}")
    pool: asyncpg.Pool = request.app.state.pool
    async with pool.acquire() as conn, conn.transaction():
        stream = f"customer:{customer_id}"
        account = await conn.fetchrow(SQL_ACCOUNT_AND_STREAM_LOCK, customer_id,
                                      _lock_key(f"audit:{stream}"))
        if account is None:
            return _bad(f"customer {customer_id} not found", 404)
        if currency != account["currency"]:
            return _bad("currency differs from the account's currency")
        available = (account["credit_limit_minor"] - account["posted_balance_minor"]
                     - account["held_minor"])
        decline = _decline(account["status"], available, amount, currency)
        if decline:
            last = await conn.fetchrow(SQL_LAST_LINK, stream)
            await _append_audit(conn, stream, last, "entry.declined", "credit_account",
                                str(customer_id), {"kind": "charge", "amount_minor": amount,
                                                   "reason": decline[0]})
            return JSONResponse({"data": {"postLedgerEntry": {
                "__typename": "CreditDeclined", "reason": decline[0]}}})
        now = datetime.now(UTC)
        entry_id = uuid.uuid4()
        last = await _write_and_head(conn, [
            (SQL_POST_UP, [amount, account["id"]]),
            (SQL_ENTRY_INSERT, [entry_id, account["id"], "charge", amount, currency, None,
                                None, now]),
            _outbox(customer_id, {
                "entryId": str(entry_id), "customerId": str(customer_id), "kind": "CHARGE",
                "amount": _money(amount, currency), "occurredAt": now.isoformat()})], stream)
        await _append_audit(conn, stream, last, "entry.post", "ledger_entry", str(entry_id), {
            "kind": "charge", "amount_minor": amount, "currency": currency,
            "occurred_at": now.isoformat()})
    result = {"__typename": "LedgerEntry", "id": str(entry_id),
              "amount": _money(amount, currency)}
    return JSONResponse({"data": {"postLedgerEntry": result}})


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def create_app() -> Starlette:
    dsn = os.environ.get("BARE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ccm_bench")
    pool_size = int(os.environ.get("BARE_POOL_SIZE", "10"))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.pool = await asyncpg.create_pool(dsn, min_size=1, max_size=pool_size)
        try:
            yield
        finally:
            await app.state.pool.close()

    return Starlette(routes=[
        Route("/credit-check", credit_check, methods=["POST"]),
        Route("/authorize", authorize, methods=["POST"]),
        Route("/gate-access", gate_access, methods=["POST"]),
        Route("/capture", capture, methods=["POST"]),
        Route("/post-entry", post_entry, methods=["POST"]),
        Route("/healthz", healthz),
    ], lifespan=lifespan)
