"""API clients (OAuth 2.0 client_credentials): create, list, revoke, authenticate.

A client secret is shown once, at creation; only an scrypt hash with a
per-secret salt is stored, and it is compared in constant time. Scopes are
permission names (``customer:read``, ...); a client may only hold scopes that
its roles grant, and a token's permissions are its roles' permissions
narrowed to its scopes.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from ccm_gateway.audit.service import record
from ccm_gateway.auth.models import ApiClient
from ccm_gateway.errors import BadInput, Conflict, Forbidden, NotFound
from ccm_gateway.kit.pagination import Keyset, Page, Window, page
from ccm_gateway.kit.timestamps import check_aware
from ccm_gateway.principal import ROLE_PERMISSIONS, Actor, Permission, Role

SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_LEN = 2**14, 8, 1, 32
CLI_ACTOR = Actor(type="system", id="ccm-gateway-cli")
SCOPES_SUPPORTED = tuple(p.value for p in Permission)
NAME_MAX = 200  # ApiClient.name


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_secret(secret: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P,
                            dklen=SCRYPT_LEN)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def check_secret(secret: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(digest)
        actual = hashlib.scrypt(secret.encode(), salt=_unb64(salt), n=int(n), r=int(r),
                                p=int(p), dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


# Compared against when the client id is unknown, so that answer takes as long as a wrong secret.
_DUMMY_HASH = hash_secret(secrets.token_urlsafe(32))


def _roles(roles: list[str]) -> list[Role]:
    try:
        parsed = sorted({Role(r) for r in roles})
    except ValueError:
        raise BadInput(f"unknown role in {roles!r}; roles are "
                       f"{', '.join(r.value for r in Role)}", field="role") from None
    if not parsed:
        raise BadInput("at least one role is required", field="role")
    return parsed


def role_scopes(roles: list[Role]) -> set[str]:
    return {p.value for role in roles for p in ROLE_PERMISSIONS[role]}


def split_scope(text: str | None) -> list[str]:
    return [s for s in (text or "").split(" ") if s]


@dataclass(frozen=True, slots=True)
class CreatedClient:
    client_id: str
    client_secret: str
    client: ApiClient


async def create_client(name: str, roles: list[str], scopes: list[str] | None = None, *,
                        expires_in_days: int | None = None,
                        expires_at: datetime | None = None,
                        grantor: frozenset[str] | None = None,
                        actor: Actor = CLI_ACTOR) -> CreatedClient:
    """``grantor``: the permissions of the principal creating the client (None for the
    CLI); a principal may not create a client that could do more than itself."""
    if not name.strip():
        raise BadInput("name must not be empty", field="name")
    if len(name.strip()) > NAME_MAX:
        raise BadInput(f"name must be at most {NAME_MAX} characters", field="name")
    parsed = _roles(roles)
    granted = role_scopes(parsed)
    wanted = set(scopes) if scopes else granted
    unknown = wanted - set(SCOPES_SUPPORTED)
    if unknown:
        raise BadInput(f"unknown scope(s) {' '.join(sorted(unknown))}; scopes are "
                       f"{' '.join(SCOPES_SUPPORTED)}", field="scope")
    beyond = wanted - granted
    if beyond:
        raise BadInput(f"scope(s) {' '.join(sorted(beyond))} are not granted by roles "
                       f"{' '.join(parsed)}", field="scope")
    if expires_in_days is not None and expires_in_days <= 0:
        raise BadInput("expires-in-days must be positive", field="expires_in_days")
    now = datetime.now(UTC)
    if expires_at is not None:
        if expires_in_days is not None:
            raise BadInput("give expires_at or expires_in_days, not both", field="expires_at")
        check_aware(expires_at, "expires_at")
        if expires_at <= now:
            raise BadInput("expires_at must be in the future", field="expires_at")
    elif expires_in_days:
        expires_at = now + timedelta(days=expires_in_days)
    if grantor is not None:
        _check_grantable(wanted, grantor)
    client_id = "ccm_" + secrets.token_hex(12)
    secret = secrets.token_urlsafe(32)
    async with in_transaction():
        client = await ApiClient.create(
            client_id=client_id, name=name.strip(), secret_hash=hash_secret(secret),
            scopes=" ".join(sorted(wanted)), roles=" ".join(parsed),
            expires_at=expires_at, created_at=now)
        await record(actor, "api_client.created", object_type="api_client",
                     object_id=client_id, after=describe(client))
    return CreatedClient(client_id, secret, client)


def _check_grantable(scopes: set[str], grantor: frozenset[str]) -> None:
    """No escalation: whoever creates a client, or learns its new secret, must already
    hold every permission the client's tokens can carry."""
    beyond = scopes - grantor
    if beyond:
        raise Forbidden(f"you cannot grant {' '.join(sorted(beyond))}: your own roles do "
                        "not hold it")


