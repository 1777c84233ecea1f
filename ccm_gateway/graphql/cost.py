"""Query cost: the most nodes a document can return, counted before it runs.

Counted as GitHub's GraphQL API counts nodes. A connection asked for ``first: n``
(or ``last: n``) returns up to n nodes, and each may run the connections below it, so it costs
``n * (1 + the cost of the connections below it)``; costs add up across fields,
aliases and fragments. ``customers(first: 100) { ledger(first: 100) }`` costs
100 + 100 * 100 = 10,100. A connection is a field with a ``first`` argument; without
``first`` or ``last`` it counts the default page size, as its resolver does; with both,
the larger (the resolver refuses the pair, but only once it runs). Other lists (sites,
pending holds, site limits) are not counted: the data bounds them, not the caller.

Depth, alias and token limits do not bound this product: 30 aliased copies of that
one field, about 270 tokens, cost 303,000 and took seconds of the event loop.

Variables differ per request while validation is cached per document, so this is no
validation rule: ``QueryCost`` counts in ``on_execute``, on the validated document,
with the request's variables. What depends on the document alone (which fields are
connections, where their sizes come from) is worked out once per document text and
cached, so a request pays only for applying its variables.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    get_operation_ast,
    value_from_ast_untyped,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from strawberry.extensions import SchemaExtension

from ccm_gateway.config import Settings
from ccm_gateway.errors import BadInput
from ccm_gateway.graphql.errors import map_error

# A query still running after this long is stopped at its next await and answered with
# an error: the cost limit bounds the work a document may ask for, this bounds how long
# a slow database can make it hold the process. Mutations are never stopped, so that a
# caller always learns whether its write was applied.
QUERY_TIME_BUDGET_SECONDS = 10.0

# A schema run without our Context (schema-only tests) gets the defaults.
_DEFAULT_SETTINGS = Settings()


@dataclass(frozen=True, slots=True)
class _Connection:
    """A connection field of the document: where its page size comes from (each of
    ``first`` and ``last`` given as a literal or a variable; none for the default) and the
    connections below it."""

    sizes: tuple[tuple[int | None, str | None], ...]
    below: tuple[_Connection, ...]


@dataclass(frozen=True, slots=True)
class CostPlan:
    """What the cost of one operation depends on, once its variables are known."""

    operation: OperationType | None
    connections: tuple[_Connection, ...]
    variable_defaults: Mapping[str, Any]

    def cost(self, variables: Mapping[str, Any], default_page_size: int) -> int:
        if not self.connections:
            return 0

        def size(connection: _Connection) -> int:
            values: list[Any] = [
                literal if variable is None
                else variables.get(variable, self.variable_defaults.get(variable))
                for literal, variable in connection.sizes]
            given = [_page_size(v, default_page_size) for v in values if v is not None]
            return max(given) if given else default_page_size

        def total(connections: tuple[_Connection, ...]) -> int:
            return sum(size(c) * (1 + total(c.below)) for c in connections)

        return total(self.connections)


def _page_size(value: Any, default_page_size: int) -> int:
    # Variables are counted before they are coerced. A value that will not coerce to
    # an Int is refused then; until then it counts as the default, never as less.
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return max(value, 0)
    return default_page_size


def plan_cost(schema: GraphQLSchema, document: DocumentNode,
              operation_name: str | None) -> CostPlan:
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return CostPlan(None, (), {})
    root = schema.get_root_type(operation.operation)
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    defaults = {d.variable.name.value: value_from_ast_untyped(d.default_value)
                for d in operation.variable_definitions or () if d.default_value is not None}
    connections = _connections(schema, root, [operation.selection_set], fragments) if root else ()
    return CostPlan(operation.operation, connections, defaults)


def _connections(schema: GraphQLSchema, parent_type: Any, selection_sets: list[SelectionSetNode],
                 fragments: dict[str, FragmentDefinitionNode]) -> tuple[_Connection, ...]:
    found: list[_Connection] = []
    for type_, nodes in _collect(schema, parent_type, selection_sets, fragments):
        field = (getattr(type_, "fields", None) or {}).get(nodes[0].name.value)
        if field is None:  # __typename, __schema: no connection below
            continue
        below_sets = [n.selection_set for n in nodes if n.selection_set is not None]
        below = (_connections(schema, get_named_type(field.type), below_sets, fragments)
                 if below_sets else ())
        if "first" in field.args:
            found.append(_connection(nodes[0], below))
        else:
            found.extend(below)
    return tuple(found)


def _collect(schema: GraphQLSchema, parent_type: Any, selection_sets: list[SelectionSetNode],
             fragments: dict[str, FragmentDefinitionNode]) -> list[tuple[Any, list[FieldNode]]]:
    """The fields these selection sets ask of ``parent_type``, grouped by response key as
    execution merges them (a fragment spread twice is one set of fields), with the type
    each is selected on. Fragments are unrolled with a stack, not recursion: inline
    fragments may nest as deep as the token limit allows."""
    fields: dict[tuple[str, str], tuple[Any, list[FieldNode]]] = {}
    seen_fragments: set[str] = set()
    stack = [(parent_type, s) for s in selection_sets]
    while stack:
        type_, selection_set = stack.pop()
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                key = (selection.alias or selection.name).value
                fields.setdefault((key, type_.name), (type_, []))[1].append(selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                stack.append((schema.get_type(condition.name.value) if condition else type_,
                              selection.selection_set))
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name not in seen_fragments and name in fragments:
                    seen_fragments.add(name)
                    fragment = fragments[name]
                    stack.append((schema.get_type(fragment.type_condition.name.value),
                                  fragment.selection_set))
    return list(fields.values())


def _connection(node: FieldNode, below: tuple[_Connection, ...]) -> _Connection:
    sizes: list[tuple[int | None, str | None]] = []
    for argument in node.arguments or ():
        if argument.name.value in ("first", "last"):
            if isinstance(argument.value, IntValueNode):
                sizes.append((int(argument.value.value), None))
            elif isinstance(argument.value, VariableNode):
                sizes.append((None, argument.value.name.value))
    # Both left out, or null: the default page size.
    return _Connection(tuple(sizes), below)


def document_cost(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None,
                  variables: Mapping[str, Any], *, default_page_size: int) -> int:
    """The cost of the operation ``operation_name`` of ``document`` with ``variables``."""
    return plan_cost(schema, document, operation_name).cost(variables, default_page_size)


class CostPlans:
    """Plans by (document text, operation name), least recently used dropped first; one
    per schema, since the schema says which fields are connections."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._plans: OrderedDict[tuple[str, str | None], CostPlan] = OrderedDict()

    def get(self, schema: GraphQLSchema, document: DocumentNode, query: str | None,
            operation_name: str | None) -> CostPlan:
        if query is None:
            return plan_cost(schema, document, operation_name)
        key = (query, operation_name)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = plan_cost(schema, document, operation_name)
            if len(self._plans) > self.maxsize:
                self._plans.popitem(last=False)
        else:
            self._plans.move_to_end(key)
        return plan


