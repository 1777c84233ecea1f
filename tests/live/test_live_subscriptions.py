"""GraphQL subscriptions over a real WebSocket (graphql-transport-ws) against uvicorn on
loopback: what is pushed, to whom, and when a connection is refused or ended."""

from __future__ import annotations

import uuid
from typing import Any

from tortoise.transactions import in_transaction

from ccm_gateway.alert import service as alert_service
from ccm_gateway.alert.models import AlertSeverity
from ccm_gateway.auth import clients
from ccm_gateway.kit import outbox

CREDIT_UPDATED = """
subscription($id: ID!) {
  creditUpdated(customerId: $id) {
    id
    creditAccount { version held { amount currency } exposure { amount } limit { amount } }
  }
}"""
ALERT_RAISED = """
subscription($filter: AlertRaisedFilter) {
  alertRaised(filter: $filter) { id kind severity message customerId details }
}"""
AUTHORIZE = """
mutation($input: AuthorizeCreditInput!) {
  authorizeCredit(input: $input) { __typename ... on Hold { id } }
}"""


async def authorize(gql: Any, customer_id: str, amount: str) -> None:
    result = await gql(AUTHORIZE, {"input": {"customerId": customer_id,
                                             "amount": {"amount": amount, "currency": "USD"}}})
    assert result.data["authorizeCredit"]["__typename"] == "Hold"


async def pushed_until_held(client: Any, op: str, customer: str, held: str) -> list[dict]:
    """The pushes up to the one showing ``held``; each is the customer's. (The customer's
    creation changed its state too, and may be pushed first if dispatched late.)"""
    pushes = []
    while not pushes or pushes[-1]["creditAccount"]["held"]["amount"] != held:
        data = (await client.next_data(op))["creditUpdated"]
        assert data["id"] == customer
        pushes.append(data)
    return pushes


async def raise_alert(app: Any, kind: str, *, customer_id: str | None = None,
                      severity: AlertSeverity = AlertSeverity.WARNING,
                      channels: tuple[str, ...] = alert_service.ALL_CHANNELS) -> str:
    """An alert raised as the ledger raises one: in a transaction, then a wake."""
    async with in_transaction():
        alert = await alert_service.raise_alert(
            kind, severity, f"{kind} for a test", customer_id=customer_id,
            details={"test": True}, channels=channels)
    await outbox.wake(app.state.queue)
    return str(alert.id)


async def test_credit_updated_pushes_the_state_committed_by_a_hold(
        live, listening, gql, make_customer) -> None:
    customer = await make_customer(limit="1000.00")
    async with live() as client:
        async with listening():
            op = await client.subscribe(CREDIT_UPDATED, {"id": customer})
        await authorize(gql, customer, "125.50")
        data = (await pushed_until_held(client, op, customer, "125.50"))[-1]
    assert data["creditAccount"]["held"] == {"amount": "125.50", "currency": "USD"}
    assert data["creditAccount"]["exposure"] == {"amount": "125.50"}
    assert data["creditAccount"]["limit"] == {"amount": "1000.00"}


async def test_each_push_reads_the_state_afresh(live, listening, gql, make_customer) -> None:
    customer = await make_customer(limit="1000.00")
    async with live() as client:
        async with listening():
            op = await client.subscribe(CREDIT_UPDATED, {"id": customer})
        await authorize(gql, customer, "10.00")
        await pushed_until_held(client, op, customer, "10.00")
        await authorize(gql, customer, "20.00")
        later = await pushed_until_held(client, op, customer, "30.00")
    # Each push reads the state as committed by then, never a cached earlier one.
    assert {p["creditAccount"]["held"]["amount"] for p in later} <= {"10.00", "30.00"}


async def test_credit_updated_pushes_only_the_customer_asked_for(
        live, listening, gql, make_customer) -> None:
    watched, other = await make_customer(), await make_customer()
    async with live() as client:
        async with listening():
            op = await client.subscribe(CREDIT_UPDATED, {"id": watched})
        await authorize(gql, other, "1.00")
        await authorize(gql, watched, "2.00")
        await pushed_until_held(client, op, watched, "2.00")


async def test_alert_raised_pushes_alerts_for_the_subscription_channel_only(
        app, live, listening, make_customer) -> None:
    customer = await make_customer()
    async with live() as client:
        async with listening():
            op = await client.subscribe(ALERT_RAISED)
        await raise_alert(app, "test.outbound-only", customer_id=customer,
                          channels=("outbound", "email"))
        pushed = await raise_alert(app, "test.pushed", customer_id=customer)
        data = (await client.next_data(op))["alertRaised"]
    assert data["id"] == pushed
    assert data["kind"] == "test.pushed"
    assert data["severity"] == "WARNING"
    assert data["customerId"] == customer
    assert data["details"] == {"test": True}


async def test_alert_raised_filter_by_kind_customer_and_minimum_severity(
        app, live, listening, make_customer) -> None:
    customer, other = await make_customer(), await make_customer()
    kind = f"test.filtered.{uuid.uuid4().hex[:6]}"
    async with live() as client:
        async with listening():
            op = await client.subscribe(ALERT_RAISED, {"filter": {
                "kind": kind, "customerId": customer, "minSeverity": "WARNING"}})
        await raise_alert(app, "test.other-kind", customer_id=customer)
        await raise_alert(app, kind, customer_id=other)
        await raise_alert(app, kind, customer_id=customer, severity=AlertSeverity.INFO)
        wanted = await raise_alert(app, kind, customer_id=customer,
                                   severity=AlertSeverity.CRITICAL)
        data = (await client.next_data(op))["alertRaised"]
    assert data["id"] == wanted
    assert data["severity"] == "CRITICAL"


