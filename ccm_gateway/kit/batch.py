"""Results of one batched query, laid out in the order of the keys asked for (DataLoaders)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable
from typing import Any, TypeVar

T = TypeVar("T")


def one_per_key(rows: Iterable[T], keys: Iterable[Hashable], attr: str) -> list[T | None]:
    by_key = {getattr(r, attr): r for r in rows}
    return [by_key.get(k) for k in keys]


def many_per_key(rows: Iterable[T], keys: Iterable[Hashable], attr: str) -> list[list[T]]:
    grouped: dict[Any, list[T]] = defaultdict(list)
    for r in rows:
        grouped[getattr(r, attr)].append(r)
    return [grouped.get(k, []) for k in keys]
