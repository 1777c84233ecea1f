"""Invariant 4: idempotent writes.

Same key + same request: the first result again, declines included.
Same key + different request: CONFLICT. Concurrent duplicates do the work once.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from testkit import raise_limit

AUTHORIZE = """
mutation($input: AuthorizeCreditInput!) {
  authorizeCredit(input: $input) {
    __typename
    ... on Hold { id status amount { amount } }
    ... on CreditDeclined { reason message available { amount currency } }
  }
}"""

POST_ENTRY = """
mutation($input: PostLedgerEntryInput!) {
  postLedgerEntry(input: $input) {
    __typename
    ... on LedgerEntry { id kind amount { amount } }
    ... on CreditDeclined { reason message available { amount currency } }
  }
}"""

REVERSE = """
mutation($input: ReverseLedgerEntryInput!) {
  reverseLedgerEntry(input: $input) { id kind amount { amount } reversesId }
}"""

CAPTURE = """
mutation($input: CaptureHoldInput!) {
  captureHold(input: $input) { id status captured { amount } }
}"""

CREATE_CUSTOMER = """
mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { id name } }"""

UPDATE_CUSTOMER = """
mutation($input: UpdateCustomerInput!) { updateCustomer(input: $input) { id } }"""


ACCOUNT = """
query($id: ID!) {
  customer(id: $id) {
    creditAccount { balance { amount } held { amount } }
    holds { id }
    ledger(first: 100) { edges { node { id kind amount { amount } } } }
  }
}"""

CUSTOMERS = """
query($name: String!) {
  customers(first: 100, filter: { nameContains: $name }) { edges { node { id } } }
}"""


def usd(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "USD"}


def new_key() -> str:
    return f"idem-{uuid.uuid4().hex}"


async def state(gql: Any, customer_id: str) -> dict[str, Any]:
    data = (await gql(ACCOUNT, {"id": customer_id})).data["customer"]
    return {"balance": data["creditAccount"]["balance"]["amount"],
            "held": data["creditAccount"]["held"]["amount"],
            "holds": [h["id"] for h in data["holds"]],
            "entries": [e["node"] for e in data["ledger"]["edges"]]}


def conflict_on_key(result: Any) -> None:
    assert result.error_code == "CONFLICT"
    assert result.errors[0]["extensions"]["field"] == "idempotencyKey"


# --- authorizeCredit ---------------------------------------------------------------------


async def test_a_repeated_authorization_returns_the_same_hold(gql, make_customer):
    customer_id = await make_customer("1000.00")
    request = {"input": {"customerId": customer_id, "amount": usd("250.00"),
                         "reference": "gate-1", "idempotencyKey": new_key()}}

    first = (await gql(AUTHORIZE, request)).data["authorizeCredit"]
    second = (await gql(AUTHORIZE, request)).data["authorizeCredit"]

    assert first["__typename"] == second["__typename"] == "Hold"
    assert second["id"] == first["id"]
    assert await state(gql, customer_id) == {"balance": "0.00", "held": "250.00",
                                             "holds": [first["id"]], "entries": []}


async def test_a_repeated_decline_replays_even_after_the_limit_was_raised(gql, make_customer):
    customer_id = await make_customer("1000.00")
    request = {"input": {"customerId": customer_id, "amount": usd("1500.00"),
                         "idempotencyKey": new_key()}}
    first = (await gql(AUTHORIZE, request)).data["authorizeCredit"]
    await raise_limit(gql, customer_id, "5000.00")

    replay = (await gql(AUTHORIZE, request)).data["authorizeCredit"]

    assert first["__typename"] == "CreditDeclined"
    assert first["reason"] == "LIMIT_EXCEEDED"
    assert first["available"] == usd("1000.00")
    assert replay == first
    assert (await state(gql, customer_id))["held"] == "0.00"
    # The same request under a new key is decided afresh.
    fresh = (await gql(AUTHORIZE, {"input": request["input"] | {"idempotencyKey": new_key()}})
             ).data["authorizeCredit"]
    assert fresh["__typename"] == "Hold"


async def test_a_repeated_approval_replays_even_after_the_customer_was_blocked(gql,
                                                                               make_customer):
    customer_id = await make_customer("1000.00")
    request = {"input": {"customerId": customer_id, "amount": usd("10.00"),
                         "idempotencyKey": new_key()}}
    first = (await gql(AUTHORIZE, request)).data["authorizeCredit"]
    (await gql(UPDATE_CUSTOMER, {"input": {"id": customer_id, "expectedVersion": 1,
                                           "status": "BLOCKED"}})).assert_ok()

    replay = (await gql(AUTHORIZE, request)).data["authorizeCredit"]

    assert replay == first


@pytest.mark.parametrize("change", [
    {"amount": usd("250.01")},
    {"reference": "gate-2"},
    {"expiresInSeconds": 60},
])
async def test_a_key_reused_for_a_different_authorization_is_a_conflict(gql, make_customer,
                                                                        change):
    customer_id = await make_customer("1000.00")
    original = {"customerId": customer_id, "amount": usd("250.00"), "reference": "gate-1",
                "idempotencyKey": new_key()}
    (await gql(AUTHORIZE, {"input": original})).assert_ok()
    before = await state(gql, customer_id)

    result = await gql(AUTHORIZE, {"input": original | change})

    conflict_on_key(result)
    assert await state(gql, customer_id) == before


async def test_a_key_reused_for_another_customer_is_a_conflict(gql, make_customer):
    key = new_key()
    first, other = await make_customer("1000.00"), await make_customer("1000.00")
    (await gql(AUTHORIZE, {"input": {"customerId": first, "amount": usd("1.00"),
                                     "idempotencyKey": key}})).assert_ok()

    result = await gql(AUTHORIZE, {"input": {"customerId": other, "amount": usd("1.00"),
                                             "idempotencyKey": key}})

    conflict_on_key(result)
    assert (await state(gql, other))["holds"] == []


async def test_a_refused_request_does_not_use_up_its_key(gql, make_customer):
    customer_id = await make_customer("1000.00")
    key = new_key()
    refused = await gql(AUTHORIZE, {"input": {"customerId": customer_id, "amount": usd("1.00"),
                                              "siteId": str(uuid.uuid4()),
                                              "idempotencyKey": key}})
    assert refused.error_code == "NOT_FOUND"

    hold = (await gql(AUTHORIZE, {"input": {"customerId": customer_id, "amount": usd("1.00"),
                                            "idempotencyKey": key}})).data["authorizeCredit"]

    assert hold["__typename"] == "Hold"


async def test_concurrent_duplicates_create_exactly_one_hold(gql, make_customer):
    customer_id = await make_customer("1000.00")
    request = {"input": {"customerId": customer_id, "amount": usd("10.00"),
                         "idempotencyKey": new_key()}}

    results = await asyncio.gather(*(gql(AUTHORIZE, request) for _ in range(20)))

    hold_ids = {r.data["authorizeCredit"]["id"] for r in results}
    assert len(hold_ids) == 1
    after = await state(gql, customer_id)
    assert after["holds"] == list(hold_ids)
    assert after["held"] == "10.00"


async def test_concurrent_duplicate_declines_all_answer_the_same(gql, make_customer):
    customer_id = await make_customer("5.00")
    request = {"input": {"customerId": customer_id, "amount": usd("10.00"),
                         "idempotencyKey": new_key()}}

    results = await asyncio.gather(*(gql(AUTHORIZE, request) for _ in range(20)))

    answers = [r.data["authorizeCredit"] for r in results]
    assert all(a == answers[0] for a in answers)
    assert answers[0]["reason"] == "LIMIT_EXCEEDED"


# --- postLedgerEntry ---------------------------------------------------------------------


async def test_a_repeated_posting_returns_the_same_entry_and_moves_the_balance_once(
        gql, make_customer):
    customer_id = await make_customer("1000.00")
    request = {"input": {"customerId": customer_id, "kind": "PAYMENT", "amount": usd("80.00"),
                         "externalRef": "pay_123", "idempotencyKey": new_key()}}

    first = (await gql(POST_ENTRY, request)).data["postLedgerEntry"]
    second = (await gql(POST_ENTRY, request)).data["postLedgerEntry"]

    assert second == first
    after = await state(gql, customer_id)
    assert after["balance"] == "-80.00"
    assert [e["id"] for e in after["entries"]] == [first["id"]]


async def test_a_repeated_declined_posting_replays_the_decline(gql, make_customer):
    customer_id = await make_customer("100.00")
    request = {"input": {"customerId": customer_id, "kind": "CHARGE", "amount": usd("150.00"),
                         "idempotencyKey": new_key()}}
    first = (await gql(POST_ENTRY, request)).data["postLedgerEntry"]
    await raise_limit(gql, customer_id, "1000.00")

    replay = (await gql(POST_ENTRY, request)).data["postLedgerEntry"]

    assert first["__typename"] == "CreditDeclined"
    assert replay == first
    assert (await state(gql, customer_id))["entries"] == []


@pytest.mark.parametrize("change", [
    {"amount": usd("80.01")},
    {"kind": "CREDIT_NOTE"},
    {"externalRef": "pay_124"},
    {"description": "late"},
    {"occurredAt": "2024-01-01T00:00:00Z"},
])
async def test_a_key_reused_for_a_different_posting_is_a_conflict(gql, make_customer, change):
    customer_id = await make_customer("1000.00")
    original = {"customerId": customer_id, "kind": "PAYMENT", "amount": usd("80.00"),
                "externalRef": "pay_123", "idempotencyKey": new_key()}
    (await gql(POST_ENTRY, {"input": original})).assert_ok()

    result = await gql(POST_ENTRY, {"input": original | change})

    conflict_on_key(result)
    assert (await state(gql, customer_id))["balance"] == "-80.00"


async def test_concurrent_duplicate_postings_write_one_entry(gql, make_customer):
    customer_id = await make_customer("1000.00")
    request = {"input": {"customerId": customer_id, "kind": "CHARGE", "amount": usd("7.00"),
                         "idempotencyKey": new_key()}}

    results = await asyncio.gather(*(gql(POST_ENTRY, request) for _ in range(20)))

    assert len({r.data["postLedgerEntry"]["id"] for r in results}) == 1
    after = await state(gql, customer_id)
    assert after["balance"] == "7.00"
    assert len(after["entries"]) == 1


# --- reverseLedgerEntry ------------------------------------------------------------------


async def test_a_repeated_reversal_returns_the_same_reversal(gql, make_customer):
    customer_id = await make_customer("1000.00")
    entry = (await gql(POST_ENTRY, {"input": {"customerId": customer_id, "kind": "CHARGE",
                                              "amount": usd("30.00")}})
             ).data["postLedgerEntry"]
    request = {"input": {"entryId": entry["id"], "reason": "typo", "idempotencyKey": new_key()}}

    first = (await gql(REVERSE, request)).data["reverseLedgerEntry"]
    second = (await gql(REVERSE, request)).data["reverseLedgerEntry"]

    assert second == first
    assert (await state(gql, customer_id))["balance"] == "0.00"
    conflict_on_key(await gql(REVERSE, {"input": request["input"] | {"reason": "other"}}))


# --- captureHold -------------------------------------------------------------------------


async def test_a_repeated_capture_returns_the_hold_and_charges_once(gql, make_customer):
    customer_id = await make_customer("1000.00")
    hold = (await gql(AUTHORIZE, {"input": {"customerId": customer_id,
                                            "amount": usd("100.00")}})).data["authorizeCredit"]
    request = {"input": {"holdId": hold["id"], "amount": usd("60.00"),
                         "idempotencyKey": new_key()}}

    first = (await gql(CAPTURE, request)).data["captureHold"]
    second = (await gql(CAPTURE, request)).data["captureHold"]

    assert first == second == {"id": hold["id"], "status": "CAPTURED",
                               "captured": {"amount": "60.00"}}
    after = await state(gql, customer_id)
    assert after["balance"] == "60.00"
    assert after["held"] == "0.00"
    assert [e["kind"] for e in after["entries"]] == ["CHARGE"]


async def test_a_key_reused_for_a_different_capture_is_a_conflict(gql, make_customer):
    customer_id = await make_customer("1000.00")
    hold = (await gql(AUTHORIZE, {"input": {"customerId": customer_id,
                                            "amount": usd("100.00")}})).data["authorizeCredit"]
    key = new_key()
    (await gql(CAPTURE, {"input": {"holdId": hold["id"], "amount": usd("60.00"),
                                   "idempotencyKey": key}})).assert_ok()

    result = await gql(CAPTURE, {"input": {"holdId": hold["id"], "amount": usd("70.00"),
                                           "idempotencyKey": key}})

    conflict_on_key(result)
    assert (await state(gql, customer_id))["balance"] == "60.00"


async def test_a_capture_without_a_key_is_not_replayed(gql, make_customer):
    customer_id = await make_customer("1000.00")
    hold = (await gql(AUTHORIZE, {"input": {"customerId": customer_id,
                                            "amount": usd("100.00")}})).data["authorizeCredit"]
    (await gql(CAPTURE, {"input": {"holdId": hold["id"]}})).assert_ok()

    again = await gql(CAPTURE, {"input": {"holdId": hold["id"]}})

    assert again.error_code == "CONFLICT"
    assert again.errors[0]["extensions"]["field"] == "holdId"


# --- createCustomer ----------------------------------------------------------------------


def customer_input(name: str, key: str, change: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"input": {"name": name, "segment": "haulage", "currency": "USD",
                      "creditLimit": usd("500.00"), "idempotencyKey": key} | (change or {})}


async def test_a_repeated_create_customer_returns_the_same_customer(gql):
    name = f"Idempotent {uuid.uuid4().hex[:8]}"
    request = customer_input(name, new_key())

    first = (await gql(CREATE_CUSTOMER, request)).data["createCustomer"]
    second = (await gql(CREATE_CUSTOMER, request)).data["createCustomer"]

    assert second == first
    found = (await gql(CUSTOMERS, {"name": name})).data["customers"]["edges"]
    assert [edge["node"]["id"] for edge in found] == [first["id"]]


@pytest.mark.parametrize("change", [
    {"name": "Someone Else"},
    {"creditLimit": usd("500.01")},
    {"segment": "retail"},
])
async def test_a_key_reused_for_a_different_customer_is_a_conflict(gql, change):
    name = f"Idempotent {uuid.uuid4().hex[:8]}"
    key = new_key()
    (await gql(CREATE_CUSTOMER, customer_input(name, key))).assert_ok()

    result = await gql(CREATE_CUSTOMER, customer_input(name, key, change))

    conflict_on_key(result)
    found = (await gql(CUSTOMERS, {"name": name})).data["customers"]["edges"]
    assert len(found) == 1


async def test_concurrent_duplicate_create_customer_creates_one(gql):
    name = f"Idempotent {uuid.uuid4().hex[:8]}"
    request = customer_input(name, new_key())

    results = await asyncio.gather(*(gql(CREATE_CUSTOMER, request) for _ in range(10)))

    assert len({r.data["createCustomer"]["id"] for r in results}) == 1
    found = (await gql(CUSTOMERS, {"name": name})).data["customers"]["edges"]
    assert len(found) == 1
