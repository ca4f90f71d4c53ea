"""Live updates: the ticket service announces changes, subscribers in every server process hear them.

The ticket service calls :func:`publish` inside the change's transaction, once per change. What
travels is a :class:`TicketChange`: ids and kinds only, never content, because each subscriber
re-reads what it may see (through :mod:`helpline.core.auth`) when the change reaches it. Two
backends, chosen from the database URL:

- **SQLite** (one process): an in-process fan-out. :func:`publish` registers an after-commit
  callback (:func:`helpline.core.db.after_commit`), so a change that rolls back is never announced
  and subscribers never read a row before it is committed.
- **PostgreSQL** (any number of ``helpline serve`` processes): :func:`publish` runs
  ``pg_notify`` *inside* the transaction, so PostgreSQL sends the notification if, and only if, the
  change commits (nothing half-written, nothing announced that did not happen), in commit order.
  Each process keeps one asyncpg connection dedicated to ``LISTEN`` (:class:`PostgresListener`)
  and fans what it hears out to its own subscribers. The channel is named after the database
  schema, so deployments (and test runs) sharing one PostgreSQL database do not hear each other.
  A lost listener connection is logged and re-opened with backoff; changes committed while it was
  down are not replayed (clients re-read after a reconnect, as with any live feed).

Subscribers (:meth:`LiveHub.subscribe`) get :class:`Delivery` objects: the change plus a per-process
cache, so 200 subscribers of one change read the ticket from the database once, not 200 times.
A subscriber that falls more than :data:`QUEUE_SIZE` changes behind is dropped with
:class:`SubscriberTooSlow` rather than letting its backlog grow without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import json
import logging
import re
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from helpline.core import db
from helpline.core.errors import HelplineError

if TYPE_CHECKING:
    from helpline.core.models import Message, Ticket
    from helpline.core.runtime import Runtime

logger = logging.getLogger("helpline.live")

CHANNEL_PREFIX = "helpline_live"
MAX_PAYLOAD_BYTES = 8000  # PostgreSQL refuses NOTIFY payloads of 8000 bytes and more
QUEUE_SIZE = 1000
RECONNECT_DELAYS = (0.1, 0.5, 1.0, 2.0, 5.0)  # seconds between listener reconnection attempts
HEALTH_CHECK_SECONDS = 10.0  # a silent listener connection is pinged this often to notice it died
# Fields whose change can make a ticket visible or invisible to someone (see auth.can_see_ticket).
VISIBILITY_FIELDS = ("team_id", "assignee_id")


class ChangeKind(enum.Enum):
    """What happened to a ticket."""

    CREATED = "created"
    UPDATED = "updated"  # status, assignment, fields, tags
    MESSAGE_ADDED = "message_added"  # a reply or a note; may come with a status change
    MERGED = "merged"  # the ticket was merged into another one (the target gets UPDATED)


@dataclasses.dataclass(frozen=True)
class TicketChange:
    """One committed change to one ticket, as it travels between processes (ids only).

    ``fields`` are the model fields that changed (``status``, ``team_id``, ``tags``...).
    ``message_id`` is the message added, for MESSAGE_ADDED. ``previous`` holds the values the
    :data:`VISIBILITY_FIELDS` had before the change, when they changed, so a subscriber can tell
    that a ticket left (or entered) what it may see.
    """

    ticket_id: int
    kind: ChangeKind
    fields: tuple[str, ...] = ()
    message_id: int | None = None
    previous: Mapping[str, int | None] = dataclasses.field(default_factory=dict)

    def to_json(self) -> str:
        """The compact JSON payload sent through NOTIFY."""
        data: dict[str, Any] = {"t": self.ticket_id, "k": self.kind.value}
        if self.fields:
            data["f"] = list(self.fields)
        if self.message_id is not None:
            data["m"] = self.message_id
        if self.previous:
            data["p"] = dict(self.previous)
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_json(cls, payload: str) -> TicketChange:
        """Parse :meth:`to_json`'s output; raises ``ValueError`` (or ``KeyError``) on anything else."""
        data = json.loads(payload)
        return cls(
            ticket_id=int(data["t"]),
            kind=ChangeKind(data["k"]),
            fields=tuple(str(name) for name in data.get("f", ())),
            message_id=None if data.get("m") is None else int(data["m"]),
            previous={str(name): None if value is None else int(value) for name, value in data.get("p", {}).items()},
        )


