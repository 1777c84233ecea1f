"""The alerts list's filters (customer, acknowledged, created between) and
acknowledgeAlert: once, with its note stored and audited, CONFLICT the second time."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ccm_gateway.alert.models import Alert
from ccm_gateway.audit.models import AuditEvent
from ccm_gateway.audit.service import customer_stream

ALERTS = """
query($customerId: ID, $acknowledged: Boolean, $createdAfter: DateTime,
      $createdBefore: DateTime) {
  alerts(customerId: $customerId, acknowledged: $acknowledged, createdAfter: $createdAfter,
         createdBefore: $createdBefore, first: 100) {
    edges { node { id customerId createdAt acknowledgedAt } }
  }
}"""
ACKNOWLEDGE = """
mutation($input: AcknowledgeAlertInput!) {
  acknowledgeAlert(input: $input) {
    id acknowledgedAt acknowledgedBy acknowledgementNote
  }
}"""

T0 = datetime(2031, 3, 1, 12, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


@pytest.fixture
async def timeline(make_alert: Any, make_customer: Any) -> dict[str, Any]:
    """A customer's three alerts an hour apart (T0 - 2 h, T0 - 1 h, T0), and another
    customer's alert at T0 - 1 h."""
    customer, other = await make_customer(), await make_customer()
    ids: dict[str, Any] = {"customer": customer, "other": other}
    for name, who, hours in (("old", customer, -2), ("mid", customer, -1),
                             ("new", customer, 0), ("foreign", other, -1)):
        alert = await make_alert(customer_id=uuid.UUID(who))
        await Alert.filter(id=alert.id).update(created_at=at(hours))
        ids[name] = str(alert.id)
    return ids


async def listed(gql: Any, **variables: Any) -> list[str]:
    result = await gql(ALERTS, {k: v.isoformat() if isinstance(v, datetime) else v
                                for k, v in variables.items()})
    return [e["node"]["id"] for e in result.data["alerts"]["edges"]]


async def test_customer_id_lists_only_that_customers_alerts_newest_first(
        gql: Any, timeline: dict[str, Any]):
    assert await listed(gql, customerId=timeline["customer"]) == [
        timeline["new"], timeline["mid"], timeline["old"]]
    assert await listed(gql, customerId=timeline["other"]) == [timeline["foreign"]]


async def test_acknowledged_splits_the_alerts_seen_from_the_rest(
        gql: Any, timeline: dict[str, Any]):
    customer = timeline["customer"]
    (await gql(ACKNOWLEDGE, {"input": {"id": timeline["mid"]}})).assert_ok()
    assert await listed(gql, customerId=customer, acknowledged=True) == [timeline["mid"]]
    assert await listed(gql, customerId=customer, acknowledged=False) == [
        timeline["new"], timeline["old"]]


async def test_created_after_is_inclusive_and_created_before_exclusive(
        gql: Any, timeline: dict[str, Any]):
    customer = timeline["customer"]
    assert await listed(gql, customerId=customer, createdAfter=at(-1)) == [
        timeline["new"], timeline["mid"]]
    assert await listed(gql, customerId=customer, createdBefore=at(-1)) == [timeline["old"]]
    assert await listed(gql, customerId=customer, createdAfter=at(-2),
                        createdBefore=at(0)) == [timeline["mid"], timeline["old"]]
    # Another offset is the same instant.
    tokyo = at(-1).astimezone(datetime.fromisoformat("2000-01-01T00:00:00+09:00").tzinfo)
    assert await listed(gql, customerId=customer, createdAfter=tokyo) == [
        timeline["new"], timeline["mid"]]


@pytest.mark.parametrize(("variables", "field"), [
    ({"createdAfter": "2031-03-01T12:00:00+00:00",
      "createdBefore": "2031-03-01T12:00:00+00:00"}, "createdAfter"),
    ({"createdAfter": "2031-03-01T13:00:00+00:00",
      "createdBefore": "2031-03-01T12:00:00+00:00"}, "createdAfter"),
    ({"createdAfter": "2031-03-01T12:00:00"}, "createdAfter"),
    ({"createdBefore": "2031-03-01T12:00:00"}, "createdBefore"),
    ({"customerId": "not-a-uuid"}, "customerId"),
])
async def test_a_window_that_is_empty_or_without_an_offset_is_refused(
        gql: Any, variables: dict[str, Any], field: str):
    result = await gql(ALERTS, variables)
    assert result.error_code == "BAD_USER_INPUT", result.body
    assert result.errors[0]["extensions"]["field"] == field


async def test_acknowledge_works_once_stores_the_note_and_is_audited(
        gql: Any, timeline: dict[str, Any]):
    alert_id = timeline["new"]
    first = await gql(ACKNOWLEDGE, {"input": {"id": alert_id, "note": "called the customer"}},
                      token=gql.token("credit_manager", subject="anna"))
    acknowledged = first.data["acknowledgeAlert"]
    assert acknowledged["acknowledgedBy"] == "anna"
    assert acknowledged["acknowledgementNote"] == "called the customer"
    assert acknowledged["acknowledgedAt"] is not None
    stored = await Alert.get(id=alert_id)
    assert (stored.acknowledged_by, stored.acknowledgement_note) == (
        "anna", "called the customer")

    second = await gql(ACKNOWLEDGE, {"input": {"id": alert_id, "note": "me too"}},
                       token=gql.token("finance", subject="ben"))
    assert second.error_code == "CONFLICT"
    assert "anna" in second.errors[0]["message"]
    again = await Alert.get(id=alert_id)
    assert (again.acknowledged_by, again.acknowledgement_note, again.acknowledged_at) == (
        "anna", "called the customer", stored.acknowledged_at)

    [event] = await AuditEvent.filter(action="alert.acknowledge", object_id=alert_id)
    assert (event.actor_id, event.stream) == ("anna", customer_stream(timeline["customer"]))
    assert event.after is not None and event.after["note"] == "called the customer"


async def test_acknowledge_without_a_note_stores_none(gql: Any, timeline: dict[str, Any]):
    result = await gql(ACKNOWLEDGE, {"input": {"id": timeline["old"]}})
    assert result.data["acknowledgeAlert"]["acknowledgementNote"] is None


async def test_acknowledging_an_unknown_alert_or_too_long_a_note_changes_nothing(
        gql: Any, timeline: dict[str, Any]):
    missing = await gql(ACKNOWLEDGE, {"input": {"id": str(uuid.uuid4())}})
    assert missing.error_code == "NOT_FOUND"
    too_long = await gql(ACKNOWLEDGE, {"input": {"id": timeline["mid"], "note": "x" * 501}})
    assert too_long.error_code == "BAD_USER_INPUT"
    assert (await Alert.get(id=timeline["mid"])).acknowledged_at is None
    assert not await AuditEvent.filter(action="alert.acknowledge",
                                       object_id=timeline["mid"]).exists()
