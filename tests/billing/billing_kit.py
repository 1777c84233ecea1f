"""Helpers of the billing tests: entries posted through GraphQL as a front end posts them,
invoices issued and read through the services (the GraphQL tests have their own)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from ccm_gateway.billing import service as billing_service
from ccm_gateway.billing.models import Invoice
from ccm_gateway.principal import SYSTEM_ACTOR

POST_ENTRY = """
mutation($input: PostLedgerEntryInput!) {
  postLedgerEntry(input: $input) {
    __typename
    ... on LedgerEntry { id kind amount { amount currency } }
    ... on CreditDeclined { reason message }
  }
}"""

REVERSE = """
mutation($input: ReverseLedgerEntryInput!) { reverseLedgerEntry(input: $input) { id } }"""

ACCOUNT = """
query($id: ID!) {
  customer(id: $id) {
    status
    creditAccount { balance { amount } exposure { amount } }
  }
}"""


def usd(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "USD"}


def ago(**delta: float) -> datetime:
    return datetime.now(UTC) - timedelta(**delta)


def unique_issuer() -> str:
    """An issuer of the test's own, so its sequence starts at 1 whatever else ran."""
    return f"T{uuid.uuid4().hex[:8].upper()}"


async def post(gql: Any, customer_id: str, kind: str, amount: str, **extra: Any) -> Any:
    payload = {"customerId": customer_id, "kind": kind, "amount": usd(amount)} | extra
    return await gql(POST_ENTRY, {"input": payload})


async def posted(gql: Any, customer_id: str, kind: str, amount: str, **extra: Any) -> str:
    """Post an entry that must succeed; its id."""
    result = (await post(gql, customer_id, kind, amount, **extra)).data["postLedgerEntry"]
    assert result["__typename"] == "LedgerEntry", result
    return str(result["id"])


async def charge(gql: Any, customer_id: str, amount: str, *, at: datetime | None = None,
                 **extra: Any) -> str:
    occurred = (at or ago(days=2)).isoformat()
    return await posted(gql, customer_id, "CHARGE", amount, occurredAt=occurred, **extra)


async def pay(gql: Any, customer_id: str, amount: str, **extra: Any) -> str:
    return await posted(gql, customer_id, "PAYMENT", amount, **extra)


async def issue(customer_id: str, *, up_to: datetime | None = None, issuer: str = "CCM",
                site_id: Any = None) -> list[Invoice]:
    async with in_transaction():
        return await billing_service.issue_invoice(
            SYSTEM_ACTOR, uuid.UUID(customer_id), up_to or ago(seconds=1), issuer=issuer,
            site_id=site_id)


async def issue_one(customer_id: str, **kwargs: Any) -> Invoice:
    invoices = await issue(customer_id, **kwargs)
    assert len(invoices) == 1, invoices
    return invoices[0]


async def reload(invoice: Invoice) -> Invoice:
    return await Invoice.get(id=invoice.id)


async def account(gql: Any, customer_id: str) -> dict[str, Any]:
    return dict((await gql(ACCOUNT, {"id": customer_id})).data["customer"])
