"""The outbox: effects outside the database, written with the change that caused them, delivered after commit.

Writing: a plugin's event hook (``helpline_ticket_created``...) runs inside the change's
transaction and calls :func:`enqueue`. The effect is a row in ``helpline_outbox_effect``, so it
commits with the change or rolls back with it: nothing is sent for a change that did not happen,
and nothing is lost when the process dies right after the commit.

Delivering: plugins contribute a :class:`~helpline.core.contributions.DeliveryHandler` per effect
kind through ``helpline_register_delivery``. A :class:`Dispatcher` (in ``helpline serve`` unless
``run_jobs_in_process`` is off, and in ``helpline worker``) claims due effects in batches with a
lease, calls the handlers concurrently, and records the outcome:

- claiming: on PostgreSQL ``SELECT ... FOR UPDATE SKIP LOCKED`` then a lease, so dispatchers take
  disjoint batches; on SQLite (which ignores row locks) a conditional UPDATE of the lease, atomic
  there. Two dispatchers never deliver one effect at the same time. A dispatcher that dies holding
  a claim frees it when the lease (``outbox_lease_seconds``) passes; then the effect is delivered
  again: delivery is *at least once*, and the idempotency key lets receivers drop duplicates.
- failing: ``deliver`` raised (or ran past ``outbox_delivery_timeout_seconds``). The effect is
  tried again after an exponential backoff with jitter (``outbox_backoff_base_seconds``, doubling,
  capped at ``outbox_backoff_cap_seconds``) and is *dead* after ``outbox_max_attempts`` failures.
  Admins list effects (``outboxEffects``) and send a dead one back (``retryOutboxEffect``).
- an effect whose kind no enabled plugin handles stays pending (and is logged): disabling a plugin
  for a while loses nothing.

Waking up: the dispatcher polls every ``outbox_poll_seconds``, and a commit that enqueued
something wakes the dispatchers of the same process at once (see :func:`helpline.core.db.after_commit`).
"now" always comes from the runtime's clock, so tests move time to make a retry due.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import logging
import random
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any

from tortoise.expressions import F, Q
from tortoise.functions import Count
from tortoise.queryset import QuerySet

from helpline.core.clock import process_clock
from helpline.core.contributions import DeliveryHandler
from helpline.core.db import after_commit, is_postgres, transaction
from helpline.core.enums import EffectStatus
from helpline.core.errors import NotFound, PluginLoadError, ValidationFailed
from helpline.core.models import OutboxEffect
from helpline.core.runtime import Runtime
from helpline.core.scheduler import worker_name

logger = logging.getLogger("helpline.outbox")
MAX_KIND_LENGTH = 200
MAX_KEY_LENGTH = 200
MAX_ERROR_LENGTH = 2_000
UNHANDLED_WARNING_INTERVAL = 600.0  # seconds between reminders about effects nobody delivers

__all__ = [
    "Dispatcher",
    "Effect",
    "RegisteredHandler",
    "collect_handlers",
    "dispatching",
    "enqueue",
    "retry_effect",
]


@dataclasses.dataclass(frozen=True)
class Effect:
    """What a delivery handler receives: one effect, as stored, and which attempt this is (1 first)."""

    id: int
    kind: str
    payload: Any
    idempotency_key: str
    attempt: int
    created_at: dt.datetime

    @classmethod
    def from_row(cls, row: OutboxEffect) -> Effect:
        """The handler's view of a claimed row."""
        return cls(row.id, row.kind, row.payload, row.idempotency_key, row.attempts + 1, row.created_at)


# --- writing -----------------------------------------------------------------------------------


