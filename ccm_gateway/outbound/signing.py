"""Standard Webhooks signatures on what we send: ``webhook-id``, ``webhook-timestamp`` and
``webhook-signature`` (``v1,<base64 HMAC-SHA256 of id.timestamp.body>``, space separated,
one per active secret while a rotation overlaps)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence

from ccm_gateway.integration.profiles.signatures import (
    new_standard_webhooks_secret,
    standard_webhooks_key,
)

new_secret = new_standard_webhooks_secret


def signature(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(standard_webhooks_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def headers(secrets: Sequence[str], webhook_id: str, timestamp: int,
            body: bytes) -> dict[str, str]:
    """The three headers of one attempt; ``secrets``: the current one first."""
    if not secrets:
        raise ValueError("an endpoint always has a signing secret")
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(s, webhook_id, timestamp, body)
                                      for s in secrets),
        "content-type": "application/json",
    }
