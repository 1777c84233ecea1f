"""The labels of a /graphql request's metrics, known only once strawberry has parsed and
run the operation; the transport (app.GraphQLApp) times the request and counts it."""

from __future__ import annotations

from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from ccm_gateway.graphql.context import Context
from ccm_gateway.kit.metrics import GRAPHQL_OPERATIONS, OUTCOMES


class LabelOperation(SchemaExtension):
    """Writes the operation type and the outcome (``ok``, or the code of the first error
    as the client sees it) onto the request's Context. First in the schema's extensions,
    so that it reads the errors after MapErrors has mapped them."""

    def on_operation(self) -> Iterator[None]:
        try:
            yield
        finally:
            execution = self.execution_context
            context = execution.context
            if isinstance(context, Context):
                context.operation_type = _operation_type(execution)
                result = execution.result
                errors = getattr(result, "errors", None) if result is not None else None
                if errors:
                    code = (errors[0].extensions or {}).get("code")
                    # Every code MapErrors gives is in the tree; INTERNAL is its fallback too.
                    context.outcome = code if code in OUTCOMES else "INTERNAL"
                elif result is not None:
                    context.outcome = "ok"


def _operation_type(execution: object) -> str:
    try:
        kind = execution.operation_type.value  # type: ignore[attr-defined]
    except RuntimeError:  # not parsed, or no operation of that name
        return "unknown"
    return kind if kind in GRAPHQL_OPERATIONS else "unknown"
