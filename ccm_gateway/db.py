"""Tortoise configuration, start-up checks, migrations, and what counts as the database
being unavailable."""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path
from typing import Any

import asyncpg
from tortoise.exceptions import BaseORMException, DBConnectionError, OperationalError

from ccm_gateway.config import Settings, redact_url
from ccm_gateway.errors import ConfigError, DatabaseUnavailable, ServiceUnreachable

log = logging.getLogger("ccm_gateway.db")

MODEL_MODULES = [
    "ccm_gateway.site.models",
    "ccm_gateway.customer.models",
    "ccm_gateway.ledger.models",
    "ccm_gateway.audit.models",
    "ccm_gateway.auth.models",
    "ccm_gateway.integration.models",
    "ccm_gateway.alert.models",
    "ccm_gateway.fx.models",
    "ccm_gateway.kit.idempotency",
    "ccm_gateway.kit.outbox",
    "ccm_gateway.outbound.models",
    "ccm_gateway.policy.models",
    "ccm_gateway.billing.models",
    "ccm_gateway.collection.models",
    "ccm_gateway.reconciliation.models",
    "ccm_gateway.console.models",
]
_PACKAGE_DIR = Path(__file__).resolve().parent


def _data_dir(name: str) -> Path:
    """Installed wheels carry data under _data/; a source checkout has it at the top."""
    bundled = _PACKAGE_DIR / "_data" / name
    return bundled if bundled.is_dir() else _PACKAGE_DIR.parent / name


def migrations_dir(dialect: str) -> Path:
    """The aerich ``location`` of this dialect's chain.

    aerich appends the app name, so the files are ``<this>/models/<n>_<ts>_<name>.py``.
    """
    return _data_dir("migrations") / dialect


def webhooks_dir() -> Path:
    return _data_dir("webhooks")


# How long a SQLite writer waits for another process's transaction (the CLI's, the
# server's) before giving up with "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 10_000
SQLITE_ENGINE = "ccm_gateway.db_sqlite"
PG_ENGINE = "ccm_gateway.db_pg"


def db_url(settings: Settings) -> str:
    url = settings.database_url
    if url.startswith("postgresql://"):
        url = "postgres://" + url.removeprefix("postgresql://")
    if not settings.is_sqlite:
        sep = "&" if "?" in url else "?"
        url = f"{url}{sep}maxsize={settings.db_pool_size}"
    return url


def tortoise_config(settings: Settings, *, with_aerich: bool = False) -> dict[str, Any]:
    models = list(MODEL_MODULES)
    if with_aerich:
        models.append("aerich.models")
    return {
        "connections": {"default": _connection(settings)},
        "apps": {"models": {"models": models, "default_connection": "default"}},
        "use_tz": True,
        "timezone": "UTC",
    }


def _connection(settings: Settings) -> str | dict[str, Any]:
    from tortoise.backends.base.config_generator import expand_db_url

    info = expand_db_url(db_url(settings))
    if not settings.is_sqlite:
        info["engine"] = PG_ENGINE
        return info
    info["engine"] = SQLITE_ENGINE
    # Every other credential is a PRAGMA run on connecting; WAL lets readers go on while
    # one process writes.
    info["credentials"].setdefault("journal_mode", "WAL")
    info["credentials"].setdefault("busy_timeout", SQLITE_BUSY_TIMEOUT_MS)
    return info


def sqlite_path(settings: Settings) -> str:
    """The file path of a ``sqlite://`` CCM_DATABASE_URL."""
    from tortoise.backends.base.config_generator import expand_db_url

    return str(expand_db_url(db_url(settings))["credentials"]["file_path"])


def check_database(settings: Settings) -> None:
    """Refuse, naming the path, a SQLite file that cannot be opened (a missing directory,
    a directory, a path under a file, a file that is not a database). PostgreSQL is not
    checked here: a server that is down is not a configuration error, and requests
    answer DATABASE_UNAVAILABLE until it is back."""
    if not settings.is_sqlite:
        return
    path = sqlite_path(settings)
    if path == ":memory:":
        return
    target = Path(path)
    problem = None
    if target.is_dir():
        problem = "it is a directory"
    elif not target.parent.exists():
        problem = f"directory {target.parent} does not exist"
    elif not target.parent.is_dir():
        problem = f"{target.parent} is not a directory"
    else:
        try:
            with sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000) as conn:
                conn.execute("PRAGMA schema_version")
            conn.close()
        except sqlite3.Error as exc:
            problem = str(exc)
    if problem:
        raise ConfigError(f"CCM_DATABASE_URL: cannot open the SQLite database {path}: {problem}")


_UNAVAILABLE_TYPES = (
    DBConnectionError,  # tortoise: e.g. the database does not exist
    asyncpg.PostgresConnectionError,  # class 08: lost or refused mid-way
    asyncpg.InvalidCatalogNameError,  # the database does not exist
    asyncpg.InvalidAuthorizationSpecificationError,  # class 28: role or password
    asyncpg.CannotConnectNowError,  # starting up or shutting down
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
)
# What a route may let escape when the database is unavailable (and much else, which the
# transport's handler re-raises): the types to hand to database_unavailable().
UNAVAILABLE_ERRORS = (OSError, sqlite3.Error, BaseORMException, asyncpg.PostgresError)


# sqlite3.OperationalError messages that mean the file, not the statement.
_SQLITE_UNAVAILABLE = ("unable to open database file", "database is locked", "disk i/o error")
# OSErrors about files, not connections (nothing the database drivers raise).
_FILE_ERRORS = (FileNotFoundError, FileExistsError, IsADirectoryError, NotADirectoryError,
                PermissionError)


