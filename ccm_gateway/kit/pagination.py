"""Keyset pagination: opaque cursors over the sort key, and the page-size rule.

A list is read through a ``Window``: Relay's ``first``/``after`` (forward) or
``last``/``before`` (backward), both cursors allowed at once. Every list is a
keyset over a unique sort key, so a page is a range query whichever way it is
read; no list is ever read by offset.
"""

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
class Window:
    """Which slice of a list a caller asked for: the ``first`` rows after ``after``, or the
    ``last`` rows before ``before``, each cursor optional."""

    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None

    @property
    def backward(self) -> bool:
        return self.last is not None

    @property
    def size(self) -> int:
        size = self.last if self.backward else self.first
        if size is None:
            raise ValueError("a Window needs first or last")
        return size

    def check(self, max_page_size: int) -> None:
        """BAD_USER_INPUT unless exactly one of first or last is given, from 1 to the limit."""
        if (self.first is None) == (self.last is None):
            raise BadInput("give first or last, not both", field="last")
        name = "last" if self.backward else "first"
        if not 1 <= self.size <= max_page_size:
            raise BadInput(f"{name} must be between 1 and {max_page_size}", field=name)


@dataclass(frozen=True, slots=True)
class Page:
    items: list[Any]
    cursors: list[str]
    has_next: bool
    has_previous: bool = False

    @property
    def start_cursor(self) -> str | None:
        return self.cursors[0] if self.cursors else None

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
_PREVIOUS_PAGE_CURSOR = {"after": "endCursor", "before": "startCursor"}


def invalid_cursor(field: str = "after") -> BadInput:
    """The answer to any cursor this server did not issue. It does not echo the cursor,
    which can be as large as the body limit."""
    return BadInput(f"invalid cursor: pass the {_PREVIOUS_PAGE_CURSOR[field]} of a previous "
                    "page", field=field)


def decode_cursor(cursor: str, size: int, field: str = "after") -> list[str]:
    """The ``size`` parts of a cursor made by ``encode_cursor``, each text both databases
    can store; anything else is ``invalid_cursor(field)``."""
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise invalid_cursor(field)
    try:
        parts = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, binascii.Error, RecursionError):
        # RecursionError: a JSON array nested thousands deep.
        raise invalid_cursor(field) from None
    if not isinstance(parts, list) or len(parts) != size:
        raise invalid_cursor(field)
    texts = [str(p) for p in parts]
    if any(text_problem(t) for t in texts):
        raise invalid_cursor(field)
    return texts


def cursor_id(text: str, id_type: Callable[[str], Any], field: str = "after") -> Any:
    """A row id (or position) from a cursor part: ``id_type(text)``, an int from 0 to the
    largest BIGINT; anything else is ``invalid_cursor(field)``."""
    try:
        value = id_type(text)
    except ValueError:
        raise invalid_cursor(field) from None
    if isinstance(value, int) and not 0 <= value < _BIGINT:
        raise invalid_cursor(field)
    return value


def aware_datetime(text: str) -> datetime:
    """A timestamp cursor part; ValueError unless ISO 8601 with a UTC offset."""
    at = datetime.fromisoformat(text)
    if at.tzinfo is None:
        raise ValueError("no UTC offset")
    return at


def _cursor_text(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


@dataclass(frozen=True, slots=True)
class Keyset:
    """An order over ``fields``, all ascending or all descending; together they are unique
    (the last one is the row id), so a cursor names exactly one position. ``parts`` reads
    each field's cursor text back (raising ValueError on what the server never wrote)."""

    fields: tuple[str, ...]
    parts: tuple[Callable[[str], Any], ...]
    descending: bool = False

    def cursor(self, row: Any) -> str:
        return encode_cursor(*(_cursor_text(getattr(row, f)) for f in self.fields))

    def position(self, cursor: str, field: str) -> tuple[Any, ...]:
        texts = decode_cursor(cursor, len(self.fields), field)
        return tuple(cursor_id(t, parse, field) for t, parse in zip(texts, self.parts,
                                                                       strict=True))

    def order(self, *, reverse: bool = False) -> list[str]:
        prefix = "-" if self.descending != reverse else ""
        return [prefix + f for f in self.fields]

    def beyond(self, position: tuple[Any, ...], *, later: bool, inclusive: bool = False) -> Q:
        """The rows after ``position`` in this order (``later``), or before it; with
        ``inclusive``, the row at ``position`` too."""
        up = later != self.descending
        strict, last = ("gt", "gte" if inclusive else "gt") if up else \
            ("lt", "lte" if inclusive else "lt")
        # (a, b) beyond (x, y): a beyond x, or a = x and b beyond y.
        *heads, tail = self.fields
        condition = Q(**{f"{tail}__{last}": position[-1]})
        for name, value in reversed(list(zip(heads, position, strict=False))):
            condition = Q(**{f"{name}__{strict}": value}) | (Q(**{name: value}) & condition)
        return condition


async def page(query: Any, keyset: Keyset, window: Window) -> Page:
    """The slice ``window`` of ``query`` in ``keyset``'s order. ``hasPreviousPage`` after an
    ``after`` cursor (and ``hasNextPage`` before a ``before`` one) costs one EXISTS query."""
    whole = query
    after = keyset.position(window.after, "after") if window.after else None
    before = keyset.position(window.before, "before") if window.before else None
    if after is not None:
        query = query.filter(keyset.beyond(after, later=True))
    if before is not None:
        query = query.filter(keyset.beyond(before, later=False))
    size = window.size
    rows = list(await query.order_by(*keyset.order(reverse=window.backward)).limit(size + 1))
    more = len(rows) > size
    rows = rows[:size]
    if window.backward:
        rows.reverse()
        has_previous = more
        has_next = before is not None and await whole.filter(
            keyset.beyond(before, later=True, inclusive=True)).exists()
    else:
        has_next = more
        has_previous = after is not None and await whole.filter(
            keyset.beyond(after, later=False, inclusive=True)).exists()
    return Page(rows, [keyset.cursor(r) for r in rows], has_next, has_previous)


def newest_first(time_field: str, id_type: Callable[[str], Any]) -> Keyset:
    """``time_field`` then id, newest first: rows sharing a timestamp are neither skipped
    nor repeated."""
    return Keyset((time_field, "id"), (aware_datetime, id_type), descending=True)


async def page_newest_first(query: Any, *, time_field: str, window: Window,
                            id_type: Callable[[str], Any]) -> Page:
    return await page(query, newest_first(time_field, id_type), window)

