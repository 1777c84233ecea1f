"""Every string a GraphQL caller sends is checked here, once, before any resolver runs.

A NUL byte or a lone surrogate cannot be stored (``kit/text.py``), and a string
longer than its column fails on PostgreSQL and is kept whole on SQLite. Left to
the database, each is an INTERNAL error on one backend and stored on the other.
``RefuseUnstorableStrings`` walks the executed operation's arguments (literals
in the document and the variables placed into them) against the schema's input
types and answers BAD_USER_INPUT naming the first bad one; nothing runs, so
nothing is written. A mutation's fields are named as its services name them,
within its one ``input`` (``externalRefs[0].system``); other arguments by
their own name (``filter.nameContains``).

``MAX_LENGTHS`` is the one list of limits, taken from the model column each
input is written to, so the two cannot drift; ``UNBOUNDED`` lists the String
inputs that are not written to a limited column. A test fails for a String
input in neither.

This module sits with ``schema.py`` at the top of the GraphQL layer: it reads
the domains' models for their column lengths.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    SelectionSetNode,
    StringValueNode,
    ValueNode,
    VariableNode,
    get_named_type,
    get_operation_ast,
)
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType
from tortoise.models import Model

from ccm_gateway.alert.models import Alert, AlertNotification
from ccm_gateway.auth.models import ApiClient, TrustedIssuerRecord
from ccm_gateway.billing.models import Invoice, ReceivablesPolicy
from ccm_gateway.customer.models import Customer, ExternalRef
from ccm_gateway.errors import BadInput
from ccm_gateway.integration.models import Integration
from ccm_gateway.kit.idempotency import IdempotencyRecord
from ccm_gateway.kit.text import check_text
from ccm_gateway.ledger.models import Hold, LedgerEntry
from ccm_gateway.outbound.models import OutboundDelivery, OutboundEndpoint
from ccm_gateway.policy.models import (
    AlertRule,
    LimitApproval,
    LimitChangeRequest,
    SegmentPolicy,
    VelocityRule,
)
from ccm_gateway.reconciliation.models import ReconciliationBreak, ReconciliationRun
from ccm_gateway.site.models import Site


def _column(model: type[Model], name: str) -> int:
    length = model._meta.fields_map[name].max_length  # type: ignore[attr-defined]
    if not isinstance(length, int):
        raise TypeError(f"{model.__name__}.{name} has no max_length")
    return length


# "InputType.field" (or "Type.field.argument") -> the column the value is written to.
_WRITTEN_TO: dict[str, tuple[type[Model], str]] = {
    "CreateSiteInput.code": (Site, "code"),
    "CreateSiteInput.name": (Site, "name"),
    "CreateSiteInput.timezone": (Site, "timezone"),
    "CreateCustomerInput.name": (Customer, "name"),
    "CreateCustomerInput.segment": (Customer, "segment"),
    "CreateCustomerInput.partnerId": (Customer, "partner_id"),
    "CreateCustomerInput.idempotencyKey": (IdempotencyRecord, "key"),
    "UpdateCustomerInput.name": (Customer, "name"),
    "UpdateCustomerInput.segment": (Customer, "segment"),
    "ExternalRefInput.system": (ExternalRef, "system"),
    "ExternalRefInput.externalId": (ExternalRef, "external_id"),
    "LinkExternalRefInput.system": (ExternalRef, "system"),
    "LinkExternalRefInput.externalId": (ExternalRef, "external_id"),
    "AuthorizeCreditInput.reference": (Hold, "reference"),
    "AuthorizeCreditInput.idempotencyKey": (IdempotencyRecord, "key"),
    "CaptureHoldInput.idempotencyKey": (IdempotencyRecord, "key"),
    "PostLedgerEntryInput.externalRef": (LedgerEntry, "external_ref"),
    "PostLedgerEntryInput.description": (LedgerEntry, "description"),
    "PostLedgerEntryInput.idempotencyKey": (IdempotencyRecord, "key"),
    "ReverseLedgerEntryInput.reason": (LedgerEntry, "description"),
    "ReverseLedgerEntryInput.idempotencyKey": (IdempotencyRecord, "key"),
    "CreateApiClientInput.name": (ApiClient, "name"),
    "CreateTrustedIssuerInput.issuer": (TrustedIssuerRecord, "issuer"),
    "CreateTrustedIssuerInput.audience": (TrustedIssuerRecord, "audience"),
    "CreateTrustedIssuerInput.roleClaim": (TrustedIssuerRecord, "role_claim"),
    "CreateTrustedIssuerInput.partnerClaim": (TrustedIssuerRecord, "partner_claim"),
    "UpdateTrustedIssuerInput.issuer": (TrustedIssuerRecord, "issuer"),
    "UpdateTrustedIssuerInput.audience": (TrustedIssuerRecord, "audience"),
    "UpdateTrustedIssuerInput.roleClaim": (TrustedIssuerRecord, "role_claim"),
    "UpdateTrustedIssuerInput.partnerClaim": (TrustedIssuerRecord, "partner_claim"),
    "CreateIntegrationInput.slug": (Integration, "slug"),
    "CreateIntegrationInput.name": (Integration, "name"),
    "CreateIntegrationInput.profile": (Integration, "profile"),
    "CreateIntegrationInput.refSystem": (Integration, "ref_system"),
    # Stored as a JSON list, but each item names a customer segment.
    "CreateIntegrationInput.segments": (Customer, "segment"),
    "UpdateIntegrationInput.name": (Integration, "name"),
    "UpdateIntegrationInput.profile": (Integration, "profile"),
    "UpdateIntegrationInput.refSystem": (Integration, "ref_system"),
    "UpdateIntegrationInput.segments": (Customer, "segment"),
    **{f"{kind}OutboundEndpointInput.{name}": (OutboundEndpoint, column)
       for kind in ("Create", "Update") for name, column in (
           ("url", "url"), ("fallbackUrl", "fallback_url"), ("description", "description"))},
    # Stored as a JSON list, but each item names an event type, as deliveries keep it.
    "CreateOutboundEndpointInput.eventTypes": (OutboundDelivery, "event_type"),
    "UpdateOutboundEndpointInput.eventTypes": (OutboundDelivery, "event_type"),
    "RequestCreditLimitChangeInput.reason": (LimitChangeRequest, "reason"),
    "RequestCreditLimitChangeInput.idempotencyKey": (IdempotencyRecord, "key"),
    "RejectCreditLimitChangeInput.reason": (LimitChangeRequest, "decision_reason"),
    "ApproveCreditLimitChangeInput.comment": (LimitApproval, "comment"),
    # Billing.
    "PostLedgerEntryInput.invoiceNumber": (Invoice, "number"),
    "IssueInvoiceInput.idempotencyKey": (IdempotencyRecord, "key"),
    "VoidInvoiceInput.reason": (Invoice, "void_reason"),
    "SetReceivablesPolicyInput.segment": (ReceivablesPolicy, "segment"),
    "SetSegmentPolicyInput.segment": (SegmentPolicy, "segment"),
    "CreateAlertRuleInput.segment": (AlertRule, "segment"),
    "CreateVelocityRuleInput.segment": (VelocityRule, "segment"),
    # Stored as JSON lists, but each address becomes an e-mail notification's recipient.
    **{f"{kind}{rule}RuleInput.recipients": (AlertNotification, "recipient")
       for kind in ("Create", "Update") for rule in ("Alert", "Velocity")},
    "AcknowledgeAlertInput.note": (Alert, "acknowledgement_note"),
    # Collection and reconciliation.
    "CollectInvoiceInput.idempotencyKey": (IdempotencyRecord, "key"),
    "ReconcileBalancesInput.fileName": (ReconciliationRun, "file_name"),
    "AcknowledgeReconciliationBreakInput.note": (ReconciliationBreak, "note"),
    "ResolveReconciliationBreakInput.note": (ReconciliationBreak, "note"),
}
MAX_LENGTHS: dict[str, int] = {key: _column(*where) for key, where in _WRITTEN_TO.items()}
_NO_LIMIT = sys.maxsize

UNBOUNDED: frozenset[str] = frozenset({
    # Compared with stored values, never written: too long only matches nothing.
    "AuditFilter.action", "AuditFilter.actorId", "AuditFilter.objectId",
    "Query.auditChainStatus.afterStream",
    "CustomerFilter.nameContains", "CustomerFilter.segment", "OutboundDeliveryFilter.eventType",
    "Query.alerts.kind", "Query.fxRates.base", "Query.fxRates.quote",
    "Query.segmentPolicies.segment",
    "AlertRaisedFilter.kind", "RuleFilter.segment",
    "ReportFilter.segment", "ReportFilter.partnerId", "Query.dsoReport.currency",
    "Query.collectionRoutes.currency",
    "DeleteTrustedIssuerInput.issuer", "RevokeApiClientInput.clientId",
    "RotateApiClientSecretInput.clientId",
    # Cursors, decoded and checked by kit/pagination.
    *(f"{connection}.{cursor}" for cursor in ("after", "before") for connection in (
        "Query.customers", "Query.auditLog", "Query.apiClients", "Query.trustedIssuers",
        "Query.integrations", "Query.inboundEvents", "Query.alerts", "Query.fxRates",
        "Query.outboundEndpoints", "Query.outboundDeliveries", "Customer.ledger",
        "Query.creditLimitChangeRequests", "Query.alertRules", "Query.velocityRules",
        "Query.invoices", "Query.collections", "Query.reconciliationRuns",
        "Query.reconciliationBreaks")),
    "AgingReport.customers.after",  # forward only: no before
    "Query.limitSuggestions.after",  # forward only: no before
    *(f"Query.{field}.currency" for field in (
        "riskProfileCorrelation", "termImpactAnalysis", "limitSuggestions")),
    # Parsed into something else, which its parser bounds: amounts, codes, names from a set.
    "MoneyInput.amount", "MoneyInput.currency", "CreateCustomerInput.currency",
    "SetSegmentPolicyInput.currency", "SetCollectionRouteInput.currency",
    "ApprovalBandInput.maxIncreasePercent", "ApprovalBandInput.maxIncreaseAmount",
    "ApprovalBandInput.roles",
    "ApprovalBandInput.requiredRoles",
    # A JSON list; the service checks each is an e-mail address of at most 254 characters.
    "SetApprovalPolicyInput.recipients",
    "SetFxRateInput.base", "SetFxRateInput.quote", "SetFxRateInput.rate",
    "CreateApiClientInput.scopes", "CreateTrustedIssuerInput.algorithms",
    "UpdateTrustedIssuerInput.algorithms",
    # JSON or TEXT columns; the service sets the limit (role map, secret, profile size).
    "RoleMappingInput.claimValue", "CreateIntegrationInput.secret",
    "RotateIntegrationSecretInput.secret", "UploadProtocolProfileInput.source",
    # A balance file, parsed into rows and never stored whole; the body limit bounds it.
    "ReconcileBalancesInput.csv",
    # Encrypted into a TEXT column; the service bounds each part (sync/service.py).
    "OutboundCredentialsInput.bearerToken", "OAuth2ClientCredentialsInput.tokenUrl",
    "OAuth2ClientCredentialsInput.clientId", "OAuth2ClientCredentialsInput.clientSecret",
    "OAuth2ClientCredentialsInput.scope",
})


# --- the check --------------------------------------------------------------------------


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _check_string(value: str, path: str, key: str | None) -> None:
    # Only a string sent where the whole ``input`` object goes has an empty path.
    check_text(value, path or "input", max_length=MAX_LENGTHS.get(key) if key else None)


def _check_value(value: Any, t: Any, path: str, key: str | None) -> None:
    """A variable's value (JSON) placed where the schema expects type ``t``."""
    if isinstance(t, GraphQLNonNull):
        t = t.of_type
    if isinstance(value, str):
        _check_string(value, path, key)
    elif isinstance(value, list):
        item_type = t.of_type if isinstance(t, GraphQLList) else t
        for i, item in enumerate(value):
            _check_value(item, item_type, f"{path}[{i}]", key)
    elif isinstance(value, dict):
        if isinstance(t, GraphQLList):  # one value where a list goes is a list of one
            t = t.of_type
        fields = t.fields if isinstance(t, GraphQLInputObjectType) else None
        for name, item in value.items():
            if fields is None:  # a custom scalar's value (JSON)
                _check_value(item, t, _join(path, name), None)
            elif name in fields:  # unknown fields are refused when the variables coerce
                _check_value(item, fields[name].type, _join(path, name), f"{t.name}.{name}")


