"""The aerich chains in migrations/ build the models' schema plus the hand-written safeguards.

Self-contained on purpose (no conftest fixtures): every test makes its own
throw-away SQLite file or PostgreSQL database and removes it again.
PostgreSQL comes from ``CCM_TEST_POSTGRES_URL`` (an admin URL used to create
and drop databases); when it is unreachable the PostgreSQL tests skip, or fail
if ``CI=true``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from tortoise.backends.base import executor
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.context import TortoiseContext, get_current_context
from tortoise.exceptions import IntegrityError

from ccm_gateway.audit.models import AuditEvent
from ccm_gateway.config import Settings
from ccm_gateway.customer.models import Customer
from ccm_gateway.db import migrate, migrations_dir, tortoise_config
from ccm_gateway.ledger.models import (
    CreditAccount,
    EntryKind,
    Hold,
    LedgerEntry,
    SiteLimit,
    SourceType,
)
from ccm_gateway.site.models import Site

PG_ADMIN_URL = os.environ.get("CCM_TEST_POSTGRES_URL") or "postgres://postgres@127.0.0.1:5432/test"

DIALECTS = ["sqlite", "postgres"]

# What the chains add on top of the models (see EXTRA_SQL in migrations/generate.py).
PG_CHECKS = {
    ("credit_account", "ck_credit_account_credit_limit_nonneg"),
    ("credit_account", "ck_credit_account_held_nonneg"),
    ("site_limit", "ck_site_limit_limit_nonneg"),
    ("site_limit", "ck_site_limit_held_nonneg"),
    ("hold", "ck_hold_amount_positive"),
    ("hold", "ck_hold_captured_within_amount"),
    ("ledger_entry", "ck_ledger_entry_amount_nonzero"),
}
TRIGGERS = {
    "sqlite": {
        ("ledger_entry", "ledger_entry_no_update"),
        ("ledger_entry", "ledger_entry_no_delete"),
        ("audit_event", "audit_event_no_update"),
        ("audit_event", "audit_event_no_delete"),
    },
    "postgres": {
        ("ledger_entry", "ledger_entry_append_only"),
        ("audit_event", "audit_event_append_only"),
    },
}


# --------------------------------------------------------------------------- databases


def _fresh_orm_caches() -> None:
    # Tortoise caches INSERT/UPDATE/DELETE SQL per connection *name*, process-wide,
    # not per dialect; these tests use "default" on both dialects (as may others
    # in this process), so never leave one dialect's SQL behind for the other.
    executor.EXECUTOR_CACHE.clear()


def _give_models_back_to_outer_context() -> None:
    # Every init also rebuilds each model class's dialect-specific base query;
    # rebuild it for a context someone else may have open here (as db.migrate does).
    outer = get_current_context()
    if outer is not None and outer.apps is not None:
        outer.apps._build_initial_querysets()


@asynccontextmanager
async def temp_database(dialect: str, tmp_path: Path) -> AsyncIterator[str]:
    """Yield the URL of a new, empty database of ``dialect``; remove it afterwards."""
    if dialect == "sqlite":
        path = tmp_path / f"migr_{uuid.uuid4().hex[:8]}.sqlite3"
        try:
            yield f"sqlite://{path}"
        finally:
            path.unlink(missing_ok=True)
        return

    import asyncpg

    try:
        admin = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        message = f"PostgreSQL at {PG_ADMIN_URL} is unreachable: {exc!r}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    name = f"ccm_test_migr_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield urlunsplit(urlsplit(PG_ADMIN_URL)._replace(path="/" + name))
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@asynccontextmanager
async def connected(
    database_url: str, *, generate_schema: bool = False
) -> AsyncIterator[BaseDBAsyncClient]:
    """A Tortoise context of its own on ``database_url``; yields its connection."""
    _fresh_orm_caches()
    try:
        async with TortoiseContext() as ctx:
            settings = Settings(database_url=database_url)
            await ctx.init(config=tortoise_config(settings, with_aerich=True))
            if generate_schema:
                await ctx.generate_schemas(safe=False)
            yield ctx.connections.get("default")
    finally:
        _fresh_orm_caches()
        _give_models_back_to_outer_context()


def chain_of(dialect: str) -> list[Path]:
    """The dialect's migrations in the order they apply: by number (10 after 9)."""
    return sorted((migrations_dir(dialect) / "models").glob("[0-9]*_*.py"),
                  key=lambda p: int(p.name.split("_", 1)[0]))


