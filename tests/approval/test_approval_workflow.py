"""Limit changes through approvals (maker-checker): the bands, who may sign off, applying
atomically with the last approval, SUPERSEDED, expiry, and setCreditLimit's refusal."""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from testkit import eventually

from ccm_gateway.alert.models import Alert
from ccm_gateway.approval import service as approval_service
from ccm_gateway.approval import tasks as approval_tasks
from ccm_gateway.audit.models import AuditEvent
from ccm_gateway.kit import standard_webhooks
from ccm_gateway.kit.outbox import OutboxMessage
from ccm_gateway.kit.secrets import SecretBox
from ccm_gateway.outbound.models import OutboundDelivery, OutboundEndpoint
from ccm_gateway.policy.models import LimitChangeRequest
from ccm_gateway.sync import dispatch, payloads

REQUEST = """
mutation($input: RequestCreditLimitChangeInput!) {
  requestCreditLimitChange(input: $input) {
    id status requestedBy requiredApprovals requiredRoles
    currentLimit { amount currency } requestedLimit { amount currency }
    customer { id } approvals { approverId roles decidedAt comment } createdAt expiresAt
  }
}"""
APPROVE = """
mutation($input: ApproveCreditLimitChangeInput!) {
  approveCreditLimitChange(input: $input) {
    id status decisionReason approvals { approverId roles comment }
  }
}"""
REJECT = """
mutation($input: RejectCreditLimitChangeInput!) {
  rejectCreditLimitChange(input: $input) { id status decisionReason }
}"""
CANCEL = """
mutation($input: CancelCreditLimitChangeInput!) {
  cancelCreditLimitChange(input: $input) { id status }
}"""
LIST = """
query($filter: LimitChangeRequestFilter) {
  creditLimitChangeRequests(filter: $filter) { edges { node { id status } } }
}"""
SET_LIMIT = """
mutation($input: SetCreditLimitInput!) { setCreditLimit(input: $input) { limit { amount } } }"""
CREATE_INTEGRATION = """
mutation($input: CreateIntegrationInput!) {
  createIntegration(input: $input) { integration { id } }
}"""
LIMIT = """query($id: ID!) { customer(id: $id) { creditAccount { limit { amount } version } } }"""


async def subscribed_endpoint(gql: Any, settings: Any) -> OutboundEndpoint:
    """An endpoint of an integration over the test customers' segment, for every type; a
    closed loopback port: the tests read what was queued, not what was received."""
    result = await gql(CREATE_INTEGRATION, {"input": {
        "slug": f"erp-{uuid.uuid4().hex[:10]}", "name": "ERP", "kind": "ERP",
        "profile": "standard-webhooks", "segments": ["haulage"]}})
    integration = result.data["createIntegration"]["integration"]
    endpoint_id = uuid.uuid4()
    box = SecretBox.from_settings(settings)
    return await OutboundEndpoint.create(
        id=endpoint_id, integration_id=integration["id"], url="http://127.0.0.1:9/hook",
        event_types=list(payloads.ALL_TYPES),
        secret=box.encrypt(standard_webhooks.new_secret(),
                           context=f"outbound_endpoint:{endpoint_id}:secret"))


def as_user(gql: Any, role: str, name: str) -> str:
    return gql.token(role, subject=name)


async def limit_of(gql: Any, customer_id: str) -> str:
    result = await gql(LIMIT, {"id": customer_id})
    return result.data["customer"]["creditAccount"]["limit"]["amount"]


async def request(gql: Any, customer_id: str, amount: str, *, who: str = "maker",
                  role: str = "credit_manager", **extra: Any) -> Any:
    payload = {"customerId": customer_id, "limit": {"amount": amount, "currency": "USD"}}
    return await gql(REQUEST, {"input": payload | extra}, token=as_user(gql, role, who))


async def approve(gql: Any, request_id: str, who: str, role: str = "finance",
                  comment: str | None = None) -> Any:
    return await gql(APPROVE, {"input": {"requestId": request_id, "comment": comment}},
                     token=as_user(gql, role, who))


async def test_a_decrease_applies_at_once(gql, make_customer):
    customer = await make_customer(limit="1000.00")
    result = await request(gql, customer, "800.00")
    made = result.data["requestCreditLimitChange"]
    assert made["status"] == "APPLIED"
    assert made["requiredApprovals"] == 0
    assert made["currentLimit"] == {"amount": "1000.00", "currency": "USD"}
    assert await limit_of(gql, customer) == "800.00"