def database_unavailable(error: BaseException) -> DatabaseUnavailable | None:
    """The one mapping of the drivers' connection errors (refused, reset, timed out, the
    database missing or starting, SQLite's file unopenable or locked past the busy
    timeout) onto DATABASE_UNAVAILABLE; None for every other error. Follows the causes
    tortoise wraps driver errors in, and nothing else's, so an outbound HTTP call's
    connection error is not taken for the database's."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if _means_unavailable(current):
            return DatabaseUnavailable(
                "the database is unavailable; retry after "
                f"{DatabaseUnavailable.retry_after_seconds} s")
        if isinstance(current, BaseORMException):
            pending.extend([current.__cause__, current.__context__,
                            *(a for a in current.args if isinstance(a, BaseException))])
    return None


def _means_unavailable(error: BaseException) -> bool:
    if isinstance(error, _UNAVAILABLE_TYPES):
        return True
    if isinstance(error, OSError) and not isinstance(error, _FILE_ERRORS):
        return True  # refused, unreachable, reset, timed out (asyncio.TimeoutError too)
    return (isinstance(error, sqlite3.OperationalError)
            and str(error).lower().startswith(_SQLITE_UNAVAILABLE))


def data_error(error: BaseException) -> bool:
    """A value the database cannot store (PostgreSQL's data exceptions, or text that does
    not encode), as opposed to a connection or lock problem that may pass: refused again on
    every try. Follows the cause tortoise wraps the driver's error in."""
    return isinstance(error, UnicodeError) \
        or isinstance(error.__cause__, (asyncpg.DataError, UnicodeError))


def unreachable(settings: Settings, error: BaseException) -> ServiceUnreachable | None:
    """For the CLI: the one-line error naming CCM_DATABASE_URL, when ``error`` means the
    database is unavailable."""
    if database_unavailable(error) is None:
        return None
    return ServiceUnreachable(f"cannot reach the database at {redact_url(settings.database_url)}"
                              f" (CCM_DATABASE_URL): {error.__class__.__name__}: {error}")


_REPORT_EVERY_SECONDS = 10.0
_last_report = float("-inf")


def report_unavailable(settings: Settings, error: BaseException) -> None:
    """Log, at most every 10 s per process, which setting points where and what the driver
    said; callers get only DATABASE_UNAVAILABLE."""
    global _last_report
    now = time.monotonic()
    if now - _last_report < _REPORT_EVERY_SECONDS:
        return
    _last_report = now
    log.error("database unavailable at %s (CCM_DATABASE_URL): %s: %s",
              redact_url(settings.database_url), error.__class__.__name__, error)


def newest_migration(dialect: str) -> str | None:
    """The file name of the last migration in this dialect's chain (aerich's version)."""
    files = (migrations_dir(dialect) / "models").glob("[0-9]*_*.py")
    newest = max(files, key=lambda p: int(p.name.split("_", 1)[0]), default=None)
    return newest.name if newest else None


async def schema_problem(connection: Any, dialect: str) -> str | None:
    """Why the schema is not at the code's latest migration, or None when it is."""
    needed = newest_migration(dialect)
    try:
        rows = await connection.execute_query_dict(
            "SELECT version FROM aerich WHERE app = 'models'")
    except OperationalError:  # no aerich table
        rows = []
    applied = {row["version"] for row in rows}
    if needed is None or needed in applied:
        return None
    if not applied:
        return "not migrated (no migration recorded)"
    latest = max(applied, key=lambda v: int(v.split("_", 1)[0]))
    return f"behind the code: at {latest}, the code needs {needed}"


async def migrate(settings: Settings) -> list[str]:
    """Apply every pending migration of this dialect's chain; return their names.

    The chain lives in ``migrations_dir(dialect)/models/`` (aerich adds the app
    name to ``location``); ``migrations/generate.py`` writes it with the same
    ``location``. Runs in a Tortoise context of its own, so a context the caller
    has initialised stays open and usable, even on another dialect (tests).
    """
    from tortoise.backends.base import executor
    from tortoise.context import get_current_context

    # Tortoise keeps dialect-specific SQL on the model classes, process-wide:
    # an INSERT/UPDATE/DELETE cache keyed by connection *name* ("default"), not
    # by dialect, and each model's base query, rebuilt by every init. Drop the
    # cache now (aerich's own insert would otherwise reuse another dialect's
    # SQL) and afterwards hand both back to the caller's context, if any.
    check_database(settings)
    getattr(executor, "EXECUTOR_CACHE", {}).clear()
    config = tortoise_config(settings, with_aerich=True)
    try:
        return await _upgrade(settings, config)
    except UNAVAILABLE_ERRORS as exc:
        if (error := unreachable(settings, exc)) is not None:
            raise error from None
        raise
    finally:
        getattr(executor, "EXECUTOR_CACHE", {}).clear()
        outer = get_current_context()
        if outer is not None and outer.apps is not None:
            outer.apps._build_initial_querysets()


async def _upgrade(settings: Settings, config: dict[str, Any]) -> list[str]:
    from aerich import Command
    from tortoise.context import TortoiseContext

    async with TortoiseContext() as ctx:
        # aerich's Migrate.init() calls Tortoise.init() only when the current
        # context is not initialised yet (close_connections() leaves it marked
        # initialised), so initialise our own context first.
        await ctx.init(config=config)
        command = Command(
            tortoise_config=config,
            app="models",
            location=str(migrations_dir(settings.dialect)),
        )
        await command.init()
        return await command.upgrade(run_in_transaction=True)
