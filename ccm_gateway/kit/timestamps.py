"""Times from outside: they carry their UTC offset, or they are refused."""

from __future__ import annotations

from datetime import UTC, datetime

from ccm_gateway.errors import BadInput


def check_aware(value: datetime | None, field: str) -> None:
    """A naive time is ambiguous (whose midnight?): refuse it, naming ``field``."""
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise BadInput(f"{field} needs a UTC offset, e.g. 2025-01-31T12:00:00Z", field=field)


def utc_bound(value: datetime | None, field: str) -> datetime | None:
    """A time to filter stored times by, in UTC: SQLite compares stored times as text,
    so 21:00+09:00 must be 12:00+00:00 before it is compared. Naive: as ``check_aware``."""
    check_aware(value, field)
    return value.astimezone(UTC) if value is not None else None
