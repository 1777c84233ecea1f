"""The schema, assembled from every domain's query and mutation types (the top of the house)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import strawberry
from graphql import GraphQLError
from graphql.validation import ASTValidationRule
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxTokensLimiter,
    ParserCache,
    ValidationCache,
    max_aliases,
    query_depth_limiter,
)

from ccm_gateway.alert.types import AlertMutation, AlertQuery
from ccm_gateway.api.inputs import RefuseUnstorableStrings
from ccm_gateway.api.node import NodeQuery
from ccm_gateway.approval.types import ApprovalMutation, ApprovalQuery
from ccm_gateway.audit.types import AuditQuery
from ccm_gateway.auth.types import AuthMutation, AuthQuery
from ccm_gateway.billing.types import BillingMutation, BillingQuery
from ccm_gateway.collection.types import CollectionMutation, CollectionQuery
from ccm_gateway.customer.types import CustomerMutation, CustomerQuery
from ccm_gateway.fx.types import FxMutation, FxQuery
from ccm_gateway.graphql.cost import CostPlans, QueryCost
from ccm_gateway.graphql.errors import MapErrors
from ccm_gateway.graphql.lean import LeanExecutionContext, lean_resolvers
from ccm_gateway.graphql.metrics import LabelOperation
from ccm_gateway.graphql.permissions import DocumentPermissions, without_permission_checks
from ccm_gateway.graphql.wake import WakeOutbox
from ccm_gateway.insights.types import InsightsQuery
from ccm_gateway.integration.types import IntegrationMutation, IntegrationQuery
from ccm_gateway.ledger.types import LedgerMutation, LedgerQuery
from ccm_gateway.live.types import LiveSubscription
from ccm_gateway.policy.types import PolicyMutation, PolicyQuery
from ccm_gateway.reconciliation.types import ReconciliationMutation, ReconciliationQuery
from ccm_gateway.reports.types import ReportsQuery
from ccm_gateway.site.types import SiteMutation, SiteQuery
from ccm_gateway.sync.types import SyncMutation, SyncQuery


@strawberry.type(description="What can be read. Every field needs a bearer token; a lookup by "
                             "id answers null for what the caller may not see.")
class Query(NodeQuery, SiteQuery, CustomerQuery, LedgerQuery, AuditQuery, AuthQuery,
            IntegrationQuery, SyncQuery, AlertQuery, FxQuery, PolicyQuery, ApprovalQuery,
            BillingQuery, ReportsQuery, InsightsQuery, ReconciliationQuery, CollectionQuery):
    pass


@strawberry.type(description="What can be changed. Each takes one input argument; each change "
                             "is audited.")
class Mutation(SiteMutation, CustomerMutation, LedgerMutation, AuthMutation, IntegrationMutation,
               SyncMutation, FxMutation, AlertMutation, PolicyMutation,
               ApprovalMutation, BillingMutation, ReconciliationMutation,
               CollectionMutation):
    pass


@strawberry.type(description="What can be pushed, over WebSocket (graphql-transport-ws) on "
                             "/graphql with the bearer token in connection_init. A subscription "
                             "ends when its token expires or is revoked.")
class Subscription(LiveSubscription):
    pass


MAX_DEPTH = 10
MAX_ALIASES = 30
MAX_TOKENS = 5000
CACHE_SIZE = 512

# Built once: QueryDepthLimiter / MaxAliasesLimiter would build new rule classes
# per request, and the validation cache keys on those classes, so it never hit.
# Parsing and validating took about half of a request's CPU before the caches.
_LIMIT_RULES: list[type[ASTValidationRule]] = [
    query_depth_limiter.create_validator(MAX_DEPTH, None, None),
    max_aliases.create_validator(MAX_ALIASES),
]


class _ParserCache(ParserCache):
    """Caches good documents only; a bad one is left to strawberry's own parse,
    whose error goes through MapErrors like every other (the stock extension
    raises from inside its hook, past the error mapping)."""

    def on_parse(self) -> Iterator[None]:
        ctx = self.execution_context
        with contextlib.suppress(GraphQLError):
            ctx.graphql_document = self.cached_parse_document(ctx.query, **ctx.parse_options)
        yield


class Schema(strawberry.Schema):
    def process_errors(self, errors: Any, execution_context: Any = None) -> None:
        """MapErrors logs what is unexpected; expected CCMErrors are not log-worthy."""


def build_schema(*, introspection: bool = True) -> strawberry.Schema:
    extra = [] if introspection else [DisableIntrospection]
    plans = CostPlans(maxsize=CACHE_SIZE)
    schema = Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        execution_context_class=LeanExecutionContext,
        extensions=[
            LabelOperation,  # first: it reads the errors MapErrors (last) has mapped
            lambda: _ParserCache(maxsize=CACHE_SIZE),
            lambda: ValidationCache(maxsize=CACHE_SIZE),
            lambda: AddValidationRules(_LIMIT_RULES),
            lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
            RefuseUnstorableStrings,
            lambda: QueryCost(plans),
            WakeOutbox,
            *extra,
            lambda: MapErrors(suggestions=introspection),
        ],
    )
    lean_resolvers(schema)
    return schema


def build_permission_plans(schema: strawberry.Schema, *,
                           introspection: bool = True) -> DocumentPermissions:
    """``schema`` (from ``build_schema``) and its variant without per-field permission
    checks, for documents whose every permission the principal holds."""
    unchecked = without_permission_checks(lambda: build_schema(introspection=introspection),
                                          schema)
    return DocumentPermissions(schema, unchecked, maxsize=CACHE_SIZE, max_tokens=MAX_TOKENS)
