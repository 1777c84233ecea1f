"""Lean resolvers for fields that take no arguments and carry no field extensions.

strawberry resolves every field through one generic wrapper: it builds an ``Info``, converts
the (absent) arguments, runs the (absent) field extensions through a chain of partials and
only then calls the resolver or reads the attribute. A page of 100 customers resolves about
1,100 fields, and that wrapper was a third of the execution's CPU. For a field with no
arguments and no extensions all of it reduces to the call itself, so ``lean_resolvers``
gives such fields a resolver that makes only that call, with the same arguments the
wrapper would pass. Fields with arguments, with field extensions (the permission checks of
``requires``) or matched by an exception handler keep strawberry's wrapper.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry
from graphql import (
    GraphQLEnumType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    Undefined,
)
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.field import StrawberryField

Resolve = Callable[[Any, Any], Any]  # (source, graphql-core's resolve info)


def _attribute(name: str, return_type: Any) -> Resolve:
    def resolve(source: Any, info: Any) -> Any:
        return getattr(source, name)

    leaf = return_type.of_type if isinstance(return_type, GraphQLNonNull) else return_type
    if isinstance(leaf, GraphQLScalarType | GraphQLEnumType):
        resolve.leaf = (name, leaf)  # type: ignore[attr-defined]
    return resolve


class LeanExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Completes an attribute that is a scalar or an enum without building its resolve
    info: the value ``getattr`` gives, coerced as graphql-core coerces a leaf. Anything
    else, and any value that is not a plain present one (None, an exception, an
    awaitable, one that does not coerce), goes the standard way, so errors and nulls are
    reported exactly as before."""

    def execute_field(self, parent_type: Any, source: Any, field_details_list: Any,
                      path: Any, position_context: Any) -> Any:
        field_def = self.schema.get_field(parent_type, field_details_list[0].node.name.value)
        leaf = getattr(field_def.resolve, "leaf", None) if field_def is not None else None
        manager = self.middleware_manager
        if leaf is not None and not (manager and manager.middlewares):
            name, leaf_type = leaf
            try:
                value = getattr(source, name)
                if (value is not None and not isinstance(value, Exception)
                        and not self.is_awaitable(value)):
                    coerced = leaf_type.coerce_output_value(value)
                    if coerced is not Undefined and coerced is not None:
                        return coerced
            except Exception:  # noqa: BLE001, S110 - the standard way reports it
                pass
        return super().execute_field(parent_type, source, field_details_list, path,
                                     position_context)


def _method(field: StrawberryField, info_class: type, takes_self: bool,
            info_name: str | None) -> Resolve | None:
    resolver = field.base_resolver
    if resolver is None:
        return None
    func: Callable[..., Any] = resolver.wrapped_func  # type: ignore[assignment]
    if takes_self and info_name:
        def with_info(source: Any, info: Any) -> Any:
            return func(source, **{info_name: info_class(_raw_info=info, _field=field)})
        return with_info
    if takes_self:
        def plain(source: Any, info: Any) -> Any:
            return func(source)
        return plain
    return None


def lean_resolvers(schema: strawberry.Schema) -> int:
    """Give every eligible field of ``schema`` its lean resolver; how many were changed."""
    converter = schema.schema_converter
    info_class = schema.config.info_class
    default_is_getattr = schema.config.default_resolver is getattr
    changed = 0
    for graphql_type in schema._schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType) or graphql_type.name.startswith("__"):
            continue
        if graphql_type is schema._schema.subscription_type:
            continue
        for graphql_field in graphql_type.fields.values():
            field = (graphql_field.extensions or {}).get("strawberry-definition")
            if (not isinstance(field, StrawberryField) or field.extensions or field.arguments
                    or graphql_field.args or converter._get_field_exception_handlers(field)):
                continue
            resolver = field.base_resolver
            lean: Resolve | None
            if resolver is None:
                lean = (_attribute(field.python_name, graphql_field.type) if default_is_getattr
                        else None)
            elif resolver.parent_parameter or resolver.root_parameter:
                lean = None
            else:
                info = resolver.info_parameter
                lean = _method(field, info_class, resolver.self_parameter is not None,
                               info.name if info else None)
            if lean is not None:
                graphql_field.resolve = lean
                changed += 1
    return changed