def _previous(diff: Mapping[str, tuple[Any, Any]]) -> dict[str, int | None]:
    return {name: diff[name][0] for name in VISIBILITY_FIELDS if name in diff}


def created(ticket: Ticket) -> TicketChange:
    """The change for a new ticket."""
    return TicketChange(ticket.id, ChangeKind.CREATED)


def updated(ticket: Ticket, diff: Mapping[str, tuple[Any, Any]]) -> TicketChange:
    """The change for an update; ``diff`` maps each changed field to ``(old, new)``."""
    return TicketChange(ticket.id, ChangeKind.UPDATED, tuple(diff), previous=_previous(diff))


def message_added(ticket: Ticket, message: Message, diff: Mapping[str, tuple[Any, Any]]) -> TicketChange:
    """The change for a new message, with the fields (status) the message changed."""
    return TicketChange(ticket.id, ChangeKind.MESSAGE_ADDED, tuple(diff), message_id=message.id)


def merged(source: Ticket, target: Ticket) -> list[TicketChange]:
    """The changes for a merge: the source is MERGED, the target gained its messages."""
    return [
        TicketChange(source.id, ChangeKind.MERGED, ("status", "merged_into_id")),
        TicketChange(target.id, ChangeKind.UPDATED, ("messages",)),
    ]


class SubscriberTooSlow(HelplineError):
    """A subscriber fell too far behind and was dropped; it should subscribe again and re-read."""

    code = "SUBSCRIBER_TOO_SLOW"


LATEST_REMEMBERED = 100_000


class Delivery:
    """A change as it reaches this process's subscribers, with a cache they share.

    :meth:`shared` runs a loader once per key for all subscribers of this change (the ticket row,
    the message row), so the database is read once per change and process, whatever the number of
    subscribers. Loaded rows are shared: treat them as read-only.
    """

    __slots__ = ("_cache", "_hub", "change", "sequence")

    def __init__(self, change: TicketChange, sequence: int = 0, hub: LiveHub | None = None) -> None:
        self.change = change
        self.sequence = sequence
        self._hub = hub
        self._cache: dict[str, asyncio.Future[Any]] = {}

    @property
    def is_latest(self) -> bool:
        """Whether no later change of the same ticket has reached this process since.

        While it holds, rows read for this delivery (by whichever subscriber came first) are as
        current as anything this process knows; once a later change has arrived, a subscriber that
        is only now getting to this one must read afresh (it reads slowly, or was busy).
        """
        return self._hub is not None and self._hub.latest_sequence(self.change.ticket_id) == self.sequence

    async def shared(self, key: str, load: Callable[[], Awaitable[Any]]) -> Any:
        """The result of ``load()``, run by the first subscriber asking for ``key``."""
        future = self._cache.get(key)
        if future is None:
            future = asyncio.ensure_future(load())
            self._cache[key] = future
        # shield: a subscriber cancelled while waiting must not cancel the load for the others.
        return await asyncio.shield(future)


class Subscription:
    """One subscriber's queue of deliveries; iterate it, and close it when done."""

    def __init__(self, hub: LiveHub, ticket_id: int | None) -> None:
        self.hub = hub
        self.ticket_id = ticket_id
        self.queue: asyncio.Queue[Delivery | None] = asyncio.Queue(maxsize=QUEUE_SIZE)
        self.overflowed = False

    def offer(self, delivery: Delivery) -> None:
        """Queue ``delivery``; a full queue drops the subscriber (it is told on its next read)."""
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(delivery)
        except asyncio.QueueFull:
            self.overflowed = True
            self.hub.remove(self)
            logger.warning("dropped a live subscriber %d changes behind", self.queue.qsize())

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Delivery:
        if self.overflowed and self.queue.empty():
            raise SubscriberTooSlow("this subscription fell too far behind; subscribe again")
        delivery = await self.queue.get()
        if delivery is None:
            raise StopAsyncIteration
        return delivery

    def close(self) -> None:
        """Stop receiving; safe to call more than once."""
        self.hub.remove(self)