async def enqueue(
    kind: str,
    payload: Any,
    idempotency_key: str | None = None,
    *,
    now: dt.datetime | None = None,
) -> OutboxEffect:
    """Write an effect in the current transaction; it is delivered after commit, at least once.

    Call it from an event hook (or anywhere inside :func:`helpline.core.db.transaction`), so the
    effect commits or rolls back with the change. ``payload`` must be JSON (dicts, lists, strings,
    numbers, booleans, ``None``); keep it small and self-contained (ids and the values the
    receiver needs). ``idempotency_key`` defaults to a fresh unique key; give your own (e.g.
    ``f"csat.invite:{ticket.id}"``) when a retried operation must not send twice: enqueueing a key
    that exists is a no-op and returns the existing effect. ``now`` defaults to the clock of the
    running Helpline. Raises ``ValueError`` for an empty or too long kind or key, or a payload that
    is not JSON (inside a hook, that rolls the change back naming your plugin).
    """
    if not isinstance(kind, str) or not kind.strip() or len(kind) > MAX_KIND_LENGTH:
        raise ValueError(f"outbox effect kind must be a non-empty string of at most {MAX_KIND_LENGTH} characters")
    if idempotency_key is not None and (
        not isinstance(idempotency_key, str) or not idempotency_key.strip() or len(idempotency_key) > MAX_KEY_LENGTH
    ):
        raise ValueError(f"idempotency_key must be a non-empty string of at most {MAX_KEY_LENGTH} characters")
    try:
        json.dumps(payload, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"the payload of outbox effect {kind!r} is not JSON: {exc}") from None
    instant = now or process_clock().now()
    fields = {"kind": kind, "payload": payload, "next_attempt_at": instant, "created_at": instant}
    if idempotency_key is None:
        effect = await OutboxEffect.create(idempotency_key=f"{kind}:{uuid.uuid4().hex}", **fields)
    else:
        # ON CONFLICT DO NOTHING: a duplicate key neither fails nor aborts the caller's transaction.
        await OutboxEffect.bulk_create([OutboxEffect(idempotency_key=idempotency_key, **fields)], ignore_conflicts=True)
        effect = await OutboxEffect.get(idempotency_key=idempotency_key)
    after_commit(_wake_local_dispatchers)
    return effect


async def retry_effect(effect_id: int, now: dt.datetime) -> OutboxEffect:
    """Send a dead effect back to the queue: pending, due ``now``, attempts reset.

    Raises :class:`NotFound` for an unknown id and :class:`ValidationFailed` (code ``NOT_DEAD``)
    for an effect that is not dead (pending ones are retried anyway; delivered ones are done).
    """
    async with transaction():
        effect = await OutboxEffect.get_or_none(id=effect_id)
        if effect is None:
            raise NotFound("no such outbox effect")
        # Conditional, so two admins retrying at once reset it once and the second one hears why.
        changed = await OutboxEffect.filter(id=effect_id, status=EffectStatus.DEAD).update(
            status=EffectStatus.PENDING, attempts=0, next_attempt_at=now, locked_until=None, locked_by=""
        )
        if not changed:
            raise ValidationFailed.single(
                "id", f"only dead effects can be retried; this one is {effect.status.value}", "NOT_DEAD"
            )
        await effect.refresh_from_db()
    after_commit(_wake_local_dispatchers)
    return effect


def effects(status: EffectStatus | None = None) -> QuerySet[OutboxEffect]:
    """All effects, or those with ``status`` (for the admins' list)."""
    queryset = OutboxEffect.all()
    return queryset if status is None else queryset.filter(status=status)


# --- handlers ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RegisteredHandler:
    """A plugin's delivery handler and the plugin's name (for logs)."""

    plugin: str
    handler: DeliveryHandler


