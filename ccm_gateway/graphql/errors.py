"""Map the CCMError tree onto GraphQL errors; mask everything else with the request id."""

from __future__ import annotations

import logging
import re
from typing import Any

from graphql.error import GraphQLError
from strawberry.extensions import MaskErrors

from ccm_gateway.db import database_unavailable, report_unavailable
from ccm_gateway.errors import CCMError

log = logging.getLogger("ccm_gateway.graphql")

# graphql-core's did_you_mean(): " Did you mean 'a', 'b', or 'c'?" and "... the enum
# value 'X'?"; the names it lists never hold a "?".
_SUGGESTION = re.compile(r" Did you mean [^?]*\?")


class MapErrors(MaskErrors):
    def __init__(self, *, suggestions: bool = True) -> None:
        super().__init__()
        # Off with introspection: suggestions spell out the schema one typo at a time.
        self.suggestions = suggestions

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        context = self.execution_context.context
        request_id = getattr(context, "request_id", None)
        settings = getattr(context, "settings", None)
        return [map_error(e, request_id, suggestions=self.suggestions, settings=settings)
                for e in errors]

def map_error(error: GraphQLError, request_id: str | None, *, suggestions: bool = True,
              settings: Any = None) -> GraphQLError:
    """``error`` as the client sees it: a CCMError's message and extensions, a database
    outage as DATABASE_UNAVAILABLE, a query error as BAD_USER_INPUT, anything else masked
    as INTERNAL; each with the request id."""
    original = error.original_error
    unavailable = database_unavailable(original) if original is not None else None
    if isinstance(original, CCMError):
        message, extensions = original.message, original.extensions()
    elif unavailable is not None:
        if settings is not None and original is not None:  # unavailable implies an original
            report_unavailable(settings, original)
        message, extensions = unavailable.message, unavailable.extensions()
    elif original is None or isinstance(original, GraphQLError):
        # Parse and validation errors, and variables that do not coerce (an
        # unknown enum value): the query itself is wrong.
        message, extensions = error.message, {"code": "BAD_USER_INPUT"}
        if not suggestions:
            message = _SUGGESTION.sub("", message)
    else:
        log.error("unhandled error in resolver", exc_info=original,
                  extra={"request_id": request_id})
        message = f"internal error; quote request id {request_id}"
        extensions = {"code": "INTERNAL"}
    extensions["requestId"] = request_id
    return GraphQLError(message, nodes=error.nodes, source=error.source,
                        positions=error.positions, path=error.path, extensions=extensions)