async def test_a_small_increase_takes_one_approval_from_another_person(gql, make_customer):
    customer = await make_customer(limit="1000.00")
    made = (await request(gql, customer, "1100.00", reason="busy season")) \
        .data["requestCreditLimitChange"]
    assert made["status"] == "PENDING"
    assert made["requiredApprovals"] == 1
    assert made["requestedBy"] == "maker"
    assert made["customer"] == {"id": customer}
    assert await limit_of(gql, customer) == "1000.00"

    own = await approve(gql, made["id"], "maker", role="credit_manager")
    assert own.error_code == "FORBIDDEN"
    assert "own request" in own.errors[0]["message"]

    done = (await approve(gql, made["id"], "checker", role="credit_manager", comment="ok")) \
        .data["approveCreditLimitChange"]
    assert done["status"] == "APPLIED"
    assert done["approvals"] == [{"approverId": "checker", "roles": ["credit_manager"],
                                  "comment": "ok"}]
    assert await limit_of(gql, customer) == "1100.00"
    again = await approve(gql, made["id"], "someone", role="finance")
    assert again.error_code == "CONFLICT"


async def test_the_two_approval_band_needs_two_people_one_of_them_finance(gql, make_customer):
    customer = await make_customer(limit="1000.00")
    made = (await request(gql, customer, "5000.00")).data["requestCreditLimitChange"]
    assert made["requiredApprovals"] == 2
    assert made["requiredRoles"] == ["finance"]

    first = await approve(gql, made["id"], "cm-1", role="credit_manager")
    assert first.data["approveCreditLimitChange"]["status"] == "PENDING"
    twice = await approve(gql, made["id"], "cm-1", role="credit_manager")
    assert twice.error_code == "CONFLICT"
    assert "already" in twice.errors[0]["message"]
    # A second credit manager would leave the band without finance.
    other_cm = await approve(gql, made["id"], "cm-2", role="credit_manager")
    assert other_cm.error_code == "FORBIDDEN"
    assert "finance" in other_cm.errors[0]["message"]
    assert await limit_of(gql, customer) == "1000.00"

    last = (await approve(gql, made["id"], "fin-1")).data["approveCreditLimitChange"]
    assert last["status"] == "APPLIED"
    assert [a["approverId"] for a in last["approvals"]] == ["cm-1", "fin-1"]
    assert await limit_of(gql, customer) == "5000.00"


async def test_a_role_outside_the_band_cannot_approve(gql, make_customer):
    customer = await make_customer(limit="1000.00")
    made = (await request(gql, customer, "1050.00")).data["requestCreditLimitChange"]
    viewer = await approve(gql, made["id"], "v", role="viewer")
    assert viewer.error_code == "FORBIDDEN"
    admin = await approve(gql, made["id"], "a", role="admin")
    assert admin.error_code == "FORBIDDEN"
    assert "credit_manager" in admin.errors[0]["message"]


async def test_a_request_is_superseded_when_the_limit_moved_since(gql, make_customer):
    customer = await make_customer(limit="1000.00")
    made = (await request(gql, customer, "1050.00")).data["requestCreditLimitChange"]
    lowered = await gql(SET_LIMIT, {"input": {"customerId": customer,
                                              "limit": {"amount": "900.00", "currency": "USD"}}})
    lowered.assert_ok()
    done = (await approve(gql, made["id"], "checker")).data["approveCreditLimitChange"]
    assert done["status"] == "SUPERSEDED"
    assert "1000.00 to 900.00" in done["decisionReason"]
    assert await limit_of(gql, customer) == "900.00"


