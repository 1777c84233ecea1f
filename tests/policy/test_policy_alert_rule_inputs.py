"""createAlertRule / updateAlertRule refuse what they cannot store: the error names the
field, and nothing is written (no rule, no audit event, no new policy revision)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from policykit import CREATE_ALERT_RULE, Api

from ccm_gateway.audit.models import AuditEvent
from ccm_gateway.policy.models import AlertRule, PolicyRevision

UPDATE_ALERT_RULE = """
mutation($input: UpdateAlertRuleInput!) {
  updateAlertRule(input: $input) {
    id thresholdPercent hysteresisPercent channels recipients enabled version
  }
}"""


async def written() -> tuple[int, int, int]:
    """What a rule change writes: rules, their audit events, the policy revision."""
    revision = (await PolicyRevision.get(id=1)).revision
    audited = await AuditEvent.filter(action__startswith="alert_rule.").count()
    return await AlertRule.all().count(), audited, revision


def refused(result: Any, code: str, field: str) -> None:
    assert result.error_code == code, result.body
    assert result.errors[0]["extensions"].get("field") == field, result.errors[0]


@pytest.mark.parametrize(("payload", "field"), [
    ({"thresholdPercent": 0}, "thresholdPercent"),
    ({"thresholdPercent": -5}, "thresholdPercent"),
    ({"thresholdPercent": 1000.01}, "thresholdPercent"),
    ({"thresholdPercent": 80.125}, "thresholdPercent"),  # hundredths of a percent at most
    ({"thresholdPercent": 80, "hysteresisPercent": 80}, "hysteresisPercent"),
    ({"thresholdPercent": 80, "hysteresisPercent": 95}, "hysteresisPercent"),
    ({"thresholdPercent": 80, "hysteresisPercent": -1}, "hysteresisPercent"),
    ({"thresholdPercent": 80, "hysteresisPercent": 2.505}, "hysteresisPercent"),
    ({"thresholdPercent": 80, "recipients": ["not-an-address"]}, "recipients"),
    ({"thresholdPercent": 80, "recipients": ["a@b"]}, "recipients"),
    ({"thresholdPercent": 80, "recipients": [f"r{i}@example.com" for i in range(21)]},
     "recipients"),
    ({"thresholdPercent": 80, "segment": "   "}, "segment"),
    ({"thresholdPercent": 80, "siteId": "not-a-uuid"}, "siteId"),
])
async def test_create_refuses_a_bad_field_by_name_and_writes_nothing(
        gql: Any, make_customer: Any, payload: dict[str, Any], field: str):
    customer = await make_customer()
    before = await written()
    result = await gql(CREATE_ALERT_RULE, {"input": {"customerId": customer} | payload})
    refused(result, "BAD_USER_INPUT", field)
    assert await written() == before


async def test_create_refuses_a_segment_and_a_customer_together(gql: Any, make_customer: Any):
    customer = await make_customer()
    before = await written()
    result = await gql(CREATE_ALERT_RULE, {"input": {
        "thresholdPercent": 80, "customerId": customer, "segment": "haulage"}})
    refused(result, "BAD_USER_INPUT", "segment")
    assert await written() == before


@pytest.mark.parametrize("field", ["customerId", "siteId"])
async def test_create_answers_an_unknown_customer_or_site_as_missing(
        gql: Any, make_customer: Any, field: str):
    scope = {"customerId": await make_customer()} if field == "siteId" else {}
    before = await written()
    result = await gql(CREATE_ALERT_RULE, {"input": {
        "thresholdPercent": 80, field: str(uuid.uuid4())} | scope})
    refused(result, "NOT_FOUND", field)
    assert await written() == before


async def test_create_refuses_a_channel_that_does_not_exist(gql: Any, make_customer: Any):
    customer = await make_customer()
    before = await written()
    result = await gql(CREATE_ALERT_RULE, {"input": {
        "thresholdPercent": 80, "customerId": customer, "channels": ["FAX"]}})
    assert result.error_code == "BAD_USER_INPUT"
    assert "channels" in result.errors[0]["message"]
    assert await written() == before


async def test_create_refuses_a_second_rule_at_the_same_threshold_and_scope(
        api: Api, gql: Any, make_customer: Any):
    customer = await make_customer()
    await api.alert_rule(thresholdPercent=90, customerId=customer)
    before = await written()
    again = await gql(CREATE_ALERT_RULE, {"input": {"thresholdPercent": 90,
                                                    "customerId": customer}})
    refused(again, "CONFLICT", "thresholdPercent")
    assert await written() == before


async def test_create_keeps_the_channels_in_their_order_and_recipients_once(
        api: Api, make_customer: Any):
    rule = await api.alert_rule(thresholdPercent=70, customerId=await make_customer(),
                                channels=["EMAIL", "OUTBOUND", "EMAIL"],
                                recipients=["ops@example.com", "ops@example.com"])
    assert rule["channels"] == ["OUTBOUND", "EMAIL"]
    assert rule["recipients"] == ["ops@example.com"]
    assert (rule["hysteresisPercent"], rule["version"]) == (5.0, 1)


@pytest.mark.parametrize(("change", "field"), [
    ({"thresholdPercent": 0}, "thresholdPercent"),
    ({"thresholdPercent": 1001}, "thresholdPercent"),
    ({"thresholdPercent": 4}, "hysteresisPercent"),  # below the rule's 5 % hysteresis
    ({"hysteresisPercent": 90}, "hysteresisPercent"),
    ({"hysteresisPercent": -0.5}, "hysteresisPercent"),
    ({"recipients": ["nobody"]}, "recipients"),
])
async def test_update_refuses_a_bad_field_by_name_and_leaves_the_rule_as_it_was(
        api: Api, gql: Any, make_customer: Any, change: dict[str, Any], field: str):
    rule = await api.alert_rule(thresholdPercent=80, customerId=await make_customer(),
                                recipients=["ops@example.com"])
    before = await written()
    result = await gql(UPDATE_ALERT_RULE, {"input": {"id": rule["id"], "expectedVersion": 1}
                                           | change})
    refused(result, "BAD_USER_INPUT", field)
    assert await written() == before
    stored = await AlertRule.get(id=rule["id"])
    assert (stored.threshold_bp, stored.hysteresis_bp, stored.recipients, stored.version) == (
        8000, 500, ["ops@example.com"], 1)


async def test_update_refuses_a_stale_version_an_unknown_rule_and_a_taken_threshold(
        api: Api, gql: Any, make_customer: Any):
    customer = await make_customer()
    rule = await api.alert_rule(thresholdPercent=80, customerId=customer)
    await api.alert_rule(thresholdPercent=90, customerId=customer)
    before = await written()
    stale = await gql(UPDATE_ALERT_RULE, {"input": {"id": rule["id"], "expectedVersion": 2,
                                                    "enabled": False}})
    refused(stale, "CONFLICT", "expectedVersion")
    missing = await gql(UPDATE_ALERT_RULE, {"input": {"id": str(uuid.uuid4()),
                                                      "expectedVersion": 1}})
    refused(missing, "NOT_FOUND", "id")
    taken = await gql(UPDATE_ALERT_RULE, {"input": {"id": rule["id"], "expectedVersion": 1,
                                                    "thresholdPercent": 90}})
    refused(taken, "CONFLICT", "thresholdPercent")
    assert await written() == before


async def test_update_changes_what_it_is_given_and_audits_it(
        api: Api, gql: Any, make_customer: Any):
    rule = await api.alert_rule(thresholdPercent=80, customerId=await make_customer())
    revision = (await PolicyRevision.get(id=1)).revision
    result = await gql(UPDATE_ALERT_RULE, {"input": {
        "id": rule["id"], "expectedVersion": 1, "hysteresisPercent": 10,
        "channels": ["SUBSCRIPTION"]}})
    updated = result.data["updateAlertRule"]
    assert (updated["thresholdPercent"], updated["hysteresisPercent"]) == (80.0, 10.0)
    assert (updated["channels"], updated["version"]) == (["SUBSCRIPTION"], 2)
    [event] = await AuditEvent.filter(action="alert_rule.update", object_id=rule["id"])
    assert event.before is not None and event.after is not None
    assert (event.before["hysteresis_bp"], event.after["hysteresis_bp"]) == (500, 1000)
    assert (await PolicyRevision.get(id=1)).revision > revision
