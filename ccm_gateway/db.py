"""Tortoise configuration, start-up and migrations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ccm_gateway.config import Settings

MODEL_MODULES = [
    "ccm_gateway.customer.models",
    "ccm_gateway.ledger.models",
    "ccm_gateway.audit.models",
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
        "connections": {"default": db_url(settings)},
        "apps": {"models": {"models": models, "default_connection": "default"}},
        "use_tz": True,
        "timezone": "UTC",
    }


async def migrate(settings: Settings) -> list[str]:
    """Apply every pending migration of this dialect's chain; return their names.

    The chain lives in ``migrations_dir(dialect)/models/`` (aerich adds the app
    name to ``location``); ``migrations/generate.py`` writes it with the same
    ``location``. Runs in its own Tortoise context, so it neither reuses nor
    closes a context the caller may already have initialised.
    """
    from aerich import Command
    from tortoise.backends.base import executor
    from tortoise.context import TortoiseContext

    # Tortoise caches each model's INSERT/UPDATE/DELETE SQL process-wide, keyed
    # by connection *name* ("default"), not by dialect. In a process that has
    # used another dialect before (tests, migrations/generate.py) aerich's own
    # bookkeeping insert would reuse that dialect's SQL, so start afresh.
    getattr(executor, "EXECUTOR_CACHE", {}).clear()
    config = tortoise_config(settings, with_aerich=True)
    async with TortoiseContext() as ctx:
        # aerich's Migrate.init() only calls Tortoise.init() when the *current*
        # context is not initialised yet; a context left over from an earlier
        # call (close_connections() keeps it "inited") would be reused with
        # its old configuration, so always start from a fresh one.
        await ctx.init(config=config)
        command = Command(
            tortoise_config=config,
            app="models",
            location=str(migrations_dir(settings.dialect)),
        )
        await command.init()
        return await command.upgrade(run_in_transaction=True)
