"""Signature schemes of inbound webhooks: verifying callbacks and making signing secrets.

- ``standard-webhooks``: headers ``webhook-id``, ``webhook-timestamp`` and
  ``webhook-signature`` (space-separated ``v1,<base64>``); HMAC-SHA256 over
  ``{id}.{timestamp}.{body}`` keyed with the base64 after ``whsec_`` in the secret.
- ``stripe``: header ``stripe-signature`` ``t=<unix>,v1=<hex>[,v1=...]``; HMAC-SHA256
  over ``{t}.{body}`` keyed with the whole secret string's UTF-8 bytes.
- ``hmac``: header names, digest, encoding and signed content come from the profile.

``verify`` raises only ``SignatureRefused``, whose ``reason`` is one of
``MISSING_HEADER`` (a header the scheme needs is absent or empty),
``SIGNATURE_MISMATCH`` (no secret matches, or a header is malformed, including a
timestamp that is not a whole number of seconds) and ``TIMESTAMP_OUT_OF_TOLERANCE``
(a correctly signed callback whose timestamp is too far from now). The MAC is checked
before the timestamp, so a stale callback is reported as stale only when it is genuine.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
import secrets as random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ccm_gateway.errors import BadInput, Unauthenticated
from ccm_gateway.integration.profiles.model import Profile, SignatureSpec
from ccm_gateway.kit import standard_webhooks

SCHEMES = ("standard-webhooks", "stripe", "hmac")
ALGORITHMS = ("sha256", "sha512")
ENCODINGS = ("hex", "base64")
SECRET_ENCODINGS = ("utf8", "base64", "hex")
PLACEHOLDERS = ("{timestamp}", "{body}", "{id}")

MISSING_HEADER = "MISSING_HEADER"
SIGNATURE_MISMATCH = "SIGNATURE_MISMATCH"
TIMESTAMP_OUT_OF_TOLERANCE = "TIMESTAMP_OUT_OF_TOLERANCE"

MIN_KEY_BYTES = 16
MAX_SECRET_CHARS = 512
# Bounds the HMAC work one request can ask for; vendors send one or two during rotation.
MAX_CANDIDATE_SIGNATURES = 16

_TIMESTAMP = re.compile(r"^\d{1,12}$", re.ASCII)
_HEX = re.compile(r"^(?:[0-9a-fA-F]{2})+$", re.ASCII)
_BASE64 = re.compile(r"^[A-Za-z0-9+/]+={0,2}$", re.ASCII)
_STRIPE_SECRET = re.compile(r"^whsec_[A-Za-z0-9_-]{32,}$", re.ASCII)


class SignatureRefused(Unauthenticated):
    """A callback whose signature or timestamp does not verify; the webhook edge answers
    401 with ``reason`` as its error code. ``message`` never holds a secret."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}", reason=reason)
        self.message = message


@dataclass(frozen=True)
class _Signed:
    message: bytes
    candidates: tuple[bytes, ...]  # decoded digests offered by the caller
    timestamp: int


# Svix, the reference sender of Standard Webhooks, names its headers svix-*.
_SVIX_ALIASES = {"webhook-id": "svix-id", "webhook-timestamp": "svix-timestamp",
                 "webhook-signature": "svix-signature"}


def with_header_aliases(profile: Profile, headers: dict[str, str]) -> dict[str, str]:
    """``headers`` (lower-case names) as the profile reads them: for Standard Webhooks, a
    ``svix-*`` header stands in for its missing ``webhook-*`` name, for the signature and
    for anything the profile reads from headers (the event id) alike."""
    if profile.signature.scheme != "standard-webhooks":
        return headers
    missing = {ours: theirs for ours, theirs in _SVIX_ALIASES.items()
               if ours not in headers and theirs in headers}
    return headers | {ours: headers[theirs] for ours, theirs in missing.items()}


def verify(profile: Profile, headers: Mapping[str, str], body: bytes, secrets: Sequence[str],
           *, now: float) -> None:
    """Accept when any secret signs the callback within tolerance; else SignatureRefused.

    ``headers`` has lower-case names; ``now`` is Unix time in seconds."""
    spec = profile.signature
    signed = _read_headers(spec, headers, body)
    keys = _usable_keys(spec, secrets)
    if not _any_match(keys, signed, spec.algorithm):
        raise SignatureRefused(SIGNATURE_MISMATCH, "no signing secret matches the signature")
    _check_timestamp(signed.timestamp, now, spec.tolerance_seconds)


