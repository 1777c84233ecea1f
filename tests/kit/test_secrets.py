"""Invariant 8: secrets at rest are AES-256-GCM under a key from the environment."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from ccm_gateway.config import DEV_SECRET_KEY, Settings
from ccm_gateway.errors import ConfigError
from ccm_gateway.kit.secrets import SecretBox, SecretDecryptError, derive_key, key_id

OLD = "old-master-secret-" + "o" * 32
NEW = "new-master-secret-" + "n" * 32
PLAIN = "whsec_super-secret-signing-value-42"
CTX = "integration:7f1c:inbound-signing"

TOKEN_RE = re.compile(r"v1\.[0-9a-f]{8}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_round_trip_and_format() -> None:
    box = SecretBox(NEW)
    token = box.encrypt(PLAIN, context=CTX)
    assert TOKEN_RE.fullmatch(token)
    version, _kid, nonce, sealed = token.split(".")
    assert version == "v1"
    assert len(b64d(nonce)) == 12
    assert len(b64d(sealed)) == len(PLAIN.encode()) + 16
    assert box.decrypt(token, context=CTX) == PLAIN
    assert not box.needs_rotation(token)
    for text in ("", "ünïcødé ✓ 🔑", "x" * 10_000):
        assert box.decrypt(box.encrypt(text, context=CTX), context=CTX) == text


def test_key_derivation_and_id() -> None:
    derived = derive_key(NEW)
    assert len(derived) == 32
    assert derived != derive_key(OLD)
    # The id is of the derived key, not of the master secret.
    assert key_id(derived) == hashlib.sha256(derived).hexdigest()[:8]
    assert key_id(derived) != hashlib.sha256(NEW.encode()).hexdigest()[:8]
    box = SecretBox(NEW)
    assert box.current_key_id == key_id(derived)
    assert box.encrypt(PLAIN, context=CTX).split(".")[1] == box.current_key_id
    assert NEW not in repr(box) and derived.hex() not in repr(box)


def test_ciphertext_differs_each_time() -> None:
    box = SecretBox(NEW)
    tokens = {box.encrypt(PLAIN, context=CTX) for _ in range(50)}
    assert len(tokens) == 50
    assert len({t.split(".")[2] for t in tokens}) == 50  # fresh nonces
    assert all(box.decrypt(t, context=CTX) == PLAIN for t in tokens)


def _flip(text: str, i: int) -> str:
    return text[:i] + ("A" if text[i] != "A" else "B") + text[i + 1:]


def test_tampering_with_any_part_fails() -> None:
    box = SecretBox(NEW)
    token = box.encrypt(PLAIN, context=CTX)
    version, kid, nonce, sealed = token.split(".")
    raw_nonce, raw_sealed = b64d(nonce), b64d(sealed)

    def enc(b: bytes) -> str:
        return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

    tampered = [
        f"v2.{kid}.{nonce}.{sealed}",
        f"{version}.{'0' * 8 if kid != '0' * 8 else '1' * 8}.{nonce}.{sealed}",
        f"{version}.{kid}.{enc(bytes([raw_nonce[0] ^ 1]) + raw_nonce[1:])}.{sealed}",
        f"{version}.{kid}.{nonce}.{enc(raw_sealed[:-1] + bytes([raw_sealed[-1] ^ 1]))}",
        f"{version}.{kid}.{nonce}.{enc(bytes([raw_sealed[0] ^ 0x80]) + raw_sealed[1:])}",
        f"{version}.{kid}.{nonce}.{enc(raw_sealed[:-1])}",  # truncated tag
        f"{version}.{kid}.{nonce}.{enc(raw_sealed + b'x')}",  # appended byte
        f"{version}.{kid}.{enc(raw_nonce[:-1])}.{sealed}",  # short nonce
        f"{version}.{kid}.{nonce}",
        f"{token}.extra",
        token + "=",
        " " + token,
        "",
        "not a token",
    ]
    # Every single-character change anywhere in the token.
    tampered += [_flip(token, i) for i in range(len(token))]
    for bad in tampered:
        if bad == token:
            continue
        with pytest.raises(SecretDecryptError) as info:
            box.decrypt(bad, context=CTX)
        assert PLAIN not in str(info.value)


def test_key_id_is_bound_even_if_both_keys_are_known() -> None:
    # Relabelling a token with another known key id must not decrypt.
    box = SecretBox(NEW, [OLD])
    token = box.encrypt(PLAIN, context=CTX)
    old_kid = key_id(derive_key(OLD))
    relabelled = token.replace(f".{box.current_key_id}.", f".{old_kid}.", 1)
    with pytest.raises(SecretDecryptError, match="failed authentication"):
        box.decrypt(relabelled, context=CTX)


def test_wrong_context_fails() -> None:
    box = SecretBox(NEW)
    token = box.encrypt(PLAIN, context=CTX)
    for other in ("integration:7f1d:inbound-signing", "integration:7f1c:outbound-credential",
                  CTX + " ", CTX.upper()):
        with pytest.raises(SecretDecryptError, match="wrong context") as info:
            box.decrypt(token, context=other)
        assert PLAIN not in str(info.value) and other not in str(info.value)
    with pytest.raises(SecretDecryptError):
        box.reencrypt(token, context="integration:other:inbound-signing")


def test_context_is_required() -> None:
    box = SecretBox(NEW)
    with pytest.raises(ValueError, match="context"):
        box.encrypt(PLAIN, context="")
    token = box.encrypt(PLAIN, context=CTX)
    with pytest.raises(ValueError, match="context"):
        box.decrypt(token, context="")
    with pytest.raises(TypeError):
        box.encrypt(PLAIN.encode(), context=CTX)  # type: ignore[arg-type]


def test_unknown_key_id_has_a_clear_message() -> None:
    token = SecretBox(OLD).encrypt(PLAIN, context=CTX)
    old_kid = token.split(".")[1]
    box = SecretBox(NEW)
    with pytest.raises(SecretDecryptError) as info:
        box.decrypt(token, context=CTX)
    message = str(info.value)
    assert f"unknown key id {old_kid}" in message
    assert "CCM_SECRET_KEY_PREVIOUS" in message
    for leaked in (PLAIN, OLD, NEW, token, derive_key(OLD).hex(), derive_key(NEW).hex()):
        assert leaked not in message
    with pytest.raises(SecretDecryptError, match="unknown key id"):
        box.needs_rotation(token)


def test_rotation() -> None:
    old_token = SecretBox(OLD).encrypt(PLAIN, context=CTX)
    settings = Settings.from_env({"CCM_SECRET_KEY": NEW, "CCM_SECRET_KEY_PREVIOUS": OLD})
    box = SecretBox.from_settings(settings)
    assert box.decrypt(old_token, context=CTX) == PLAIN
    assert box.needs_rotation(old_token)

    new_token = box.reencrypt(old_token, context=CTX)
    assert new_token.split(".")[1] == box.current_key_id == key_id(derive_key(NEW))
    assert not box.needs_rotation(new_token)
    assert box.decrypt(new_token, context=CTX) == PLAIN
    # Encryption always uses the current key.
    assert box.encrypt(PLAIN, context=CTX).split(".")[1] == box.current_key_id
    # After the old secret is dropped, only the re-encrypted token still works.
    after = SecretBox(NEW)
    assert after.decrypt(new_token, context=CTX) == PLAIN
    with pytest.raises(SecretDecryptError, match="unknown key id"):
        after.decrypt(old_token, context=CTX)


def test_several_previous_keys() -> None:
    older = "older-master-secret-" + "x" * 32
    t_older = SecretBox(older).encrypt(PLAIN, context=CTX)
    t_old = SecretBox(OLD).encrypt(PLAIN, context=CTX)
    box = SecretBox(NEW, [OLD, older, OLD, NEW, ""])  # duplicates and blanks ignored
    assert box.key_ids == (box.current_key_id, key_id(derive_key(OLD)),
                           key_id(derive_key(older)))
    for token in (t_older, t_old):
        assert box.needs_rotation(token)
        assert box.decrypt(token, context=CTX) == PLAIN


def test_plaintext_never_in_token() -> None:
    box = SecretBox(NEW)
    token = box.encrypt(PLAIN, context=CTX)
    assert PLAIN not in token
    *_, sealed = token.split(".")
    assert PLAIN.encode() not in b64d(sealed)
    assert CTX not in token  # associated data is bound, not stored


def test_settings_parse_previous_secret_keys() -> None:
    assert Settings.from_env({}).previous_secret_keys == ()
    assert Settings.from_env({"CCM_SECRET_KEY_PREVIOUS": ""}).previous_secret_keys == ()
    s = Settings.from_env({"CCM_SECRET_KEY": NEW,
                           "CCM_SECRET_KEY_PREVIOUS": f" {OLD} ,, second-secret ,"})
    assert s.previous_secret_keys == (OLD, "second-secret")
    assert OLD not in repr(s)


def test_settings_validate_previous_secret_keys() -> None:
    with pytest.raises(ConfigError, match="CCM_SECRET_KEY_PREVIOUS entry 2 repeats") as info:
        Settings.from_env({"CCM_SECRET_KEY": NEW, "CCM_SECRET_KEY_PREVIOUS": f"{OLD},{NEW}"})
    assert NEW not in str(info.value)

    prod = {"CCM_ENV": "prod", "CCM_SECRET_KEY": NEW,
            "CCM_DATABASE_URL": "postgres://u@h:5432/db", "CCM_REDIS_URL": "redis://h:6379/0",
            "CCM_PUBLIC_URL": "https://ccm.example.com", "CCM_METRICS_OPEN": "true"}
    assert Settings.from_env({**prod, "CCM_SECRET_KEY_PREVIOUS": OLD}).previous_secret_keys \
        == (OLD,)
    for weak in ("short-secret", DEV_SECRET_KEY):
        with pytest.raises(ConfigError, match="CCM_SECRET_KEY_PREVIOUS entry 1") as info:
            Settings.from_env({**prod, "CCM_SECRET_KEY_PREVIOUS": weak})
        assert weak not in str(info.value)
