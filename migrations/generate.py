"""Regenerate the INITIAL aerich migration of both chains from the models.

Usage, from the repository root::

    python migrations/generate.py                   # both chains
    python migrations/generate.py --dialect sqlite  # just one
    python migrations/generate.py --postgres-url postgres://postgres@127.0.0.1:5432/test

For each dialect this deletes everything under ``migrations/<dialect>/``, runs
aerich's ``init-db`` (``Command.init_db(safe=True)``) against a throw-away
database of that dialect -- a temporary SQLite file, or a temporary PostgreSQL
database created (and dropped again) through ``--postgres-url`` (default: env
``CCM_TEST_POSTGRES_URL`` or ``postgres://postgres@127.0.0.1:5432/test``) --
and then appends the hand-written SQL of ``EXTRA_SQL`` below to the generated
``upgrade()``/``downgrade()``. Finally it applies the new chain with
``ccm_gateway.db.migrate()`` to another empty database as a check.

aerich writes ``migrations/<dialect>/models/0_<timestamp>_init.py`` (it appends
the app name ``models`` to ``location``); ``location`` is
``ccm_gateway.db.migrations_dir(dialect)``, exactly what ``db.migrate()`` uses.

The timestamp is part of the version aerich records in its ``aerich`` table, so
regenerating renames the initial migration: only do this while no database
that matters has applied it. Later schema changes belong in new migrations
(``aerich migrate``), not in a regenerated initial one.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from ccm_gateway.config import Settings  # noqa: E402 - after the sys.path insert
from ccm_gateway.db import migrate, migrations_dir, tortoise_config  # noqa: E402 - after the sys.path insert

DIALECTS = ("sqlite", "postgres")
DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/test"


# ---------------------------------------------------------------------------
# Hand-written SQL appended to the initial migration of each chain.
#
# Not derived from the models, so aerich's MODELS_STATE does not know about it
# and later ``aerich migrate`` runs neither create nor drop it.
#  * PostgreSQL: CHECK constraints on amounts, and a trigger that makes
#    ledger_entry and audit_event append-only (UPDATE/DELETE raise SQLSTATE
#    23000, which Tortoise turns into IntegrityError).
#  * SQLite: the append-only triggers only (SQLite cannot add a CHECK
#    constraint to an existing table). RAISE(ABORT) surfaces as IntegrityError.
# TRUNCATE is deliberately not blocked (it is an administrative operation).
# Keep this SQL free of backslashes and triple quotes: it is pasted verbatim
# into a Python string literal.
# ---------------------------------------------------------------------------

_PG_CHECKS = (
    # (table, constraint name, condition)
    ("credit_account", "ck_credit_account_credit_limit_nonneg", '"credit_limit_minor" >= 0'),
    ("credit_account", "ck_credit_account_held_nonneg", '"held_minor" >= 0'),
    ("site_limit", "ck_site_limit_limit_nonneg", '"limit_minor" >= 0'),
    ("site_limit", "ck_site_limit_held_nonneg", '"held_minor" >= 0'),
    ("hold", "ck_hold_amount_positive", '"amount_minor" > 0'),
    (
        "hold",
        "ck_hold_captured_within_amount",
        '"captured_minor" >= 0 AND "captured_minor" <= "amount_minor"',
    ),
    ("ledger_entry", "ck_ledger_entry_amount_nonzero", '"amount_minor" <> 0'),
)
_APPEND_ONLY_TABLES = ("ledger_entry", "audit_event")

EXTRA_SQL: dict[str, dict[str, str]] = {
    "postgres": {
        "upgrade": "\n".join(
            [
                *(
                    f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" CHECK ({cond});'
                    for table, name, cond in _PG_CHECKS
                ),
                'CREATE OR REPLACE FUNCTION "ccm_refuse_append_only_change"() RETURNS trigger',
                "LANGUAGE plpgsql AS $$",
                "BEGIN",
                "    RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP",
                "        USING ERRCODE = 'integrity_constraint_violation';",
                "END;",
                "$$;",
                *(
                    f'CREATE TRIGGER "{table}_append_only" BEFORE UPDATE OR DELETE ON "{table}"'
                    ' FOR EACH ROW EXECUTE FUNCTION "ccm_refuse_append_only_change"();'
                    for table in _APPEND_ONLY_TABLES
                ),
            ]
        ),
        "downgrade": "\n".join(
            [
                *(
                    f'DROP TRIGGER IF EXISTS "{table}_append_only" ON "{table}";'
                    for table in _APPEND_ONLY_TABLES
                ),
                'DROP FUNCTION IF EXISTS "ccm_refuse_append_only_change"();',
                *(
                    f'ALTER TABLE "{table}" DROP CONSTRAINT IF EXISTS "{name}";'
                    for table, name, _ in reversed(_PG_CHECKS)
                ),
            ]
        ),
    },
    "sqlite": {
        # IF NOT EXISTS: SQLite's executescript() commits as it goes, so a
        # half-applied migration must be safe to run again.
        "upgrade": "\n".join(
            f'CREATE TRIGGER IF NOT EXISTS "{table}_no_{op.lower()}" BEFORE {op} ON "{table}"'
            f" BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END;"
            for table in _APPEND_ONLY_TABLES
            for op in ("UPDATE", "DELETE")
        ),
        "downgrade": "\n".join(
            f'DROP TRIGGER IF EXISTS "{table}_no_{op.lower()}";'
            for table in _APPEND_ONLY_TABLES
            for op in ("UPDATE", "DELETE")
        ),
    },
}

EXTRA_SQL_MARKER = (
    "-- Hand-written, not derived from the models: see EXTRA_SQL in migrations/generate.py"
)


# ---------------------------------------------------------------------------
# Throw-away databases
# ---------------------------------------------------------------------------


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


@asynccontextmanager
async def temp_database(dialect: str, postgres_url: str) -> AsyncIterator[str]:
    """Yield the URL of a new, empty database; remove it afterwards."""
    if dialect == "sqlite":
        with tempfile.TemporaryDirectory(prefix="ccm_migrgen_") as tmp:
            yield f"sqlite://{Path(tmp, 'db.sqlite3')}"
        return

    import asyncpg

    name = f"ccm_migrgen_tmp_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(postgres_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield _with_database(postgres_url, name)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


# ---------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------

# The tail of aerich's MIGRATE_TEMPLATE when init-db writes it: the end of
# upgrade()'s string, then an empty downgrade().
_AERICH_INIT_TAIL = (
    '"""\n\n\nasync def downgrade(db: BaseDBAsyncClient) -> str:\n    return """\n        """\n'
)


