"""Per-request DataLoaders: one query per relation per page, whatever the page size."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from strawberry.dataloader import DataLoader

from ccm_gateway.customer.models import ExternalRef
from ccm_gateway.ledger.models import CreditAccount, Hold, SiteLimit
from ccm_gateway.site.models import Site


def _one(rows: Iterable[Any], keys: list[Any], attr: str) -> list[Any]:
    by_key = {getattr(r, attr): r for r in rows}
    return [by_key.get(k) for k in keys]


def _many(rows: Iterable[Any], keys: list[Any], attr: str) -> list[list[Any]]:
    grouped: dict[Any, list[Any]] = defaultdict(list)
    for r in rows:
        grouped[getattr(r, attr)].append(r)
    return [grouped.get(k, []) for k in keys]


class Loaders:
    def __init__(self) -> None:
        self.account_by_customer = DataLoader(self._accounts)
        self.site_by_id = DataLoader(self._sites)
        self.site_limits_by_account = DataLoader(self._site_limits)
        self.external_refs_by_customer = DataLoader(self._external_refs)
        self.pending_holds_by_account = DataLoader(self._pending_holds)
        self.integration_health = DataLoader(self._integration_health)

    @staticmethod
    async def _accounts(keys: list[Any]) -> list[Any]:
        return _one(await CreditAccount.filter(customer_id__in=keys), keys, "customer_id")

    @staticmethod
    async def _sites(keys: list[Any]) -> list[Any]:
        return _one(await Site.filter(id__in=keys), keys, "id")

    @staticmethod
    async def _site_limits(keys: list[Any]) -> list[list[Any]]:
        rows = await SiteLimit.filter(account_id__in=keys).order_by("id")
        return _many(rows, keys, "account_id")

    @staticmethod
    async def _external_refs(keys: list[Any]) -> list[list[Any]]:
        rows = await ExternalRef.filter(customer_id__in=keys).order_by("system", "external_id")
        return _many(rows, keys, "customer_id")

    @staticmethod
    async def _integration_health(keys: list[Any]) -> list[Any]:
        from ccm_gateway.integration.service import health

        found = await health(keys)
        return [found[k] for k in keys]

    @staticmethod
    async def _pending_holds(keys: list[Any]) -> list[list[Any]]:
        rows = await Hold.filter(account_id__in=keys, status="pending").order_by("created_at")
        return _many(rows, keys, "account_id")
