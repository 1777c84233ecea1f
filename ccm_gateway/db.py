"""Tortoise configuration, start-up and migrations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ccm_gateway.config import Settings

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
    ``location``. Runs in a Tortoise context of its own, so a context the caller
    has initialised stays open and usable, even on another dialect (tests).
    """
    from aerich import Command
    from tortoise.backends.base import executor
    from tortoise.context import TortoiseContext, get_current_context

    # Tortoise keeps dialect-specific SQL on the model classes, process-wide:
    # an INSERT/UPDATE/DELETE cache keyed by connection *name* ("default"), not
    # by dialect, and each model's base query, rebuilt by every init. Drop the
    # cache now (aerich's own insert would otherwise reuse another dialect's
    # SQL) and afterwards hand both back to the caller's context, if any.
    getattr(executor, "EXECUTOR_CACHE", {}).clear()
    config = tortoise_config(settings, with_aerich=True)
    try:
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
    finally:
        getattr(executor, "EXECUTOR_CACHE", {}).clear()
        outer = get_current_context()
        if outer is not None and outer.apps is not None:
            outer.apps._build_initial_querysets()