def describe(client: ApiClient) -> dict[str, Any]:
    """Everything about a client except its secret hash."""
    def iso(value: datetime | None) -> str | None:
        return value.astimezone(UTC).isoformat() if value else None

    return {"client_id": client.client_id, "name": client.name, "roles": client.roles.split(),
            "scopes": client.scopes.split(), "created_at": iso(client.created_at),
            "expires_at": iso(client.expires_at), "revoked_at": iso(client.revoked_at)}


async def list_clients() -> list[dict[str, Any]]:
    return [describe(c) for c in await ApiClient.all().order_by("created_at", "id")]


async def page_clients(window: Window, max_page_size: int) -> Page:
    """Oldest first, by id."""
    window.check(max_page_size)
    return await page(ApiClient.all(), Keyset(("id",), (int,)), window)


async def revoke_client(client_id: str, *, actor: Actor = CLI_ACTOR) -> ApiClient:
    async with in_transaction():
        client = await ApiClient.filter(client_id=client_id).select_for_update().first()
        if client is None:
            raise NotFound(f"no API client {client_id!r}")
        if client.revoked_at is None:
            before = describe(client)
            client.revoked_at = datetime.now(UTC)
            await client.save(update_fields=["revoked_at"])
            await record(actor, "api_client.revoked", object_type="api_client",
                         object_id=client_id, before=before, after=describe(client))
    return client


async def rotate_secret(client_id: str, *, grantor: frozenset[str] | None = None,
                        actor: Actor = CLI_ACTOR) -> CreatedClient:
    """A new secret, shown once; the old one stops working at once. Tokens already
    issued stay valid until they expire (revoke the client to end them)."""
    secret = secrets.token_urlsafe(32)
    secret_hash = await asyncio.to_thread(hash_secret, secret)  # scrypt: off the event loop
    async with in_transaction():
        client = await ApiClient.filter(client_id=client_id).select_for_update().first()
        if client is None:
            raise NotFound(f"no API client {client_id!r}")
        if grantor is not None:
            _check_grantable(set(client.scopes.split()), grantor)
        if client.revoked_at is not None:
            raise Conflict(f"API client {client_id!r} is revoked; create a new one")
        client.secret_hash = secret_hash
        await client.save(update_fields=["secret_hash"])
        await record(actor, "api_client.secret_rotated", object_type="api_client",
                     object_id=client_id, after=describe(client))
    return CreatedClient(client_id, secret, client)


def refusal(client: ApiClient | None, secret: str) -> str | None:
    """Why these credentials do not authenticate a client, or None when they do."""
    if client is None:
        check_secret(secret, _DUMMY_HASH)
        return "unknown_client"
    if not check_secret(secret, client.secret_hash):
        return "bad_secret"
    if client.revoked_at is not None:
        return "revoked"
    if client.expires_at is not None and client.expires_at <= datetime.now(UTC):
        return "expired"
    return None


async def is_active(client_id: str) -> bool:
    """Tokens of a revoked or expired client stop working at once."""
    client = await ApiClient.filter(client_id=client_id).only(
        "id", "revoked_at", "expires_at").first()
    return (client is not None and client.revoked_at is None
            and (client.expires_at is None or client.expires_at > datetime.now(UTC)))
