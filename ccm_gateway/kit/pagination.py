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


def decode_cursor(cursor: str, size: int) -> list[str]:
    try:
        parts = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if not isinstance(parts, list) or len(parts) != size:
            raise ValueError
        return [str(p) for p in parts]
    except (ValueError, binascii.Error):
        raise BadInput(f"after cursor {cursor!r} is malformed", field="after") from None


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
            at, last_id = datetime.fromisoformat(at_text), id_type(last_text)
            if at.tzinfo is None:
                raise ValueError(at_text)
        except ValueError:
            raise BadInput(f"after cursor {after!r} is malformed", field="after") from None
        query = query.filter(Q(**{f"{time_field}__lt": at})
                             | Q(**{time_field: at, "id__lt": last_id}))
    rows = await query.order_by(f"-{time_field}", "-id").limit(first + 1)
    return Page.of(rows, first,
                   lambda row: encode_cursor(getattr(row, time_field).isoformat(), row.id))
