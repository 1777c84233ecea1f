"""The worker benchmark's reference point: inbox events applied by a bare asyncpg loop.

It applies the ``payment_intent.succeeded`` callbacks the webhook benchmark stores, with the
statements the service's worker runs for them, on the service's own tables in the same
database, and nothing else: no arq, no Redis, no ORM, no profile engine (the three Stripe
fields are read by hand), no metrics or logging.

``--loops`` loops run side by side, each on a connection of its own, until no event of the
integration is ``received`` for ``--idle`` seconds. Each takes a batch in one transaction
(the service's batch size, ``--batch``):

1. ``SELECT … FROM inbound_event WHERE integration_id = $1 AND status = 'received' ORDER BY
   received_at LIMIT n FOR UPDATE SKIP LOCKED``, and the integration (slug, ref system);
2. per event, the customer through its external reference (``external_ref`` joined to
   ``customer``); the batch is then applied in customer-id order, as the service does;
3. per event, in a savepoint: the idempotency record, the account ``FOR UPDATE``, the balance
   update, the ledger entry, its outbox message, the audit append
   (``pg_advisory_xact_lock`` on the stream, the last link, the insert, hashed with the
   service's ``compute_hash``), the idempotency record's response and the event's
   ``applied`` status; then the commit.

So ``ccm-gateway verify`` holds afterwards: each applied event has exactly one entry under
its idempotency key, balances equal their entries and the audit chains are intact.

Left out compared with the service: the job fetch and bookkeeping in Redis, the second
savepoint around the idempotency insert, the re-read of the entry, the ORM's statement
building and model objects, the profile engine, the segment and currency checks in
Python, the metrics and the outbox wake.

    python bench/bare_worker.py --dsn postgres://postgres@127.0.0.1:5432/ccm_bench_webhooks \\
        --integration-id <uuid> --batch 20 --loops 4

It prints one JSON line when it stops: events applied, seconds from the first to the last
applied, and the process's CPU seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import time
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

sys.dont_write_bytecode = True

import asyncpg  # noqa: E402 - after dont_write_bytecode

from ccm_gateway.audit.service import GENESIS_HASH, compute_hash  # noqa: E402
from ccm_gateway.kit.idempotency import request_hash  # noqa: E402
from ccm_gateway.ledger.service import entry_event, entry_snapshot  # noqa: E402

SQL_CLAIM = (
    'SELECT "id", "external_id", "payload", "occurred_at", "received_at", "attempts" '
    'FROM "inbound_event" WHERE "integration_id" = $1 AND "status" = \'received\' '
    'ORDER BY "received_at" LIMIT $2 FOR UPDATE SKIP LOCKED')
SQL_INTEGRATION = 'SELECT "slug", "ref_system" FROM "integration" WHERE "id" = $1'
SQL_CUSTOMER = (
    'SELECT c."id", c."currency", c."status", c."segment" FROM "external_ref" r '
    'JOIN "customer" c ON c."id" = r."customer_id" WHERE r."system" = $1 AND r."external_id" = $2')
SQL_IDEMPOTENCY = (
    'INSERT INTO "idempotency_record" ("scope", "owner", "key", "request_hash", "response", '
    '"created_at") VALUES (\'entry.post\', $1, $2, $3, \'{}\', $4) RETURNING "id"')
SQL_ACCOUNT_LOCK = (
    'SELECT "id", "currency", "posted_balance_minor", "held_minor", "credit_limit_minor" '
    'FROM "credit_account" WHERE "customer_id" = $1 FOR UPDATE')
SQL_BALANCE = ('UPDATE "credit_account" SET "posted_balance_minor" = "posted_balance_minor" + $1 '
               'WHERE "id" = $2')
SQL_ENTRY = (
    'INSERT INTO "ledger_entry" ("id", "kind", "amount_minor", "currency", "source_type", '
    '"source_id", "idempotency_key", "external_ref", "description", "over_limit", '
    '"occurred_at", "recorded_at", "account_id") '
    "VALUES ($1, 'payment', $2, $3, 'integration', $4, $5, $6, NULL, false, $7, $8, $9)")
SQL_OUTBOX = (
    'INSERT INTO "outbox_message" ("customer_id", "event_type", "data", "state_changed", '
    '"created_at") VALUES ($1, \'ledger.entry.posted\', $2, true, $3)')
SQL_STREAM_LOCK = "SELECT pg_advisory_xact_lock($1)"
SQL_LAST_LINK = ('SELECT "seq", "hash" FROM "audit_event" WHERE "stream" = $1 '
                 'ORDER BY "seq" DESC LIMIT 1')
SQL_AUDIT = (
    'INSERT INTO "audit_event" ("stream", "seq", "actor_type", "actor_id", "action", '
    '"object_type", "object_id", "before", "after", "request_id", "created_at", "prev_hash", '
    '"hash") VALUES ($1, $2, \'integration\', $3, \'entry.post\', \'ledger_entry\', $4, NULL, '
    '$5, $6, $7, $8, $9)')
SQL_IDEMPOTENCY_DONE = 'UPDATE "idempotency_record" SET "response" = $1 WHERE "id" = $2'
SQL_APPLIED = (
    'UPDATE "inbound_event" SET "status" = \'applied\', "result" = $1, "last_error" = NULL, '
    '"next_attempt_at" = NULL, "applied_at" = $2, "attempts" = $3, '
    '"canonical_type" = \'payment.succeeded\', "customer_id" = $4 WHERE "id" = $5')


def _lock_key(name: str) -> int:
    """``ccm_gateway.kit.locking``'s key for ``pg_advisory_xact_lock``."""
    from ccm_gateway.kit.locking import _key64

    return _key64(name)


