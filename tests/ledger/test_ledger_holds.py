"""Holds: authorise (approve or decline with a reason), capture, void and expire.

Invariant 3: exposure = posted balance + pending holds never goes over the
limit (or a site sub-limit); every decline says why and how much is left.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ccm_gateway.ledger import service as ledger_service
from ccm_gateway.ledger.models import Hold

ACCOUNT = """
query($id: ID!) {
  customer(id: $id) {
    status version
    creditAccount {
      limit { amount currency } balance { amount currency } held { amount currency }
      exposure { amount currency } available { amount currency }
    }
    siteLimits { site { id } limit { amount } balance { amount } held { amount }
                 available { amount } }
    holds { id }
  }
}"""

AUTHORIZE = """
mutation($input: AuthorizeCreditInput!) {
  authorizeCredit(input: $input) {
    __typename
    ... on Hold { id status reference expiresAt amount { amount currency }
                  captured { amount currency } site { id } }
    ... on CreditDeclined { reason message available { amount currency } }
  }
}"""

HOLD_FIELDS = "id status amount { amount currency } captured { amount currency } site { id }"
CAPTURE = f"""
mutation($input: CaptureHoldInput!) {{ captureHold(input: $input) {{ {HOLD_FIELDS} }} }}"""
VOID = f"mutation($input: VoidHoldInput!) {{ voidHold(input: $input) {{ {HOLD_FIELDS} }} }}"
HOLD = f"query($id: ID!) {{ hold(id: $id) {{ {HOLD_FIELDS} }} }}"

LEDGER = """
query($id: ID!) {
  customer(id: $id) {
    ledger(first: 100) { edges { node {
      id kind amount { amount currency } holdId externalRef site { id } description
    } } }
  }
}"""

POST_ENTRY = """
mutation($input: PostLedgerEntryInput!) {
  postLedgerEntry(input: $input) {
    __typename
    ... on LedgerEntry { id amount { amount } }
    ... on CreditDeclined { reason }
  }
}"""

UPDATE_CUSTOMER = """
mutation($input: UpdateCustomerInput!) { updateCustomer(input: $input) { status version } }"""

SET_SITE_LIMIT = """
mutation($input: SetSiteLimitInput!) {
  setSiteLimit(input: $input) { limit { amount } balance { amount } held { amount } }
}"""

CREDIT_CHECK = """
query($customerId: ID!, $amount: MoneyInput!, $siteId: ID) {
  creditCheck(customerId: $customerId, amount: $amount, siteId: $siteId) {
    approved reason message available { amount currency }
  }
}"""


def usd(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "USD"}


async def account(gql: Any, customer_id: str) -> dict[str, str]:
    """The credit account as plain amounts: {"limit": "1000.00", "balance": ..., ...}."""
    data = (await gql(ACCOUNT, {"id": customer_id})).data["customer"]["creditAccount"]
    return {name: money["amount"] for name, money in data.items()}


async def customer(gql: Any, customer_id: str) -> dict[str, Any]:
    return (await gql(ACCOUNT, {"id": customer_id})).data["customer"]


async def authorize(gql: Any, customer_id: str, amount: str, currency: str = "USD",
                    **extra: Any) -> dict[str, Any]:
    payload = {"customerId": customer_id, "amount": {"amount": amount, "currency": currency}}
    result = await gql(AUTHORIZE, {"input": payload | extra})
    return result.data["authorizeCredit"]


async def approved_hold(gql: Any, customer_id: str, amount: str, **extra: Any) -> dict[str, Any]:
    hold = await authorize(gql, customer_id, amount, **extra)
    assert hold["__typename"] == "Hold", hold
    return hold


async def ledger(gql: Any, customer_id: str) -> list[dict[str, Any]]:
    data = (await gql(LEDGER, {"id": customer_id})).data["customer"]["ledger"]
    return [edge["node"] for edge in data["edges"]]


async def set_status(gql: Any, customer_id: str, status: str) -> None:
    version = (await customer(gql, customer_id))["version"]
    result = await gql(UPDATE_CUSTOMER, {"input": {"id": customer_id, "expectedVersion": version,
                                                   "status": status}})
    assert result.data["updateCustomer"]["status"] == status


async def set_site_limit(gql: Any, customer_id: str, site_id: str, limit: str) -> None:
    result = await gql(SET_SITE_LIMIT, {"input": {"customerId": customer_id, "siteId": site_id,
                                                  "limit": usd(limit)}})
    assert result.data["setSiteLimit"]["limit"]["amount"] == limit


async def expire_due_holds(hold: dict[str, Any]) -> None:
    """Run the expiry sweep as of one second after this hold's deadline."""
    now = datetime.fromisoformat(hold["expiresAt"]) + timedelta(seconds=1)
    while await ledger_service.expire_holds(now=now):
        pass


