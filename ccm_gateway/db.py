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
    """Apply every pending migration of this dialect's chain; return their names."""
    from aerich import Command

    command = Command(
        tortoise_config=tortoise_config(settings, with_aerich=True),
        app="models",
        location=str(migrations_dir(settings.dialect)),
    )
    try:
        await command.init()
        return await command.upgrade(run_in_transaction=True)
    finally:
        from tortoise import Tortoise

        await Tortoise.close_connections()