class QueryCost(SchemaExtension):
    """Refuses an operation costing more than ``CCM_MAX_QUERY_COST`` before it runs, with
    the cost and the maximum in the error; stops a query that runs past
    ``QUERY_TIME_BUDGET_SECONDS``."""

    def __init__(self, plans: CostPlans) -> None:
        self.plans = plans

    async def on_execute(self) -> AsyncIterator[None]:
        ctx = self.execution_context
        settings = getattr(ctx.context, "settings", _DEFAULT_SETTINGS)
        document = ctx.graphql_document
        if document is None:  # strawberry parses before it executes
            raise RuntimeError("an operation reached execution unparsed")
        plan = self.plans.get(ctx.schema._schema, document, ctx.query,
                              ctx.operation_name)
        cost = plan.cost(ctx.variables or {}, settings.default_page_size)
        if cost > settings.max_query_cost:
            refusal = BadInput(
                f"query cost {cost} exceeds the maximum of {settings.max_query_cost}: each "
                "connection's first multiplies the cost of the connections inside it; ask "
                "for smaller pages or fewer nested connections",
                cost=cost, maxCost=settings.max_query_cost)
            # A result set here is what strawberry returns instead of executing.
            ctx.result = GraphQLExecutionResult(
                data=None, errors=[GraphQLError(refusal.message, original_error=refusal)])
            yield
            return
        if plan.operation is not OperationType.QUERY:
            yield
            return
        budget = QUERY_TIME_BUDGET_SECONDS
        try:
            async with asyncio.timeout(budget):
                yield
        except TimeoutError:
            stopped = BadInput(f"query stopped: it ran past its time budget of {budget:g} s; "
                               "ask for smaller pages", timeBudgetSeconds=budget)
            # Raised past MapErrors (strawberry turns it into the result), so mapped here.
            raise map_error(GraphQLError(stopped.message, original_error=stopped),
                            getattr(ctx.context, "request_id", None)) from None