def collect_handlers(runtime: Runtime) -> dict[str, RegisteredHandler]:
    """Every enabled plugin's delivery handlers by kind; a bad one, or a kind claimed twice, stops
    start-up naming the plugin(s)."""
    handlers: dict[str, RegisteredHandler] = {}
    for contributed in runtime.plugins.collect("helpline_register_delivery"):
        handler = contributed.value
        if not isinstance(handler, DeliveryHandler):
            raise PluginLoadError(
                f"plugin {contributed.plugin!r}: helpline_register_delivery must return DeliveryHandler, "
                f"not {type(handler).__name__}"
            )
        if not isinstance(handler.kind, str) or not handler.kind.strip() or len(handler.kind) > MAX_KIND_LENGTH:
            raise PluginLoadError(f"plugin {contributed.plugin!r}: a delivery handler needs a kind (a short string)")
        if not callable(handler.deliver):
            raise PluginLoadError(f"plugin {contributed.plugin!r}: the handler of {handler.kind!r} is not callable")
        if handler.kind in handlers:
            raise PluginLoadError(
                f"plugins {handlers[handler.kind].plugin!r} and {contributed.plugin!r} both deliver "
                f"outbox effects of kind {handler.kind!r}"
            )
        handlers[handler.kind] = RegisteredHandler(contributed.plugin, handler)
    return handlers


# --- delivering --------------------------------------------------------------------------------

# The dispatchers running in this process, woken after a commit that enqueued something.
_local_dispatchers: set[Dispatcher] = set()


def _wake_local_dispatchers() -> None:
    for dispatcher in list(_local_dispatchers):
        dispatcher.nudge()


@dataclasses.dataclass
class BatchOutcome:
    """What one batch did: ids delivered, ids that failed and will be retried, ids now dead."""

    claimed: int = 0
    delivered: list[int] = dataclasses.field(default_factory=list)
    retrying: list[int] = dataclasses.field(default_factory=list)
    dead: list[int] = dataclasses.field(default_factory=list)


