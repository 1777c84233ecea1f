"""Currencies of customers: every current ISO 4217 code opens an account; a code withdrawn
from ISO 4217 opens none, while an account that already holds one keeps working."""

from __future__ import annotations

import uuid

from tortoise.transactions import in_transaction

from ccm_gateway.customer.models import Customer
from ccm_gateway.ledger import service as ledger_service
from ccm_gateway.ledger.models import InvoicingCycle

CREATE_CUSTOMER = """
mutation($input: CreateCustomerInput!) {
  createCustomer(input: $input) {
    id currency creditAccount { limit { amount currency } balance { amount currency } }
  }
}"""

CUSTOMER = """
query($id: ID!) {
  customer(id: $id) {
    currency creditAccount { balance { amount currency } available { amount currency } }
  }
}"""

POST_ENTRY = """
mutation($input: PostLedgerEntryInput!) {
  postLedgerEntry(input: $input) {
    __typename ... on LedgerEntry { amount { amount currency } }
  }
}"""


def customer_input(name: str, currency: str, limit: str = "25000.00") -> dict[str, object]:
    return {"input": {"name": name, "segment": "haulage", "currency": currency,
                      "creditLimit": {"amount": limit, "currency": currency}}}


async def test_a_uruguayan_customer_can_be_created(gql):
    result = await gql(CREATE_CUSTOMER, customer_input("Transportes Montevideo", "UYU"))

    created = result.data["createCustomer"]
    assert created["currency"] == "UYU"
    assert created["creditAccount"]["limit"] == {"amount": "25000.00", "currency": "UYU"}


async def test_a_new_customer_in_a_withdrawn_currency_is_refused_and_nothing_is_stored(gql):
    name = f"Sofia Logistics {uuid.uuid4().hex[:8]}"

    result = await gql(CREATE_CUSTOMER, customer_input(name, "BGN"))

    assert result.error_code == "BAD_USER_INPUT"
    error = result.errors[0]
    assert error["extensions"]["field"] == "currency"
    assert error["message"].startswith(
        "BGN was withdrawn from ISO 4217 on 2026-01-01 (replaced by EUR)")
    assert "a new customer needs a current code such as EUR" in error["message"]
    assert not await Customer.filter(name=name).exists()


async def test_an_account_that_already_holds_a_withdrawn_currency_still_posts(gql):
    # Opened before BGN was withdrawn: planted through the models and the ledger service.
    async with in_transaction():
        customer = await Customer.create(name="Plovdiv Yards", segment="haulage",
                                         currency="BGN")
        await ledger_service.open_account(customer, credit_limit_minor=500_000, net_days=30,
                                          invoicing_cycle=InvoicingCycle.MONTHLY)

    posted = await gql(POST_ENTRY, {"input": {
        "customerId": str(customer.id), "kind": "CHARGE",
        "amount": {"amount": "1250.50", "currency": "BGN"},
        "idempotencyKey": f"bgn-{uuid.uuid4().hex}"}})

    assert posted.data["postLedgerEntry"] == {
        "__typename": "LedgerEntry", "amount": {"amount": "1250.50", "currency": "BGN"}}
    read = (await gql(CUSTOMER, {"id": str(customer.id)})).data["customer"]
    assert read["currency"] == "BGN"
    assert read["creditAccount"] == {"balance": {"amount": "1250.50", "currency": "BGN"},
                                     "available": {"amount": "3749.50", "currency": "BGN"}}