def _read_headers(spec: SignatureSpec, headers: Mapping[str, str], body: bytes) -> _Signed:
    if spec.scheme == "standard-webhooks":
        return _standard_webhooks(headers, body)
    if spec.scheme == "stripe":
        return _stripe(headers, body)
    if spec.scheme == "hmac":
        return _plain_hmac(spec, headers, body)
    # A missing verifier must never mean "accept".
    raise SignatureRefused(SIGNATURE_MISMATCH, f"no verifier for scheme {spec.scheme!r}")


def _usable_keys(spec: SignatureSpec, secrets: Sequence[str]) -> list[bytes]:
    keys = []
    for secret in secrets:
        try:
            keys.append(_secret_key(spec, secret))
        except BadInput:
            # An empty secret verifies against an empty key, which anyone can forge; an
            # unusable stored secret is skipped and the others may still match.
            continue
    return keys


def _any_match(keys: list[bytes], signed: _Signed, algorithm: str) -> bool:
    matched = False
    for key in keys:
        expected = hmac.new(key, signed.message, algorithm).digest()
        for candidate in signed.candidates:
            # No early exit: every secret x signature pair costs the same.
            matched |= hmac.compare_digest(expected, candidate)
    return matched


def _check_timestamp(timestamp: int, now: float, tolerance: int) -> None:
    drift = now - timestamp
    if abs(drift) > tolerance:
        side = "in the past" if drift > 0 else "in the future"
        raise SignatureRefused(
            TIMESTAMP_OUT_OF_TOLERANCE,
            f"signature timestamp is {abs(int(drift))} s {side}; tolerance is {tolerance} s",
        )


def _required(headers: Mapping[str, str], *names: str) -> list[str]:
    values = [headers.get(name) or "" for name in names]
    missing = [name for name, value in zip(names, values, strict=True) if not value]
    if missing:
        raise SignatureRefused(MISSING_HEADER, f"missing header {', '.join(missing)}")
    return values


def _timestamp(text: str, header: str) -> int:
    if not _TIMESTAMP.match(text):
        raise SignatureRefused(SIGNATURE_MISMATCH,
                               f"{header} timestamp is not a whole number of seconds")
    return int(text)


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise SignatureRefused(SIGNATURE_MISMATCH, "header is not valid text") from None


def _decode(text: str, encoding: str) -> bytes | None:
    if encoding == "hex":
        return bytes.fromhex(text) if _HEX.match(text) else None
    if not _BASE64.match(text):
        return None
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        return None


def _candidates(values: list[str], encoding: str, header: str) -> tuple[bytes, ...]:
    if len(values) > MAX_CANDIDATE_SIGNATURES:
        raise SignatureRefused(SIGNATURE_MISMATCH, f"{header} carries too many signatures")
    decoded = tuple(d for d in (_decode(v, encoding) for v in values) if d is not None)
    if not decoded:
        raise SignatureRefused(SIGNATURE_MISMATCH, f"{header} holds no readable signature")
    return decoded


def _standard_webhooks(headers: Mapping[str, str], body: bytes) -> _Signed:
    msg_id, stamp, signature = _required(
        headers, "webhook-id", "webhook-timestamp", "webhook-signature")
    timestamp = _timestamp(stamp, "webhook-timestamp")
    offered = []
    for entry in signature.split():
        version, comma, value = entry.partition(",")
        # Other versions (v1a: asymmetric keys) are not ours to check; they never match.
        if comma and version == "v1":
            offered.append(value)
    candidates = _candidates(offered, "base64", "webhook-signature")
    return _Signed(_utf8(f"{msg_id}.{stamp}.") + body, candidates, timestamp)


