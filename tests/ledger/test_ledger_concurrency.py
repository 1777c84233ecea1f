"""Invariant 3 under load: no overdraft, under any concurrency.

Every request goes through the HTTP API at once (asyncio.gather); on
PostgreSQL this proves the row locks, on SQLite the single writer.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from ccm_gateway.ledger import service as ledger_service
from ccm_gateway.verify import verify_all

AUTHORIZE = """
mutation($input: AuthorizeCreditInput!) {
  authorizeCredit(input: $input) {
    __typename
    ... on Hold { id amount { amount } }
    ... on CreditDeclined { reason available { amount } }
  }
}"""

CAPTURE = """
mutation($input: CaptureHoldInput!) {
  captureHold(input: $input) { id status captured { amount } }
}"""
VOID = """mutation($input: VoidHoldInput!) { voidHold(input: $input) { id status } }"""
HOLD = """query($id: ID!) { hold(id: $id) { status amount { amount } captured { amount } } }"""

POST_ENTRY = """
mutation($input: PostLedgerEntryInput!) {
  postLedgerEntry(input: $input) {
    __typename
    ... on LedgerEntry { id amount { amount } }
    ... on CreditDeclined { reason }
  }
}"""

SET_SITE_LIMIT = """
mutation($input: SetSiteLimitInput!) { setSiteLimit(input: $input) { limit { amount } } }"""

ACCOUNT = """
query($id: ID!) {
  customer(id: $id) {
    creditAccount { limit { amount } balance { amount } held { amount } exposure { amount }
                    available { amount } }
    siteLimits { site { id } limit { amount } balance { amount } held { amount }
                 available { amount } }
    holds { id }
  }
}"""


def usd(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "USD"}


def cents(amount: str) -> int:
    whole, _, frac = amount.partition(".")
    sign = -1 if whole.startswith("-") else 1
    return sign * (abs(int(whole)) * 100 + int(frac or 0))


async def account(gql: Any, customer_id: str) -> dict[str, Any]:
    data = (await gql(ACCOUNT, {"id": customer_id})).data["customer"]
    return {
        "account": {k: v["amount"] for k, v in data["creditAccount"].items()},
        "sites": [{k: v["amount"] for k, v in s.items() if k != "site"}
                  for s in data["siteLimits"]],
        "holds": [h["id"] for h in data["holds"]],
    }


async def authorize_many(gql: Any, customer_id: str, count: int, amount: str,
                         **extra: Any) -> list[dict[str, Any]]:
    payload = {"customerId": customer_id, "amount": usd(amount)} | extra
    results = await asyncio.gather(*(gql(AUTHORIZE, {"input": payload}) for _ in range(count)))
    return [r.data["authorizeCredit"] for r in results]


async def assert_verify_clean() -> None:
    report = await verify_all()
    assert report["ok"], report


async def test_200_concurrent_holds_never_overshoot_the_limit(gql, make_customer):
    customer_id = await make_customer("1000.00")

    answers = await authorize_many(gql, customer_id, 200, "10.00")

    outcomes = Counter(a.get("reason", a["__typename"]) for a in answers)
    assert outcomes == {"Hold": 100, "LIMIT_EXCEEDED": 100}
    after = await account(gql, customer_id)
    assert after["account"] == {"limit": "1000.00", "balance": "0.00", "held": "1000.00",
                                "exposure": "1000.00", "available": "0.00"}
    assert len(after["holds"]) == 100
    assert {a["id"] for a in answers if a["__typename"] == "Hold"} == set(after["holds"])
    assert all(a["available"] == {"amount": "0.00"} for a in answers
               if a["__typename"] == "CreditDeclined")
    await assert_verify_clean()


async def test_200_concurrent_holds_never_overshoot_a_site_sub_limit(gql, make_customer,
                                                                     make_site):
    customer_id = await make_customer("100000.00")
    site_id = await make_site()
    (await gql(SET_SITE_LIMIT, {"input": {"customerId": customer_id, "siteId": site_id,
                                          "limit": usd("1000.00")}})).assert_ok()

    answers = await authorize_many(gql, customer_id, 200, "10.00", siteId=site_id)

    outcomes = Counter(a.get("reason", a["__typename"]) for a in answers)
    assert outcomes == {"Hold": 100, "SITE_LIMIT_EXCEEDED": 100}
    after = await account(gql, customer_id)
    assert after["sites"] == [{"limit": "1000.00", "balance": "0.00", "held": "1000.00",
                               "available": "0.00"}]
    assert after["account"]["held"] == "1000.00"
    assert after["account"]["exposure"] == "1000.00"
    await assert_verify_clean()


async def test_concurrent_charges_never_overshoot_the_limit(gql, make_customer):
    customer_id = await make_customer("1000.00")
    payload = {"customerId": customer_id, "kind": "CHARGE", "amount": usd("10.00")}

    results = await asyncio.gather(*(gql(POST_ENTRY, {"input": payload}) for _ in range(150)))

    outcomes = Counter(r.data["postLedgerEntry"].get("reason", "posted") for r in results)
    assert outcomes == {"posted": 100, "LIMIT_EXCEEDED": 50}
    after = await account(gql, customer_id)
    assert after["account"]["balance"] == "1000.00"
    assert after["account"]["exposure"] == "1000.00"
    await assert_verify_clean()


async def test_concurrent_holds_and_charges_share_one_limit(gql, make_customer):
    customer_id = await make_customer("1000.00")
    charge = {"customerId": customer_id, "kind": "CHARGE", "amount": usd("10.00")}
    hold = {"customerId": customer_id, "amount": usd("10.00")}

    results = await asyncio.gather(
        *(gql(POST_ENTRY, {"input": charge}) for _ in range(75)),
        *(gql(AUTHORIZE, {"input": hold}) for _ in range(75)),
    )

    approved = [r for r in results
                if "reason" not in (r.data.get("postLedgerEntry") or r.data["authorizeCredit"])]
    assert len(approved) == 100
    after = await account(gql, customer_id)
    assert after["account"]["exposure"] == "1000.00"
    assert cents(after["account"]["balance"]) + cents(after["account"]["held"]) == 100_000
    await assert_verify_clean()


async def test_concurrent_captures_voids_and_authorizations_keep_the_books_straight(
        gql, make_customer):
    customer_id = await make_customer("1000.00")
    holds = [h["id"] for h in await authorize_many(gql, customer_id, 40, "10.00")]
    raced, doubled = holds[:20], holds[20:]

    results = await asyncio.gather(
        # Each of these holds is captured in part and voided at the same time.
        *(gql(CAPTURE, {"input": {"holdId": h, "amount": usd("5.00")}}) for h in raced),
        *(gql(VOID, {"input": {"holdId": h}}) for h in raced),
        # Each of these holds is captured in full twice at the same time.
        *(gql(CAPTURE, {"input": {"holdId": h}}) for h in doubled),
        *(gql(CAPTURE, {"input": {"holdId": h}}) for h in doubled),
        # Meanwhile new holds and payments compete for what is released.
        *(gql(AUTHORIZE, {"input": {"customerId": customer_id, "amount": usd("10.00")}})
          for _ in range(100)),
        *(gql(POST_ENTRY, {"input": {"customerId": customer_id, "kind": "PAYMENT",
                                     "amount": usd("1.00")}}) for _ in range(10)),
    )

    hold_results = results[:80]
    assert all(r.errors == [] or r.error_code == "CONFLICT" for r in hold_results)
    winners = Counter()
    for r in hold_results:
        if not r.errors:
            node = r.data.get("captureHold") or r.data["voidHold"]
            winners[node["id"]] += 1
    assert winners == Counter({h: 1 for h in holds})  # exactly one action won per hold

    captured_cents = 0
    for hold_id in holds:
        final = (await gql(HOLD, {"id": hold_id})).data["hold"]
        assert final["status"] in ("CAPTURED", "VOIDED")
        captured_cents += cents(final["captured"]["amount"])
    assert all(r.errors == [] for r in results[80 + 100:])  # payments always post
    new_holds = [r.data["authorizeCredit"] for r in results[80:180]]
    approved = sum(1 for h in new_holds if h["__typename"] == "Hold")

    after = await account(gql, customer_id)
    assert cents(after["account"]["balance"]) == captured_cents - 10 * 100
    assert cents(after["account"]["held"]) == approved * 1000
    assert len(after["holds"]) == approved
    assert cents(after["account"]["exposure"]) <= 100_000
    assert cents(after["account"]["exposure"]) == \
        cents(after["account"]["balance"]) + cents(after["account"]["held"])
    await assert_verify_clean()


async def test_concurrent_reversals_of_one_entry_reverse_it_once(gql, make_customer):
    customer_id = await make_customer("1000.00")
    entry = (await gql(POST_ENTRY, {"input": {"customerId": customer_id, "kind": "CHARGE",
                                              "amount": usd("40.00")}})).data["postLedgerEntry"]
    reverse = """mutation($input: ReverseLedgerEntryInput!) {
        reverseLedgerEntry(input: $input) { id } }"""

    results = await asyncio.gather(*(gql(reverse, {"input": {"entryId": entry["id"]}})
                                     for _ in range(10)))

    assert Counter(r.error_code if r.errors else "reversed" for r in results) == {
        "reversed": 1, "CONFLICT": 9}
    assert (await account(gql, customer_id))["account"]["balance"] == "0.00"
    await assert_verify_clean()


async def test_a_capture_racing_the_expiry_sweep_has_one_winner(gql, make_customer):
    customer_id = await make_customer("1000.00")
    [hold] = await authorize_many(gql, customer_id, 1, "10.00", expiresInSeconds=60)
    hold_query = """query($id: ID!) { hold(id: $id) { expiresAt } }"""
    expires_at = (await gql(hold_query, {"id": hold["id"]})).data["hold"]["expiresAt"]
    sweep_time = datetime.fromisoformat(expires_at) + timedelta(seconds=1)

    async def sweep() -> None:
        while await ledger_service.expire_holds(now=sweep_time):
            pass

    capture, _ = await asyncio.gather(gql(CAPTURE, {"input": {"holdId": hold["id"]}}), sweep())

    final = (await gql(HOLD, {"id": hold["id"]})).data["hold"]
    after = (await account(gql, customer_id))["account"]
    if capture.errors:
        assert capture.error_code == "CONFLICT"
        assert final["status"] == "EXPIRED"
        assert after["balance"] == "0.00"
    else:
        assert final["status"] == "CAPTURED"
        assert after["balance"] == "10.00"
    assert after["held"] == "0.00"
    await assert_verify_clean()
