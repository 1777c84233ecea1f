"""The approval bands (approvalPolicy / setApprovalPolicy) and segment policy: a new
customer's default limit, the hard cap every limit change and approval stays under, and
the scaling job's proposals."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tortoise.transactions import in_transaction

from ccm_gateway.approval import scaling
from ccm_gateway.audit.models import AuditEvent
from ccm_gateway.ledger import service as ledger_service
from ccm_gateway.ledger.models import EntryKind
from ccm_gateway.policy.models import (
    ApprovalPolicy,
    LimitChangeRequest,
    PolicyRevision,
    SegmentPolicy,
)
from ccm_gateway.principal import Actor

POLICY = """{ approvalPolicy { version recipients
  bands { maxIncreasePercent maxIncreaseAmount approvals roles requiredRoles } } }"""
SET_POLICY = """
mutation($input: SetApprovalPolicyInput!) {
  setApprovalPolicy(input: $input) { version bands { approvals roles requiredRoles } }
}"""
SET_SEGMENT = """
mutation($input: SetSegmentPolicyInput!) {
  setSegmentPolicy(input: $input) {
    id segment riskProfile currency defaultLimit { amount } hardCap { amount }
    scalingEnabled version
  }
}"""
SEGMENTS = """query($s: String) { segmentPolicies(segment: $s) { segment riskProfile
  hardCap { amount } } }"""
CREATE = """
mutation($input: CreateCustomerInput!) {
  createCustomer(input: $input) { id creditAccount { limit { amount } } }
}"""
REQUEST = """
mutation($input: RequestCreditLimitChangeInput!) {
  requestCreditLimitChange(input: $input) { id status source reasoning }
}"""
APPROVE = """
mutation($input: ApproveCreditLimitChangeInput!) {
  approveCreditLimitChange(input: $input) { id status }
}"""
SET_LIMIT = """
mutation($input: SetCreditLimitInput!) { setCreditLimit(input: $input) { limit { amount } } }"""
LIST = """query($f: LimitChangeRequestFilter) { creditLimitChangeRequests(filter: $f) {
  edges { node { id status source reasoning requestedLimit { amount } } } } }"""

DEFAULT_BANDS = [
    {"maxIncreasePercent": "10", "maxIncreaseAmount": "10000.00", "approvals": 1,
     "roles": ["credit_manager", "finance"], "requiredRoles": []},
    {"maxIncreasePercent": None, "maxIncreaseAmount": None, "approvals": 2,
     "roles": ["credit_manager", "finance"], "requiredRoles": ["finance"]},
]


def usd(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "USD"}


def segment() -> str:
    return f"seg-{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def restore_bands():
    yield
    await ApprovalPolicy.filter(id=1).update(bands=DEFAULT_BANDS)


async def test_the_default_bands_are_the_issues(gql):
    policy = (await gql(POLICY)).data["approvalPolicy"]
    assert policy["bands"] == DEFAULT_BANDS


async def test_set_approval_policy_changes_the_bands_and_is_audited(gql, restore_bands):
    revision = (await PolicyRevision.get(id=1)).revision
    version = (await gql(POLICY)).data["approvalPolicy"]["version"]
    bands = [{"maxIncreasePercent": "50", "approvals": 0, "roles": []},
             {"approvals": 1, "roles": ["finance"], "requiredRoles": ["finance"]}]
    result = await gql(SET_POLICY, {"input": {"bands": bands, "expectedVersion": version,
                                              "recipients": ["credit@example.com"]}},
                       role="finance")
    assert result.data["setApprovalPolicy"]["version"] == version + 1
    assert (await PolicyRevision.get(id=1)).revision > revision
    assert await AuditEvent.filter(action="policy.set_approval_policy").exists()
    stale = await gql(SET_POLICY, {"input": {"bands": bands, "expectedVersion": version}})
    assert stale.error_code == "CONFLICT"


async def test_a_band_of_no_approvals_lets_set_credit_limit_raise(gql, make_customer,
                                                                 restore_bands):
    customer = await make_customer(limit="1000.00")
    bands = [{"maxIncreasePercent": "50", "approvals": 0, "roles": []},
             {"approvals": 1, "roles": ["finance"]}]
    (await gql(SET_POLICY, {"input": {"bands": bands}})).assert_ok()
    raised = await gql(SET_LIMIT, {"input": {"customerId": customer, "limit": usd("1500.00")}})
    assert raised.data["setCreditLimit"]["limit"]["amount"] == "1500.00"
    refused = await gql(SET_LIMIT, {"input": {"customerId": customer, "limit": usd("5000.00")}})
    assert refused.error_code == "FORBIDDEN"
    # Only finance approves in this band now.
    made = (await gql(REQUEST, {"input": {"customerId": customer, "limit": usd("5000.00")}},
                      token=gql.token("credit_manager", subject="m"))).data
    request_id = made["requestCreditLimitChange"]["id"]
    cm = await gql(APPROVE, {"input": {"requestId": request_id}},
                   token=gql.token("credit_manager", subject="c"))
    assert cm.error_code == "FORBIDDEN"
    fin = await gql(APPROVE, {"input": {"requestId": request_id}},
                    token=gql.token("finance", subject="f"))
    assert fin.data["approveCreditLimitChange"]["status"] == "APPLIED"


@pytest.mark.parametrize(("bands", "field"), [
    ([], "bands"),
    ([{"maxIncreasePercent": "10", "approvals": 1, "roles": ["finance"]}],
     "bands[0].maxIncreasePercent"),
    ([{"approvals": 1, "roles": ["finance"]}, {"approvals": 2, "roles": ["finance"]}],
     "bands[0].maxIncreasePercent"),
    ([{"approvals": 1, "roles": ["boss"]}], "bands[0].roles"),
    ([{"approvals": 1, "roles": []}], "bands[0].roles"),
    ([{"approvals": 1, "roles": ["credit_manager"], "requiredRoles": ["finance"]}],
     "bands[0].requiredRoles"),
    ([{"approvals": 1, "roles": ["credit_manager", "finance"],
       "requiredRoles": ["credit_manager", "finance"]}], "bands[0].requiredRoles"),
    ([{"approvals": 9, "roles": ["finance"]}], "bands[0].approvals"),
    ([{"maxIncreasePercent": "-1", "approvals": 1, "roles": ["finance"]},
      {"approvals": 1, "roles": ["finance"]}], "bands[0].maxIncreasePercent"),
    ([{"maxIncreaseAmount": "lots", "approvals": 1, "roles": ["finance"]},
      {"approvals": 1, "roles": ["finance"]}], "bands[0].maxIncreaseAmount"),
], ids=["none", "last-has-maxima", "open-band-first", "unknown-role", "no-roles",
        "required-outside", "more-required-than-approvals", "too-many", "negative",
        "not-a-number"])
async def test_bad_bands_are_refused_and_change_nothing(gql, bands, field):
    before = await ApprovalPolicy.get(id=1)
    result = await gql(SET_POLICY, {"input": {"bands": bands}})
    assert result.error_code == "BAD_USER_INPUT"
    assert result.errors[0]["extensions"]["field"] == field
    after = await ApprovalPolicy.get(id=1)
    assert (after.version, after.bands) == (before.version, before.bands)


async def test_a_new_customer_starts_with_its_segments_default(gql):
    seg = segment()
    (await gql(SET_SEGMENT, {"input": {"segment": seg, "currency": "USD",
                                       "defaultLimit": usd("2500.00"),
                                       "hardCap": usd("10000.00")}})).assert_ok()
    (await gql(SET_SEGMENT, {"input": {"segment": seg, "currency": "USD",
                                       "riskProfile": "HIGH",
                                       "defaultLimit": usd("500.00"),
                                       "hardCap": usd("1000.00")}})).assert_ok()

    async def created(**extra: Any) -> Any:
        return await gql(CREATE, {"input": {"name": "Seg", "segment": seg,
                                            "currency": "USD"} | extra})

    plain = (await created()).data["createCustomer"]
    assert plain["creditAccount"]["limit"]["amount"] == "2500.00"
    risky = (await created(riskProfile="HIGH")).data["createCustomer"]
    assert risky["creditAccount"]["limit"]["amount"] == "500.00"
    explicit = (await created(creditLimit=usd("3000.00"))).data["createCustomer"]
    assert explicit["creditAccount"]["limit"]["amount"] == "3000.00"
    over = await created(riskProfile="HIGH", creditLimit=usd("1000.01"))
    assert over.error_code == "BAD_USER_INPUT"
    assert over.errors[0]["extensions"]["field"] == "creditLimit.amount"
    assert "hard cap of 1000.00 USD" in over.errors[0]["message"]
    assert "risk profile HIGH" in over.errors[0]["message"]
    listed = (await gql(SEGMENTS, {"s": seg})).data["segmentPolicies"]
    assert {(p["riskProfile"], p["hardCap"]["amount"]) for p in listed} == {
        ("HIGH", "1000.00"), (None, "10000.00")}


async def test_the_hard_cap_holds_for_requests_and_approvals(gql, make_customer):
    seg = segment()
    customer = await make_customer(limit="1000.00", segment=seg)
    (await gql(SET_SEGMENT, {"input": {"segment": seg, "currency": "USD",
                                       "hardCap": usd("1080.00")}})).assert_ok()
    over = await gql(REQUEST, {"input": {"customerId": customer, "limit": usd("1090.00")}})
    assert over.error_code == "BAD_USER_INPUT"
    assert "hard cap of 1080.00 USD for segment" in over.errors[0]["message"]
    made = (await gql(REQUEST, {"input": {"customerId": customer, "limit": usd("1050.00")}},
                      token=gql.token("credit_manager", subject="m"))).data
    # The cap is lowered while the request waits: the approval is refused, nothing moves.
    (await gql(SET_SEGMENT, {"input": {"segment": seg, "currency": "USD",
                                       "hardCap": usd("1020.00"),
                                       "expectedVersion": 1}})).assert_ok()
    request_id = made["requestCreditLimitChange"]["id"]
    late = await gql(APPROVE, {"input": {"requestId": request_id}},
                     token=gql.token("finance", subject="f"))
    assert late.error_code == "BAD_USER_INPUT"
    assert "1020.00" in late.errors[0]["message"]
    stored = await LimitChangeRequest.get(id=request_id)
    assert stored.status == "pending"
    assert not await stored.approvals.all().exists()


async def test_bad_segment_policies_are_refused(gql):
    seg = segment()
    bad = await gql(SET_SEGMENT, {"input": {"segment": seg, "currency": "USD",
                                            "defaultLimit": usd("20.00"),
                                            "hardCap": usd("10.00")}})
    assert bad.errors[0]["extensions"]["field"] == "defaultLimit.amount"
    other = await gql(SET_SEGMENT, {"input": {"segment": seg, "currency": "USD",
                                              "hardCap": {"amount": "1", "currency": "EUR"}}})
    assert other.errors[0]["extensions"]["field"] == "hardCap.currency"
    assert not await SegmentPolicy.filter(segment=seg).exists()


async def _history(customer_id: str, entries: list[tuple[EntryKind, int, datetime]]) -> None:
    actor = Actor(type="user", id="scaling-test")
    for kind, amount, at in entries:
        async with in_transaction():
            await ledger_service.post_entry(actor, customer_id, kind, amount, "USD",
                                            occurred_at=at, enforce_limit=False)


async def test_scaling_proposes_an_increase_for_a_busy_customer_who_pays_on_time(
        gql, make_customer):
    seg = segment()
    (await gql(SET_SEGMENT, {"input": {"segment": seg, "currency": "USD",
                                       "hardCap": usd("1150.00"),
                                       "scalingEnabled": True}})).assert_ok()
    good = await make_customer(limit="1000.00", segment=seg, netDays=30)
    late = await make_customer(limit="1000.00", segment=seg, netDays=30)
    idle = await make_customer(limit="1000.00", segment=seg, netDays=30)
    now = datetime.now(UTC)
    day = timedelta(days=1)
    # 900.00 owed at the peak (90 %), each invoice paid within its 30 days.
    await _history(good, [(EntryKind.INVOICE, 90000, now - 80 * day),
                          (EntryKind.PAYMENT, 90000, now - 60 * day),
                          (EntryKind.INVOICE, 85000, now - 50 * day),
                          (EntryKind.PAYMENT, 85000, now - 30 * day)])
    # The same peak, paid after 40 days.
    await _history(late, [(EntryKind.INVOICE, 90000, now - 80 * day),
                          (EntryKind.PAYMENT, 90000, now - 40 * day)])
    await _history(idle, [(EntryKind.INVOICE, 10000, now - 80 * day),
                          (EntryKind.PAYMENT, 10000, now - 70 * day)])

    assert await scaling.propose_changes() == 1
    [proposal] = (await gql(LIST, {"f": {"customerId": good}})).data[
        "creditLimitChangeRequests"]["edges"]
    node = proposal["node"]
    assert node["status"] == "PENDING"
    assert node["source"] == "SCALING"
    # 20 % more would be 1,200.00; the cap keeps it at 1,150.00.
    assert node["requestedLimit"]["amount"] == "1150.00"
    reasoning = node["reasoning"]
    assert reasoning["peakExposure"] == usd("900.00")
    assert reasoning["peakUtilization"] == 0.9
    assert (reasoning["debtsDue"], reasoning["debtsPaidOnTime"]) == (2, 2)
    assert reasoning["onTimeShare"] == 1.0
    assert reasoning["hardCap"] == usd("1150.00")
    for other in (late, idle):
        assert not await LimitChangeRequest.filter(customer_id=other).exists()
    # A pending proposal is not proposed again.
    assert await scaling.propose_changes() == 0


UPDATE_CUSTOMER = """
mutation($input: UpdateCustomerInput!) {
  updateCustomer(input: $input) { segment riskProfile version }
}"""


async def test_a_move_under_a_lower_hard_cap_is_refused_and_changes_nothing(gql, make_customer):
    capped = segment()
    customer = await make_customer(limit="1000.00", segment=segment())
    (await gql(SET_SEGMENT, {"input": {"segment": capped, "currency": "USD",
                                       "hardCap": usd("900.00")}})).assert_ok()
    (await gql(SET_SEGMENT, {"input": {"segment": capped, "currency": "USD",
                                       "riskProfile": "HIGH",
                                       "hardCap": usd("800.00")}})).assert_ok()
    moved = await gql(UPDATE_CUSTOMER, {"input": {"id": customer, "segment": capped,
                                                  "expectedVersion": 1}})
    assert moved.error_code == "BAD_USER_INPUT"
    assert moved.errors[0]["extensions"]["field"] == "segment"
    assert "hard cap of 900.00 USD for segment" in moved.errors[0]["message"]
    (await gql(SET_LIMIT, {"input": {"customerId": customer, "limit": usd("850.00")}})
     ).assert_ok()
    # 850 fits the segment's cap but not the HIGH risk profile's within it.
    both = await gql(UPDATE_CUSTOMER, {"input": {"id": customer, "segment": capped,
                                                 "riskProfile": "HIGH",
                                                 "expectedVersion": 1}})
    assert both.error_code == "BAD_USER_INPUT"
    assert "hard cap of 800.00 USD" in both.errors[0]["message"]
    assert "risk profile HIGH" in both.errors[0]["message"]
    fits = (await gql(UPDATE_CUSTOMER, {"input": {"id": customer, "segment": capped,
                                                  "expectedVersion": 1}})).data
    assert fits["updateCustomer"] == {"segment": capped, "riskProfile": "MEDIUM",
                                      "version": 2}
    risky = await gql(UPDATE_CUSTOMER, {"input": {"id": customer, "riskProfile": "HIGH",
                                                  "expectedVersion": 2}})
    assert risky.error_code == "BAD_USER_INPUT"
    assert risky.errors[0]["extensions"]["field"] == "riskProfile"