def _stripe(headers: Mapping[str, str], body: bytes) -> _Signed:
    (header,) = _required(headers, "stripe-signature")
    stamps, offered = [], []
    for item in header.split(","):
        key, equals, value = item.strip().partition("=")
        if equals and key == "t":
            stamps.append(value)
        elif equals and key == "v1":
            offered.append(value)
    if len(stamps) != 1:
        raise SignatureRefused(SIGNATURE_MISMATCH, "stripe-signature needs exactly one t=")
    timestamp = _timestamp(stamps[0], "stripe-signature")
    candidates = _candidates(offered, "hex", "stripe-signature")
    return _Signed(_utf8(f"{stamps[0]}.") + body, candidates, timestamp)


def _plain_hmac(spec: SignatureSpec, headers: Mapping[str, str], body: bytes) -> _Signed:
    if not (spec.header and spec.timestamp_header):  # the loader requires both for hmac
        raise ValueError(f"hmac profile without header / timestamp header: {spec}")
    names = [spec.header, spec.timestamp_header] + ([spec.id_header] if spec.id_header else [])
    values = _required(headers, *names)
    signature, stamp = values[0].strip(), values[1]
    timestamp = _timestamp(stamp, spec.timestamp_header)
    if not signature.startswith(spec.prefix):
        raise SignatureRefused(SIGNATURE_MISMATCH,
                               f"{spec.header} does not start with {spec.prefix!r}")
    candidates = _candidates([signature[len(spec.prefix):]], spec.encoding, spec.header)
    parts = {"{timestamp}": _utf8(stamp), "{body}": body,
             "{id}": _utf8(values[2]) if spec.id_header else b""}
    message = b"".join(parts[p] if p in parts else p.encode("utf-8") for p in spec.payload)
    return _Signed(message, candidates, timestamp)


# --- secrets ----------------------------------------------------------------------


def generate_secret(profile: Profile) -> str:
    """A fresh signing secret in the format the profile's scheme expects."""
    spec = profile.signature
    if spec.scheme == "standard-webhooks":
        return standard_webhooks.new_secret()
    if spec.scheme == "stripe":
        return "whsec_" + random.token_urlsafe(32)
    if spec.scheme == "hmac" and spec.secret_encoding == "base64":  # noqa: S105 - encoding
        return base64.b64encode(random.token_bytes(32)).decode("ascii")
    if spec.scheme == "hmac":
        # 64 hex characters: 32 key bytes under secret_encoding hex, 64 ASCII bytes under utf8.
        return random.token_hex(32)
    raise BadInput(f"scheme {spec.scheme!r} has no secret format", field="secret")


def check_secret(profile: Profile, secret: str) -> None:
    """BadInput(field="secret") when the secret cannot sign under the profile's scheme."""
    _secret_key(profile.signature, secret)


def _secret_key(spec: SignatureSpec, secret: str) -> bytes:
    """The HMAC key a secret stands for; BadInput(field="secret") when it is unusable."""
    if not isinstance(secret, str) or not secret:
        raise BadInput("secret must not be empty", field="secret")
    if len(secret) > MAX_SECRET_CHARS:
        raise BadInput(f"secret must be at most {MAX_SECRET_CHARS} characters", field="secret")
    if spec.scheme == "standard-webhooks":
        key = standard_webhooks.key(secret)
    elif spec.scheme == "stripe":
        if not _STRIPE_SECRET.match(secret):
            raise BadInput("a Stripe signing secret is 'whsec_' followed by at least 32 "
                           "letters, digits, '_' or '-'", field="secret")
        key = secret.encode("ascii")
    elif spec.scheme == "hmac":
        key = _hmac_key(secret, spec.secret_encoding)
    else:
        raise BadInput(f"scheme {spec.scheme!r} has no secret format", field="secret")
    if len(key) < MIN_KEY_BYTES:
        raise BadInput(f"secret must give at least {MIN_KEY_BYTES} key bytes", field="secret")
    return key


def _hmac_key(secret: str, encoding: str) -> bytes:
    if encoding == "utf8":
        if secret != secret.strip() or not secret.isprintable():
            # Whitespace at either end is almost always a copy-and-paste accident.
            raise BadInput("secret must be printable with no surrounding whitespace",
                           field="secret")
        return secret.encode("utf-8")
    key = _decode(secret, encoding)
    if key is None:
        raise BadInput(f"secret must be {encoding}, as the profile's secret_encoding says",
                       field="secret")
    return key