def _clean(value: Any, shortest: int) -> bool:
    """The quick pass: no string in ``value`` holds a NUL, is non-ASCII or is longer
    than ``shortest``. Most requests stop here; the rest take the typed walk, which
    finds the field (a long string may be within its own field's limit after all).
    Keys are not looked at: they are field names, which coercion checks."""
    if type(value) is str:
        return value.isascii() and len(value) <= shortest and "\x00" not in value
    items = value.values() if type(value) is dict else value if type(value) is list else ()
    for item in items:
        if type(item) is str:  # inline: most values are strings, and calls cost
            if not (item.isascii() and len(item) <= shortest and "\x00" not in item):
                return False
        elif not _clean(item, shortest):
            return False
    return True


def _shortest_limit(t: Any, key: str | None, seen: set[str]) -> int:
    named = get_named_type(t)
    if not isinstance(named, GraphQLInputObjectType):
        return MAX_LENGTHS.get(key, _NO_LIMIT) if key else _NO_LIMIT
    if named.name in seen:  # an input type that holds itself
        return _NO_LIMIT
    seen.add(named.name)
    return min((_shortest_limit(f.type, f"{named.name}.{name}", seen)
                for name, f in named.fields.items()), default=_NO_LIMIT)


@dataclass(frozen=True, slots=True)
class _Slot:
    """Where the document puts a variable: the value lands at ``path``, typed ``type``."""

    variable: str
    path: str
    type: Any
    key: str | None
    shortest: int  # the smallest limit of any string the type holds


