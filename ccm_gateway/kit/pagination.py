"""Keyset pagination: opaque cursors over the sort key, and the page-size rule."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.expressions import Q

from ccm_gateway.errors import BadInput
from ccm_gateway.kit.text import text_problem


@dataclass(frozen=True, slots=True)
class Page:
    items: list[Any]
    cursors: list[str]
    has_next: bool

    @classmethod
    def of(cls, rows: list[Any], first: int, cursor: Callable[[Any], str]) -> Page:
        """Build a page from ``first + 1`` fetched rows; the extra one only signals more."""
        items = rows[:first]
        return cls(items, [cursor(r) for r in items], len(rows) > first)

    @property
    def end_cursor(self) -> str | None:
        return self.cursors[-1] if self.cursors else None


def encode_cursor(*parts: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps([str(p) for p in parts]).encode()).decode()


# Longer than any cursor this server issues (a 200-character customer name of astral
# characters, JSON-escaped to 12 characters each, then base64: about 3,300), and short
# enough that decoding a forged one is cheap.
MAX_CURSOR_LENGTH = 4096
# Row ids and positions are BIGINT in PostgreSQL; SQLite's INTEGER is the same size.
_BIGINT = 2**63


def invalid_cursor() -> BadInput:
    """The answer to any cursor this server did not issue. It does not echo the cursor,
    which can be as large as the body limit."""
    return BadInput("invalid cursor: pass the endCursor of a previous page", field="after")


def decode_cursor(cursor: str, size: int) -> list[str]:
    """The ``size`` parts of a cursor made by ``encode_cursor``, each text both databases
    can store; anything else is ``invalid_cursor()``."""
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise invalid_cursor()
    try:
        parts = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, binascii.Error, RecursionError):
        # RecursionError: a JSON array nested thousands deep.
        raise invalid_cursor() from None
    if not isinstance(parts, list) or len(parts) != size:
        raise invalid_cursor()
    texts = [str(p) for p in parts]
    if any(text_problem(t) for t in texts):
        raise invalid_cursor()
    return texts


def cursor_id(text: str, id_type: Callable[[str], Any]) -> Any:
    """A row id (or position) from a cursor part: ``id_type(text)``, an int from 0 to the
    largest BIGINT; anything else is ``invalid_cursor()``."""
    try:
        value = id_type(text)
    except ValueError:
        raise invalid_cursor() from None
    if isinstance(value, int) and not 0 <= value < _BIGINT:
        raise invalid_cursor()
    return value


def check_page_size(first: int, max_page_size: int) -> None:
    if not 1 <= first <= max_page_size:
        raise BadInput(f"first must be between 1 and {max_page_size}", field="first")


async def page_newest_first(query: Any, *, time_field: str, first: int, after: str | None,
                            id_type: Callable[[str], Any]) -> Page:
    """A page of ``query`` ordered by ``time_field`` then id, newest first; the cursor
    holds both, so rows sharing a timestamp are neither skipped nor repeated."""
    if after:
        at_text, last_text = decode_cursor(after, 2)
        try:
            at = datetime.fromisoformat(at_text)
        except ValueError:
            raise invalid_cursor() from None
        if at.tzinfo is None:
            raise invalid_cursor()
        last_id = cursor_id(last_text, id_type)
        older: dict[str, Any] = {f"{time_field}__lt": at}
        same_time_lower_id: dict[str, Any] = {time_field: at, "id__lt": last_id}
        query = query.filter(Q(**older) | Q(**same_time_lower_id))
    rows = await query.order_by(f"-{time_field}", "-id").limit(first + 1)
    return Page.of(rows, first,
                   lambda row: encode_cursor(getattr(row, time_field).isoformat(), row.id))
