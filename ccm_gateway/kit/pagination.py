"""Keyset pagination: opaque cursors over the sort key, and the page-size rule."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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