async def migrated_database(database_url: str, dialect: str) -> None:
    chain = [p.name for p in chain_of(dialect)]
    assert chain, f"no {dialect} migrations under {migrations_dir(dialect)}"
    settings = Settings(database_url=database_url)
    assert await migrate(settings) == chain
    assert await migrate(settings) == []  # the second run is a no-op


# --------------------------------------------------------------------------- catalogs


async def _rows(conn: BaseDBAsyncClient, sql: str) -> list[dict[str, Any]]:
    return await conn.execute_query_dict(sql)


async def sqlite_catalog(conn: BaseDBAsyncClient) -> dict[str, Any]:
    tables = {}
    for t in await _rows(
        conn, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    ):
        name = t["name"]
        columns = {
            (c["name"], c["type"].upper(), bool(c["notnull"]), c["pk"], c["dflt_value"])
            for c in await _rows(conn, f'PRAGMA table_info("{name}")')
        }
        indexes = set()
        for ix in await _rows(conn, f'PRAGMA index_list("{name}")'):
            cols = await _rows(conn, f'PRAGMA index_info("{ix["name"]}")')
            key = tuple(c["name"] for c in sorted(cols, key=lambda c: c["seqno"]))
            indexes.add((bool(ix["unique"]), ix["origin"], key))
        foreign_keys = {
            (fk["from"], fk["table"], fk["to"], fk["on_delete"])
            for fk in await _rows(conn, f'PRAGMA foreign_key_list("{name}")')
        }
        tables[name] = {"columns": columns, "indexes": indexes, "foreign_keys": foreign_keys}
    triggers = {
        (r["tbl_name"], r["name"])
        for r in await _rows(
            conn, "SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'"
        )
    }
    return {"tables": tables, "checks": set(), "triggers": triggers}


