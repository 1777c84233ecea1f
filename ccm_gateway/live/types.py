"""GraphQL subscriptions (over ``graphql-transport-ws`` on ``/graphql``, see ``live/ws.py``).
Every event pushed is checked against the connection's token and the principal's
partner scope first."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from ccm_gateway.alert.types import Alert, AlertSeverity
from ccm_gateway.customer import service as customer_service
from ccm_gateway.customer.types import Customer
from ccm_gateway.errors import BadInput
from ccm_gateway.graphql.common import CtxInfo, requires
from ccm_gateway.graphql.loaders import Loaders
from ccm_gateway.live import service as live_service
from ccm_gateway.live.connection import LiveConnection
from ccm_gateway.live.context import LiveContext
from ccm_gateway.principal import Permission as P


@strawberry.input(description="Narrow the alerts pushed; every field given must match.")
class AlertRaisedFilter:
    kind: str | None = strawberry.field(default=None,
                                        description="Only alerts of this kind.")
    customer_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only alerts about this customer.")
    min_severity: AlertSeverity | None = strawberry.field(
        default=None, description="Only alerts at least this urgent.")


def _connection(info: CtxInfo) -> LiveConnection:
    context = info.context
    if not isinstance(context, LiveContext) or context.connection is None:
        raise BadInput("subscriptions are served over WebSocket (graphql-transport-ws) "
                       "on /graphql")
    return context.connection


def _fresh_loaders(info: CtxInfo) -> None:
    # A connection's context lives as long as the connection: each push reads afresh.
    info.context.loaders = Loaders()


@strawberry.type
class LiveSubscription:
    @strawberry.subscription(
        extensions=requires(P.ALERT_READ),
        description="Alerts as they are raised (those whose rule sends to subscriptions). "
                    "Partner principals get only alerts about their own customers.")
    async def alert_raised(self, info: CtxInfo, filter: AlertRaisedFilter | None = None,
                           ) -> AsyncGenerator[Alert, None]:
        # Checked when subscribing (a plain coroutine, not a generator), so a refusal is
        # the subscription's error before anything is pushed.
        connection = _connection(info)
        flt = filter or AlertRaisedFilter()
        customer_id = None
        if flt.customer_id is not None:
            customer_id = (await customer_service.get_readable_customer(
                info.context.principal, str(flt.customer_id), "filter.customerId")).id
        alerts = live_service.alerts_raised(
            connection, info.context.principal, kind=flt.kind, customer_id=customer_id,
            min_severity=flt.min_severity)

        async def pushed() -> AsyncGenerator[Alert, None]:
            async for alert in alerts:
                _fresh_loaders(info)
                yield Alert.of(alert)

        return pushed()

    @strawberry.subscription(
        extensions=requires(P.CUSTOMER_READ),
        description="The customer's credit state (read through creditAccount, siteLimits, "
                    "holds...) after each committed change of its limit, terms, status or "
                    "exposure; changes committed together are pushed once.")
    async def credit_updated(self, info: CtxInfo, customer_id: strawberry.ID,
                             ) -> AsyncGenerator[Customer, None]:
        connection = _connection(info)
        customer = await customer_service.get_readable_customer(
            info.context.principal, str(customer_id), "customerId")
        updates = live_service.credit_updates(connection, info.context.principal, customer.id)

        async def pushed() -> AsyncGenerator[Customer, None]:
            async for found in updates:
                _fresh_loaders(info)
                yield Customer.of(found)

        return pushed()
