"""Velocity triggers: windowed spend and authorisation counts, evaluated in the write path
from per-customer buckets, at their windows' edges, with each action."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from policykit import AUTHORIZE, Api, usd

from ccm_gateway.audit.models import AuditEvent
from ccm_gateway.customer.models import Customer
from ccm_gateway.ledger.models import CreditAccount
from ccm_gateway.policy import evaluate
from ccm_gateway.policy.models import ApprovalPolicy, LimitChangeRequest, VelocityCounter

# A whole hour, so the 1 h window's minute buckets start exactly here.
T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def at(self, seconds: float) -> None:
        self.now = T0 + timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(evaluate, "clock", clock)
    return clock


async def velocity_alerts(api: Api, customer: str) -> list[dict[str, Any]]:
    return list(reversed(await api.alerts(customer, "credit.velocity")))


async def test_authorisations_count_within_the_window_and_not_past_it(
        api: Api, make_customer: Any, clock: Clock):
    inside, outside = await make_customer(), await make_customer()
    for customer in (inside, outside):
        await api.velocity_rule(customerId=customer, metric="AUTHORIZATIONS",
                                windowSeconds=3600, count=2, action="ALERT")
        await api.hold(customer, "1.00")
        await api.hold(customer, "1.00")
    clock.at(3599)  # the last second in which holds placed at T0 still count
    await api.hold(inside, "1.00")
    clock.at(3600)  # one window later: they have dropped out
    await api.hold(outside, "1.00")
    assert await velocity_alerts(api, outside) == []
    [alert] = await velocity_alerts(api, inside)
    assert alert["severity"] == "WARNING"
    assert alert["message"].endswith("3 authorisations in the last 1 h, more than 2")
    details = alert["details"]
    assert details["metric"] == "AUTHORIZATIONS"
    assert details["windowSeconds"] == 3600
    assert details["figure"] == 3
    assert details["threshold"] == 2
    assert details["windowStart"] == T0.isoformat()  # the oldest bucket still counted
    assert alert["rule"]["__typename"] == "VelocityRule"


async def test_a_window_counts_its_oldest_bucket_until_it_is_a_window_old(
        api: Api, make_customer: Any, clock: Clock):
    customer = await make_customer()
    await api.velocity_rule(customerId=customer, metric="AUTHORIZATIONS", windowSeconds=120,
                            count=1, action="ALERT")
    clock.at(59)  # late in the bucket of T0
    await api.hold(customer, "1.00")
    clock.at(179)  # 120 s later, the bucket of T0 is out: only 1
    await api.hold(customer, "1.00")
    assert await velocity_alerts(api, customer) == []
    clock.at(180)
    await api.hold(customer, "1.00")  # the buckets of 120 s and 180 s: 2 > 1
    assert len(await velocity_alerts(api, customer)) == 1


async def test_it_fires_once_until_the_figure_falls_back(
        api: Api, make_customer: Any, clock: Clock):
    customer = await make_customer()
    await api.velocity_rule(customerId=customer, metric="AUTHORIZATIONS", windowSeconds=60,
                            count=1, action="ALERT")
    for _ in range(4):  # fires on the 2nd, not again on the 3rd and 4th
        await api.hold(customer, "1.00")
    assert len(await velocity_alerts(api, customer)) == 1
    clock.at(60)
    await api.hold(customer, "1.00")  # a new window: 1, fallen back, re-armed
    await api.hold(customer, "1.00")  # 2 > 1 again
    assert len(await velocity_alerts(api, customer)) == 2


async def test_spend_counts_charges_and_captures_and_puts_the_customer_on_hold(
        api: Api, gql: Any, make_customer: Any, clock: Clock):
    customer = await make_customer(limit="10000.00")
    await api.velocity_rule(customerId=customer, metric="SPEND_AMOUNT", windowSeconds=86400,
                            amount=usd("500.00"), action="PUT_ON_HOLD")
    hold = await api.hold(customer, "300.00")  # a hold is not spend
    await api.entry(customer, "CHARGE", "200.00")
    await api.entry(customer, "PAYMENT", "100.00")  # a payment takes nothing off spend
    assert (await Customer.get(id=customer)).status == "active"
    clock.at(23 * 3600)
    await api.capture(hold)  # 500.00 exactly: not above
    assert (await Customer.get(id=customer)).status == "active"
    await api.entry(customer, "CHARGE", "0.01")
    assert (await Customer.get(id=customer)).status == "on_hold"
    [alert] = await velocity_alerts(api, customer)
    assert alert["severity"] == "CRITICAL"
    assert alert["details"]["figure"] == usd("500.01")
    assert alert["details"]["threshold"] == usd("500.00")
    assert "put on hold" in alert["message"]
    audited = await AuditEvent.filter(object_id=customer, action="customer.put_on_hold").count()
    assert audited == 1
    declined = await gql(AUTHORIZE, {"input": {"customerId": customer, "amount": usd("1.00")}})
    assert declined.data["authorizeCredit"] == {"__typename": "CreditDeclined",
                                                "reason": "ACCOUNT_ON_HOLD"}


async def test_a_share_of_the_limit_proposes_a_limit_change_for_approval(
        api: Api, make_customer: Any, clock: Clock):
    customer = await make_customer(limit="1000.00")
    await api.velocity_rule(customerId=customer, metric="SPEND_SHARE", windowSeconds=604800,
                            sharePercent=50, action="PROPOSE_LIMIT_CHANGE",
                            proposedIncreasePercent=20)
    await api.entry(customer, "CHARGE", "300.00")
    clock.at(6 * 86400)
    await api.entry(customer, "CHARGE", "250.00")  # 55 % of the limit in 7 d
    [request] = await LimitChangeRequest.filter(customer_id=customer)
    assert (request.status, request.source) == ("pending", "velocity")
    assert (request.current_limit_minor, request.requested_limit_minor) == (100000, 120000)
    assert request.required_approvals >= 1  # never applied without approvals
    assert request.reasoning is not None
    assert request.reasoning["explanation"] == (
        "spend of 550.00 USD in the last 7 d, over 50 % of the limit")
    assert request.reasoning["windowSeconds"] == 604800
    [alert] = await velocity_alerts(api, customer)
    assert alert["details"]["requestId"] == str(request.id)
    assert "proposed a limit of 1200.00 USD for approval" in alert["message"]


SET_BANDS = """
mutation($input: SetApprovalPolicyInput!) { setApprovalPolicy(input: $input) { version } }"""


@pytest.fixture
async def no_approvals_up_to_half(gql: Any) -> Any:
    """Increases of up to 50 % need no approval, for one test."""
    saved = (await ApprovalPolicy.get(id=1)).bands
    bands = [{"maxIncreasePercent": "50", "approvals": 0, "roles": []},
             {"approvals": 1, "roles": ["finance"]}]
    (await gql(SET_BANDS, {"input": {"bands": bands}})).assert_ok()
    yield
    await ApprovalPolicy.filter(id=1).update(bands=saved)


async def test_a_proposal_in_a_band_of_no_approvals_is_applied_at_once(
        api: Api, make_customer: Any, clock: Clock, no_approvals_up_to_half: Any):
    customer = await make_customer(limit="1000.00")
    await api.velocity_rule(customerId=customer, metric="SPEND_SHARE", windowSeconds=604800,
                            sharePercent=50, action="PROPOSE_LIMIT_CHANGE",
                            proposedIncreasePercent=20)
    await api.entry(customer, "CHARGE", "550.00")
    [request] = await LimitChangeRequest.filter(customer_id=customer)
    assert (request.status, request.required_approvals) == ("applied", 0)
    account = await CreditAccount.get(customer_id=customer)
    assert account.credit_limit_minor == 120000
    assert await AuditEvent.filter(object_id=request.id, action="limit_change.applied").exists()
    [alert] = await velocity_alerts(api, customer)
    assert alert["details"]["requestId"] == str(request.id)
    assert "raised the limit to 1200.00 USD" in alert["message"]


async def test_a_hold_that_raises_the_limit_audits_the_exposure_it_placed(
        api: Api, make_customer: Any, clock: Clock, no_approvals_up_to_half: Any):
    customer = await make_customer(limit="1000.00")
    await api.velocity_rule(customerId=customer, metric="AUTHORIZATIONS", windowSeconds=3600,
                            count=1, action="PROPOSE_LIMIT_CHANGE", proposedIncreasePercent=10)
    await api.hold(customer, "100.00")
    await api.hold(customer, "250.00")  # the second in the hour: over the count
    account = await CreditAccount.get(customer_id=customer)
    assert (account.credit_limit_minor, account.held_minor) == (110000, 35000)
    [raised] = await AuditEvent.filter(object_id=customer, action="credit.set_limit")
    assert raised.before is not None and raised.after is not None
    assert (raised.before["held_minor"], raised.after["held_minor"]) == (35000, 35000)
    assert raised.after["credit_limit_minor"] == 110000
    # The raised limit holds the next hold too: 1100.00 - 350.00 is available.
    await api.hold(customer, "750.00")


async def test_a_customer_no_rule_concerns_keeps_no_counters(api: Api, make_customer: Any):
    customer = await make_customer()
    await api.hold(customer, "1.00")
    await api.entry(customer, "CHARGE", "1.00")
    assert await VelocityCounter.filter(customer_id=customer).count() == 0


async def test_a_segment_rule_applies_and_a_disabled_customer_rule_switches_it_off(
        api: Api, make_customer: Any, clock: Clock):
    segment = "velocity-segment"
    watched = await make_customer(segment=segment)
    exempt = await make_customer(segment=segment)
    await api.velocity_rule(segment=segment, metric="AUTHORIZATIONS", windowSeconds=60,
                            count=0, action="ALERT")
    await api.velocity_rule(customerId=exempt, metric="AUTHORIZATIONS", windowSeconds=60,
                            count=0, action="ALERT", enabled=False)
    for customer in (watched, exempt):
        await api.hold(customer, "1.00")
    assert len(await velocity_alerts(api, watched)) == 1
    assert await velocity_alerts(api, exempt) == []