async def test_reject_and_cancel(gql, make_customer):
    customer = await make_customer(limit="1000.00")
    first = (await request(gql, customer, "1050.00")).data["requestCreditLimitChange"]
    own = await gql(REJECT, {"input": {"requestId": first["id"]}},
                    token=as_user(gql, "credit_manager", "maker"))
    assert own.error_code == "FORBIDDEN"
    rejected = await gql(REJECT, {"input": {"requestId": first["id"], "reason": "no"}},
                         token=as_user(gql, "finance", "fin"))
    assert rejected.data["rejectCreditLimitChange"] == {"id": first["id"], "status": "REJECTED",
                                                        "decisionReason": "no"}
    late = await approve(gql, first["id"], "fin")
    assert late.error_code == "CONFLICT"

    second = (await request(gql, customer, "1050.00")).data["requestCreditLimitChange"]
    stranger = await gql(CANCEL, {"input": {"requestId": second["id"]}},
                         token=as_user(gql, "credit_manager", "stranger"))
    assert stranger.error_code == "FORBIDDEN"
    cancelled = await gql(CANCEL, {"input": {"requestId": second["id"]}},
                          token=as_user(gql, "credit_manager", "maker"))
    assert cancelled.data["cancelCreditLimitChange"]["status"] == "CANCELLED"

    third = (await request(gql, customer, "1050.00")).data["requestCreditLimitChange"]
    by_admin = await gql(CANCEL, {"input": {"requestId": third["id"]}})
    assert by_admin.data["cancelCreditLimitChange"]["status"] == "CANCELLED"

    listed = await gql(LIST, {"filter": {"customerId": customer}})
    statuses = [e["node"]["status"]
                for e in listed.data["creditLimitChangeRequests"]["edges"]]
    assert statuses == ["CANCELLED", "CANCELLED", "REJECTED"]
    only = await gql(LIST, {"filter": {"customerId": customer, "status": "REJECTED"}})
    assert [e["node"]["id"] for e in only.data["creditLimitChangeRequests"]["edges"]] == [
        first["id"]]
    assert await limit_of(gql, customer) == "1000.00"


async def test_every_step_is_audited_and_sent(gql, make_customer, settings):
    endpoint = await subscribed_endpoint(gql, settings)
    customer = await make_customer(limit="1000.00")
    made = (await request(gql, customer, "1050.00")).data["requestCreditLimitChange"]
    (await approve(gql, made["id"], "checker")).assert_ok()
    actions = await AuditEvent.filter(object_id=made["id"]).order_by("id") \
        .values_list("action", flat=True)
    assert actions == ["limit_change.request", "limit_change.approve", "limit_change.applied"]
    assert await AuditEvent.filter(object_id=customer, action="credit.set_limit").count() == 1

    async def drained() -> bool:
        await dispatch.dispatch_once()
        return not await OutboxMessage.filter(customer_id=customer).exists()

    await eventually(drained)
    sent = await OutboundDelivery.filter(endpoint_id=endpoint.id, customer_id=customer) \
        .order_by("created_at", "version")
    by_type = {d.event_type: d.payload["data"] for d in sent}
    assert by_type["limit_change.requested"]["status"] == "PENDING"
    assert by_type["limit_change.decided"]["status"] == "APPLIED"
    assert by_type["limit_change.decided"]["requestedLimit"] == {"amount": "1050.00",
                                                                "currency": "USD"}
    assert by_type["credit.updated"]["limit"] == {"amount": "1050.00", "currency": "USD"}
    pending = await Alert.filter(customer_id=customer, kind="limit_change.pending").first()
    assert pending is not None and pending.details["requestId"] == made["id"]


async def test_set_credit_limit_refuses_an_increase_that_needs_approval(gql, make_customer):
    customer = await make_customer(limit="1000.00")
    refused = await gql(SET_LIMIT, {"input": {"customerId": customer,
                                              "limit": {"amount": "1001.00", "currency": "USD"}}})
    assert refused.error_code == "FORBIDDEN"
    assert "requestCreditLimitChange" in refused.errors[0]["message"]
    assert await limit_of(gql, customer) == "1000.00"
    lowered = await gql(SET_LIMIT, {"input": {"customerId": customer,
                                              "limit": {"amount": "999.00", "currency": "USD"}}})
    assert lowered.data["setCreditLimit"]["limit"]["amount"] == "999.00"


async def test_requests_replay_by_idempotency_key(gql, make_customer):
    customer = await make_customer(limit="1000.00")
    one = await request(gql, customer, "1050.00", idempotencyKey="k-1")
    two = await request(gql, customer, "1050.00", idempotencyKey="k-1")
    assert one.data["requestCreditLimitChange"]["id"] == two.data["requestCreditLimitChange"]["id"]
    other = await request(gql, customer, "1060.00", idempotencyKey="k-1")
    assert other.error_code == "CONFLICT"
    assert await LimitChangeRequest.filter(customer_id=customer).count() == 1


