"""Types and helpers shared by every domain's GraphQL module."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

import strawberry
from strawberry.extensions.field_extension import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.types import Info

from ccm_gateway.graphql.context import Context
from ccm_gateway.kit.money import format_minor, parse_amount
from ccm_gateway.kit.pagination import Page
from ccm_gateway.principal import Permission

T = TypeVar("T")
CtxInfo = Info[Context, None]


class _Requires(BasePermission):
    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    def has_permission(self, source: Any, info: CtxInfo, **kwargs: Any) -> bool:
        info.context.principal.require(self.permission)  # raises FORBIDDEN with the reason
        return True


def requires(permission: Permission) -> list[FieldExtension]:
    return [PermissionExtension(permissions=[_Requires(permission)], use_directives=False)]


@strawberry.type(description="An amount of money: a decimal string in the currency's minor units.")
class Money:
    amount: str
    currency: str

    @classmethod
    def of(cls, minor: int, currency: str) -> Money:
        return cls(amount=format_minor(minor, currency), currency=currency)


@strawberry.input(description='Money in: { amount: "10.00", currency: "USD" }.')
class MoneyInput:
    amount: str
    currency: str

    def minor(self, field: str = "amount", **kwargs: Any) -> int:
        return parse_amount(self.amount, self.currency, field=field, **kwargs)


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    node: T
    cursor: str


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo

    @classmethod
    def of(cls, page: Page, to_node: Any) -> Connection[T]:
        return cls(
            edges=[Edge(node=to_node(item), cursor=c)
                   for item, c in zip(page.items, page.cursors, strict=True)],
            page_info=PageInfo(has_next_page=page.has_next, end_cursor=page.end_cursor),
        )


def page_size(info: CtxInfo, first: int | None) -> int:
    return info.context.settings.default_page_size if first is None else first


DateTime = datetime
