"""Standard Webhooks as Svix sends them: `svix-*` headers, signed by the official `svix`
package, and vendor-supplied secrets without the `whsec_` prefix, as the official
libraries accept them."""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook as StandardWebhook
from svix.webhooks import Webhook as SvixWebhook
from webhook_kit import balance, settled

from ccm_gateway.integration.models import InboundEvent, InboundStatus


def _payment(customer: str, amount: str = "12.34") -> str:
    return json.dumps({"type": "payment.succeeded", "timestamp": datetime.now(UTC).isoformat(),
                       "data": {"customer": customer, "amount": amount, "currency": "usd",
                                "reference": f"pay-{uuid.uuid4().hex[:8]}"}})


def _svix_headers(secret: str, msg_id: str, body: str) -> dict[str, str]:
    at = datetime.now(UTC)
    return {"svix-id": msg_id, "svix-timestamp": str(int(at.timestamp())),
            "svix-signature": SvixWebhook(secret).sign(msg_id, at, body),
            "Content-Type": "application/json"}


async def test_a_callback_svix_signed_with_svix_headers_is_applied(
        make_integration, linked_customer, send):
    hook = await make_integration("standard-webhooks")
    ref = f"svix-{uuid.uuid4().hex[:8]}"
    customer = await linked_customer(hook, ref)
    body, msg_id = _payment(ref), f"msg_{uuid.uuid4().hex}"

    response = await send(hook.slug, body, _svix_headers(hook.secret, msg_id, body))

    assert response.status_code == 202, response.text
    event = await settled(response.json()["id"])
    assert event.status == InboundStatus.APPLIED, event.last_error
    assert event.external_id == msg_id  # svix-id is the event id, as webhook-id would be
    assert await balance(customer) == -1234


async def test_a_svix_header_that_fails_verification_is_refused(make_integration, send):
    hook = await make_integration("standard-webhooks")
    body, msg_id = _payment("nobody"), f"msg_{uuid.uuid4().hex}"
    headers = _svix_headers(hook.secret, msg_id, body)

    response = await send(hook.slug, body.replace("12.34", "99.99"), headers)

    assert response.status_code == 401
    assert response.json()["error"] == "SIGNATURE_MISMATCH"
    assert not await InboundEvent.exists(external_id=msg_id)


async def test_a_secret_supplied_without_the_whsec_prefix_verifies(
        make_integration, linked_customer, send):
    bare = base64.b64encode(secrets.token_bytes(32)).decode()
    hook = await make_integration("standard-webhooks", secret=bare)
    ref = f"bare-{uuid.uuid4().hex[:8]}"
    customer = await linked_customer(hook, ref)
    body, msg_id, at = _payment(ref, "5.00"), f"msg_{uuid.uuid4().hex}", datetime.now(UTC)
    # The official library takes the bare secret as it is, like the vendor who holds it.
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(int(at.timestamp())),
               "webhook-signature": StandardWebhook(bare).sign(msg_id, at, body),
               "Content-Type": "application/json"}

    response = await send(hook.slug, body, headers)

    assert response.status_code == 202, response.text
    assert (await settled(response.json()["id"])).status == InboundStatus.APPLIED
    assert await balance(customer) == -500