@dataclass(frozen=True, slots=True)
class _Plan:
    """What a document's operation needs checked: the first bad literal, and its variables."""

    refusal: BadInput | None
    slots: tuple[_Slot, ...]


class _Planner:
    def __init__(self, schema: GraphQLSchema, document: DocumentNode) -> None:
        self.schema = schema
        self.fragments = {d.name.value: d for d in document.definitions
                          if isinstance(d, FragmentDefinitionNode)}
        self.spread: set[str] = set()
        self.slots: list[_Slot] = []
        self.refusal: BadInput | None = None

    def selections(self, selection_set: SelectionSetNode, parent: Any) -> None:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                self.field(selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                self.selections(selection.selection_set,
                                self.schema.get_type(condition.name.value) if condition
                                else parent)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is not None and name not in self.spread:
                    self.spread.add(name)
                    self.selections(fragment.selection_set,
                                    self.schema.get_type(fragment.type_condition.name.value))

    def field(self, node: FieldNode, parent: Any) -> None:
        # Introspection fields (__type) and unions' __typename are not in ``fields``.
        definition = getattr(parent, "fields", {}).get(node.name.value)
        if definition is None:
            return
        for argument in node.arguments or ():
            name = argument.name.value
            if name in definition.args:
                t = definition.args[name].type
                # A mutation's one ``input``: its fields are named as the services name
                # them ("idempotencyKey", "limit.amount"), without the argument.
                path = "" if name == "input" and isinstance(
                    get_named_type(t), GraphQLInputObjectType) else name
                self.literal(argument.value, t, path, f"{parent.name}.{node.name.value}.{name}")
        if node.selection_set is not None:
            self.selections(node.selection_set, get_named_type(definition.type))

    def literal(self, node: ValueNode, t: Any, path: str, key: str | None) -> None:
        if isinstance(t, GraphQLNonNull):
            t = t.of_type
        if isinstance(node, VariableNode):
            self.slots.append(_Slot(node.name.value, path, t, key,
                                    _shortest_limit(t, key, set())))
        elif isinstance(node, StringValueNode):
            try:
                _check_string(node.value, path, key)
            except BadInput as exc:
                self.refusal = self.refusal or exc
        elif isinstance(node, ListValueNode):
            item_type = t.of_type if isinstance(t, GraphQLList) else t
            for i, item in enumerate(node.values):
                self.literal(item, item_type, f"{path}[{i}]", key)
        elif isinstance(node, ObjectValueNode):
            if isinstance(t, GraphQLList):
                t = t.of_type
            for f in node.fields:
                name = f.name.value
                if not isinstance(t, GraphQLInputObjectType):  # a custom scalar's literal
                    self.literal(f.value, t, _join(path, name), None)
                elif name in t.fields:
                    self.literal(f.value, t.fields[name].type, _join(path, name),
                                 f"{t.name}.{name}")

    def plan(self, document: DocumentNode, operation_name: str | None) -> _Plan | None:
        operation = get_operation_ast(document, operation_name)
        if operation is None:
            return None  # execution reports the missing or ambiguous operation
        root = self.schema.get_root_type(operation.operation)
        if root is None:
            return None
        self.selections(operation.selection_set, root)
        # A variable left out takes its default, a literal of the document like any other.
        defaults = {d.variable.name.value: d.default_value
                    for d in operation.variable_definitions or () if d.default_value is not None}
        for slot in list(self.slots):
            if slot.variable in defaults:
                self.literal(defaults[slot.variable], slot.type, slot.path, slot.key)
        return _Plan(self.refusal, tuple(self.slots))


_PLANS: dict[tuple[int, str, str | None], _Plan | None] = {}
_PLAN_CACHE_SIZE = 512


def _plan_for(schema: GraphQLSchema, document: DocumentNode, query: str | None,
              operation_name: str | None) -> _Plan | None:
    if query is None:
        return _Planner(schema, document).plan(document, operation_name)
    cache_key = (id(schema), query, operation_name)
    try:
        return _PLANS[cache_key]
    except KeyError:
        pass
    plan = _Planner(schema, document).plan(document, operation_name)
    if len(_PLANS) >= _PLAN_CACHE_SIZE:
        del _PLANS[next(iter(_PLANS))]
    _PLANS[cache_key] = plan
    return plan


def check_arguments(schema: GraphQLSchema, document: DocumentNode, query: str | None,
                    operation_name: str | None, variables: dict[str, Any] | None) -> None:
    """Raise BadInput naming the first argument string that cannot be stored."""
    plan = _plan_for(schema, document, query, operation_name)
    if plan is None:
        return
    if plan.refusal is not None:
        raise BadInput(plan.refusal.message, field=plan.refusal.field)
    if variables:
        for slot in plan.slots:
            value = variables.get(slot.variable)
            if value is not None and not _clean(value, slot.shortest):
                _check_value(value, slot.type, slot.path, slot.key)


class RefuseUnstorableStrings(SchemaExtension):
    """Answers BAD_USER_INPUT instead of executing when an argument string cannot be stored."""

    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        if ctx.graphql_document is not None and ctx.result is None:
            try:
                check_arguments(ctx.schema._schema, ctx.graphql_document, ctx.query,
                                ctx.operation_name, ctx.variables)
            except BadInput as exc:
                if ctx.operation_type is OperationType.SUBSCRIPTION:
                    # strawberry's subscribe ignores a result set here; it answers an
                    # error raised here as the subscription's error, before it starts.
                    raise
                # A result set here stands in for execution; MapErrors maps its error.
                ctx.result = ExecutionResult(None, [GraphQLError(exc.message,
                                                                 original_error=exc)])
        yield