# --- authorise: approve -------------------------------------------------------------


async def test_authorize_within_the_limit_places_a_pending_hold(gql, make_customer):
    customer_id = await make_customer("1000.00")

    hold = await approved_hold(gql, customer_id, "250.00", reference="gate-7/ticket-1")

    assert hold["status"] == "PENDING"
    assert hold["amount"] == usd("250.00")
    assert hold["captured"] == usd("0.00")
    assert hold["reference"] == "gate-7/ticket-1"
    assert hold["site"] is None
    assert (await gql(HOLD, {"id": hold["id"]})).data["hold"]["status"] == "PENDING"
    assert [h["id"] for h in (await customer(gql, customer_id))["holds"]] == [hold["id"]]


async def test_authorize_raises_held_and_exposure_but_not_the_balance(gql, make_customer):
    customer_id = await make_customer("1000.00")

    await approved_hold(gql, customer_id, "250.00")

    assert await account(gql, customer_id) == {
        "limit": "1000.00", "balance": "0.00", "held": "250.00", "exposure": "250.00",
        "available": "750.00"}


async def test_authorize_of_exactly_the_available_amount_is_approved(gql, make_customer):
    customer_id = await make_customer("1000.00")
    await approved_hold(gql, customer_id, "999.99")

    await approved_hold(gql, customer_id, "0.01")

    assert (await account(gql, customer_id))["available"] == "0.00"


async def test_hold_expiry_defaults_to_the_configured_ttl(gql, make_customer, settings):
    customer_id = await make_customer()
    before = datetime.now().astimezone()

    hold = await approved_hold(gql, customer_id, "1.00")

    expires_at = datetime.fromisoformat(hold["expiresAt"])
    ttl = timedelta(seconds=settings.hold_ttl_seconds)
    assert before + ttl <= expires_at <= datetime.now().astimezone() + ttl


async def test_hold_expiry_follows_expires_in_seconds(gql, make_customer):
    customer_id = await make_customer()
    before = datetime.now().astimezone()

    hold = await approved_hold(gql, customer_id, "1.00", expiresInSeconds=600)

    expires_at = datetime.fromisoformat(hold["expiresAt"])
    assert before + timedelta(seconds=600) <= expires_at
    assert expires_at <= datetime.now().astimezone() + timedelta(seconds=600)


# --- authorise: decline ---------------------------------------------------------------


async def test_authorize_over_the_available_amount_declines_with_limit_exceeded(
        gql, make_customer):
    customer_id = await make_customer("1000.00")
    await approved_hold(gql, customer_id, "600.00")

    declined = await authorize(gql, customer_id, "400.01")

    assert declined["__typename"] == "CreditDeclined"
    assert declined["reason"] == "LIMIT_EXCEEDED"
    assert declined["available"] == usd("400.00")
    assert "400.01" in declined["message"]
    assert await account(gql, customer_id) == {
        "limit": "1000.00", "balance": "0.00", "held": "600.00", "exposure": "600.00",
        "available": "400.00"}
    assert len((await customer(gql, customer_id))["holds"]) == 1


async def test_posted_balance_counts_against_the_limit(gql, make_customer):
    customer_id = await make_customer("1000.00")
    posted = await gql(POST_ENTRY, {"input": {"customerId": customer_id, "kind": "CHARGE",
                                              "amount": usd("700.00")}})
    assert posted.data["postLedgerEntry"]["__typename"] == "LedgerEntry"

    declined = await authorize(gql, customer_id, "300.01")

    assert declined["reason"] == "LIMIT_EXCEEDED"
    assert declined["available"] == usd("300.00")