async def _apply_batch(conn: asyncpg.Connection, integration_id: uuid.UUID, batch: int) -> int:
    async with conn.transaction():
        events = await conn.fetch(SQL_CLAIM, integration_id, batch)
        if not events:
            return 0
        integration = await conn.fetchrow(SQL_INTEGRATION, integration_id)
        slug, system = integration["slug"], integration["ref_system"]
        planned = []
        for event in events:
            body = json.loads(event["payload"])
            obj = body["data"]["object"]
            customer = await conn.fetchrow(SQL_CUSTOMER, system, obj["customer"])
            planned.append((str(customer["id"]), event, obj, customer))
        planned.sort(key=lambda p: p[0])
        for _, event, obj, customer in planned:
            async with conn.transaction():  # a savepoint per event, as the service's
                await _apply(conn, slug, event, obj, customer)
    return len(events)


async def _apply(conn: asyncpg.Connection, slug: str, event: Any, obj: dict[str, Any],
                 customer: Any) -> None:
    now = datetime.now(UTC)
    key = f"{slug}:{event['external_id']}"
    amount = int(obj["amount_received"])
    currency = str(obj["currency"]).upper()
    occurred_at = min(event["occurred_at"] or event["received_at"], now)
    request = {"customer_id": str(customer["id"]), "kind": "payment", "amount_minor": amount,
               "currency": currency, "site_id": None, "external_ref": obj.get("id"),
               "description": None, "occurred_at": occurred_at.isoformat()}
    record_id = await conn.fetchval(SQL_IDEMPOTENCY, f"integration:{slug}", key,
                                    request_hash(request), now)
    account = await conn.fetchrow(SQL_ACCOUNT_LOCK, customer["id"])
    signed = -amount
    await conn.execute(SQL_BALANCE, signed, account["id"])
    entry = SimpleNamespace(
        id=uuid.uuid4(), kind="payment", amount_minor=signed, currency=account["currency"],
        original_amount_minor=None, original_currency=None, fx_rate=None, site_id=None,
        reverses_id=None, refunds_id=None, hold_id=None, over_limit=False,
        external_ref=obj.get("id"), description=None, occurred_at=occurred_at,
        recorded_at=now)
    await conn.execute(SQL_ENTRY, entry.id, signed, entry.currency, slug, key,
                       entry.external_ref, occurred_at, now, account["id"])
    await conn.execute(SQL_OUTBOX, customer["id"],
                       json.dumps(entry_event(entry, customer["id"])),  # type: ignore[arg-type]
                       now)
    stream = f"customer:{customer['id']}"
    await conn.execute(SQL_STREAM_LOCK, _lock_key(f"audit:{stream}"))
    last = await conn.fetchrow(SQL_LAST_LINK, stream)
    after = entry_snapshot(entry)  # type: ignore[arg-type]
    audit = SimpleNamespace(
        stream=stream, seq=(last["seq"] + 1) if last else 1, actor_type="integration",
        actor_id=slug, action="entry.post", object_type="ledger_entry", object_id=str(entry.id),
        before=None, after=after, request_id=str(event["id"]), created_at=datetime.now(UTC),
        prev_hash=last["hash"] if last else GENESIS_HASH)
    await conn.execute(SQL_AUDIT, stream, audit.seq, slug, audit.object_id, json.dumps(after),
                       audit.request_id, audit.created_at, audit.prev_hash,
                       compute_hash(audit))  # type: ignore[arg-type]
    result = json.dumps({"entry_id": str(entry.id)})
    await conn.execute(SQL_IDEMPOTENCY_DONE, result, record_id)
    await conn.execute(SQL_APPLIED, result, now, event["attempts"] + 1, customer["id"],
                       event["id"])


async def _loop(pool: asyncpg.Pool, integration_id: uuid.UUID, batch: int, idle: float,
                stats: dict[str, Any]) -> None:
    idle_since = None
    while True:
        async with pool.acquire() as conn:
            applied = await _apply_batch(conn, integration_id, batch)
        if applied:
            now = time.time()
            stats["applied"] += applied
            stats["first"] = stats["first"] or now
            stats["last"] = now
            idle_since = None
            continue
        idle_since = idle_since or time.monotonic()
        if time.monotonic() - idle_since > idle:
            return
        await asyncio.sleep(0.02)


async def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dsn", default=os.environ.get("BARE_DATABASE_URL",
                                                   "postgres://postgres@127.0.0.1:5432/ccm_bench"))
    p.add_argument("--integration-id", required=True, type=uuid.UUID)
    p.add_argument("--batch", type=int, default=20)
    p.add_argument("--loops", type=int, default=4)
    p.add_argument("--idle", type=float, default=2.0,
                   help="stop after this many seconds with nothing to apply")
    args = p.parse_args(argv)
    pool = await asyncpg.create_pool(args.dsn, min_size=args.loops, max_size=args.loops)
    stats: dict[str, Any] = {"applied": 0, "first": None, "last": None}
    try:
        await asyncio.gather(*(_loop(pool, args.integration_id, args.batch, args.idle, stats)
                               for _ in range(args.loops)))
    finally:
        await pool.close()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    span = (stats["last"] - stats["first"]) if stats["first"] else 0.0
    print(json.dumps({"applied": stats["applied"], "span_s": round(span, 3),
                      "cpu_s": round(usage.ru_utime + usage.ru_stime, 3)}), flush=True)
    return 0


if __name__ == "__main__":
    import uvloop

    sys.exit(uvloop.run(main()))