async def postgres_catalog(conn: BaseDBAsyncClient) -> dict[str, Any]:
    tables: dict[str, dict[str, set]] = {}
    for r in await _rows(
        conn,
        "SELECT table_name FROM information_schema.tables"
        " WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    ):
        tables[r["table_name"]] = {"columns": set(), "indexes": set(), "constraints": set()}
    for c in await _rows(
        conn,
        "SELECT table_name, column_name, is_nullable, data_type, udt_name,"
        " character_maximum_length, column_default"
        " FROM information_schema.columns WHERE table_schema = 'public'",
    ):
        tables[c["table_name"]]["columns"].add(
            (
                c["column_name"],
                c["is_nullable"],
                c["data_type"],
                c["udt_name"],
                c["character_maximum_length"],
                c["column_default"],
            )
        )
    # The definitions name the index and list uniqueness, method and columns.
    for ix in await _rows(
        conn, "SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = 'public'"
    ):
        tables[ix["tablename"]]["indexes"].add(ix["indexdef"])
    checks = set()
    for con in await _rows(
        conn,
        "SELECT cl.relname AS table_name, con.conname, con.contype::text AS contype,"
        " pg_get_constraintdef(con.oid) AS definition"
        " FROM pg_constraint con JOIN pg_class cl ON cl.oid = con.conrelid"
        " WHERE con.connamespace = 'public'::regnamespace",
    ):
        if con["contype"] == "c":
            checks.add((con["table_name"], con["conname"]))
        else:  # primary key, unique, foreign key (with its ON DELETE)
            tables[con["table_name"]]["constraints"].add((con["conname"], con["definition"]))
    triggers = {
        (r["table_name"], r["tgname"])
        for r in await _rows(
            conn,
            "SELECT cl.relname AS table_name, tg.tgname FROM pg_trigger tg"
            " JOIN pg_class cl ON cl.oid = tg.tgrelid WHERE NOT tg.tgisinternal",
        )
    }
    return {"tables": tables, "checks": checks, "triggers": triggers}


CATALOGS = {"sqlite": sqlite_catalog, "postgres": postgres_catalog}


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_chain_builds_exactly_the_models_schema(dialect: str, tmp_path: Path) -> None:
    async with (
        temp_database(dialect, tmp_path) as migrated_url,
        temp_database(dialect, tmp_path) as reference_url,
    ):
        await migrated_database(migrated_url, dialect)
        async with connected(migrated_url) as conn:
            migrated = await CATALOGS[dialect](conn)
        async with connected(reference_url, generate_schema=True) as conn:
            reference = await CATALOGS[dialect](conn)

    assert reference["tables"], "Tortoise generated no tables"
    assert sorted(migrated["tables"]) == sorted(reference["tables"])
    for table, expected in reference["tables"].items():
        for aspect, items in expected.items():
            assert migrated["tables"][table][aspect] == items, (table, aspect)
    # Only the hand-written extras differ from what the models produce.
    assert reference["checks"] == set() and reference["triggers"] == set()
    assert migrated["checks"] == (PG_CHECKS if dialect == "postgres" else set())
    assert migrated["triggers"] == TRIGGERS[dialect]


async def _account(suffix: str) -> CreditAccount:
    customer = await Customer.create(
        id=uuid.uuid4(), name=f"Customer {suffix}", segment="retail", currency="EUR"
    )
    return await CreditAccount.create(
        id=uuid.uuid4(), customer=customer, currency="EUR", credit_limit_minor=100_000
    )


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_ledger_entries_and_audit_events_are_append_only(
    dialect: str, tmp_path: Path
) -> None:
    async with temp_database(dialect, tmp_path) as url:
        await migrated_database(url, dialect)
        async with connected(url) as conn:
            account = await _account("append-only")
            entry = await LedgerEntry.create(
                id=uuid.uuid4(),
                account=account,
                kind=EntryKind.CHARGE,
                amount_minor=1_250,
                currency="EUR",
                source_type=SourceType.SYSTEM,
                source_id="test",
                occurred_at=datetime.now(UTC),
            )
            event = await AuditEvent.create(
                stream="system",
                seq=1,
                actor_type="system",
                actor_id="test",
                action="test",
                object_type="ledger_entry",
                object_id=str(entry.id),
                created_at=datetime.now(UTC),
                prev_hash="0" * 64,
                hash="1" * 64,
            )

            statements = {
                "ledger_entry": (
                    f"UPDATE ledger_entry SET amount_minor = 1 WHERE id = '{entry.id}'",
                    f"DELETE FROM ledger_entry WHERE id = '{entry.id}'",
                ),
                "audit_event": (
                    f"UPDATE audit_event SET action = 'edited' WHERE id = {event.id}",
                    f"DELETE FROM audit_event WHERE id = {event.id}",
                ),
            }
            for table, sqls in statements.items():
                for sql in sqls:
                    with pytest.raises(IntegrityError, match=f"{table} is append-only"):
                        await conn.execute_script(sql)

            # Both rows are untouched, and the ORM is refused the same way.
            reloaded = await LedgerEntry.get(id=entry.id)
            assert reloaded.amount_minor == 1_250
            assert (await AuditEvent.get(id=event.id)).action == "test"
            with pytest.raises(IntegrityError, match="append-only"):
                await LedgerEntry.filter(id=entry.id).update(description="edited")
            with pytest.raises(IntegrityError, match="append-only"):
                await reloaded.delete()
            assert await LedgerEntry.filter(id=entry.id).count() == 1
            # Inserting stays allowed.
            await LedgerEntry.create(
                id=uuid.uuid4(),
                account=account,
                kind=EntryKind.REVERSAL,
                amount_minor=-1_250,
                currency="EUR",
                source_type=SourceType.SYSTEM,
                source_id="test",
                reverses=reloaded,
                occurred_at=datetime.now(UTC),
            )


async def test_postgres_check_constraints_refuse_bad_amounts(tmp_path: Path) -> None:
    async with temp_database("postgres", tmp_path) as url:
        await migrated_database(url, "postgres")
        async with connected(url):
            account = await _account("checks")
            site = await Site.create(id=uuid.uuid4(), code="S1", name="Site 1")
            hold = {
                "account": account,
                "currency": "EUR",
                "source_type": SourceType.CLIENT,
                "source_id": "test",
                "expires_at": datetime.now(UTC) + timedelta(days=1),
            }

            with pytest.raises(IntegrityError, match="ck_hold_amount_positive"):
                await Hold.create(id=uuid.uuid4(), amount_minor=0, **hold)
            assert await Hold.all().count() == 0

            with pytest.raises(IntegrityError, match="ck_hold_captured_within_amount"):
                await Hold.create(id=uuid.uuid4(), amount_minor=10, captured_minor=11, **hold)
            valid = await Hold.create(id=uuid.uuid4(), amount_minor=10, captured_minor=10, **hold)
            assert valid.amount_minor == 10

            with pytest.raises(IntegrityError, match="ck_ledger_entry_amount_nonzero"):
                await LedgerEntry.create(
                    id=uuid.uuid4(),
                    account=account,
                    kind=EntryKind.ADJUSTMENT,
                    amount_minor=0,
                    currency="EUR",
                    source_type=SourceType.SYSTEM,
                    source_id="test",
                    occurred_at=datetime.now(UTC),
                )
            with pytest.raises(IntegrityError, match="ck_credit_account_held_nonneg"):
                await CreditAccount.filter(id=account.id).update(held_minor=-1)
            with pytest.raises(IntegrityError, match="ck_site_limit_limit_nonneg"):
                await SiteLimit.create(account=account, site=site, limit_minor=-1)


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_key_owners_migration_keeps_old_records_and_links_old_refunds(
    dialect: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Migration 3 on a database with data: idempotency records written before owners get
    the legacy owner '' (so they keep replaying), and refunds a vendor posted before the
    refund link existed are linked to their payment, through the append-only trigger."""
    import shutil

    import ccm_gateway.db as db_module

    chain = chain_of(dialect)
    key_owners = next(p for p in chain if "key_owners_refund_links" in p.name)
    before = tmp_path / "chain" / dialect
    (before / "models").mkdir(parents=True)
    for path in chain[:chain.index(key_owners)]:
        shutil.copy(path, before / "models" / path.name)
    ids = {name: str(uuid.uuid4()) for name in ("customer", "account", "payment", "refund",
                                                "manual")}
    now = "2026-11-30 10:00:00+00:00"
    async with temp_database(dialect, tmp_path) as url:
        monkeypatch.setattr(db_module, "migrations_dir", lambda d: before)
        await migrate(Settings(database_url=url))
        async with connected(url) as conn:
            await conn.execute_script(f"""
                INSERT INTO customer (id, name, segment, risk_profile, status, currency,
                                      version, created_at, updated_at)
                VALUES ('{ids["customer"]}', 'Old', 'retail', 'medium', 'active', 'EUR', 1,
                        '{now}', '{now}');
                INSERT INTO credit_account (id, customer_id, currency, credit_limit_minor,
                    posted_balance_minor, held_minor, net_days, invoicing_cycle, version,
                    updated_at)
                VALUES ('{ids["account"]}', '{ids["customer"]}', 'EUR', 0, -600, 0, 30,
                        'monthly', 1, '{now}');
                INSERT INTO idempotency_record (scope, key, request_hash, response, created_at)
                VALUES ('hold.authorize', 'old-key', 'abc', '{{}}', '{now}');""")
            for name, kind, amount, source in (("payment", "payment", -1000, "stripe-eu"),
                                               ("refund", "refund", 300, "stripe-eu"),
                                               ("manual", "refund", 100, "alice")):
                await conn.execute_script(f"""
                    INSERT INTO ledger_entry (id, account_id, kind, amount_minor, currency,
                        source_type, source_id, external_ref, over_limit, occurred_at,
                        recorded_at)
                    VALUES ('{ids[name]}', '{ids["account"]}', '{kind}', {amount}, 'EUR',
                            'integration', '{source}', 'pi_old', FALSE, '{now}', '{now}');""")
        monkeypatch.undo()
        assert await migrate(Settings(database_url=url)) == [
            p.name for p in chain[chain.index(key_owners):]]
        async with connected(url) as conn:
            records = await conn.execute_query_dict("SELECT scope, owner, key "
                                                    "FROM idempotency_record")
            links = {str(r["id"]): r["refunds_id"] and str(r["refunds_id"])
                     for r in await conn.execute_query_dict(
                         "SELECT id, refunds_id FROM ledger_entry")}
            # The trigger is back after the backfill.
            with pytest.raises(IntegrityError, match="append-only"):
                await conn.execute_script(
                    f"UPDATE ledger_entry SET description = 'x' WHERE id = '{ids['refund']}'")
    assert records == [{"scope": "hold.authorize", "owner": "", "key": "old-key"}]
    assert links == {ids["payment"]: None, ids["refund"]: ids["payment"],
                     ids["manual"]: None}
