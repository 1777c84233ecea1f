"""Replay the first outcome of a keyed write; refuse the key for a different request.

Keys belong to their caller (DESIGN.md invariant 9): a record is unique per
(operation, owner, key), where the owner is the principal that sent the key, its
partner for partner principals, and ``integration:<slug>`` for keys derived from
vendor events. API principals are users or clients, so no API caller reaches an
integration's namespace, and one caller's key never blocks or reveals another's.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from tortoise import fields
from tortoise.exceptions import IntegrityError
from tortoise.models import Model
from tortoise.transactions import in_transaction

from ccm_gateway.errors import BadInput, Conflict
from ccm_gateway.kit.text import text_problem
from ccm_gateway.principal import Actor

MAX_KEY_LENGTH = 200
# Owner of the records written before keys had owners.
LEGACY_OWNER = ""


class IdempotencyRecord(Model):
    """The first outcome of a keyed write, replayed for the same key and request."""

    # Annotated: BigIntField drops IntField's type parameter, so mypy would see Any.
    id: fields.Field[int] = fields.BigIntField(primary_key=True)
    scope = fields.CharField(max_length=64)
    # Whose key it is (idempotency.key_owner): one caller's key never blocks another's.
    # Records from before keys had owners carry "" and replay for any caller.
    owner = fields.CharField(max_length=250)
    key = fields.CharField(max_length=200)
    request_hash = fields.CharField(max_length=64)
    response: fields.JSONField[dict[str, Any]] = fields.JSONField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "idempotency_record"
        unique_together = (("scope", "owner", "key"),)


def request_hash(request: dict[str, Any]) -> str:
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def key_owner(actor: Actor) -> str:
    """The namespace of the keys this actor sends."""
    if actor.partner_id is not None:
        return f"partner:{actor.partner_id}"
    return f"{actor.type}:{actor.id}"


class _Legacy:
    """Whether records without an owner exist, asked once per process: a database
    created after owners came never has any, so its keyed writes skip the lookup."""

    present: bool | None = None

    @classmethod
    async def record(cls, scope: str, key: str) -> IdempotencyRecord | None:
        if cls.present is None:
            cls.present = await IdempotencyRecord.exists(owner=LEGACY_OWNER)
        if not cls.present:
            return None
        return await IdempotencyRecord.get_or_none(scope=scope, owner=LEGACY_OWNER, key=key)


def _replay(record: IdempotencyRecord, key: str, digest: str) -> dict[str, Any]:
    if record.request_hash != digest:
        raise Conflict(f"idempotency key {key!r} was already used with a different request",
                       field="idempotencyKey")
    return record.response


async def run_once(
    actor: Actor,
    scope: str,
    key: str | None,
    request: dict[str, Any],
    action: Callable[[], Awaitable[dict[str, Any]]],
) -> dict[str, Any]:
    """Run ``action`` once per (scope, key owner, key) inside the caller's transaction.

    The record is inserted before the work so a concurrent request with the
    same key waits on the unique index until the first one commits, then
    reads its outcome instead of doing the work twice.
    """
    if key is None:
        return await action()
    if not key.strip() or len(key) > MAX_KEY_LENGTH:
        raise BadInput(f"idempotencyKey must be 1 to {MAX_KEY_LENGTH} characters",
                       field="idempotencyKey")
    problem = text_problem(key)
    if problem is not None:
        raise BadInput(f"idempotencyKey {problem}", field="idempotencyKey")
    digest = request_hash(request)
    owner = key_owner(actor)
    if actor.type != "integration":
        # A key an API caller used before owners existed still replays for it. Vendor
        # events never need this: an event's effect commits with its APPLIED status,
        # so an applied event is never processed again.
        legacy = await _Legacy.record(scope, key)
        if legacy is not None:
            return _replay(legacy, key, digest)
    try:
        # A savepoint: on PostgreSQL a failed insert would otherwise abort
        # the whole transaction.
        async with in_transaction():
            record = await IdempotencyRecord.create(
                scope=scope, owner=owner, key=key, request_hash=digest, response={}
            )
    except IntegrityError:
        existing = await IdempotencyRecord.get(scope=scope, owner=owner, key=key)
        return _replay(existing, key, digest)
    response = await action()
    await IdempotencyRecord.filter(id=record.id).update(response=response)
    return response