class LiveHub:
    """This process's subscribers, indexed by ticket, and the fan-out to them."""

    def __init__(self) -> None:
        self._all: set[Subscription] = set()
        self._by_ticket: dict[int, set[Subscription]] = {}
        self.listener: PostgresListener | None = None  # set by running_hub() on PostgreSQL
        self._sequence = 0
        self._latest: dict[int, int] = {}  # ticket id -> sequence of its latest change here

    def latest_sequence(self, ticket_id: int) -> int | None:
        """The sequence number of the latest change of ``ticket_id`` this process received."""
        return self._latest.get(ticket_id)

    def subscribe(self, ticket_id: int | None = None) -> Subscription:
        """Start receiving changes: of one ticket, or (``None``) of every ticket."""
        subscription = Subscription(self, ticket_id)
        if ticket_id is None:
            self._all.add(subscription)
        else:
            self._by_ticket.setdefault(ticket_id, set()).add(subscription)
        return subscription

    def remove(self, subscription: Subscription) -> None:
        """Stop delivering to ``subscription``."""
        if subscription.ticket_id is None:
            self._all.discard(subscription)
            return
        subscribers = self._by_ticket.get(subscription.ticket_id)
        if subscribers is not None:
            subscribers.discard(subscription)
            if not subscribers:
                del self._by_ticket[subscription.ticket_id]

    @property
    def subscriber_count(self) -> int:
        """How many subscriptions are open in this process."""
        return len(self._all) + sum(len(subscribers) for subscribers in self._by_ticket.values())

    def deliver(self, change: TicketChange) -> None:
        """Hand a committed change to every interested subscriber of this process."""
        self._sequence += 1
        if len(self._latest) >= LATEST_REMEMBERED and change.ticket_id not in self._latest:
            self._latest.clear()  # forgotten tickets only cost their next slow reader a fresh read
        self._latest[change.ticket_id] = self._sequence
        delivery = Delivery(change, self._sequence, self)
        for subscription in (*self._all, *self._by_ticket.get(change.ticket_id, ())):
            subscription.offer(delivery)

    def close_all(self) -> None:
        """End every subscription (shutdown): their iterators stop."""
        for subscription in (*self._all, *(s for group in self._by_ticket.values() for s in group)):
            with contextlib.suppress(asyncio.QueueFull):
                subscription.queue.put_nowait(None)
        self._all.clear()
        self._by_ticket.clear()


def channel_for(database_url: str) -> str:
    """The NOTIFY channel for a database URL: one per schema (``?schema=``), at most 63 bytes."""
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(db.normalise_database_url(database_url)).query)
    schema = (query.get("schema") or ["public"])[0]
    return f"{CHANNEL_PREFIX}.{re.sub(r'[^A-Za-z0-9_]', '_', schema)}"[:63]


def is_postgres_url(database_url: str) -> bool:
    """True for the URL spellings :func:`helpline.core.db.normalise_database_url` takes to asyncpg."""
    return db.normalise_database_url(database_url).startswith("asyncpg://")


def asyncpg_dsn(database_url: str) -> str:
    """A plain ``postgresql://`` DSN for asyncpg (Tortoise's ``?schema=`` and pool options dropped)."""
    url = db.normalise_database_url(database_url)
    return "postgresql://" + url.split("://", 1)[1].split("?", 1)[0]


