"""Hand-written report statements for both dialects, built from one text.

A statement is written once with PostgreSQL's ``$n`` placeholders; on SQLite they become
``?`` in order of appearance, with the arguments reordered to match. Times are passed in
UTC: SQLite stores them as ``isoformat(" ")`` text in UTC, so its comparisons are the
text's, and that is only the times' order when every one has the same offset."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from tortoise import connections

_PARAM = re.compile(r"\$(\d+)")


def on_postgres() -> bool:
    return bool(connections.get("default").capabilities.dialect == "postgres")


class Statement:
    """A statement under construction: ``arg`` adds a parameter and returns its placeholder."""

    def __init__(self) -> None:
        self.args: list[Any] = []
        self.postgres = on_postgres()

    def arg(self, value: Any) -> str:
        if isinstance(value, datetime):
            value = value.astimezone(UTC)
        elif isinstance(value, uuid.UUID) and not self.postgres:
            value = str(value)  # SQLite keeps UUIDs as their text
        self.args.append(value)
        return f"${len(self.args)}"

    def time(self, value: datetime) -> str:
        """A time where PostgreSQL cannot infer the parameter's type (a VALUES list)."""
        return self.as_time(self.arg(value))

    def as_time(self, placeholder: str) -> str:
        """A time parameter already added, typed for where PostgreSQL cannot infer it."""
        return f"CAST({placeholder} AS TIMESTAMPTZ)" if self.postgres else placeholder

    def seconds_between(self, later: str, earlier: str) -> str:
        """Whole seconds from ``earlier`` to ``later`` (columns), as an integer; fractions
        of a second are dropped on both sides first, so both dialects agree."""
        if self.postgres:
            return (f"CAST(EXTRACT(EPOCH FROM date_trunc('second', {later})) AS BIGINT) - "
                    f"CAST(EXTRACT(EPOCH FROM date_trunc('second', {earlier})) AS BIGINT)")
        return (f"CAST(strftime('%s', {later}) AS INTEGER) - "
                f"CAST(strftime('%s', {earlier}) AS INTEGER)")

    def json_int(self, column: str, key: str) -> str:
        """The integer at top-level ``key`` (a fixed name, never a caller's value) of the
        JSON object in ``column``; NULL where it is missing."""
        if self.postgres:
            return f"CAST({column} ->> '{key}' AS INTEGER)"
        return f"CAST(json_extract({column}, '$.{key}') AS INTEGER)"

    async def rows(self, sql: str) -> list[dict[str, Any]]:
        args = self.args
        if not self.postgres:
            args = [self.args[int(n) - 1] for n in _PARAM.findall(sql)]
            sql = _PARAM.sub("?", sql)
        return list(await connections.get("default").execute_query_dict(sql, args))


def integer(value: Any) -> int:
    """A SUM or COUNT as an int: PostgreSQL sums BIGINTs as NUMERIC (a Decimal here)."""
    return 0 if value is None else int(value)