async def test_authorize_over_a_site_sub_limit_declines_with_site_limit_exceeded(
        gql, make_customer, make_site):
    customer_id = await make_customer("10000.00")
    site_id = await make_site()
    await set_site_limit(gql, customer_id, site_id, "500.00")
    await approved_hold(gql, customer_id, "300.00", siteId=site_id)

    declined = await authorize(gql, customer_id, "200.01", siteId=site_id)

    assert declined["__typename"] == "CreditDeclined"
    assert declined["reason"] == "SITE_LIMIT_EXCEEDED"
    assert declined["available"] == usd("200.00")
    [site_limit] = (await customer(gql, customer_id))["siteLimits"]
    assert site_limit == {"site": {"id": site_id}, "limit": {"amount": "500.00"},
                          "balance": {"amount": "0.00"}, "held": {"amount": "300.00"},
                          "available": {"amount": "200.00"}}
    assert (await account(gql, customer_id))["held"] == "300.00"


async def test_a_site_sub_limit_does_not_restrict_other_sites(gql, make_customer, make_site):
    customer_id = await make_customer("10000.00")
    limited, other = await make_site(), await make_site()
    await set_site_limit(gql, customer_id, limited, "500.00")

    hold = await approved_hold(gql, customer_id, "5000.00", siteId=other)

    assert hold["site"] == {"id": other}
    assert (await authorize(gql, customer_id, "500.01", siteId=limited))["reason"] \
        == "SITE_LIMIT_EXCEEDED"


async def test_the_account_limit_still_applies_at_a_site_with_a_larger_sub_limit(
        gql, make_customer, make_site):
    customer_id = await make_customer("100.00")
    site_id = await make_site()
    await set_site_limit(gql, customer_id, site_id, "5000.00")

    declined = await authorize(gql, customer_id, "100.01", siteId=site_id)

    assert declined["reason"] == "LIMIT_EXCEEDED"
    assert declined["available"] == usd("100.00")


async def test_a_blocked_customer_is_declined_with_account_blocked(gql, make_customer):
    customer_id = await make_customer("1000.00")
    await set_status(gql, customer_id, "BLOCKED")

    declined = await authorize(gql, customer_id, "1.00")

    assert declined["__typename"] == "CreditDeclined"
    assert declined["reason"] == "ACCOUNT_BLOCKED"
    assert declined["available"] == usd("0.00")
    assert (await account(gql, customer_id))["held"] == "0.00"
    assert (await customer(gql, customer_id))["holds"] == []


async def test_a_customer_on_hold_is_declined_with_account_on_hold(gql, make_customer):
    customer_id = await make_customer("1000.00")
    await set_status(gql, customer_id, "ON_HOLD")

    declined = await authorize(gql, customer_id, "1.00")

    assert declined["reason"] == "ACCOUNT_ON_HOLD"
    assert declined["available"] == usd("0.00")
    assert (await account(gql, customer_id))["held"] == "0.00"


async def test_reactivating_a_customer_approves_again(gql, make_customer):
    customer_id = await make_customer("1000.00")
    await set_status(gql, customer_id, "BLOCKED")
    await set_status(gql, customer_id, "ACTIVE")

    await approved_hold(gql, customer_id, "1000.00")


async def test_a_zero_limit_declines_everything(gql, make_customer):
    customer_id = await make_customer("0.00")

    declined = await authorize(gql, customer_id, "0.01")

    assert declined["reason"] == "LIMIT_EXCEEDED"
    assert declined["available"] == usd("0.00")


async def test_credit_check_answers_like_authorize_without_holding_anything(gql, make_customer):
    customer_id = await make_customer("1000.00")
    await approved_hold(gql, customer_id, "900.00")

    ok = (await gql(CREDIT_CHECK, {"customerId": customer_id, "amount": usd("100.00")})).data
    no = (await gql(CREDIT_CHECK, {"customerId": customer_id, "amount": usd("100.01")})).data

    assert ok["creditCheck"] == {"approved": True, "reason": None, "message": "approved",
                                 "available": usd("100.00")}
    assert no["creditCheck"]["approved"] is False
    assert no["creditCheck"]["reason"] == "LIMIT_EXCEEDED"
    assert no["creditCheck"]["available"] == usd("100.00")
    assert (await account(gql, customer_id))["held"] == "900.00"


# --- exposure through a life cycle -------------------------------------------------------