async def publish(rt: Runtime, changes: TicketChange | Iterable[TicketChange]) -> None:
    """Announce ``changes`` once the current transaction commits (call it inside the transaction).

    PostgreSQL: ``pg_notify`` on the transaction's connection, delivered by PostgreSQL at commit to
    every listening process (this one included). SQLite: delivered to this process's hub after
    commit. Nothing is announced for a change that rolls back.
    """
    batch = [changes] if isinstance(changes, TicketChange) else list(changes)
    if db.is_postgres():
        channel = channel_for(rt.settings.database_url)
        for change in batch:
            payload = change.to_json()
            if len(payload.encode()) >= MAX_PAYLOAD_BYTES:  # cannot happen with ids only; stay safe
                payload = dataclasses.replace(change, fields=()).to_json()
            await db.connection().execute_query("SELECT pg_notify($1, $2)", [channel, payload])
        return
    hub = rt.live
    if hub is not None:
        for change in batch:
            db.after_commit(lambda change=change: hub.deliver(change))  # type: ignore[misc]


class PostgresListener:
    """One asyncpg connection LISTENing on the deployment's channel, feeding a :class:`LiveHub`.

    Runs as a background task: connects, LISTENs, and on a lost connection logs, waits (backoff)
    and connects again. ``connected`` is set while a LISTEN is in place.
    """

    def __init__(self, database_url: str, hub: LiveHub) -> None:
        self.dsn = asyncpg_dsn(database_url)
        self.channel = channel_for(database_url)
        self.hub = hub
        self.connected = asyncio.Event()
        self.backend_pid: int | None = None
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def _on_notify(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            change = TicketChange.from_json(payload)
        except (ValueError, KeyError, TypeError):
            logger.warning("ignored a malformed live notification: %.200r", payload)
            return
        self.hub.deliver(change)

    async def start(self) -> None:
        """Start listening; returns once the first LISTEN is in place (or raises if it cannot be)."""
        import asyncpg  # only needed on PostgreSQL

        first = await asyncpg.connect(self.dsn)
        await self._listen(first)
        self._task = asyncio.create_task(self._run(first), name="helpline-live-listener")

    async def _listen(self, connection: Any) -> None:
        await connection.add_listener(self.channel, self._on_notify)
        self.backend_pid = connection.get_server_pid()
        self.connected.set()

    async def _run(self, connection: Any) -> None:
        import asyncpg

        attempt = 0
        while not self._stop.is_set():
            if connection is None:
                try:
                    connection = await asyncpg.connect(self.dsn)
                    await self._listen(connection)
                    logger.info("live updates: listening again on %s", self.channel)
                    attempt = 0
                except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
                    delay = RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)]
                    attempt += 1
                    logger.warning("live updates: cannot listen (%s); retrying in %.1fs", exc, delay)
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._stop.wait(), delay)
                    connection = None
                    continue
            try:
                await self._watch(connection)
            except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                if not self._stop.is_set():
                    logger.warning("live updates: lost the listener connection (%s); reconnecting", exc)
            finally:
                self.connected.clear()
                await _close_quietly(connection)
                connection = None

    async def _watch(self, connection: Any) -> None:
        """Return when asked to stop; raise when the connection is lost."""
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _connection: lost.set())
        while not self._stop.is_set():
            waiters = [asyncio.ensure_future(self._stop.wait()), asyncio.ensure_future(lost.wait())]
            try:
                await asyncio.wait(waiters, timeout=HEALTH_CHECK_SECONDS, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()
            if lost.is_set() or connection.is_closed():
                raise ConnectionError("the connection closed")
            if not self._stop.is_set():
                # A dead TCP peer is only noticed when we talk: ping now and then.
                await asyncio.wait_for(connection.execute("SELECT 1"), HEALTH_CHECK_SECONDS)

    async def stop(self) -> None:
        """Stop listening and close the connection."""
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None


async def _close_quietly(connection: Any) -> None:
    if connection is None:
        return
    with contextlib.suppress(Exception):
        await asyncio.wait_for(connection.close(), 5.0)
    if not connection.is_closed():
        connection.terminate()


@contextlib.asynccontextmanager
async def running_hub(database_url: str) -> AsyncIterator[LiveHub]:
    """The process's hub for the app's lifetime: on PostgreSQL with its listener running."""
    hub = LiveHub()
    listener: PostgresListener | None = None
    if is_postgres_url(database_url):
        listener = PostgresListener(database_url, hub)
        await listener.start()
    hub.listener = listener
    try:
        yield hub
    finally:
        hub.close_all()
        if listener is not None:
            await listener.stop()
