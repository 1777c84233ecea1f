"""Map the CCMError tree onto GraphQL errors; mask everything else with the request id."""

from __future__ import annotations

import logging

from graphql.error import GraphQLError
from strawberry.extensions import MaskErrors

from ccm_gateway.db import database_unavailable, report_unavailable
from ccm_gateway.errors import CCMError

log = logging.getLogger("ccm_gateway.graphql")


class MapErrors(MaskErrors):
    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        request_id = getattr(self.execution_context.context, "request_id", None)
        return [self._map(e, request_id) for e in errors]

    def _map(self, error: GraphQLError, request_id: str | None) -> GraphQLError:
        original = error.original_error
        unavailable = database_unavailable(original) if original is not None else None
        if isinstance(original, CCMError):
            message, extensions = original.message, original.extensions()
        elif unavailable is not None:
            settings = getattr(self.execution_context.context, "settings", None)
            if settings is not None:
                report_unavailable(settings, original)
            message, extensions = unavailable.message, unavailable.extensions()
        elif original is None or isinstance(original, GraphQLError):
            # Parse and validation errors, and variables that do not coerce (an
            # unknown enum value): the query itself is wrong.
            message, extensions = error.message, {"code": "BAD_USER_INPUT"}
        else:
            log.error("unhandled error in resolver", exc_info=original,
                      extra={"request_id": request_id})
            message = f"internal error; quote request id {request_id}"
            extensions = {"code": "INTERNAL"}
        extensions["requestId"] = request_id
        return GraphQLError(message, nodes=error.nodes, source=error.source,
                            positions=error.positions, path=error.path, extensions=extensions)