async def test_exposure_is_balance_plus_held_after_every_step(gql, make_customer):
    customer_id = await make_customer("1000.00")

    async def post(kind: str, amount: str) -> None:
        result = await gql(POST_ENTRY, {"input": {"customerId": customer_id, "kind": kind,
                                                  "amount": usd(amount)}})
        assert result.data["postLedgerEntry"]["__typename"] == "LedgerEntry"

    async def expect(balance: str, held: str, exposure: str, available: str) -> None:
        assert await account(gql, customer_id) == {
            "limit": "1000.00", "balance": balance, "held": held, "exposure": exposure,
            "available": available}

    await post("CHARGE", "100.00")
    await expect("100.00", "0.00", "100.00", "900.00")
    first = await approved_hold(gql, customer_id, "200.00")
    await expect("100.00", "200.00", "300.00", "700.00")
    second = await approved_hold(gql, customer_id, "300.00")
    await expect("100.00", "500.00", "600.00", "400.00")
    (await gql(CAPTURE, {"input": {"holdId": first["id"], "amount": usd("150.00")}})).assert_ok()
    await expect("250.00", "300.00", "550.00", "450.00")
    (await gql(VOID, {"input": {"holdId": second["id"]}})).assert_ok()
    await expect("250.00", "0.00", "250.00", "750.00")
    await post("PAYMENT", "50.00")
    await expect("200.00", "0.00", "200.00", "800.00")
    third = await approved_hold(gql, customer_id, "800.00", expiresInSeconds=60)
    await expect("200.00", "800.00", "1000.00", "0.00")
    await expire_due_holds(third)
    await expect("200.00", "0.00", "200.00", "800.00")


# --- capture ---------------------------------------------------------------------------


async def test_full_capture_moves_the_whole_hold_into_the_balance(gql, make_customer):
    customer_id = await make_customer("1000.00")
    hold = await approved_hold(gql, customer_id, "250.00")

    captured = (await gql(CAPTURE, {"input": {"holdId": hold["id"]}})).data["captureHold"]

    assert captured["status"] == "CAPTURED"
    assert captured["amount"] == usd("250.00")
    assert captured["captured"] == usd("250.00")
    assert await account(gql, customer_id) == {
        "limit": "1000.00", "balance": "250.00", "held": "0.00", "exposure": "250.00",
        "available": "750.00"}
    assert (await customer(gql, customer_id))["holds"] == []


async def test_capture_posts_a_charge_entry_that_names_the_hold(gql, make_customer):
    customer_id = await make_customer("1000.00")
    hold = await approved_hold(gql, customer_id, "250.00", reference="pos-42")

    (await gql(CAPTURE, {"input": {"holdId": hold["id"], "amount": usd("99.95")}})).assert_ok()

    [entry] = await ledger(gql, customer_id)
    assert entry["kind"] == "CHARGE"
    assert entry["amount"] == usd("99.95")
    assert entry["holdId"] == hold["id"]
    assert entry["externalRef"] == "pos-42"


async def test_partial_capture_releases_the_remainder(gql, make_customer):
    customer_id = await make_customer("1000.00")
    hold = await approved_hold(gql, customer_id, "250.00")
    await approved_hold(gql, customer_id, "10.00")

    captured = (await gql(CAPTURE, {"input": {"holdId": hold["id"], "amount": usd("100.00")}})
                ).data["captureHold"]

    assert captured["status"] == "CAPTURED"
    assert captured["amount"] == usd("250.00")
    assert captured["captured"] == usd("100.00")
    assert await account(gql, customer_id) == {
        "limit": "1000.00", "balance": "100.00", "held": "10.00", "exposure": "110.00",
        "available": "890.00"}


async def test_capture_at_a_site_moves_the_site_balance(gql, make_customer, make_site):
    customer_id = await make_customer("10000.00")
    site_id = await make_site()
    await set_site_limit(gql, customer_id, site_id, "500.00")
    hold = await approved_hold(gql, customer_id, "300.00", siteId=site_id)

    (await gql(CAPTURE, {"input": {"holdId": hold["id"], "amount": usd("120.00")}})).assert_ok()

    [site_limit] = (await customer(gql, customer_id))["siteLimits"]
    assert site_limit["balance"] == {"amount": "120.00"}
    assert site_limit["held"] == {"amount": "0.00"}
    assert site_limit["available"] == {"amount": "380.00"}
    [entry] = await ledger(gql, customer_id)
    assert entry["site"] == {"id": site_id}


