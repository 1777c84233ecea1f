"""The transactional outbox (DESIGN.md invariant 6): a change another system must hear
about writes an ``OutboxMessage`` in the transaction that makes the change, so a
rolled-back change sends nothing and a committed one is never lost.

Writers call ``record`` inside their transaction; the worker's dispatcher
(``sync/dispatch.py``) turns messages into deliveries and deletes them. The queue
only wakes the dispatcher: after its transaction commits, a caller that recorded
something pushes a wake (``wake``); the dispatcher also looks on its own every second,
so a lost wake delays a message by at most that much.

This module sits in the kit because the ledger, customers and alerts all write here,
while the outbound side reads every one of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import weakref
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from redis.exceptions import RedisError
from tortoise import fields
from tortoise.models import Model

log = logging.getLogger("ccm_gateway.outbox")

# The Redis list a wake is pushed on; the dispatcher blocks on it (BLPOP).
WAKE_KEY = "ccm:outbox:wake"


class OutboxMessage(Model):
    """One change to tell the outside about. Deleted once dispatched: the deliveries it
    became are the record. Its id, which rises with every message, is the ``version``
    of the customer's credit state (messages about one customer are written under that
    customer's account lock, so their ids rise in commit order)."""

    # Annotated: BigIntField drops IntField's type parameter, so mypy would see Any.
    id: fields.Field[int] = fields.BigIntField(primary_key=True)
    customer_id = fields.UUIDField(null=True)
    integration_id = fields.UUIDField(null=True)
    # An event delivered as it is (ledger.entry.posted, alert.raised), if any.
    event_type = fields.CharField(max_length=64, null=True)
    data: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    # The customer's credit state changed: credit.updated goes to its subscribers.
    state_changed = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "outbox_message"


class _Pending:
    __slots__ = ("recorded",)

    def __init__(self) -> None:
        self.recorded = False


# Set by ``waking`` around a unit of work (a GraphQL operation, a job). A mutable box,
# so a record made in a child task (asyncio copies the context) is still seen.
_pending: contextvars.ContextVar[_Pending | None] = contextvars.ContextVar(
    "ccm_outbox_pending", default=None)


# PostgreSQL: ``record``'s insert, for a caller that folds it into a statement of its own
# (with ``insert_args``); format it with the four parameters' placeholders.
INSERT_SQL = ('INSERT INTO "outbox_message" ("customer_id", "integration_id", "event_type", '
              '"data", "state_changed", "created_at") VALUES ({}, NULL, {}, {}::jsonb, true, {})')


def insert_args(customer_id: Any, event_type: str | None = None,
                data: dict[str, Any] | None = None) -> list[Any]:
    """INSERT_SQL's parameters: a message about a change of the customer's credit state
    (and an event that goes out as it is, if any); marks the unit of work for a wake,
    as ``record`` does."""
    mark_recorded()
    return [customer_id, event_type, None if data is None else json.dumps(data),
            datetime.now(UTC)]


def mark_recorded() -> None:
    box = _pending.get()
    if box is not None:
        box.recorded = True


async def record(*, customer_id: Any = None, integration_id: Any = None,
                 event_type: str | None = None, data: dict[str, Any] | None = None,
                 state_changed: bool = False) -> None:
    """Write one outbox message in the caller's transaction.

    ``state_changed``: the customer's limit, terms, status or exposure moved (the caller
    holds the customer's account row lock). ``event_type`` with ``data``: an event that
    goes out as it is."""
    await OutboxMessage.create(customer_id=customer_id, integration_id=integration_id,
                               event_type=event_type, data=data, state_changed=state_changed)
    mark_recorded()


async def wake(queue: Any) -> None:
    """Tell a dispatcher there is something to send. Best effort: a lost wake costs at
    most the dispatcher's own one-second look."""
    try:
        async with queue.pipeline(transaction=True) as pipe:
            pipe.rpush(WAKE_KEY, 1)
            pipe.ltrim(WAKE_KEY, -16, -1)  # waiting wakes say the same thing
            await pipe.execute()
    except (RedisError, OSError) as exc:
        log.warning("could not wake the outbox dispatcher: %s", exc.__class__.__name__)


class Waker:
    """One process's wakes, coalesced: at most one push in flight per queue, and one more
    after it for everything recorded meanwhile. A wake asked for always has a push that
    starts after it was asked for, so nothing committed before waits for the dispatcher's
    own look; a busy API process pushes once per Redis round trip, not once per write."""

    def __init__(self, queue: Any) -> None:
        self.queue = queue
        self._wanted = False
        self._task: asyncio.Task[None] | None = None

    def request(self) -> None:
        self._wanted = True
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._push(),
                                                                name="outbox-wake")

    async def _push(self) -> None:
        while self._wanted:
            self._wanted = False
            await wake(self.queue)

    async def drain(self) -> None:
        """Wait for the pushes asked for so far (tests, shutdown)."""
        while self._task is not None and not self._task.done():
            await self._task


_wakers: weakref.WeakKeyDictionary[Any, Waker] = weakref.WeakKeyDictionary()


def waker(queue: Any) -> Waker:
    """This process's ``Waker`` for ``queue``."""
    found = _wakers.get(queue)
    if found is None:
        found = _wakers[queue] = Waker(queue)
    return found


@contextlib.asynccontextmanager
async def waking(queue: Any, *, coalesced: bool = False) -> AsyncIterator[None]:
    """Around a unit of work that commits its own transactions: wake the dispatcher
    afterwards if anything inside recorded a message. ``coalesced``: through this
    process's ``Waker``, without waiting for the push (the API's operations)."""
    box = _Pending()
    token = _pending.set(box)
    try:
        yield
    finally:
        _pending.reset(token)
        if box.recorded and queue is not None:
            if coalesced:
                waker(queue).request()
            else:
                await wake(queue)
