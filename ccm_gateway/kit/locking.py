"""Transaction-scoped named locks.

PostgreSQL takes ``pg_advisory_xact_lock``, released at commit or rollback.
SQLite needs nothing: Tortoise runs one SQLite transaction at a time per
process, and SQLite itself allows one writer.
"""

from __future__ import annotations

import hashlib

from tortoise import connections


def _key64(name: str) -> int:
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def key_of(name: str) -> int:
    """The PostgreSQL advisory lock key of ``name``, for a statement that takes the lock
    along with other work (``pg_advisory_xact_lock``)."""
    return _key64(name)


async def lock_key(name: str) -> None:
    """Lock ``name`` until the current transaction ends; call inside ``in_transaction()``."""
    conn = connections.get("default")
    if conn.capabilities.dialect != "postgres":
        return
    await conn.execute_query("SELECT pg_advisory_xact_lock($1)", [_key64(name)])
