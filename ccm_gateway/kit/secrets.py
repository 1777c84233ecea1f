"""Secrets at rest (invariant 8): AES-256-GCM under a key from the environment.

Integration signing secrets and outbound credentials are stored as printable
tokens::

    v1.<key id>.<base64url nonce>.<base64url ciphertext+tag>

- The AES key is derived from a master secret (``CCM_SECRET_KEY``) with
  HKDF-SHA256 and its own ``info``, so the same master secret can also sign
  bearer tokens without the two uses sharing a key.
- The key id is the first 8 hex characters of SHA-256 of the *derived* key; it
  says which key to decrypt with and reveals nothing usable about it.
- The nonce is 96 random bits, fresh for every encryption.
- ``context`` (for example ``"integration:<id>:inbound-signing"``) is bound into
  GCM as associated data together with the version and key id, so a token
  copied to another record, or re-labelled with another key id, fails to
  decrypt.

Rotation: put the old master secret in ``CCM_SECRET_KEY_PREVIOUS`` (comma
separated, newest first) and a new one in ``CCM_SECRET_KEY``. Encryption always
uses the current key; tokens under a previous key still decrypt, report
``needs_rotation`` and can be rewritten with ``reencrypt``. Once nothing needs
rotation, drop the old secret.

Failures raise ``SecretDecryptError``, an internal error (not a ``CCMError``):
a stored secret that cannot be decrypted is a server fault, never the caller's.
Its messages never contain plaintext, key material or the token itself.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import Iterable
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ccm_gateway.errors import ConfigError

VERSION = "v1"
HKDF_INFO = b"ccm-gateway secrets at rest v1"
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16

_B64URL = r"[A-Za-z0-9_-]+"
_TOKEN = re.compile(rf"v1\.([0-9a-f]{{8}})\.({_B64URL})\.({_B64URL})")


class SecretDecryptError(Exception):
    """A stored secret cannot be decrypted: malformed, unknown key, tampered or
    wrong context. Internal: the message never holds plaintext or key material."""


def derive_key(master_secret: str) -> bytes:
    """The 32-byte AES key for a master secret (HKDF-SHA256, no salt)."""
    return HKDF(
        algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=HKDF_INFO
    ).derive(master_secret.encode("utf-8"))


def key_id(derived_key: bytes) -> str:
    return hashlib.sha256(derived_key).hexdigest()[:8]


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    # Only the canonical encoding: one token per ciphertext.
    if _b64encode(data) != text:
        raise ValueError("non-canonical base64url")
    return data


def _aad(kid: str, context: str) -> bytes:
    # The key id has a fixed length and no dots, so this prefix is unambiguous.
    return f"{VERSION}.{kid}.".encode("ascii") + context.encode("utf-8")


def _check_context(context: Any) -> None:
    if not isinstance(context, str) or not context:
        raise ValueError("context must be a non-empty string (e.g. integration id + purpose)")


class SecretBox:
    """Encrypts and decrypts secrets at rest; see the module docstring."""

    __slots__ = ("_current_kid", "_keys")

    def __init__(self, secret_key: str, previous: Iterable[str] = ()) -> None:
        if not secret_key:
            raise ConfigError("CCM_SECRET_KEY must not be empty")
        current = derive_key(secret_key)
        self._current_kid = key_id(current)
        self._keys: dict[str, AESGCM] = {self._current_kid: AESGCM(current)}
        seen = {current}
        for secret in previous:
            if not secret:
                continue
            derived = derive_key(secret)
            if derived in seen:
                continue
            kid = key_id(derived)
            if kid in self._keys:  # ~2**-32 per pair: ask for another secret
                raise ConfigError(
                    f"CCM_SECRET_KEY_PREVIOUS: two secrets share key id {kid}; "
                    "generate a new CCM_SECRET_KEY"
                )
            seen.add(derived)
            self._keys[kid] = AESGCM(derived)

    @classmethod
    def from_settings(cls, settings: Any) -> SecretBox:
        return cls(settings.secret_key, settings.previous_secret_keys)

    @property
    def current_key_id(self) -> str:
        return self._current_kid

    @property
    def key_ids(self) -> tuple[str, ...]:
        """Current key id first, then the previous ones in configured order."""
        return tuple(self._keys)

    def __repr__(self) -> str:
        return f"SecretBox(current={self._current_kid!r}, keys={len(self._keys)})"

    def encrypt(self, plaintext: str, *, context: str) -> str:
        if not isinstance(plaintext, str):
            raise TypeError("plaintext must be a str")
        _check_context(context)
        kid = self._current_kid
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._keys[kid].encrypt(nonce, plaintext.encode("utf-8"), _aad(kid, context))
        return f"{VERSION}.{kid}.{_b64encode(nonce)}.{_b64encode(sealed)}"

    def decrypt(self, token: str, *, context: str) -> str:
        _check_context(context)
        kid, nonce, sealed = self._parse(token)
        try:
            data = self._keys[kid].decrypt(nonce, sealed, _aad(kid, context))
        except InvalidTag:
            raise SecretDecryptError(
                f"secret token (key id {kid}) failed authentication: "
                "tampered, or decrypted with the wrong context"
            ) from None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:  # authenticated, so only a foreign writer
            raise SecretDecryptError(f"secret token (key id {kid}) is not UTF-8") from None

    def needs_rotation(self, token: str) -> bool:
        """True if ``token`` is under a previous key. Checks the header only
        (the tag needs the context); raises for malformed tokens and unknown keys."""
        kid, _, _ = self._parse(token)
        return kid != self._current_kid

    def reencrypt(self, token: str, *, context: str) -> str:
        """Decrypt (any known key) and encrypt again under the current key."""
        return self.encrypt(self.decrypt(token, context=context), context=context)

    def reencrypt_fields(self, row: Any, contexts: dict[str, str]) -> list[str]:
        """Re-encrypt, on ``row``, each ciphertext attribute named in ``contexts`` (name ->
        its context) that is under a previous key; the names changed, for the caller's
        save (keys rotate-master)."""
        changed = []
        for name, context in contexts.items():
            value = getattr(row, name)
            if value and self.needs_rotation(value):
                setattr(row, name, self.reencrypt(value, context=context))
                changed.append(name)
        return changed

    def _parse(self, token: Any) -> tuple[str, bytes, bytes]:
        if not isinstance(token, str):
            raise SecretDecryptError("malformed secret token: not a string")
        match = _TOKEN.fullmatch(token)
        if match is None:
            if not token.startswith(f"{VERSION}."):
                raise SecretDecryptError(
                    f"malformed secret token: expected the {VERSION}.<key id>.<nonce>."
                    "<ciphertext> format"
                )
            raise SecretDecryptError("malformed secret token: bad key id, nonce or ciphertext")
        kid, nonce_text, sealed_text = match.groups()
        try:
            nonce = _b64decode(nonce_text)
            sealed = _b64decode(sealed_text)
        except ValueError:
            raise SecretDecryptError("malformed secret token: bad base64url") from None
        if len(nonce) != NONCE_BYTES or len(sealed) < TAG_BYTES:
            raise SecretDecryptError("malformed secret token: bad nonce or ciphertext length")
        if kid not in self._keys:
            raise SecretDecryptError(
                f"secret token is under unknown key id {kid}; known: "
                f"{', '.join(self._keys)} (from CCM_SECRET_KEY and CCM_SECRET_KEY_PREVIOUS). "
                "Was the secret it was encrypted with removed from CCM_SECRET_KEY_PREVIOUS?"
            )
        return kid, nonce, sealed


__all__ = ["SecretBox", "SecretDecryptError", "derive_key", "key_id"]
