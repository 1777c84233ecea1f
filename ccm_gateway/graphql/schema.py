"""The schema, assembled from each domain's query and mutation types."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.tools import merge_types

from ccm_gateway.audit.types import AuditQuery
from ccm_gateway.customer.types import CustomerMutation, CustomerQuery
from ccm_gateway.graphql.errors import MapErrors
from ccm_gateway.ledger.types import LedgerMutation, LedgerQuery

Query = merge_types("Query", (CustomerQuery, LedgerQuery, AuditQuery))
Mutation = merge_types("Mutation", (CustomerMutation, LedgerMutation))

MAX_DEPTH = 10
MAX_ALIASES = 30
MAX_TOKENS = 5000


class Schema(strawberry.Schema):
    def process_errors(self, errors: Any, execution_context: Any = None) -> None:
        """MapErrors logs what is unexpected; expected CCMErrors are not log-worthy."""


def build_schema() -> strawberry.Schema:
    return Schema(
        query=Query,
        mutation=Mutation,
        extensions=[
            lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
            lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
            lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
            MapErrors,
        ],
    )
