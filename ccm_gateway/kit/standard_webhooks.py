"""Standard Webhooks (standardwebhooks.com) primitives, for what we verify and what we
sign: ``whsec_`` secrets, their HMAC keys, and ``v1,<base64 HMAC-SHA256>`` signatures
over ``{webhook-id}.{webhook-timestamp}.{body}``."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets as random
from collections.abc import Sequence

from ccm_gateway.errors import BadInput

PREFIX = "whsec_"
_BASE64 = re.compile(r"^[A-Za-z0-9+/]+={0,2}$", re.ASCII)


def new_secret() -> str:
    """``whsec_`` and the base64 of 32 random bytes, as the official libraries make them."""
    return PREFIX + base64.b64encode(random.token_bytes(32)).decode("ascii")


def key(secret: str) -> bytes:
    """The HMAC key of a secret; BadInput(field="secret") if it is none.

    The prefix is optional, as in the official libraries: a vendor may hand over the
    bare base64; some drop its padding, which the reference library restores too."""
    encoded = secret.removeprefix(PREFIX)
    encoded += "=" * (-len(encoded) % 4)
    if _BASE64.match(encoded):
        try:
            return base64.b64decode(encoded, validate=True)
        except binascii.Error:
            pass
    raise BadInput("a Standard Webhooks secret is base64, optionally after 'whsec_'",
                   field="secret")


def signed_content(webhook_id: str, timestamp: int, body: bytes) -> bytes:
    return f"{webhook_id}.{timestamp}.".encode() + body


def signature(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(key(secret), signed_content(webhook_id, timestamp, body),
                      hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def headers(secrets: Sequence[str], webhook_id: str, timestamp: int,
            body: bytes) -> dict[str, str]:
    """The headers of one signed JSON delivery; one signature per secret (during a
    rotation, the current one first), space separated."""
    if not secrets:
        raise ValueError("a signed delivery needs at least one secret")
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(s, webhook_id, timestamp, body)
                                      for s in secrets),
        "content-type": "application/json",
    }
