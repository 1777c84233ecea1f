"""Replay the first outcome of a keyed write; refuse the key for a different request."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from ccm_gateway.errors import BadInput, Conflict
from ccm_gateway.ledger.models import IdempotencyRecord

MAX_KEY_LENGTH = 200


def request_hash(request: dict[str, Any]) -> str:
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def run_once(
    scope: str,
    key: str | None,
    request: dict[str, Any],
    action: Callable[[], Awaitable[dict[str, Any]]],
) -> dict[str, Any]:
    """Run ``action`` once per (scope, key) inside the caller's transaction.

    The record is inserted before the work so a concurrent request with the
    same key waits on the unique index until the first one commits, then
    reads its outcome instead of doing the work twice.
    """
    if key is None:
        return await action()
    if not key.strip() or len(key) > MAX_KEY_LENGTH:
        raise BadInput(f"idempotencyKey must be 1 to {MAX_KEY_LENGTH} characters",
                       field="idempotencyKey")
    digest = request_hash(request)
    try:
        # A savepoint: on PostgreSQL a failed insert would otherwise abort
        # the whole transaction.
        async with in_transaction():
            record = await IdempotencyRecord.create(
                scope=scope, key=key, request_hash=digest, response={}
            )
    except IntegrityError:
        existing = await IdempotencyRecord.get(scope=scope, key=key)
        if existing.request_hash != digest:
            raise Conflict(
                f"idempotency key {key!r} was already used with a different request",
                field="idempotencyKey",
            ) from None
        return existing.response
    response = await action()
    await IdempotencyRecord.filter(id=record.id).update(response=response)
    return response