class Dispatcher:
    """Claims due effects in batches and delivers them with the plugins' handlers.

    ``name`` identifies this dispatcher in the ``locked_by`` column (unique per process by default).
    ``rng`` draws the jitter of retry delays (tests pass a seeded one).
    """

    def __init__(
        self,
        runtime: Runtime,
        handlers: Mapping[str, RegisteredHandler],
        *,
        name: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.runtime = runtime
        self.handlers = dict(handlers)
        self.name = name or f"outbox:{worker_name()}"
        self.rng = rng or random.Random()
        self._wake: asyncio.Event | None = None
        self._last_unhandled_check = -UNHANDLED_WARNING_INTERVAL

    # -- one batch ------------------------------------------------------------------------------

    def backoff(self, failures: int) -> dt.timedelta:
        """The delay before the next try after ``failures`` failures: exponential, capped, jittered
        down by up to half (so effects that failed together do not all come back together)."""
        settings = self.runtime.settings
        ceiling = min(settings.outbox_backoff_cap_seconds, settings.outbox_backoff_base_seconds * 2 ** (failures - 1))
        return dt.timedelta(seconds=ceiling * (0.5 + 0.5 * self.rng.random()))

    def _due(self, now: dt.datetime) -> QuerySet[OutboxEffect]:
        return (
            OutboxEffect.filter(status=EffectStatus.PENDING, kind__in=list(self.handlers), next_attempt_at__lte=now)
            .filter(Q(locked_until__isnull=True) | Q(locked_until__lte=now))
            .order_by("id")
            .limit(self.runtime.settings.outbox_batch_size)
        )

    async def claim(self, now: dt.datetime) -> list[OutboxEffect]:
        """Take up to ``outbox_batch_size`` due effects for this dispatcher, leased until now + lease."""
        if not self.handlers:
            return []
        lease_end = now + dt.timedelta(seconds=self.runtime.settings.outbox_lease_seconds)
        lease = {"locked_until": lease_end, "locked_by": self.name}
        if is_postgres():
            # Rows another dispatcher is claiming right now are skipped, not waited for.
            async with transaction():
                rows = list(await self._due(now).select_for_update(skip_locked=True))
                if rows:
                    await OutboxEffect.filter(id__in=[row.id for row in rows]).update(**lease)
            for row in rows:
                row.locked_until, row.locked_by = lease_end, self.name
            return rows
        # SQLite: no row locks, but one UPDATE is atomic; re-checking the lease in it means a row
        # another dispatcher took in between is not taken again.
        ids = list(await self._due(now).values_list("id", flat=True))
        if not ids:
            return []
        await (
            OutboxEffect.filter(id__in=ids, status=EffectStatus.PENDING)
            .filter(Q(locked_until__isnull=True) | Q(locked_until__lte=now))
            .update(**lease)
        )
        return list(await OutboxEffect.filter(id__in=ids, locked_by=self.name, locked_until=lease_end).order_by("id"))

    async def _attempt(self, row: OutboxEffect) -> BaseException | None:
        registered = self.handlers[row.kind]
        try:
            # asyncio.timeout rather than wait_for: no extra task per delivery.
            async with asyncio.timeout(self.runtime.settings.outbox_delivery_timeout_seconds):
                await registered.handler.deliver(Effect.from_row(row))
        except Exception as exc:  # anything a handler raises is a failed attempt, retried later
            return exc
        return None

    async def deliver_due(self) -> BatchOutcome:
        """Claim one batch of due effects, deliver them concurrently, record how each went.

        Cancelled (a shutdown that ran out of time), it releases its claims at once, so another
        dispatcher retries them without waiting for the lease.
        """
        rows = await self.claim(self.runtime.clock.now())
        outcome = BatchOutcome(claimed=len(rows))
        if not rows:
            return outcome
        try:
            errors = await asyncio.gather(*(self._attempt(row) for row in rows))
        except asyncio.CancelledError:
            await self._release([row.id for row in rows])
            raise
        await self._record(rows, errors, outcome)
        return outcome

    async def _release(self, ids: list[int]) -> None:
        with contextlib.suppress(Exception):  # at worst the lease expires on its own
            await OutboxEffect.filter(id__in=ids, locked_by=self.name).update(locked_until=None, locked_by="")
            logger.warning("released %d outbox effect(s) whose delivery was cut short", len(ids))

    async def _record(
        self, rows: list[OutboxEffect], errors: list[BaseException | None], outcome: BatchOutcome
    ) -> None:
        now = self.runtime.clock.now()
        delivered = [row.id for row, error in zip(rows, errors, strict=True) if error is None]
        if delivered:
            # Only while still ours: after an expired lease another dispatcher owns the row.
            await OutboxEffect.filter(id__in=delivered, locked_by=self.name).update(
                status=EffectStatus.DELIVERED,
                delivered_at=now,
                attempts=F("attempts") + 1,
                locked_until=None,
                locked_by="",
                last_error=None,
            )
            outcome.delivered.extend(delivered)
        max_attempts = self.runtime.settings.outbox_max_attempts
        for row, error in zip(rows, errors, strict=True):
            if error is None:
                continue
            failures = row.attempts + 1
            message = (f"{type(error).__name__}: {error}" if str(error) else type(error).__name__)[:MAX_ERROR_LENGTH]
            plugin = self.handlers[row.kind].plugin
            values: dict[str, Any] = {
                "attempts": failures,
                "last_error": message,
                "locked_until": None,
                "locked_by": "",
            }
            if failures >= max_attempts:
                values["status"] = EffectStatus.DEAD
                outcome.dead.append(row.id)
                logger.error(
                    "outbox effect %d (%s, plugin %r) is dead after %d failed attempts: %s",
                    row.id,
                    row.kind,
                    plugin,
                    failures,
                    message,
                )
            else:
                values["next_attempt_at"] = now + self.backoff(failures)
                outcome.retrying.append(row.id)
                logger.warning(
                    "outbox effect %d (%s, plugin %r) failed (attempt %d of %d), retrying at %s: %s",
                    row.id,
                    row.kind,
                    plugin,
                    failures,
                    max_attempts,
                    values["next_attempt_at"].isoformat(),
                    message,
                )
            await OutboxEffect.filter(id=row.id, locked_by=self.name).update(**values)

    async def deliver_all_due(self) -> BatchOutcome:
        """Deliver batches until nothing is due now (each effect tried at most once); sum the outcomes."""
        total = BatchOutcome()
        while True:
            outcome = await self.deliver_due()
            total.claimed += outcome.claimed
            total.delivered += outcome.delivered
            total.retrying += outcome.retrying
            total.dead += outcome.dead
            if outcome.claimed < self.runtime.settings.outbox_batch_size:
                return total

    async def unhandled_kinds(self) -> dict[str, int]:
        """Pending effects whose kind no handler of this dispatcher delivers, counted by kind."""
        rows = (
            await OutboxEffect.filter(status=EffectStatus.PENDING)
            .exclude(kind__in=list(self.handlers) or [""])
            .annotate(count=Count("id"))
            .group_by("kind")
            .values("kind", "count")
        )
        return {row["kind"]: row["count"] for row in rows}

    async def warn_about_unhandled(self) -> None:
        """Log, once in a while, the pending effects that wait for a handler (a disabled plugin's)."""
        loop_time = asyncio.get_running_loop().time()
        if loop_time - self._last_unhandled_check < UNHANDLED_WARNING_INTERVAL:
            return
        self._last_unhandled_check = loop_time
        for kind, count in sorted((await self.unhandled_kinds()).items()):
            logger.warning(
                "%d pending outbox effect(s) of kind %r wait: no enabled plugin delivers that kind "
                "(is its plugin disabled?); they are kept and delivered once one does",
                count,
                kind,
            )

    # -- the loop -------------------------------------------------------------------------------

    def nudge(self) -> None:
        """Wake the loop now (something was enqueued and committed)."""
        if self._wake is not None:
            self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set: batch after batch while effects are due, else wait for a
        nudge or the poll interval. Once ``stop`` is set no new batch is claimed; the batch in
        flight finishes (the caller bounds that wait, see :func:`dispatching`)."""
        self._wake = asyncio.Event()
        _local_dispatchers.add(self)
        logger.info("outbox dispatcher %s delivers: %s", self.name, ", ".join(sorted(self.handlers)) or "nothing")
        try:
            while not stop.is_set():
                self._wake.clear()  # before claiming: a nudge during the batch is not lost
                try:
                    outcome = await self.deliver_due()
                    await self.warn_about_unhandled()
                except Exception:  # the database went away: keep the dispatcher alive, try again
                    logger.exception("outbox dispatcher %s could not deliver", self.name)
                    outcome = BatchOutcome()
                if outcome.claimed >= self.runtime.settings.outbox_batch_size:
                    continue  # more may be due right now
                await _first_of(stop, self._wake, seconds=self.runtime.settings.outbox_poll_seconds)
        finally:
            _local_dispatchers.discard(self)
            self._wake = None


async def _first_of(*events: asyncio.Event, seconds: float) -> None:
    """Return when any of ``events`` is set or ``seconds`` have passed."""
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


@contextlib.asynccontextmanager
async def dispatching(runtime: Runtime, handlers: Mapping[str, RegisteredHandler]) -> AsyncIterator[Dispatcher | None]:
    """Run a :class:`Dispatcher` in the background while the block runs (``None`` without handlers).

    On exit (a server's lifespan shutdown, a worker's SIGTERM) it stops claiming and gives the
    deliveries in flight ``outbox_shutdown_timeout_seconds`` to finish; what is still running then
    is cancelled and released, to be delivered again by the next dispatcher.
    """
    if not handlers:
        yield None
        return
    dispatcher = Dispatcher(runtime, handlers)
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(stop), name="helpline-outbox")
    try:
        yield dispatcher
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, timeout=runtime.settings.outbox_shutdown_timeout_seconds)
        except TimeoutError:
            logger.warning("outbox deliveries still running at shutdown were cancelled; they will be retried")
