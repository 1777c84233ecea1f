"""Utilisation thresholds: once per upward crossing, re-armed below the hysteresis, at 80 %
and 100 % by default, on site sub-limits, overridden per segment and per customer."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from policykit import AUTHORIZE, SET_SITE_LIMIT, Api, usd
from testkit import raise_limit

from ccm_gateway.policy.models import AlertRuleState


async def test_a_threshold_fires_once_when_exposure_crosses_it(api: Api, make_customer: Any):
    customer = await make_customer(limit="1000.00")
    await api.hold(customer, "790.00")
    assert await api.thresholds(customer) == []
    await api.hold(customer, "10.00")  # 800.00: at 80 %, which counts as crossing
    await api.hold(customer, "50.00")  # still above: no second alert
    alerts = await api.alerts(customer, "credit.threshold")
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert["severity"] == "WARNING"
    assert alert["details"] == {"thresholdPercent": 80.0, "hysteresisPercent": 5.0,
                                "utilization": 0.8, "exposure": usd("800.00"),
                                "limit": usd("1000.00"), "siteId": None}
    assert alert["rule"] == {"__typename": "AlertRule",
                             "id": "00000000-0000-4000-8000-000000008000",
                             "thresholdPercent": 80.0}


async def test_it_re_arms_only_below_the_threshold_minus_the_hysteresis(
        api: Api, make_customer: Any):
    customer = await make_customer(limit="1000.00")
    base = await api.hold(customer, "700.00")
    top = await api.hold(customer, "100.00")  # 800.00: fires
    await api.void(top)  # 700.00: 70 %, below 75 %: re-armed, resolved
    assert await api.thresholds(customer) == [("credit.threshold", 80.0),
                                              ("credit.threshold.resolved", 80.0)]
    await api.hold(customer, "60.00")  # 760.00
    dip = await api.hold(customer, "50.00")  # 810.00: fires again (re-armed)
    await api.void(dip)  # 760.00: 76 %, not below 75 %: still fired, no resolved alert
    await api.hold(customer, "50.00")  # 810.00 again: no alert, it has not re-armed
    await api.void(base)  # 110.00: below 75 %: resolved
    assert await api.thresholds(customer) == [
        ("credit.threshold", 80.0), ("credit.threshold.resolved", 80.0),
        ("credit.threshold", 80.0), ("credit.threshold.resolved", 80.0)]
    resolved = (await api.alerts(customer, "credit.threshold.resolved"))[0]
    assert resolved["severity"] == "INFO"
    assert resolved["details"]["exposure"] == usd("110.00")


async def test_reaching_the_limit_fires_80_and_100_percent(api: Api, make_customer: Any):
    customer = await make_customer(limit="500.00")
    await api.hold(customer, "500.00")
    assert await api.thresholds(customer) == [("credit.threshold", 80.0),
                                              ("credit.threshold", 100.0)]
    at_limit = next(a for a in await api.alerts(customer, "credit.threshold")
                if a["details"]["thresholdPercent"] == 100.0)
    assert at_limit["severity"] == "CRITICAL"
    assert at_limit["details"]["utilization"] == 1.0


async def test_every_kind_of_exposure_change_is_evaluated(api: Api, make_customer: Any):
    customer = await make_customer(limit="1000.00")
    await api.entry(customer, "CHARGE", "850.00")  # an entry
    await api.entry(customer, "PAYMENT", "850.00")  # back to 0: resolved
    hold = await api.hold(customer, "900.00")  # a hold
    await api.capture(hold)  # a capture moves held to posted: no crossing
    assert await api.thresholds(customer) == [
        ("credit.threshold", 80.0), ("credit.threshold.resolved", 80.0),
        ("credit.threshold", 80.0)]


async def test_a_lower_limit_crosses_thresholds_too(api: Api, make_customer: Any):
    customer = await make_customer(limit="1000.00")
    await api.hold(customer, "500.00")
    await api.set_limit(customer, "600.00")  # 83 %
    # 50 %: resolved. A raise of two thirds goes through its approvals.
    await raise_limit(api.gql, customer, "1000.00")
    assert await api.thresholds(customer) == [("credit.threshold", 80.0),
                                              ("credit.threshold.resolved", 80.0)]


async def test_200_concurrent_holds_across_80_percent_raise_exactly_one_alert(
        api: Api, gql: Any, make_customer: Any):
    customer = await make_customer(limit="1000.00")
    await api.hold(customer, "790.00")
    payload = {"customerId": customer, "amount": usd("0.10")}
    results = await asyncio.gather(*(gql(AUTHORIZE, {"input": payload}) for _ in range(200)))
    assert all(r.data["authorizeCredit"]["__typename"] == "Hold" for r in results)
    alerts = await api.alerts(customer, "credit.threshold")
    assert len(alerts) == 1
    assert alerts[0]["details"]["exposure"] == usd("800.00")  # the hold that crossed it
    state = await AlertRuleState.filter(customer_id=customer).values_list("fired", flat=True)
    assert state == [True]


async def test_a_site_threshold_watches_the_sites_sub_limit(
        api: Api, gql: Any, make_customer: Any, make_site: Any):
    customer = await make_customer(limit="10000.00")
    site = await make_site()
    (await gql(SET_SITE_LIMIT, {"input": {"customerId": customer, "siteId": site,
                                          "limit": usd("100.00")}})).assert_ok()
    rule = await api.alert_rule(thresholdPercent=50, siteId=site, customerId=customer)
    await api.hold(customer, "40.00", siteId=site)
    await api.hold(customer, "40.00")  # not at the site: the sub-limit does not move
    assert await api.thresholds(customer) == []
    await api.hold(customer, "15.00", siteId=site)  # 55 % of the site's 100.00
    alerts = await api.alerts(customer, "credit.threshold")
    assert len(alerts) == 1
    assert alerts[0]["details"] == {"thresholdPercent": 50.0, "hysteresisPercent": 5.0,
                                    "utilization": 0.55, "exposure": usd("55.00"),
                                    "limit": usd("100.00"), "siteId": site}
    assert alerts[0]["rule"]["id"] == rule["id"]


async def test_a_segment_rule_overrides_the_global_one_and_a_customer_rule_both(
        api: Api, make_customer: Any):
    segment = f"seg-{uuid.uuid4().hex[:8]}"
    # The segment moves 80 % to a wider hysteresis and switches 100 % off.
    seg80 = await api.alert_rule(thresholdPercent=80, hysteresisPercent=30, segment=segment)
    await api.alert_rule(thresholdPercent=100, segment=segment, enabled=False)
    plain = await make_customer(limit="1000.00", segment=segment)
    special = await make_customer(limit="1000.00", segment=segment)
    own = await api.alert_rule(thresholdPercent=80, customerId=special,
                               recipients=["credit@example.com"])
    await api.alert_rule(thresholdPercent=100, customerId=special)  # back on for it alone
    for customer in (plain, special):
        await api.hold(customer, "600.00")
        middle = await api.hold(customer, "250.00")  # 85 %
        top = await api.hold(customer, "150.00")  # 100 %
        await api.void(top)
        await api.void(middle)  # 60 %: above the segment's 50 %, below the customer's 75 %
    assert await api.thresholds(plain) == [("credit.threshold", 80.0)]
    plain_alert = (await api.alerts(plain, "credit.threshold"))[0]
    assert plain_alert["rule"]["id"] == seg80["id"]
    assert await api.thresholds(special) == [
        ("credit.threshold", 80.0), ("credit.threshold", 100.0),
        ("credit.threshold.resolved", 100.0), ("credit.threshold.resolved", 80.0)]
    own_alerts = [a for a in await api.alerts(special, "credit.threshold")
                  if a["rule"]["id"] == own["id"]]
    assert len(own_alerts) == 1
