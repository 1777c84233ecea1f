"""The tortoise engine of PostgreSQL (``db.tortoise_config`` names it): tortoise's asyncpg
engine, whose pool does not reset a connection when it is given back.

asyncpg's default reset is a round trip of its own on every release
(``SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL``), as many as the
statements of a credit check. The gateway leaves no session state to reset: its advisory
locks are transaction-scoped (``kit/locking.py``), it opens cursors only inside
transactions, it never LISTENs and never SETs a session variable. What asyncpg still does
on release without a round trip stays: a transaction left open is rolled back and
listeners are dropped.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from tortoise.backends.asyncpg.client import AsyncpgDBClient


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Nothing to undo (see the module's docstring)."""


class PgClient(AsyncpgDBClient):
    async def create_pool(self, **kwargs: Any) -> asyncpg.Pool:
        return await asyncpg.create_pool(None, reset=_keep_session, **kwargs)


client_class = PgClient
