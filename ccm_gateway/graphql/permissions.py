"""Permissions checked once per document instead of on every field it resolves.

Every field built with ``requires(permission)`` carries strawberry's ``PermissionExtension``,
which runs on each resolution of the field: a hundred customers with a permission-checked
field inside each pay a hundred checks. ``DocumentPermissions`` works out, once per
document text, every permission a document can need: the permissions of every field
whose *name* appears anywhere in it (operations, fragments, inline fragments, used or not),
on whichever type. That is a superset of what execution can check. When the principal holds
all of them, no per-field check could fail, so the document runs on a variant of the schema
built without the permission extensions; otherwise it runs on the checked schema exactly as
before, and each field that needs what the principal lacks answers FORBIDDEN with partial
data, as it always has. Anything it cannot judge (a document that does not parse, a
permission class other than ``requires``) takes the checked schema.

Partner scoping is untouched: it lives in the services' readable-by-principal queries,
which run the same on both schemas.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

import strawberry
from graphql import (
    DocumentNode,
    ExecutableDefinitionNode,
    FieldNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    SelectionSetNode,
    parse,
)
from strawberry.permission import PermissionExtension
from strawberry.types.field import StrawberryField

from ccm_gateway.principal import Permission, Principal

# A field whose checks this module cannot reason about: a document naming it is checked.
_UNKNOWN = "unknown"
Needs = frozenset[Permission | str]


def _strawberry_fields(schema: strawberry.Schema) -> Iterator[tuple[str, StrawberryField]]:
    """(GraphQL field name, strawberry field) of every object and interface field."""
    for graphql_type in schema._schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType | GraphQLInterfaceType):
            continue
        for name, graphql_field in graphql_type.fields.items():
            definition = (graphql_field.extensions or {}).get("strawberry-definition")
            if isinstance(definition, StrawberryField):
                yield name, definition


def field_permissions(schema: strawberry.Schema) -> dict[str, Needs]:
    """By field name, what any field of that name on any type requires."""
    needs: dict[str, set[Permission | str]] = {}
    for name, field in _strawberry_fields(schema):
        for extension in field.extensions:
            if not isinstance(extension, PermissionExtension):
                continue
            for permission in extension.permissions:
                required = getattr(permission, "permission", None)
                needs.setdefault(name, set()).add(
                    required if isinstance(required, Permission) else _UNKNOWN)
    return {name: frozenset(p) for name, p in needs.items()}


def without_permission_checks(build: Callable[[], strawberry.Schema],
                              checked: strawberry.Schema) -> strawberry.Schema:
    """``build()`` once more, with the permission extensions of ``checked``'s fields left
    out. The fields are shared by both schemas; each schema binds its field extensions
    when it is built, so they are put back as soon as the variant exists."""
    removed: list[tuple[StrawberryField, list[Any]]] = []
    for _, field in _strawberry_fields(checked):
        if any(isinstance(e, PermissionExtension) for e in field.extensions):
            removed.append((field, list(field.extensions)))
            field.extensions[:] = [e for e in field.extensions
                                   if not isinstance(e, PermissionExtension)]
    try:
        return build()
    finally:
        for field, extensions in removed:
            field.extensions[:] = extensions


def named_fields(document: DocumentNode) -> set[str]:
    """Every field name in the document's operations and fragments (a stack, not
    recursion: selections may nest as deep as the token limit allows)."""
    names: set[str] = set()
    stack: list[SelectionSetNode] = [d.selection_set for d in document.definitions
                                     if isinstance(d, ExecutableDefinitionNode)]
    while stack:
        for selection in stack.pop().selections:
            if isinstance(selection, FieldNode):
                names.add(selection.name.value)
            selection_set = getattr(selection, "selection_set", None)
            if selection_set is not None:
                stack.append(selection_set)
    return names


class DocumentPermissions:
    """Which schema runs a document for a principal: ``unchecked`` when the principal holds
    every permission the document can need, else ``checked``. The needs are cached per
    document text, least recently used dropped first."""

    def __init__(self, checked: strawberry.Schema, unchecked: strawberry.Schema,
                 *, maxsize: int, max_tokens: int) -> None:
        self.checked = checked
        self.unchecked = unchecked
        self.maxsize = maxsize
        self.max_tokens = max_tokens
        self._by_field = field_permissions(checked)
        self._needs: OrderedDict[str, Needs | None] = OrderedDict()

    def needs(self, query: str) -> Needs | None:
        """What ``query`` can need; None when it does not parse."""
        if query in self._needs:
            self._needs.move_to_end(query)
            return self._needs[query]
        try:
            # Past the token limit it fails here too, and the checked path refuses it.
            document = parse(query, max_tokens=self.max_tokens)
        except GraphQLError:
            needs = None
        else:
            needs = frozenset().union(*(self._by_field.get(n, frozenset())
                                        for n in named_fields(document)))
        self._needs[query] = needs
        if len(self._needs) > self.maxsize:
            self._needs.popitem(last=False)
        return needs

    def schema_for(self, query: str | None, principal: Principal) -> strawberry.Schema:
        if not query:
            return self.checked
        needs = self.needs(query)
        if needs is None or not needs <= principal.permissions:
            return self.checked
        return self.unchecked
