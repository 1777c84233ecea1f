"""Per-request DataLoaders: one query per relation per page, whatever the page size.

Each domain's service owns its batch functions (a list of keys -> results in key
order); a request's ``Loaders`` makes one DataLoader per batch function on first
use, so no central list of every domain's loaders is needed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Loaders:
    def __init__(self) -> None:
        self._made: dict[Callable[..., Any], DataLoader[Any, Any]] = {}

    def of(self, batch: Callable[[list[K]], Awaitable[Sequence[V]]]) -> DataLoader[K, V]:
        loader = self._made.get(batch)
        if loader is None:
            loader = self._made[batch] = DataLoader(load_fn=batch)
        return loader
