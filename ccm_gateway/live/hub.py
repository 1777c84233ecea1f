"""This process's live events: published after the outbox dispatcher commits, fanned out
to the subscriptions open here.

With Redis (``CCM_REDIS_URL``), a dispatcher in any process publishes on one pub/sub
channel, and every API process listens on it with one connection (``listen``) and fans
each event out in-process, so a subscriber on any API process hears what any API or
worker process committed. On the embedded queue the dispatcher runs in the API process
and hands its events straight to the hub.

Pushes are at most once: an event published while a process is not listening (a
restart, a Redis outage) is not pushed there. Subscribers that must not miss anything
read the alerts and the credit state again when they reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import weakref
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from redis.exceptions import RedisError

from ccm_gateway.errors import Conflict
from ccm_gateway.kit.outbox import OutboxMessage

log = logging.getLogger("ccm_gateway.live")

T = TypeVar("T")

# Redis pub/sub channels are server-wide, not per database: the database number in the
# name keeps deployments that share a server on different databases apart.
CHANNEL_PREFIX = "ccm:live:db"
# Events a subscription may have waiting; one that falls this far behind is ended (its
# client subscribes again and reads the state afresh) rather than holding memory.
MAX_PENDING = 1000
# The listener waits this long before subscribing again after losing Redis.
RECONNECT_SECONDS = 1.0
LISTEN_READY_SECONDS = 5.0

ALERT = "alert"
CREDIT = "credit"


@dataclass(slots=True, eq=False)
class Event:
    """One thing to push: an alert raised (``data`` is ``alert.raised``'s) or a change of a
    customer's credit state (``data`` holds the state's ``version``)."""

    kind: str
    customer_id: str | None
    data: dict[str, Any]
    # Loads shared by every subscription of this process that pushes the event.
    _loads: dict[str, asyncio.Future[Any]] = field(default_factory=dict)

    async def load_once(self, key: str, load: Callable[[], Awaitable[T]]) -> T:
        """``load()``'s result, loaded once per event in this process however many
        subscriptions push it."""
        found = self._loads.get(key)
        if found is None:
            found = self._loads[key] = asyncio.ensure_future(load())
        # Shielded: one subscription cancelled while waiting must not cancel the others'.
        result: T = await asyncio.shield(found)
        return result

    def to_json(self) -> str:
        return json.dumps({"kind": self.kind, "customerId": self.customer_id,
                           "data": self.data}, default=str)

    @classmethod
    def from_json(cls, raw: str | bytes) -> Event:
        parsed = json.loads(raw)
        return cls(kind=str(parsed["kind"]), customer_id=parsed.get("customerId"),
                   data=dict(parsed.get("data") or {}))


def events_of(messages: Sequence[OutboxMessage]) -> list[Event]:
    """What a dispatched batch tells subscribers: each alert whose channels include
    "subscription", and each customer's newest state change (one per customer: the
    subscriber reads the state as it is now anyway)."""
    events: list[Event] = []
    states: dict[str, int] = {}
    for message in messages:
        data = message.data or {}
        if message.event_type == "alert.raised" and "subscription" in data.get(
                "channels", ("subscription",)):
            customer = data.get("customerId")
            events.append(Event(ALERT, str(customer) if customer else None, dict(data)))
        if message.state_changed and message.customer_id is not None:
            states[str(message.customer_id)] = message.id
    events += [Event(CREDIT, c, {"version": v}) for c, v in states.items()]
    return events


class Subscription:
    """One subscription's waiting events."""

    def __init__(self, maxsize: int = MAX_PENDING) -> None:
        self._queue: asyncio.Queue[Event] = asyncio.Queue(maxsize)
        self._overflowed = False

    def offer(self, event: Event) -> None:
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self._overflowed = True

    async def next(self) -> Event:
        if self._overflowed:
            raise Conflict("events arrived faster than this subscription read them; "
                           "subscribe again", reason="subscriber_overflow")
        return await self._queue.get()


class Hub:
    """The subscriptions open in this process."""

    def __init__(self) -> None:
        self._subscriptions: set[Subscription] = set()

    def deliver(self, events: Sequence[Event]) -> None:
        for event in events:
            for subscription in self._subscriptions:
                subscription.offer(event)

    @contextlib.contextmanager
    def subscribe(self) -> Iterator[Subscription]:
        subscription = Subscription()
        self._subscriptions.add(subscription)
        try:
            yield subscription
        finally:
            self._subscriptions.discard(subscription)

    @property
    def size(self) -> int:
        return len(self._subscriptions)


_hubs: weakref.WeakKeyDictionary[Any, Hub] = weakref.WeakKeyDictionary()


def hub_for(queue: Any) -> Hub:
    """This process's hub for ``queue`` (the API and its embedded worker share one
    queue, so the embedded dispatcher finds the API's subscriptions through it)."""
    found = _hubs.get(queue)
    if found is None:
        found = _hubs[queue] = Hub()
    return found


def channel_for(queue: Any) -> str:
    db = queue.connection_pool.connection_kwargs.get("db", 0)
    return f"{CHANNEL_PREFIX}{db}"


async def publish(queue: Any, events: Sequence[Event], *, embedded: bool) -> None:
    """Hand ``events`` to every listening process: on the embedded queue straight to
    this process's hub; with Redis through its channel. Best effort: a failure is
    logged, never raised to the dispatcher, whose batch is committed already."""
    if not events:
        return
    if embedded:
        hub_for(queue).deliver(events)
        return
    try:
        async with queue.pipeline(transaction=False) as pipe:
            channel = channel_for(queue)
            for event in events:
                pipe.publish(channel, event.to_json())
            await pipe.execute()
    except (RedisError, OSError) as exc:
        log.warning("could not publish %d live events: %s", len(events),
                    exc.__class__.__name__)


async def listen(queue: Any, ready: asyncio.Event | None = None) -> None:
    """Fan the channel's events out to this process's hub until cancelled: one Redis
    subscription per process, whatever the number of subscribers. ``ready`` is set once
    subscribed."""
    hub = hub_for(queue)
    channel = channel_for(queue)
    while True:
        pubsub = queue.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(channel)
            if ready is not None:
                ready.set()
            async for message in pubsub.listen():
                if message.get("type") != "message":
                    continue
                try:
                    event = Event.from_json(message["data"])
                except (ValueError, KeyError, TypeError):
                    log.warning("ignored a malformed live event on %s", channel)
                    continue
                hub.deliver([event])
        except asyncio.CancelledError:
            raise
        except (RedisError, OSError) as exc:
            log.warning("live events: lost Redis (%s); subscribing again",
                        exc.__class__.__name__)
            await asyncio.sleep(RECONNECT_SECONDS)
        finally:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()


@contextlib.asynccontextmanager
async def listening(queue: Any, *, embedded: bool) -> Any:
    """Around an API process's life: listen on Redis unless embedded (where the
    dispatcher delivers in-process)."""
    if embedded:
        yield None
        return
    ready = asyncio.Event()
    task = asyncio.create_task(listen(queue, ready), name="live-listener")
    # Subscribed before the API serves, so what a client subscribes to is heard; Redis
    # answered the queue's start-up a moment ago, and a listener still retrying after
    # this long goes on retrying in the background.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(ready.wait(), LISTEN_READY_SECONDS)
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
