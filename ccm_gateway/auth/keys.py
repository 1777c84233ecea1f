"""Asymmetric signing keys for access tokens: create, rotate, publish, look up.

The private JWK of each key is stored encrypted with ``SecretBox`` (context
``signing-key:<kid>``). The newest non-retired key signs; every non-retired
key verifies, so tokens signed before a rotation stay valid until they
expire. A rotation retires keys that were superseded longer ago than a token
lives (TTL + leeway): nothing they signed can still be valid.

Algorithms: ``ES256`` (the default) or ``RS256``: what every common JWT library verifies
with no options (PyJWT, npm jose, Java's and Go's; joserfc's defaults allow only
HS256, RS256 and ES256). Each key verifies only under its own algorithm.

Keys made before were Ed25519, labelled ``Ed25519`` (RFC 9864), which PyJWT cannot
read and joserfc refuses by default. Such a key signs nothing new: while it is the
newest, the next token gets a new ES256 key. It still verifies what it signed until it
is retired, and the JWKS shows it as ``EdDSA`` (RFC 8037), the name stock libraries read.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from joserfc.jwk import ECKey, OKPKey, RSAKey
from tortoise.transactions import in_transaction

from ccm_gateway.auth.models import SigningKey
from ccm_gateway.config import Settings
from ccm_gateway.kit.locking import lock_key
from ccm_gateway.kit.secrets import SecretBox

ALGORITHMS = ("ES256", "RS256")
DEFAULT_ALGORITHM = "ES256"
# Verify-only algorithms of keys made before, and their names in the JWKS.
LEGACY_ALGORITHMS = {"Ed25519": "EdDSA"}
# An unknown kid makes a verifier re-read the keys at most this often, so a
# flood of made-up kids cannot turn into a flood of queries.
REFRESH_INTERVAL_SECONDS = 1.0

Key = ECKey | OKPKey | RSAKey
_KEY_TYPES: dict[str, type[ECKey | OKPKey | RSAKey]] = {
    "ES256": ECKey, "RS256": RSAKey, "Ed25519": OKPKey}


@dataclass(frozen=True, slots=True)
class PublicKey:
    kid: str
    algorithm: str
    key: Key


def _generate(algorithm: str) -> Key:
    if algorithm == "ES256":
        return ECKey.generate_key("P-256")
    if algorithm == "RS256":
        return RSAKey.generate_key(2048)
    raise ValueError(f"unsupported signing algorithm {algorithm!r}; use one of {ALGORITHMS}")


def _import(algorithm: str, data: dict[str, Any]) -> Key:
    return _KEY_TYPES[algorithm].import_key(data)


def _context(kid: str) -> str:
    return f"signing-key:{kid}"


class KeyRing:
    """Signing keys of one process: the current private key and a cache of public keys."""

    def __init__(self, settings: Settings) -> None:
        self._box = SecretBox.from_settings(settings)
        self._max_token_age = timedelta(seconds=settings.token_ttl_seconds + 60)
        self._public: dict[str, PublicKey] = {}
        self._private: dict[str, Key] = {}
        self._refreshed_at = float("-inf")

    # --- signing ------------------------------------------------------------------

    async def current(self) -> tuple[str, str, Key]:
        """(kid, algorithm, private key) of the newest non-retired key; create one if none,
        or if the newest is of a kind that signs nothing new."""
        row = await SigningKey.filter(retired_at=None).order_by("-created_at", "-id").first()
        if row is None or row.algorithm not in ALGORITHMS:
            row = await self._create_current()
        return row.kid, row.algorithm, self._private_key(row)

    async def _create_current(self) -> SigningKey:
        async with in_transaction():
            await lock_key("signing-keys")
            row = await SigningKey.filter(retired_at=None).order_by("-created_at", "-id").first()
            if row is not None and row.algorithm in ALGORITHMS:
                return row  # another process made it meanwhile
            return await self._create(DEFAULT_ALGORITHM)

    async def rotate(self, algorithm: str = DEFAULT_ALGORITHM) -> SigningKey:
        """Add a new current key; retire keys superseded longer ago than a token lives."""
        async with in_transaction():
            await lock_key("signing-keys")
            new = await self._create(algorithm)
            rows = await SigningKey.filter(retired_at=None).order_by("created_at", "id")
            cutoff = new.created_at - self._max_token_age
            for older, newer in itertools.pairwise(rows):
                if newer.created_at <= cutoff:
                    older.retired_at = new.created_at
                    await older.save(update_fields=["retired_at"])
                    self._public.pop(older.kid, None)
                    self._private.pop(older.kid, None)
        return new

    async def _create(self, algorithm: str) -> SigningKey:
        key = _generate(algorithm)
        kid = key.thumbprint()
        sealed = self._box.encrypt(json.dumps(key.as_dict(private=True)), context=_context(kid))
        row = await SigningKey.create(kid=kid, algorithm=algorithm, private_jwk=sealed,
                                      created_at=datetime.now(UTC))
        self._private[kid] = key
        public = _import(algorithm, key.as_dict(private=False))
        self._public[kid] = PublicKey(kid, algorithm, public)
        return row

    def _private_key(self, row: SigningKey) -> Key:
        key = self._private.get(row.kid)
        if key is None:
            data = json.loads(self._box.decrypt(row.private_jwk, context=_context(row.kid)))
            key = self._private[row.kid] = _import(row.algorithm, data)
            self._public[row.kid] = PublicKey(
                row.kid, row.algorithm, _import(row.algorithm, key.as_dict(private=False)))
        return key

    # --- verifying ----------------------------------------------------------------

    def public_key(self, kid: str) -> PublicKey | None:
        """A cached verification key (see ``ensure``)."""
        return self._public.get(kid)

    async def ensure(self, kid: str) -> None:
        """Re-read the keys when ``kid`` is unknown here (another process may have rotated)."""
        if kid in self._public:
            return
        if time.monotonic() - self._refreshed_at < REFRESH_INTERVAL_SECONDS:
            return
        await self.refresh()

    async def refresh(self) -> None:
        self._refreshed_at = time.monotonic()
        rows = await SigningKey.filter(retired_at=None).order_by("created_at", "id")
        public = {}
        for row in rows:
            key = self._private_key(row)  # decrypted once per process, then cached
            public[row.kid] = PublicKey(row.kid, row.algorithm,
                                        _import(row.algorithm, key.as_dict(private=False)))
        self._public = public
        self._private = {k: v for k, v in self._private.items() if k in public}

    async def jwks(self) -> dict[str, Any]:
        """Public keys of every non-retired key (JWK Set, RFC 7517)."""
        await self.refresh()
        return {"keys": [{**pk.key.as_dict(private=False), "kid": pk.kid,
                          "alg": LEGACY_ALGORITHMS.get(pk.algorithm, pk.algorithm),
                          "use": "sig"} for pk in self._public.values()]}


async def reencrypt_signing_keys(box: SecretBox) -> tuple[int, int]:
    """Re-encrypt the signing keys' private JWKs not under ``box``'s current key (in the
    caller's transaction); returns (re-encrypted, checked)."""
    await lock_key("signing-keys")
    rows = await SigningKey.all().order_by("id")
    count = 0
    for row in rows:
        if box.needs_rotation(row.private_jwk):
            row.private_jwk = box.reencrypt(row.private_jwk, context=_context(row.kid))
            await row.save(update_fields=["private_jwk"])
            count += 1
    return count, len(rows)