def _chain_dir(dialect: str) -> Path:
    location = migrations_dir(dialect)
    if location.resolve().parent != HERE:
        raise SystemExit(
            f"migrations_dir({dialect!r}) is {location}, not under {HERE}: "
            "refusing to write into an installed package"
        )
    return location


async def _aerich_init_db(dialect: str, database_url: str) -> Path:
    from aerich import Command
    from tortoise.backends.base import executor
    from tortoise.context import TortoiseContext

    # Tortoise caches INSERT SQL per connection name, not per dialect: drop
    # what the previous dialect left, or aerich's bookkeeping insert fails.
    executor.EXECUTOR_CACHE.clear()
    location = _chain_dir(dialect)
    if location.exists():
        shutil.rmtree(location)
    settings = Settings(database_url=database_url)
    if settings.dialect != dialect:
        raise SystemExit(f"{database_url} is a {settings.dialect} URL, not {dialect}")
    # A context of our own: Command.init_db() calls Tortoise.init(), which
    # re-initialises whatever context is current.
    async with TortoiseContext():
        command = Command(
            tortoise_config=tortoise_config(settings, with_aerich=True),
            app="models",
            location=str(location),
        )
        if not await command.init_db(safe=True):
            raise RuntimeError(f"aerich did not generate an initial migration in {location}")
    files = sorted(location.rglob("*.py"))
    if len(files) != 1 or files[0].parent != location / "models":
        raise RuntimeError(f"expected one file in {location / 'models'}, aerich wrote {files}")
    return files[0]


def _add_extra_sql(path: Path, dialect: str) -> None:
    extra = EXTRA_SQL[dialect]
    for sql in extra.values():
        if "\\" in sql or '"""' in sql:
            raise ValueError("EXTRA_SQL must not contain backslashes or triple quotes")
    text = path.read_text(encoding="utf-8")
    if text.count(_AERICH_INIT_TAIL) != 1:
        raise RuntimeError(f"{path}: aerich's init-db output no longer looks as expected")
    indent = "\n        "
    tail = (
        f"\n{indent}{EXTRA_SQL_MARKER}{indent}"
        + extra["upgrade"].replace("\n", indent)
        + '"""\n\n\nasync def downgrade(db: BaseDBAsyncClient) -> str:\n    return """'
        + f"{indent}{EXTRA_SQL_MARKER}{indent}"
        + extra["downgrade"].replace("\n", indent)
        + '"""\n'
    )
    path.write_text(text.replace(_AERICH_INIT_TAIL, tail), encoding="utf-8")


async def _check_chain(dialect: str, path: Path, database_url: str) -> None:
    settings = Settings(database_url=database_url)
    applied = await migrate(settings)
    if applied != [path.name]:
        raise RuntimeError(f"applying the {dialect} chain gave {applied}, expected [{path.name}]")
    if await migrate(settings):
        raise RuntimeError(f"re-applying the {dialect} chain was not a no-op")


async def generate(dialects: list[str], postgres_url: str) -> list[Path]:
    written = []
    async with AsyncExitStack() as stack:
        # Create every database before deleting anything, so that an
        # unreachable PostgreSQL leaves the existing chains alone.
        dbs = {
            d: (
                await stack.enter_async_context(temp_database(d, postgres_url)),
                await stack.enter_async_context(temp_database(d, postgres_url)),
            )
            for d in dialects
        }
        for dialect in dialects:
            gen_url, check_url = dbs[dialect]
            path = await _aerich_init_db(dialect, gen_url)
            _add_extra_sql(path, dialect)
            await _check_chain(dialect, path, check_url)
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dialect", choices=DIALECTS, action="append")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("CCM_TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL,
        help="admin URL used to create and drop the temporary PostgreSQL databases",
    )
    args = parser.parse_args(argv)
    for path in asyncio.run(generate(args.dialect or list(DIALECTS), args.postgres_url)):
        print(path.relative_to(REPO_ROOT))


if __name__ == "__main__":
    main()