async def test_capture_above_the_held_amount_is_refused(gql, make_customer):
    customer_id = await make_customer("1000.00")
    hold = await approved_hold(gql, customer_id, "250.00")

    result = await gql(CAPTURE, {"input": {"holdId": hold["id"], "amount": usd("250.01")}})

    assert result.error_code == "BAD_USER_INPUT"
    assert result.errors[0]["extensions"]["field"] == "amount"
    assert (await gql(HOLD, {"id": hold["id"]})).data["hold"]["status"] == "PENDING"
    assert await account(gql, customer_id) == {
        "limit": "1000.00", "balance": "0.00", "held": "250.00", "exposure": "250.00",
        "available": "750.00"}
    assert await ledger(gql, customer_id) == []


@pytest.mark.parametrize(("amount", "field"), [
    ({"amount": "10.00", "currency": "EUR"}, "amount.currency"),
    (usd("10.001"), "amount"),
    (usd("0.00"), "amount"),
    (usd("-10.00"), "amount"),
])
async def test_capture_with_a_bad_amount_is_refused(gql, make_customer, amount, field):
    customer_id = await make_customer("1000.00")
    hold = await approved_hold(gql, customer_id, "250.00")

    result = await gql(CAPTURE, {"input": {"holdId": hold["id"], "amount": amount}})

    assert result.error_code == "BAD_USER_INPUT"
    assert result.errors[0]["extensions"]["field"] == field
    assert (await account(gql, customer_id))["held"] == "250.00"
    assert (await gql(HOLD, {"id": hold["id"]})).data["hold"]["status"] == "PENDING"


# --- void ------------------------------------------------------------------------------


async def test_void_releases_the_hold_without_a_charge(gql, make_customer):
    customer_id = await make_customer("1000.00")
    hold = await approved_hold(gql, customer_id, "250.00")

    voided = (await gql(VOID, {"input": {"holdId": hold["id"]}})).data["voidHold"]

    assert voided["status"] == "VOIDED"
    assert voided["captured"] == usd("0.00")
    assert await account(gql, customer_id) == {
        "limit": "1000.00", "balance": "0.00", "held": "0.00", "exposure": "0.00",
        "available": "1000.00"}
    assert await ledger(gql, customer_id) == []


async def test_void_at_a_site_releases_the_site_hold(gql, make_customer, make_site):
    customer_id = await make_customer("10000.00")
    site_id = await make_site()
    await set_site_limit(gql, customer_id, site_id, "500.00")
    hold = await approved_hold(gql, customer_id, "300.00", siteId=site_id)

    (await gql(VOID, {"input": {"holdId": hold["id"]}})).assert_ok()

    [site_limit] = (await customer(gql, customer_id))["siteLimits"]
    assert site_limit["held"] == {"amount": "0.00"}
    assert site_limit["available"] == {"amount": "500.00"}


# --- expiry ----------------------------------------------------------------------------


async def test_expiry_releases_the_held_amount(gql, make_customer):
    customer_id = await make_customer("1000.00")
    hold = await approved_hold(gql, customer_id, "250.00", expiresInSeconds=60)

    await expire_due_holds(hold)

    assert (await gql(HOLD, {"id": hold["id"]})).data["hold"]["status"] == "EXPIRED"
    assert await account(gql, customer_id) == {
        "limit": "1000.00", "balance": "0.00", "held": "0.00", "exposure": "0.00",
        "available": "1000.00"}
    assert (await customer(gql, customer_id))["holds"] == []
    assert await ledger(gql, customer_id) == []


async def test_expiry_leaves_holds_that_are_not_due_yet(gql, make_customer):
    customer_id = await make_customer("1000.00")
    due = await approved_hold(gql, customer_id, "100.00", expiresInSeconds=60)
    later = await approved_hold(gql, customer_id, "200.00", expiresInSeconds=3600)

    await expire_due_holds(due)

    assert (await gql(HOLD, {"id": later["id"]})).data["hold"]["status"] == "PENDING"
    assert (await account(gql, customer_id))["held"] == "200.00"


