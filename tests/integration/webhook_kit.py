"""Helpers for webhook tests (imported by the test modules; not a conftest, whose module name
would clash with tests/conftest.py): integrations made through GraphQL, callbacks signed by
the vendors' own libraries, and readers of the inbox and the ledger."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import stripe
from standardwebhooks.webhooks import Webhook
from testkit import eventually

from ccm_gateway.integration.models import InboundEvent, InboundStatus
from ccm_gateway.ledger.models import CreditAccount, LedgerEntry

CREATE_INTEGRATION = """
mutation($input: CreateIntegrationInput!) {
  createIntegration(input: $input) {
    secret
    integration { id slug profile segments enabled version refSystem
                  rateLimit { perSecond burst } }
  }
}"""
LINK_REF = """
mutation($input: LinkExternalRefInput!) { linkExternalRef(input: $input) { id } }"""


@dataclass
class Hook:
    id: str
    slug: str
    secret: str
    ref_system: str


@pytest.fixture
def make_integration(gql: Any):
    async def make(profile: str = "stripe", *, segments: list[str] | None = None,
                   secret: str | None = None, **extra: Any) -> Hook:
        slug = f"{profile[:20]}-{uuid.uuid4().hex[:10]}"
        payload = {"slug": slug, "name": f"{profile} test", "kind": "PAYMENT_PROCESSOR",
                   "profile": profile, "segments": segments or ["*"]} | extra
        if secret is not None:
            payload["secret"] = secret
        result = await gql(CREATE_INTEGRATION, {"input": payload})
        data = result.data["createIntegration"]
        return Hook(data["integration"]["id"], slug, secret or data["secret"],
                    data["integration"]["refSystem"])

    return make


@pytest.fixture
def linked_customer(gql: Any, make_customer: Any):
    """A customer with an ExternalRef in the integration's system; returns its id."""
    async def make(hook: Hook, external_id: str, **extra: Any) -> str:
        customer_id = await make_customer(**extra)
        await gql(LINK_REF, {"input": {"customerId": customer_id, "system": hook.ref_system,
                                       "externalId": external_id}})
        return customer_id

    return make


def stripe_event(event_type: str, obj: dict[str, Any], *, event_id: str | None = None,
                 created: int | None = None) -> dict[str, Any]:
    return {"id": event_id or f"evt_{uuid.uuid4().hex[:16]}", "object": "event",
            "api_version": "2024-06-20", "created": created or int(time.time()),
            "type": event_type, "livemode": False, "data": {"object": obj}}


def payment_intent(customer: str, amount: int, currency: str = "usd", *,
                   pi: str | None = None) -> dict[str, Any]:
    return {"id": pi or f"pi_{uuid.uuid4().hex[:16]}", "object": "payment_intent",
            "amount": amount, "amount_received": amount, "currency": currency,
            "customer": customer, "status": "succeeded"}


def stripe_headers(body: str, secret: str, *, timestamp: int | None = None) -> dict[str, str]:
    header = stripe.WebhookSignature.generate_signature_header(body, secret,
                                                               timestamp=timestamp)
    return {"Stripe-Signature": header, "Content-Type": "application/json"}


def standard_headers(body: str, secret: str, *, msg_id: str | None = None,
                     at: datetime | None = None) -> dict[str, str]:
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    at = at or datetime.now(UTC)
    signature = Webhook(secret).sign(msg_id, at, body)
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signature, "Content-Type": "application/json"}


@pytest.fixture
def send(client: Any):
    async def post(slug: str, body: str | bytes, headers: dict[str, str]) -> Any:
        return await client.post(f"/webhooks/{slug}", content=body, headers=headers)

    return post


@pytest.fixture
def send_stripe(send: Any):
    async def post(hook: Hook, event: dict[str, Any], **kwargs: Any) -> Any:
        body = json.dumps(event)
        return await send(hook.slug, body, stripe_headers(body, hook.secret, **kwargs))

    return post


async def settled(event_id: str, timeout: float = 15.0) -> InboundEvent:
    """The inbox row once the worker has finished with it (any terminal status)."""
    async def check() -> InboundEvent | None:
        event = await InboundEvent.get(id=event_id)
        return event if event.status not in (InboundStatus.RECEIVED,) else None

    return await eventually(check, timeout=timeout)


async def balance(customer_id: str) -> int:
    return (await CreditAccount.get(customer_id=customer_id)).posted_balance_minor


async def entries(customer_id: str) -> list[LedgerEntry]:
    return await LedgerEntry.filter(account__customer_id=customer_id).order_by("recorded_at")


async def inbox_count(slug_or_id: str) -> int:
    return await InboundEvent.filter(integration__slug=slug_or_id).count()
