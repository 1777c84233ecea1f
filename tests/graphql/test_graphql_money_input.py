"""MoneyInput: an amount is exactly a decimal string of at most 18 digits of minor units."""

from __future__ import annotations

import pytest

POST = """mutation($i: PostLedgerEntryInput!) { postLedgerEntry(input: $i) { __typename } }"""
SET_LIMIT = """mutation($i: SetCreditLimitInput!) { setCreditLimit(input: $i) { version } }"""
ACCOUNT = """query($id: ID!) { customer(id: $id) { creditAccount { version balance { amount }
  limit { amount } }
  ledger(first: 5) { edges { node { id } } } } }"""


@pytest.mark.parametrize("amount", [" 1.00", "1.00 ", "\t1.00\n", "1.00\n"])
async def test_an_amount_with_whitespace_around_it_is_refused_and_nothing_is_posted(
        gql, make_customer, amount):
    customer_id = await make_customer()
    before = (await gql(ACCOUNT, {"id": customer_id})).data

    result = await gql(POST, {"i": {"customerId": customer_id, "kind": "CHARGE",
                                    "amount": {"amount": amount, "currency": "USD"}}})

    assert result.error_code == "BAD_USER_INPUT"
    assert result.errors[0]["extensions"]["field"] == "amount"
    assert "whitespace" in result.errors[0]["message"]
    assert (await gql(ACCOUNT, {"id": customer_id})).data == before


@pytest.mark.parametrize(("money", "field", "words"), [
    ({"amount": "\t5000.00\n", "currency": "USD"}, "limit.amount", "whitespace"),
    ({"amount": "1" + "0" * 16 + ".00", "currency": "USD"}, "limit.amount", "too large"),
])
async def test_a_bad_limit_names_the_part_of_it_that_is_wrong(gql, make_customer, money, field,
                                                              words):
    customer_id = await make_customer()
    before = (await gql(ACCOUNT, {"id": customer_id})).data

    result = await gql(SET_LIMIT, {"i": {"customerId": customer_id, "limit": money}})

    assert result.error_code == "BAD_USER_INPUT"
    assert result.errors[0]["extensions"]["field"] == field
    assert words in result.errors[0]["message"]
    assert (await gql(ACCOUNT, {"id": customer_id})).data == before
