"""The tortoise engine of the embedded default's SQLite file (``db.tortoise_config`` names it).

tortoise's own engine, changed in two ways:

- **Writers wait their turn.** `ccm-gateway serve` and the CLI (`clients create`,
  `keys rotate`, ...) write to one file from separate processes. tortoise opens a
  transaction with a deferred ``BEGIN``: its first read takes a snapshot, and when
  another process commits before the first write, upgrading to the write lock fails at
  once with SQLITE_BUSY ("database is locked") whatever the busy timeout, since waiting
  there could deadlock. ``BEGIN IMMEDIATE`` takes the write lock first, where the busy
  timeout applies, so each process waits for the other's transaction instead of failing.
  Within one process tortoise already runs one transaction at a time on its single
  connection, so this costs no concurrency the process had.
- **A connection that cannot be opened fails, and keeps failing, instead of hanging.**
  tortoise takes its connection lock before opening the file and never releases it when
  that fails: the first query raised, and every later one waited for the lock forever
  (`ccm-gateway migrate` on an unopenable path hung with no output).
"""

from __future__ import annotations

import contextlib
import sqlite3
from typing import Any

import aiosqlite
from tortoise.backends.base.client import ConnectionWrapper
from tortoise.backends.sqlite.client import (
    SqliteClient as TortoiseSqliteClient,
)
from tortoise.backends.sqlite.client import (
    SqliteTransactionContext,
    SqliteTransactionWrapper,
)
from tortoise.connection import get_connections
from tortoise.exceptions import OperationalError


class _ConnectionWrapper(ConnectionWrapper[aiosqlite.Connection]):
    async def __aenter__(self) -> aiosqlite.Connection:
        await self._lock.acquire()
        try:
            await self.ensure_connection()
        except BaseException:
            self._lock.release()
            raise
        return self.connection


class _TransactionContext(SqliteTransactionContext):
    async def __aenter__(self) -> Any:
        await self._trxlock.acquire()
        try:
            await self.ensure_connection()
            self.token = get_connections().set(self.connection_name, self.connection)
            try:
                await self.connection.begin()
            except BaseException:
                get_connections().reset(self.token)
                raise
        except BaseException:
            self._trxlock.release()
            raise
        return self.connection


class _TransactionWrapper(SqliteTransactionWrapper):
    async def begin(self) -> None:
        try:
            await self._connection.commit()
            await self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            # Still locked after the busy timeout: an OperationalError like any query's,
            # which the transport answers as DATABASE_UNAVAILABLE (retry later).
            raise OperationalError(exc) from exc


class SqliteClient(TortoiseSqliteClient):
    async def create_connection(self, with_db: bool) -> None:
        try:
            await super().create_connection(with_db)
        except BaseException:
            # Opened but a pragma failed ("file is not a database"): start afresh next time.
            if self._connection is not None:
                connection, self._connection = self._connection, None
                with contextlib.suppress(Exception):  # the first error is the one to raise
                    await connection.close()
            raise

    def acquire_connection(self) -> ConnectionWrapper[aiosqlite.Connection]:
        return _ConnectionWrapper(self._lock, self)

    def _in_transaction(self) -> _TransactionContext:
        return _TransactionContext(_TransactionWrapper(self), self._lock)


client_class = SqliteClient
