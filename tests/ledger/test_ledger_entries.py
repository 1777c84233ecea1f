"""Ledger entries: signs per kind, limit checks on charges, reversals, filters and pages.

Invariant 2: the ledger is append-only; a mistake is undone by a reversing
entry, and the cached balance always equals the sum of the entries.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ccm_gateway.verify import verify_all

ENTRY_FIELDS = """
id kind sourceType sourceId externalRef description overLimit occurredAt recordedAt
amount { amount currency } originalAmount { amount currency } fxRate reversesId holdId
site { id }
"""

POST_ENTRY = f"""
mutation($input: PostLedgerEntryInput!) {{
  postLedgerEntry(input: $input) {{
    __typename
    ... on LedgerEntry {{ {ENTRY_FIELDS} }}
    ... on CreditDeclined {{ reason message available {{ amount currency }} }}
  }}
}}"""

REVERSE = f"""
mutation($input: ReverseLedgerEntryInput!) {{
  reverseLedgerEntry(input: $input) {{ {ENTRY_FIELDS} }}
}}"""

LEDGER = """
query($id: ID!, $first: Int, $after: String, $filter: LedgerFilter) {
  customer(id: $id) {
    ledger(first: $first, after: $after, filter: $filter) {
      edges { cursor node { id kind amount { amount } occurredAt site { id } } }
      pageInfo { hasNextPage endCursor }
    }
  }
}"""

ACCOUNT = """
query($id: ID!) {
  customer(id: $id) {
    version
    creditAccount { balance { amount } held { amount } exposure { amount } available { amount } }
    siteLimits { site { id } limit { amount } balance { amount } held { amount }
                 available { amount } }
  }
}"""

SET_SITE_LIMIT = """
mutation($input: SetSiteLimitInput!) { setSiteLimit(input: $input) { balance { amount } } }"""

UPDATE_CUSTOMER = """
mutation($input: UpdateCustomerInput!) { updateCustomer(input: $input) { status } }"""


def usd(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "USD"}


async def post(gql: Any, customer_id: str, kind: str, amount: str, **extra: Any) -> Any:
    payload = {"customerId": customer_id, "kind": kind, "amount": usd(amount)} | extra
    return await gql(POST_ENTRY, {"input": payload})


async def posted(gql: Any, customer_id: str, kind: str, amount: str,
                 **extra: Any) -> dict[str, Any]:
    entry = (await post(gql, customer_id, kind, amount, **extra)).data["postLedgerEntry"]
    assert entry["__typename"] == "LedgerEntry", entry
    return entry


async def balance(gql: Any, customer_id: str) -> str:
    data = (await gql(ACCOUNT, {"id": customer_id})).data["customer"]["creditAccount"]
    return data["balance"]["amount"]


async def site_limit(gql: Any, customer_id: str) -> dict[str, Any]:
    [limit] = (await gql(ACCOUNT, {"id": customer_id})).data["customer"]["siteLimits"]
    return {name: value["amount"] for name, value in limit.items() if name != "site"}


async def page(gql: Any, customer_id: str, **variables: Any) -> dict[str, Any]:
    result = await gql(LEDGER, {"id": customer_id} | variables)
    return result.data["customer"]["ledger"]


async def entry_ids(gql: Any, customer_id: str, **filter_: Any) -> list[str]:
    data = await page(gql, customer_id, first=100, filter=filter_ or None)
    return [edge["node"]["id"] for edge in data["edges"]]


async def set_site_limit(gql: Any, customer_id: str, site_id: str, limit: str) -> None:
    (await gql(SET_SITE_LIMIT, {"input": {"customerId": customer_id, "siteId": site_id,
                                          "limit": usd(limit)}})).assert_ok()


def at(day: int, hour: int = 0) -> str:
    return datetime(2024, 3, day, hour, tzinfo=UTC).isoformat()


# --- signs -------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "amount", "signed"), [
    ("CHARGE", "100.00", "100.00"),
    ("INVOICE", "100.00", "100.00"),
    ("REFUND", "100.00", "100.00"),
    ("PAYMENT", "100.00", "-100.00"),
    ("CREDIT_NOTE", "100.00", "-100.00"),
    ("ADJUSTMENT", "25.50", "25.50"),
    ("ADJUSTMENT", "-25.50", "-25.50"),
])
async def test_each_kind_moves_the_balance_with_its_sign(gql, make_customer, kind, amount,
                                                         signed):
    customer_id = await make_customer("1000.00")

    entry = await posted(gql, customer_id, kind, amount)

    assert entry["kind"] == kind
    assert entry["amount"] == usd(signed)
    assert await balance(gql, customer_id) == signed


async def test_an_entry_records_its_source_and_details(gql, make_customer):
    customer_id = await make_customer("1000.00")

    entry = await posted(gql, customer_id, "INVOICE", "120.00", externalRef="INV-2024-001",
                         description="March yard fees", occurredAt=at(5, 12))

    assert entry["sourceType"] == "USER"
    assert entry["sourceId"] == "test-admin"
    assert entry["externalRef"] == "INV-2024-001"
    assert entry["description"] == "March yard fees"
    assert datetime.fromisoformat(entry["occurredAt"]) == datetime(2024, 3, 5, 12, tzinfo=UTC)
    assert datetime.fromisoformat(entry["recordedAt"]) > datetime.now(UTC) - timedelta(minutes=1)
    assert entry["overLimit"] is False
    assert entry["originalAmount"] is None
    assert entry["fxRate"] is None
    assert entry["reversesId"] is None
    assert entry["holdId"] is None
    assert entry["site"] is None


async def test_balances_equal_the_sum_of_entries_after_a_mix_of_postings(gql, make_customer):
    customer_id = await make_customer("1000.00")
    for kind, amount in [("CHARGE", "300.00"), ("INVOICE", "200.00"), ("PAYMENT", "150.00"),
                         ("REFUND", "20.00"), ("CREDIT_NOTE", "30.00"),
                         ("ADJUSTMENT", "-0.01")]:
        await posted(gql, customer_id, kind, amount)

    assert await balance(gql, customer_id) == "339.99"
    report = await verify_all()
    assert report["ok"], report


@pytest.mark.parametrize(("kind", "amount", "field"), [
    ("CHARGE", "-10.00", "amount"),
    ("PAYMENT", "-10.00", "amount"),
    ("CREDIT_NOTE", "-10.00", "amount"),
    ("CHARGE", "0.00", "amount"),
    ("ADJUSTMENT", "0.00", "amount"),
    ("ADJUSTMENT", "-0.00", "amount"),
    ("CHARGE", "10.001", "amount"),
    ("PAYMENT", "10000000000000.01", "amount"),
    ("REVERSAL", "10.00", "kind"),
])
async def test_a_bad_entry_is_refused_and_changes_nothing(gql, make_customer, kind, amount,
                                                          field):
    customer_id = await make_customer("1000.00")
    await posted(gql, customer_id, "CHARGE", "10.00")

    result = await post(gql, customer_id, kind, amount)

    assert result.error_code == "BAD_USER_INPUT"
    assert result.errors[0]["extensions"]["field"] == field
    assert await balance(gql, customer_id) == "10.00"
    assert len(await entry_ids(gql, customer_id)) == 1


@pytest.mark.parametrize(("change", "code", "field"), [
    ({"amount": {"amount": "10.00", "currency": "EUR"}}, "BAD_USER_INPUT", "currency"),
    ({"amount": {"amount": "10.00", "currency": "ABC"}}, "BAD_USER_INPUT", "currency"),
    ({"occurredAt": (datetime.now(UTC) + timedelta(days=1)).isoformat()},
     "BAD_USER_INPUT", "occurredAt"),
    ({"occurredAt": "2024-03-01T00:00:00"}, "BAD_USER_INPUT", "occurredAt"),
    ({"siteId": str(uuid.uuid4())}, "NOT_FOUND", "siteId"),
    ({"siteId": "north-yard"}, "BAD_USER_INPUT", "siteId"),
    ({"customerId": str(uuid.uuid4())}, "NOT_FOUND", "customerId"),
    ({"customerId": "C-1"}, "BAD_USER_INPUT", "customerId"),
])
async def test_a_misaddressed_entry_is_refused_and_changes_nothing(gql, make_customer, change,
                                                                   code, field):
    customer_id = await make_customer("1000.00")
    payload = {"customerId": customer_id, "kind": "PAYMENT", "amount": usd("10.00")} | change

    result = await gql(POST_ENTRY, {"input": payload})

    assert result.error_code == code
    assert result.errors[0]["extensions"]["field"] == field
    assert await balance(gql, customer_id) == "0.00"
    assert await entry_ids(gql, customer_id) == []


# --- limit checks ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["CHARGE", "INVOICE"])
async def test_a_charge_over_the_limit_is_declined_with_nothing_written(gql, make_customer,
                                                                        kind):
    customer_id = await make_customer("1000.00")
    await posted(gql, customer_id, "CHARGE", "900.00")

    declined = (await post(gql, customer_id, kind, "100.01")).data["postLedgerEntry"]

    assert declined["__typename"] == "CreditDeclined"
    assert declined["reason"] == "LIMIT_EXCEEDED"
    assert declined["available"] == usd("100.00")
    assert await balance(gql, customer_id) == "900.00"
    assert len(await entry_ids(gql, customer_id)) == 1


async def test_a_charge_up_to_the_limit_is_posted(gql, make_customer):
    customer_id = await make_customer("1000.00")

    entry = await posted(gql, customer_id, "CHARGE", "1000.00")

    assert entry["overLimit"] is False
    assert await balance(gql, customer_id) == "1000.00"


async def test_pending_holds_count_against_a_charge(gql, make_customer):
    customer_id = await make_customer("1000.00")
    hold = await gql("""mutation($input: AuthorizeCreditInput!) {
        authorizeCredit(input: $input) { __typename } }""",
                     {"input": {"customerId": customer_id, "amount": usd("600.00")}})
    assert hold.data["authorizeCredit"]["__typename"] == "Hold"

    declined = (await post(gql, customer_id, "CHARGE", "400.01")).data["postLedgerEntry"]

    assert declined["reason"] == "LIMIT_EXCEEDED"
    assert declined["available"] == usd("400.00")


async def test_payments_and_credits_are_never_declined(gql, make_customer):
    customer_id = await make_customer("0.00")

    await posted(gql, customer_id, "PAYMENT", "500.00")
    await posted(gql, customer_id, "CREDIT_NOTE", "5.00")

    assert await balance(gql, customer_id) == "-505.00"


async def test_a_blocked_customer_cannot_be_charged_but_can_pay(gql, make_customer):
    customer_id = await make_customer("1000.00")
    version = (await gql(ACCOUNT, {"id": customer_id})).data["customer"]["version"]
    (await gql(UPDATE_CUSTOMER, {"input": {"id": customer_id, "expectedVersion": version,
                                           "status": "BLOCKED"}})).assert_ok()

    declined = (await post(gql, customer_id, "CHARGE", "1.00")).data["postLedgerEntry"]
    payment = await posted(gql, customer_id, "PAYMENT", "1.00")

    assert declined["reason"] == "ACCOUNT_BLOCKED"
    assert payment["amount"] == usd("-1.00")
    assert await balance(gql, customer_id) == "-1.00"


# --- site sub-limits ---------------------------------------------------------------------


async def test_posting_at_a_site_moves_the_site_balance(gql, make_customer, make_site):
    customer_id = await make_customer("10000.00")
    site_id = await make_site()
    await set_site_limit(gql, customer_id, site_id, "500.00")

    entry = await posted(gql, customer_id, "CHARGE", "200.00", siteId=site_id)
    await posted(gql, customer_id, "PAYMENT", "50.00", siteId=site_id)
    await posted(gql, customer_id, "CHARGE", "1000.00")  # no site: the sub-limit is untouched

    assert entry["site"] == {"id": site_id}
    assert await site_limit(gql, customer_id) == {
        "limit": "500.00", "balance": "150.00", "held": "0.00", "available": "350.00"}
    assert await balance(gql, customer_id) == "1150.00"


async def test_a_charge_over_a_site_sub_limit_is_declined_with_nothing_written(
        gql, make_customer, make_site):
    customer_id = await make_customer("10000.00")
    site_id = await make_site()
    await set_site_limit(gql, customer_id, site_id, "500.00")
    await posted(gql, customer_id, "CHARGE", "200.00", siteId=site_id)

    declined = (await post(gql, customer_id, "CHARGE", "300.01", siteId=site_id)
                ).data["postLedgerEntry"]

    assert declined["reason"] == "SITE_LIMIT_EXCEEDED"
    assert declined["available"] == usd("300.00")
    assert (await site_limit(gql, customer_id))["balance"] == "200.00"
    assert await balance(gql, customer_id) == "200.00"


async def test_a_new_site_sub_limit_counts_what_the_site_already_owes(gql, make_customer,
                                                                      make_site):
    customer_id = await make_customer("10000.00")
    site_id = await make_site()
    await posted(gql, customer_id, "CHARGE", "120.00", siteId=site_id)
    await posted(gql, customer_id, "CHARGE", "80.00")

    await set_site_limit(gql, customer_id, site_id, "500.00")

    assert await site_limit(gql, customer_id) == {
        "limit": "500.00", "balance": "120.00", "held": "0.00", "available": "380.00"}
    assert (await verify_all())["balance_mismatches"] == []


# --- reversals ---------------------------------------------------------------------------


async def test_a_reversal_posts_the_exact_opposite_and_restores_the_balance(gql, make_customer):
    customer_id = await make_customer("1000.00")
    first = await posted(gql, customer_id, "CHARGE", "40.00")
    original = await posted(gql, customer_id, "CHARGE", "250.00", externalRef="T-9")

    reversal = (await gql(REVERSE, {"input": {"entryId": original["id"],
                                              "reason": "duplicate ticket"}})
                ).data["reverseLedgerEntry"]

    assert reversal["kind"] == "REVERSAL"
    assert reversal["amount"] == usd("-250.00")
    assert reversal["reversesId"] == original["id"]
    assert reversal["externalRef"] == "T-9"
    assert reversal["description"] == "duplicate ticket"
    assert await balance(gql, customer_id) == "40.00"
    assert await entry_ids(gql, customer_id) == [reversal["id"], original["id"], first["id"]]


async def test_reversing_a_payment_raises_the_balance_again(gql, make_customer):
    customer_id = await make_customer("1000.00")
    payment = await posted(gql, customer_id, "PAYMENT", "75.25")

    reversal = (await gql(REVERSE, {"input": {"entryId": payment["id"]}})
                ).data["reverseLedgerEntry"]

    assert reversal["amount"] == usd("75.25")
    assert await balance(gql, customer_id) == "0.00"


async def test_reversing_a_site_entry_moves_the_site_balance_back(gql, make_customer, make_site):
    customer_id = await make_customer("10000.00")
    site_id = await make_site()
    await set_site_limit(gql, customer_id, site_id, "500.00")
    entry = await posted(gql, customer_id, "CHARGE", "200.00", siteId=site_id)

    reversal = (await gql(REVERSE, {"input": {"entryId": entry["id"]}})
                ).data["reverseLedgerEntry"]

    assert reversal["site"] == {"id": site_id}
    assert (await site_limit(gql, customer_id))["balance"] == "0.00"


async def test_an_entry_can_be_reversed_only_once(gql, make_customer):
    customer_id = await make_customer("1000.00")
    entry = await posted(gql, customer_id, "CHARGE", "250.00")
    (await gql(REVERSE, {"input": {"entryId": entry["id"]}})).assert_ok()

    again = await gql(REVERSE, {"input": {"entryId": entry["id"]}})

    assert again.error_code == "CONFLICT"
    assert again.errors[0]["extensions"]["field"] == "entryId"
    assert await balance(gql, customer_id) == "0.00"
    assert len(await entry_ids(gql, customer_id)) == 2


async def test_a_reversal_cannot_be_reversed(gql, make_customer):
    customer_id = await make_customer("1000.00")
    entry = await posted(gql, customer_id, "CHARGE", "250.00")
    reversal = (await gql(REVERSE, {"input": {"entryId": entry["id"]}})
                ).data["reverseLedgerEntry"]

    result = await gql(REVERSE, {"input": {"entryId": reversal["id"]}})

    assert result.error_code == "CONFLICT"
    assert result.errors[0]["extensions"]["field"] == "entryId"
    assert await balance(gql, customer_id) == "0.00"
    assert len(await entry_ids(gql, customer_id)) == 2


@pytest.mark.parametrize(("entry_id", "code"), [
    (str(uuid.uuid4()), "NOT_FOUND"),
    ("entry-1", "BAD_USER_INPUT"),
])
async def test_reversing_an_unknown_entry_is_refused(gql, entry_id, code):
    result = await gql(REVERSE, {"input": {"entryId": entry_id}})

    assert result.error_code == code
    assert result.errors[0]["extensions"]["field"] == "entryId"


# --- filters -----------------------------------------------------------------------------


async def test_the_kinds_filter_returns_only_those_kinds(gql, make_customer):
    customer_id = await make_customer("1000.00")
    charge = await posted(gql, customer_id, "CHARGE", "10.00")
    payment = await posted(gql, customer_id, "PAYMENT", "5.00")
    credit = await posted(gql, customer_id, "CREDIT_NOTE", "1.00")

    assert await entry_ids(gql, customer_id, kinds=["PAYMENT", "CREDIT_NOTE"]) \
        == [credit["id"], payment["id"]]
    assert await entry_ids(gql, customer_id, kinds=["CHARGE"]) == [charge["id"]]
    assert await entry_ids(gql, customer_id, kinds=["REVERSAL"]) == []


async def test_the_site_filter_returns_only_that_sites_entries(gql, make_customer, make_site):
    customer_id = await make_customer("1000.00")
    north, south = await make_site(), await make_site()
    at_north = await posted(gql, customer_id, "CHARGE", "10.00", siteId=north)
    await posted(gql, customer_id, "CHARGE", "20.00", siteId=south)
    await posted(gql, customer_id, "CHARGE", "30.00")

    assert await entry_ids(gql, customer_id, siteId=north) == [at_north["id"]]


async def test_the_occurred_window_includes_its_start_and_excludes_its_end(gql, make_customer):
    customer_id = await make_customer("1000.00")
    before = await posted(gql, customer_id, "CHARGE", "1.00", occurredAt=at(1, 23))
    start = await posted(gql, customer_id, "CHARGE", "2.00", occurredAt=at(2))
    inside = await posted(gql, customer_id, "CHARGE", "3.00", occurredAt=at(3, 12))
    end = await posted(gql, customer_id, "CHARGE", "4.00", occurredAt=at(4))

    window = await entry_ids(gql, customer_id, occurredFrom=at(2), occurredTo=at(4))
    since = await entry_ids(gql, customer_id, occurredFrom=at(3))
    until = await entry_ids(gql, customer_id, occurredTo=at(2))

    assert window == [inside["id"], start["id"]]
    assert since == [end["id"], inside["id"]]
    assert until == [before["id"]]


async def test_the_occurred_window_compares_instants_across_offsets(gql, make_customer):
    customer_id = await make_customer("1000.00")
    entry = await posted(gql, customer_id, "CHARGE", "1.00", occurredAt="2024-03-02T01:00:00+02:00")

    # 2024-03-01T23:00Z: inside [03-01T22:00Z, 03-02T00:00Z)
    assert await entry_ids(gql, customer_id, occurredFrom="2024-03-01T22:00:00+00:00",
                           occurredTo="2024-03-02T00:00:00Z") == [entry["id"]]
    assert await entry_ids(gql, customer_id, occurredFrom="2024-03-02T00:00:00Z") == []


async def test_filters_combine(gql, make_customer, make_site):
    customer_id = await make_customer("1000.00")
    site_id = await make_site()
    wanted = await posted(gql, customer_id, "PAYMENT", "1.00", siteId=site_id,
                          occurredAt=at(10))
    await posted(gql, customer_id, "CHARGE", "1.00", siteId=site_id, occurredAt=at(10))
    await posted(gql, customer_id, "PAYMENT", "1.00", occurredAt=at(10))
    await posted(gql, customer_id, "PAYMENT", "1.00", siteId=site_id, occurredAt=at(20))

    assert await entry_ids(gql, customer_id, kinds=["PAYMENT"], siteId=site_id,
                           occurredFrom=at(9), occurredTo=at(11)) == [wanted["id"]]


@pytest.mark.parametrize(("filter_", "field"), [
    ({"occurredFrom": "2024-03-05T00:00:00Z", "occurredTo": "2024-03-01T00:00:00Z"},
     "occurredFrom"),
    ({"occurredFrom": "2024-03-05T00:00:00"}, "occurredFrom"),
    ({"occurredTo": "2024-03-05T00:00:00"}, "occurredTo"),
    ({"siteId": "north"}, "siteId"),
])
async def test_a_bad_filter_is_refused(gql, make_customer, filter_, field):
    customer_id = await make_customer("1000.00")

    result = await gql(LEDGER, {"id": customer_id, "filter": filter_})

    assert result.error_code == "BAD_USER_INPUT"
    assert result.errors[0]["extensions"]["field"] == field


# --- pagination --------------------------------------------------------------------------


async def test_pages_walk_every_entry_newest_first_without_overlap(gql, make_customer):
    customer_id = await make_customer("1000.00")
    posted_ids = [(await posted(gql, customer_id, "CHARGE", f"{n}.00"))["id"]
                  for n in range(1, 8)]

    seen: list[str] = []
    pages: list[tuple[int, bool]] = []
    after = None
    while True:
        data = await page(gql, customer_id, first=3, after=after)
        seen += [edge["node"]["id"] for edge in data["edges"]]
        pages.append((len(data["edges"]), data["pageInfo"]["hasNextPage"]))
        assert data["pageInfo"]["endCursor"] == data["edges"][-1]["cursor"]
        if not data["pageInfo"]["hasNextPage"]:
            break
        after = data["pageInfo"]["endCursor"]

    assert pages == [(3, True), (3, True), (1, False)]
    assert seen == list(reversed(posted_ids))


async def test_a_page_that_ends_exactly_at_the_last_entry_has_no_next_page(gql, make_customer):
    customer_id = await make_customer("1000.00")
    for n in range(1, 5):
        await posted(gql, customer_id, "CHARGE", f"{n}.00")

    first = await page(gql, customer_id, first=2)
    second = await page(gql, customer_id, first=2, after=first["pageInfo"]["endCursor"])

    assert first["pageInfo"]["hasNextPage"] is True
    assert len(second["edges"]) == 2
    assert second["pageInfo"]["hasNextPage"] is False


async def test_an_empty_ledger_is_an_empty_page(gql, make_customer):
    customer_id = await make_customer("1000.00")

    data = await page(gql, customer_id)

    assert data == {"edges": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}


async def test_pages_hold_the_default_size_when_first_is_omitted(gql, make_customer, settings):
    customer_id = await make_customer("1000.00")
    for _ in range(settings.default_page_size + 1):
        await posted(gql, customer_id, "PAYMENT", "1.00")

    data = await page(gql, customer_id)

    assert len(data["edges"]) == settings.default_page_size
    assert data["pageInfo"]["hasNextPage"] is True


@pytest.mark.parametrize(("variables", "field"), [
    ({"first": 101}, "first"),
    ({"first": 0}, "first"),
    ({"first": -1}, "first"),
    ({"after": "not-a-cursor"}, "after"),
    ({"after": "WyJ4Il0="}, "after"),  # a cursor of the wrong shape: ["x"]
    ({"after": "WyJ4IiwgInkiXQ=="}, "after"),  # the right shape, not a time and an id
])
async def test_a_bad_page_request_is_refused(gql, make_customer, settings, variables, field):
    assert settings.max_page_size == 100
    customer_id = await make_customer("1000.00")

    result = await gql(LEDGER, {"id": customer_id} | variables)

    assert result.error_code == "BAD_USER_INPUT"
    assert result.errors[0]["extensions"]["field"] == field


async def test_the_maximum_page_size_is_allowed(gql, make_customer):
    customer_id = await make_customer("1000.00")

    data = await page(gql, customer_id, first=100)

    assert data["edges"] == []
