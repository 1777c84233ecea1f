"""Types and helpers shared by every domain's GraphQL module."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

import strawberry
from strawberry.extensions.field_extension import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.types import Info

from ccm_gateway.graphql.context import Context
from ccm_gateway.kit.ids import parse_uuid
from ccm_gateway.kit.money import format_minor, parse_amount
from ccm_gateway.kit.pagination import Page, Window
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


def not_partner(info: CtxInfo, action: str) -> None:
    """FORBIDDEN for a partner principal: ``action`` spans every partner's customers."""
    info.context.principal.require_unscoped(action)


def optional_uuid(value: Any, field: str) -> uuid.UUID | None:
    """An optional id argument as a UUID (None when left out); BAD_USER_INPUT naming
    ``field`` when it is no UUID."""
    return parse_uuid(str(value), field) if value is not None else None


def optional_id(value: Any) -> strawberry.ID | None:
    """An optional reference out (a UUID column that may be null) as an ID."""
    return strawberry.ID(str(value)) if value is not None else None


@strawberry.type(description='An amount of money, exact: `amount` is a decimal string in the '
                             'major unit ("1250.50" USD is 1,250 dollars and 50 cents), with '
                             "exactly as many decimals as the currency has (none for JPY, 3 for "
                             "KWD); never a float. The server keeps it as integer minor units.")
class Money:
    amount: str = strawberry.field(
        description='A decimal string in the major unit, e.g. "1250.50"; negative with a '
                    'leading "-".')
    currency: str = strawberry.field(description="The ISO 4217 code, e.g. USD.")

    @classmethod
    def of(cls, minor: int, currency: str) -> Money:
        return cls(amount=format_minor(minor, currency), currency=currency)


@strawberry.input(description='Money in: { amount: "10.00", currency: "USD" }; more decimals '
                              "than the currency has are refused.")
class MoneyInput:
    amount: str
    currency: str

    def minor(self, field: str = "amount", **kwargs: Any) -> int:
        return parse_amount(self.amount, self.currency, field=field, **kwargs)


@strawberry.interface(description="An object that `node(id:)` fetches again by its id alone.")
class Node:
    id: strawberry.ID = strawberry.field(
        description="A UUID, unique across every type; the same id connected systems store.")


@strawberry.type(description="Where a page sits in its list (Relay's PageInfo).")
class PageInfo:
    has_next_page: bool = strawberry.field(
        description="Items follow this page: ask for them with first and after: endCursor.")
    has_previous_page: bool = strawberry.field(
        description="Items precede this page: ask for them with last and before: "
                    "startCursor.")
    start_cursor: str | None = strawberry.field(
        description="The cursor of the page's first item; null on an empty page.")
    end_cursor: str | None = strawberry.field(
        description="The cursor of the page's last item; null on an empty page.")


@strawberry.type(description="An item of a page and its cursor.")
class Edge(Generic[T]):
    node: T = strawberry.field(description="The item.")
    cursor: str = strawberry.field(
        description="Opaque; pass it as after or before to page from this item.")


@strawberry.type(description="A page of a list, read forward (first, after) or backward "
                             "(last, before) from opaque cursors.")
class Connection(Generic[T]):
    edges: list[Edge[T]] = strawberry.field(description="The page's items, in list order.")
    page_info: PageInfo = strawberry.field(description="Where the page sits in the list.")

    @classmethod
    def of(cls, page: Page, to_node: Any) -> Connection[T]:
        return cls(
            edges=[Edge(node=to_node(item), cursor=c) for item, c in zip(page.items, page.cursors,
                                                                    strict=True)],
            page_info=PageInfo(has_next_page=page.has_next, has_previous_page=page.has_previous,
                               start_cursor=page.start_cursor, end_cursor=page.end_cursor),
        )


First = Annotated[int | None, strawberry.argument(
    description="How many items to read forward, from the start or from after; from 1 to the "
                "server's maximum page size. Not with last. Without either, the server's "
                "default page size forward.")]
After = Annotated[str | None, strawberry.argument(
    description="Read the items after this cursor (a page's endCursor).")]
Last = Annotated[int | None, strawberry.argument(
    description="How many items to read backward, from the end or from before; from 1 to the "
                "server's maximum page size. Not with first.")]
Before = Annotated[str | None, strawberry.argument(
    description="Read the items before this cursor (a page's startCursor).")]


def window(info: CtxInfo, first: int | None, after: str | None, last: int | None = None,
           before: str | None = None) -> Window:
    """The page a connection field's arguments ask for; neither first nor last is the
    default page size, read forward."""
    if first is None and last is None:
        first = info.context.settings.default_page_size
    return Window(first=first, after=after, last=last, before=before)


DateTime = datetime