async def test_a_partner_is_pushed_only_its_own_customers(
        app, live, listening, gql, tokens, make_customer) -> None:
    partner = f"partner-{uuid.uuid4().hex[:6]}"
    own = await make_customer(partnerId=partner)
    foreign = await make_customer(partnerId=f"other-{uuid.uuid4().hex[:6]}")
    token = tokens.issue("partner-user", ["viewer"], partner_id=partner)
    async with live(token) as client:
        async with listening():
            op = await client.subscribe(ALERT_RAISED)
        await raise_alert(app, "test.foreign", customer_id=foreign)
        await raise_alert(app, "test.global")  # about no customer: never a partner's
        pushed = await raise_alert(app, "test.own", customer_id=own)
        data = (await client.next_data(op))["alertRaised"]
    assert data["id"] == pushed


async def test_a_partner_cannot_subscribe_to_another_partners_customer(
        live, tokens, make_customer) -> None:
    partner = f"partner-{uuid.uuid4().hex[:6]}"
    foreign = await make_customer(partnerId=f"other-{uuid.uuid4().hex[:6]}")
    token = tokens.issue("partner-user", ["viewer"], partner_id=partner)
    missing = str(uuid.uuid4())
    async with live(token) as client:
        answers = []
        for customer in (foreign, missing):
            op = await client.subscribe(CREDIT_UPDATED, {"id": customer})
            answer = await client.receive()
            assert answer["id"] == op
            answers.append(answer)
    # The same answer as for a customer that does not exist, naming only what was sent.
    shapes = [(a["type"], [(e["extensions"]["code"], e["message"]) for e in a["payload"]])
              for a in answers]
    assert shapes == [("error", [("NOT_FOUND", f"customer {foreign} not found")]),
                      ("error", [("NOT_FOUND", f"customer {missing} not found")])]


async def test_a_connection_without_a_valid_token_is_closed_4403(live, tokens) -> None:
    foreign = tokens.issue("x", ["admin"]).rsplit(".", 1)[0] + ".forged-signature"
    for payload in ({}, {"Authorization": "Bearer not-a-token"},
                    {"Authorization": "Basic abc"}, {"token": 42},
                    {"Authorization": f"Bearer {foreign}"}):
        async with live(payload=payload, expect_ack=False) as client:
            assert (await client.closed_with())[0] == 4403, payload


async def test_a_subscribe_before_connection_init_is_closed_4401(live) -> None:
    async with live(payload=None, expect_ack=False) as client:
        await client.subscribe(ALERT_RAISED)
        assert (await client.closed_with())[0] == 4401


async def test_the_token_may_come_as_token(live, tokens) -> None:
    async with live(payload={"token": tokens.issue("plain", ["viewer"])}):
        pass


async def test_a_subscription_ends_when_its_token_expires(live, tokens) -> None:
    token = tokens.issue("short-lived", ["viewer"], ttl_seconds=2)
    async with live(token) as client:
        await client.subscribe(ALERT_RAISED)
        code, reason = await client.closed_with()
    assert (code, reason) == (4401, "token expired")


async def test_a_revoked_clients_subscription_ends_before_anything_more_is_pushed(
        app, live, listening, gql, make_customer) -> None:
    created = await clients.create_client(f"live-{uuid.uuid4().hex[:6]}", ["viewer"])
    token, _ = await app.state.tokens.issue_client_token(
        created.client_id, ["viewer"], ["customer:read", "alert:read"])
    customer = await make_customer()
    async with live(token) as client:
        async with listening():
            op = await client.subscribe(CREDIT_UPDATED, {"id": customer})
        await authorize(gql, customer, "1.00")
        await pushed_until_held(client, op, customer, "1.00")
        await clients.revoke_client(created.client_id)
        await authorize(gql, customer, "2.00")
        code, reason = await client.closed_with()
    assert code == 4401
    assert reason == "token no longer valid: client_revoked"


async def test_a_subscription_needs_its_permission(app, live) -> None:
    created = await clients.create_client(f"live-{uuid.uuid4().hex[:6]}", ["viewer"])
    token, _ = await app.state.tokens.issue_client_token(
        created.client_id, ["viewer"], ["customer:read"])
    async with live(token) as client:
        op = await client.subscribe(ALERT_RAISED)
        answer = await client.receive()
    assert answer["id"] == op
    assert answer["type"] == "error", answer
    assert answer["payload"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_subscription_argument_no_database_can_store_is_refused(live) -> None:
    async with live() as client:
        op = await client.subscribe(ALERT_RAISED, {"filter": {"kind": "bad\x00kind"}})
        answer = await client.receive()
        assert await client.receive() == {"id": op, "type": "complete"}
    assert answer["id"] == op
    # Refused before the subscription starts (strawberry sends an argument check's error
    # as a result with no data, then completes).
    assert (answer["type"], answer["payload"]["data"]) == ("next", None), answer
    [error] = answer["payload"]["errors"]
    assert (error["extensions"]["code"], error["extensions"]["field"]) == (
        "BAD_USER_INPUT", "filter.kind")


async def test_a_subscription_over_http_is_refused_pointing_at_websocket(gql) -> None:
    result = await gql("subscription { alertRaised { id } }")
    assert result.status == 400
    assert result.body == {"error": "BAD_USER_INPUT", "detail": "subscriptions are served "
                           "over WebSocket (graphql-transport-ws) on /graphql"}
