"""Add a migration to both chains for the models' changes since the last one.

Usage, from the repository root::

    python migrations/new.py NAME [--postgres-url URL]

For each dialect: apply the chain to a throw-away database, then let aerich
(``Command.migrate``) write ``<n>_<timestamp>_NAME.py`` from the difference
between the models and the chain's last MODELS_STATE. Review the SQL it wrote.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))

from ccm_gateway.config import Settings  # noqa: E402 - after the sys.path insert
from ccm_gateway.db import migrate, migrations_dir, tortoise_config  # noqa: E402 - after the sys.path insert
from migrations.generate import DEFAULT_POSTGRES_URL, DIALECTS, temp_database  # noqa: E402 - after the sys.path insert


async def _new(dialect: str, name: str, postgres_url: str) -> str | None:
    from aerich import Command
    from tortoise.context import TortoiseContext

    async with temp_database(dialect, postgres_url) as url:
        settings = Settings(database_url=url)
        await migrate(settings)
        config = tortoise_config(settings, with_aerich=True)
        async with TortoiseContext() as ctx:
            await ctx.init(config=config)
            command = Command(tortoise_config=config, app="models",
                              location=str(migrations_dir(dialect)))
            await command.init()
            return await command.migrate(name, no_input=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name")
    parser.add_argument("--postgres-url", default=os.environ.get("CCM_TEST_POSTGRES_URL",
                                                                 DEFAULT_POSTGRES_URL))
    parser.add_argument("--dialect", choices=DIALECTS)
    args = parser.parse_args()
    if args.dialect:
        print(args.dialect, asyncio.run(_new(args.dialect, args.name, args.postgres_url)))
        return
    # One process per dialect: Tortoise caches generated SQL process-wide, so a
    # second dialect in the same process would get the first one's DDL.
    for dialect in DIALECTS:
        subprocess.run([sys.executable, __file__, args.name, "--dialect", dialect,
                        "--postgres-url", args.postgres_url], check=True)


if __name__ == "__main__":
    main()