async def test_expiry_at_a_site_releases_the_site_hold(gql, make_customer, make_site):
    customer_id = await make_customer("10000.00")
    site_id = await make_site()
    await set_site_limit(gql, customer_id, site_id, "500.00")
    hold = await approved_hold(gql, customer_id, "300.00", siteId=site_id, expiresInSeconds=60)

    await expire_due_holds(hold)

    [site_limit] = (await customer(gql, customer_id))["siteLimits"]
    assert site_limit["held"] == {"amount": "0.00"}


# --- finished holds cannot move again -----------------------------------------------------


async def _finished_hold(gql: Any, customer_id: str, how: str) -> dict[str, Any]:
    hold = await approved_hold(gql, customer_id, "250.00", expiresInSeconds=60)
    if how == "CAPTURED":
        (await gql(CAPTURE, {"input": {"holdId": hold["id"], "amount": usd("100.00")}})).assert_ok()
    elif how == "VOIDED":
        (await gql(VOID, {"input": {"holdId": hold["id"]}})).assert_ok()
    else:
        await expire_due_holds(hold)
    assert (await gql(HOLD, {"id": hold["id"]})).data["hold"]["status"] == how
    return hold


@pytest.mark.parametrize("state", ["CAPTURED", "VOIDED", "EXPIRED"])
@pytest.mark.parametrize("action", ["capture", "void"])
async def test_a_finished_hold_cannot_be_captured_or_voided(gql, make_customer, state, action):
    customer_id = await make_customer("1000.00")
    hold = await _finished_hold(gql, customer_id, state)
    before = await account(gql, customer_id)
    entries = await ledger(gql, customer_id)

    if action == "capture":
        result = await gql(CAPTURE, {"input": {"holdId": hold["id"]}})
    else:
        result = await gql(VOID, {"input": {"holdId": hold["id"]}})

    assert result.error_code == "CONFLICT"
    assert result.errors[0]["extensions"]["field"] == "holdId"
    assert (await gql(HOLD, {"id": hold["id"]})).data["hold"]["status"] == state
    assert await account(gql, customer_id) == before
    assert await ledger(gql, customer_id) == entries


@pytest.mark.parametrize(("hold_id", "code"), [
    (str(uuid.uuid4()), "NOT_FOUND"),
    ("not-a-hold", "BAD_USER_INPUT"),
])
@pytest.mark.parametrize("mutation", [CAPTURE, VOID])
async def test_capture_or_void_of_an_unknown_hold_is_refused(gql, mutation, hold_id, code):
    result = await gql(mutation, {"input": {"holdId": hold_id}})

    assert result.error_code == code
    assert result.errors[0]["extensions"]["field"] == "holdId"


# --- bad input changes nothing -------------------------------------------------------------


@pytest.mark.parametrize(("change", "code", "field"), [
    ({"amount": {"amount": "10.00", "currency": "EUR"}}, "BAD_USER_INPUT", "currency"),
    ({"amount": {"amount": "10.00", "currency": "XXX"}}, "BAD_USER_INPUT", "currency"),
    ({"amount": usd("10.001")}, "BAD_USER_INPUT", "amount"),
    ({"amount": usd("1e3")}, "BAD_USER_INPUT", "amount"),
    ({"amount": usd("0.00")}, "BAD_USER_INPUT", "amount"),
    ({"amount": usd("-10.00")}, "BAD_USER_INPUT", "amount"),
    ({"amount": usd("10000000000000.01")}, "BAD_USER_INPUT", "amount"),
    ({"siteId": str(uuid.uuid4())}, "NOT_FOUND", "siteId"),
    ({"siteId": "yard-1"}, "BAD_USER_INPUT", "siteId"),
    ({"expiresInSeconds": 0}, "BAD_USER_INPUT", "expiresInSeconds"),
    ({"expiresInSeconds": -60}, "BAD_USER_INPUT", "expiresInSeconds"),
    ({"expiresInSeconds": 90 * 24 * 3600 + 1}, "BAD_USER_INPUT", "expiresInSeconds"),
    ({"idempotencyKey": ""}, "BAD_USER_INPUT", "idempotencyKey"),
    ({"idempotencyKey": "k" * 201}, "BAD_USER_INPUT", "idempotencyKey"),
])
async def test_authorize_with_bad_input_is_refused_and_changes_nothing(
        gql, make_customer, change, code, field):
    customer_id = await make_customer("1000.00")
    await approved_hold(gql, customer_id, "100.00")
    before = await customer(gql, customer_id)
    payload = {"customerId": customer_id, "amount": usd("10.00")} | change

    result = await gql(AUTHORIZE, {"input": payload})

    assert result.error_code == code
    assert result.errors[0]["extensions"]["field"] == field
    assert result.body["data"] is None
    assert await customer(gql, customer_id) == before