async def test_bad_requests_write_nothing(gql, make_customer):
    customer = await make_customer(limit="1000.00")
    same = await request(gql, customer, "1000.00")
    assert same.error_code == "BAD_USER_INPUT"
    wrong = await gql(REQUEST, {"input": {"customerId": customer,
                                          "limit": {"amount": "1.00", "currency": "EUR"}}})
    assert wrong.error_code == "BAD_USER_INPUT"
    assert wrong.errors[0]["extensions"]["field"] == "limit.currency"
    assert await LimitChangeRequest.filter(customer_id=customer).count() == 0


async def test_a_pending_request_expires_after_seven_days(gql, make_customer):
    customer = await make_customer(limit="1000.00")
    made = (await request(gql, customer, "1050.00")).data["requestCreditLimitChange"]
    created = datetime.fromisoformat(made["createdAt"])
    assert datetime.fromisoformat(made["expiresAt"]) - created == timedelta(days=7)
    assert await approval_service.expire_requests(created + timedelta(days=6)) == 0
    assert await approval_service.expire_requests(created + timedelta(days=7)) >= 1
    # A run expires a batch, oldest first; the shared database may hold more than one
    # batch of other tests' pending requests, so drain as the cron does.
    while await approval_service.expire_requests(created + timedelta(days=7)):
        pass
    late = await approve(gql, made["id"], "checker")
    assert late.error_code == "CONFLICT"
    assert "EXPIRED" in late.errors[0]["message"]
    stored = await LimitChangeRequest.get(id=made["id"])
    assert stored.status == "expired"
    assert await limit_of(gql, customer) == "1000.00"


async def test_an_approval_past_expiry_is_refused_before_the_job_runs(gql, make_customer):
    customer = await make_customer(limit="1000.00")
    made = (await request(gql, customer, "1050.00")).data["requestCreditLimitChange"]
    await LimitChangeRequest.filter(id=made["id"]).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1))
    late = await approve(gql, made["id"], "checker")
    assert late.error_code == "CONFLICT"
    assert await limit_of(gql, customer) == "1000.00"


@pytest.mark.skipif(os.environ.get("CCM_TEST_BACKEND") != "postgres",
                    reason="row locks: PostgreSQL only (SQLite has one writer)")
async def test_two_concurrent_last_approvals_apply_the_change_exactly_once(gql, make_customer):
    customer = await make_customer(limit="1000.00")
    for n in range(1, 6):
        made = (await request(gql, customer, f"{1000 + 50 * n}.00")) \
            .data["requestCreditLimitChange"]
        results = await asyncio.gather(*(approve(gql, made["id"], f"checker-{i}")
                                         for i in range(8)))
        ok = [r for r in results if not r.errors]
        assert len(ok) == 1, [r.errors for r in results]
        assert all(r.error_code == "CONFLICT" for r in results if r.errors)
        assert ok[0].data["approveCreditLimitChange"]["status"] == "APPLIED"
        applied = await AuditEvent.filter(object_id=customer, action="credit.set_limit").count()
        assert applied == n
    assert await limit_of(gql, customer) == "1250.00"



async def test_finance_first_then_a_credit_manager_applies_the_two_approval_band(
        gql, make_customer):
    customer = await make_customer(limit="1000.00")
    made = (await request(gql, customer, "5000.00")).data["requestCreditLimitChange"]
    first = await approve(gql, made["id"], "fin-first", role="finance")
    assert first.data["approveCreditLimitChange"]["status"] == "PENDING"
    last = await approve(gql, made["id"], "cm-last", role="credit_manager")
    assert last.data["approveCreditLimitChange"]["status"] == "APPLIED"
    assert await limit_of(gql, customer) == "5000.00"


async def test_the_expiry_job_marks_requests_past_their_lifetime(gql, make_customer):
    customer = await make_customer(limit="1000.00")
    made = (await request(gql, customer, "1050.00")).data["requestCreditLimitChange"]
    await LimitChangeRequest.filter(id=made["id"]).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert await approval_tasks.expire_requests({}) >= 1
    listed = await gql(LIST, {"filter": {"customerId": customer}})
    assert [e["node"]["status"] for e in listed.data["creditLimitChangeRequests"]["edges"]] \
        == ["EXPIRED"]
    actions = await AuditEvent.filter(object_id=made["id"]).values_list("action", flat=True)
    assert "limit_change.expired" in actions
