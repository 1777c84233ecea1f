"""Alert.deliveries: an alert's outbound deliveries and e-mail notifications, batched."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from mailbox_kit import Mailbox, recipient

from ccm_gateway.alert import notify
from ccm_gateway.alert.models import AlertNotification
from ccm_gateway.config import Settings
from ccm_gateway.kit import standard_webhooks
from ccm_gateway.kit.secrets import SecretBox
from ccm_gateway.outbound.models import DeliveryStatus, OutboundDelivery, OutboundEndpoint

ALERTS = """
query($kind: String!, $first: Int) {
  alerts(kind: $kind, first: $first) { edges { node { id deliveries {
    id channel status recipient endpointId attempts lastError sentAt nextAttemptAt createdAt
  } } } }
}"""
CREATE_INTEGRATION = """
mutation($input: CreateIntegrationInput!) {
  createIntegration(input: $input) { integration { id } }
}"""


async def endpoint(gql: Any, settings: Settings) -> OutboundEndpoint:
    """An endpoint already deleted, so no dispatcher or sweep sends to it."""
    result = await gql(CREATE_INTEGRATION, {"input": {
        "slug": f"alert-{uuid.uuid4().hex[:10]}", "name": "alert deliveries",
        "kind": "BUILDING_SYSTEM", "profile": "standard-webhooks",
        "segments": [f"seg-{uuid.uuid4().hex[:10]}"]}})
    integration_id = result.data["createIntegration"]["integration"]["id"]
    # Encrypted as the service stores it: rotate-master re-encrypts every endpoint's.
    endpoint_id = uuid.uuid4()
    secret = SecretBox.from_settings(settings).encrypt(
        standard_webhooks.new_secret(), context=f"outbound_endpoint:{endpoint_id}:secret")
    return await OutboundEndpoint.create(
        id=endpoint_id, integration_id=integration_id, url="https://hooks.example.test/a",
        event_types=["alert.raised"], secret=secret, enabled=False,
        deleted_at=datetime.now(UTC))


async def test_an_alert_shows_its_deliveries(gql: Any, smtp: tuple[Mailbox, int],
                                             smtp_settings: Settings,
                                             make_alert: Any) -> None:
    box, _ = smtp
    sent_to, refused = recipient(), recipient()
    box.always[refused] = "451 4.3.0 try later"
    kind = f"test.{uuid.uuid4().hex[:10]}"
    alert = await make_alert(sent_to, refused, kind=kind)
    at = datetime.now(UTC) + timedelta(seconds=1)
    await notify.run(smtp_settings, now=at)
    hook = await endpoint(gql, smtp_settings)
    delivered_at = datetime.now(UTC)
    row = await OutboundDelivery.create(
        id=uuid.uuid4(), endpoint_id=hook.id, webhook_id=f"msg_{uuid.uuid4().hex}",
        event_type="alert.raised", alert_id=alert.id, payload={"type": "alert.raised"},
        status=DeliveryStatus.SUCCEEDED, attempts=2, changed_at=delivered_at,
        delivered_at=delivered_at, last_error="HTTP 503")

    [edge] = (await gql(ALERTS, {"kind": kind})).data["alerts"]["edges"]

    deliveries = edge["node"]["deliveries"]
    email = {d["recipient"]: d for d in deliveries if d["channel"] == "email"}
    assert set(email) == {sent_to, refused}
    notes = {n.recipient: n for n in await AlertNotification.filter(alert_id=alert.id)}
    assert {a: email[a]["id"] for a in email} == {a: str(n.id) for a, n in notes.items()}
    assert email[sent_to]["status"] == "SENT"
    assert email[sent_to]["attempts"] == 1 and email[sent_to]["sentAt"]
    assert email[sent_to]["endpointId"] is None and email[sent_to]["lastError"] is None
    assert email[refused]["status"] == "RETRYING"
    assert "451" in email[refused]["lastError"]
    assert email[refused]["nextAttemptAt"] and email[refused]["sentAt"] is None
    [outbound] = [d for d in deliveries if d["endpointId"] == str(hook.id)]
    assert outbound | {"createdAt": None} == {"id": str(row.id),
        "channel": "outbound", "status": "SUCCEEDED", "recipient": None,
        "endpointId": str(hook.id), "attempts": 2, "lastError": "HTTP 503",
        "sentAt": outbound["sentAt"], "nextAttemptAt": None, "createdAt": None}
    assert outbound["sentAt"]


async def test_deliveries_of_a_page_are_loaded_together(gql: Any, make_alert: Any,
                                                        count_queries: Any) -> None:
    kind = f"test.{uuid.uuid4().hex[:10]}"
    for _ in range(4):
        await make_alert(recipient(), recipient(), kind=kind)

    counts = []
    for first in (1, 4):
        count_queries.count = 0
        edges = (await gql(ALERTS, {"kind": kind, "first": first})).data["alerts"]["edges"]
        assert len(edges) == first
        assert all(len([d for d in e["node"]["deliveries"] if d["channel"] == "email"]) == 2
                   for e in edges)
        counts.append(count_queries.count)
    assert counts[0] == counts[1]


async def test_partners_cannot_reach_deliveries(gql: Any, make_alert: Any) -> None:
    # Alerts span every customer; a partner-scoped admin lists none, deliveries included.
    kind = f"test.{uuid.uuid4().hex[:10]}"
    await make_alert(recipient(), kind=kind)
    token = gql.token("admin", subject="partner-admin",
                      partner_id=f"partner-{uuid.uuid4().hex[:8]}")
    result = await gql(ALERTS, {"kind": kind}, token=token)
    assert result.error_code == "FORBIDDEN"
    assert result.body.get("data") is None
