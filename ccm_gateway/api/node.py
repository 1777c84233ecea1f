"""``node(id:)``: any object with a UUID id, fetched again by that id alone (Relay's Node).

Ids are UUIDs, unique across types, so an id names one object of one type. Each type is
looked up as its own root field reads it, under the permission that field requires, so
``node`` shows nothing the other fields would not; an object the caller may not see
answers as one that does not exist: null.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import strawberry

from ccm_gateway.alert import service as alert_service
from ccm_gateway.alert.types import Alert
from ccm_gateway.approval import policies as approval_policies
from ccm_gateway.approval import service as approval_service
from ccm_gateway.approval.types import LimitChangeRequest, SegmentPolicy
from ccm_gateway.billing import service as billing_service
from ccm_gateway.billing.types import Invoice
from ccm_gateway.collection import service as collection_service
from ccm_gateway.collection.types import Collection, CollectionRoute
from ccm_gateway.customer import service as customer_service
from ccm_gateway.customer.types import Customer
from ccm_gateway.errors import NotFound
from ccm_gateway.graphql.common import CtxInfo, Node, requires
from ccm_gateway.integration import inbox
from ccm_gateway.integration import service as integration_service
from ccm_gateway.integration.types import InboundEvent, Integration
from ccm_gateway.kit.ids import parse_uuid
from ccm_gateway.ledger import service as ledger_service
from ccm_gateway.ledger.types import CreditAccount, Hold, LedgerEntry
from ccm_gateway.principal import Permission as P
from ccm_gateway.principal import Principal
from ccm_gateway.reconciliation import service as reconciliation_service
from ccm_gateway.reconciliation.types import ReconciliationBreak, ReconciliationRun
from ccm_gateway.site import service as site_service
from ccm_gateway.site.types import Site
from ccm_gateway.sync import service as sync_service
from ccm_gateway.sync.types import OutboundDelivery, OutboundEndpoint


@dataclass(frozen=True, slots=True)
class _NodeType:
    permission: P
    # Partner principals see none of these (integrations, their inbox, alerts).
    unscoped_only: bool
    fetch: Callable[[Principal, uuid.UUID], Awaitable[Any]]  # NotFound when not readable
    to_node: Callable[[Any], Node]


# Customers first: the ids callers hold most.
_NODE_TYPES = (
    _NodeType(P.CUSTOMER_READ, False, customer_service.get_readable_customer, Customer.of),
    _NodeType(P.CUSTOMER_READ, False, ledger_service.get_readable_account, CreditAccount.of),
    _NodeType(P.LEDGER_READ, False, ledger_service.get_readable_hold, Hold.of),
    _NodeType(P.LEDGER_READ, False, ledger_service.get_readable_entry, LedgerEntry.of),
    _NodeType(P.CUSTOMER_READ, False, lambda _, i: site_service.get_site(i), Site.of),
    _NodeType(P.INTEGRATION_READ, True, lambda _, i: integration_service.get_integration(i),
              Integration.of),
    _NodeType(P.INTEGRATION_READ, True, lambda _, i: inbox.get_event(i), InboundEvent.of),
    _NodeType(P.ALERT_READ, True, lambda _, i: alert_service.get_alert(i), Alert.of),
    _NodeType(P.INTEGRATION_READ, True, lambda _, i: sync_service.get_endpoint(i),
              OutboundEndpoint.of),
    _NodeType(P.INTEGRATION_READ, True, lambda _, i: sync_service.get_delivery(i),
              OutboundDelivery.of),
    _NodeType(P.POLICY_READ, False, approval_service.get_readable_request,
              LimitChangeRequest.of),
    _NodeType(P.POLICY_READ, True, lambda _, i: approval_policies.get_segment_policy(i),
              SegmentPolicy.of),
    _NodeType(P.INVOICE_READ, False, billing_service.get_readable_invoice, Invoice.of),
    _NodeType(P.INVOICE_READ, False, collection_service.get_readable_collection,
              Collection.of),
    _NodeType(P.INVOICE_READ, True, lambda _, i: collection_service.get_route(i),
              CollectionRoute.of),
    _NodeType(P.INTEGRATION_READ, True, lambda _, i: reconciliation_service.get_run(i),
              ReconciliationRun.of),
    _NodeType(P.INTEGRATION_READ, True, lambda _, i: reconciliation_service.get_break(i),
              ReconciliationBreak.of),
)


@strawberry.type
class NodeQuery:
    @strawberry.field(extensions=requires(P.CUSTOMER_READ),
                      description="Any object with a UUID id (a customer, credit account, "
                                  "hold, ledger entry, site, integration, inbound event, "
                                  "alert, outbound endpoint, outbound delivery, limit change "
                                  "request, segment policy, invoice, collection, collection "
                                  "route, reconciliation run or reconciliation break) by "
                                  "that id; "
                                  "null when there is none the caller may see.")
    async def node(self, info: CtxInfo, id: strawberry.ID) -> Node | None:
        object_id = parse_uuid(id, "id")
        principal = info.context.principal
        for node_type in _NODE_TYPES:
            if not principal.can(node_type.permission) or (
                    node_type.unscoped_only and principal.partner_id is not None):
                continue
            try:
                return node_type.to_node(await node_type.fetch(principal, object_id))
            except NotFound:
                continue
        return None