@pytest.mark.parametrize(("customer_id", "code"), [
    (str(uuid.uuid4()), "NOT_FOUND"),
    ("cust-1", "BAD_USER_INPUT"),
])
async def test_authorize_for_an_unknown_customer_is_refused(gql, customer_id, code):
    result = await gql(AUTHORIZE, {"input": {"customerId": customer_id,
                                             "amount": usd("10.00")}})

    assert result.error_code == code
    assert result.errors[0]["extensions"]["field"] == "customerId"


async def test_a_viewer_cannot_authorize(gql, make_customer):
    customer_id = await make_customer("1000.00")

    result = await gql(AUTHORIZE, {"input": {"customerId": customer_id,
                                             "amount": usd("10.00")}}, role="viewer")

    assert result.error_code == "FORBIDDEN"
    assert (await account(gql, customer_id))["held"] == "0.00"


# --- currencies with other exponents ----------------------------------------------------------


async def test_jpy_amounts_have_no_decimals_and_round_trip_exactly(gql, make_customer):
    customer_id = await make_customer("100000", currency="JPY")

    hold = await authorize(gql, customer_id, "12345", currency="JPY")
    refused = await gql(AUTHORIZE, {"input": {"customerId": customer_id,
                                              "amount": {"amount": "1.5", "currency": "JPY"}}})

    assert hold["amount"] == {"amount": "12345", "currency": "JPY"}
    assert await account(gql, customer_id) == {
        "limit": "100000", "balance": "0", "held": "12345", "exposure": "12345",
        "available": "87655"}
    assert refused.error_code == "BAD_USER_INPUT"
    assert refused.errors[0]["extensions"]["field"] == "amount"
    declined = await authorize(gql, customer_id, "87656", currency="JPY")
    assert declined["available"] == {"amount": "87655", "currency": "JPY"}


async def test_kwd_amounts_have_three_decimals_and_round_trip_exactly(gql, make_customer):
    customer_id = await make_customer("1000.000", currency="KWD")

    hold = await authorize(gql, customer_id, "12.345", currency="KWD")
    refused = await gql(AUTHORIZE, {"input": {"customerId": customer_id,
                                              "amount": {"amount": "1.2345", "currency": "KWD"}}})

    assert hold["amount"] == {"amount": "12.345", "currency": "KWD"}
    assert await account(gql, customer_id) == {
        "limit": "1000.000", "balance": "0.000", "held": "12.345", "exposure": "12.345",
        "available": "987.655"}
    assert refused.error_code == "BAD_USER_INPUT"
    captured = (await gql(CAPTURE, {"input": {"holdId": hold["id"], "amount": {
        "amount": "0.001", "currency": "KWD"}}})).data["captureHold"]
    assert captured["captured"] == {"amount": "0.001", "currency": "KWD"}
    assert (await account(gql, customer_id))["balance"] == "0.001"



async def _past_deadline(hold_id: str) -> None:
    """Move a pending hold's deadline into the past, as if its time ran out before a sweep."""
    await Hold.filter(id=hold_id).update(expires_at=datetime.now(UTC) - timedelta(seconds=1))


@pytest.mark.parametrize("mutation", [CAPTURE, VOID])
async def test_a_hold_past_its_deadline_cannot_move_even_before_the_sweep(gql, make_customer,
                                                                          mutation):
    customer_id = await make_customer("1000.00")
    hold = await approved_hold(gql, customer_id, "250.00")
    await _past_deadline(hold["id"])

    result = await gql(mutation, {"input": {"holdId": hold["id"]}})

    assert result.error_code == "CONFLICT"
    assert result.errors[0]["extensions"]["field"] == "holdId"
    assert await ledger(gql, customer_id) == []
    await expire_due_holds({"expiresAt": datetime.now(UTC).isoformat()})
    assert (await gql(HOLD, {"id": hold["id"]})).data["hold"]["status"] == "EXPIRED"
    assert (await account(gql, customer_id))["held"] == "0.00"
