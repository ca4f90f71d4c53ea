"""Keeping the per-ticket metrics: incrementally as events happen, and rebuilt from the event log.

- :func:`catch_up` runs inside each ticket change's transaction (from the event hooks): it reads
  the ticket's events newer than the last one folded in (one indexed query), continues the stored
  metrics with them through :func:`.metrics.apply`, and writes the ticket's row and its changed
  episodes. Several hooks fire for one change (a reply that opens a ticket announces the status
  change and the message); the first folds every new event in and the others find nothing new.
- :func:`rebuild` recomputes every ticket from scratch with :func:`.metrics.fold`, in batches,
  each batch one transaction, and replaces the rows.

Both run the same pure fold over the same events in the same (id) order, so they agree. Ticket
changes are serialised per ticket by the core (row lock on PostgreSQL, one writer on SQLite), so
event ids of one ticket grow in commit order and "newer than the last folded" is well defined.
"""

from __future__ import annotations

import datetime as dt
import inspect
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import pluggy

from helpline.core.db import transaction
from helpline.core.enums import Role
from helpline.core.errors import PluginError
from helpline.core.models import Ticket, TicketEvent
from helpline.plugins.performance.metrics import (
    BusinessMinutes,
    Episode,
    EventRecord,
    TicketMetrics,
    apply,
    decode,
    fold,
    resolve_business,
)
from helpline.plugins.performance.models import OPEN_END, PerformanceEpisode, PerformanceTicket

BUSINESS_HOOK = "helpline_performance_business_minutes"
EVENT_FIELDS = ("id", "ticket_id", "kind", "field", "old_value", "new_value", "actor_source", "created_at")
STAFF_ROLES = (Role.AGENT.value, Role.ADMIN.value)
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
# Ticket metric attributes stored as they are (instants are converted, see the models' docstring).
PLAIN_COLUMNS = (
    "status",
    "team_id",
    "assignee_id",
    "organization_id",
    "requester_id",
    "channel",
    "priority",
    "category",
    "reopens",
    "assignments",
    "reassignments",
    "agent_replies",
    "one_touch",
    "first_response_minutes",
    "first_resolution_minutes",
    "full_resolution_minutes",
    "requester_wait_minutes",
    "agent_work_minutes",
    "on_hold_minutes",
    "first_response_business",
    "first_resolution_business",
    "full_resolution_business",
    "requester_wait_business",
    "agent_work_business",
    "on_hold_business",
    "last_event_id",
)
INSTANT_COLUMNS = {
    "created_us": "created_at",
    "first_solved_us": "first_solved_at",
    "last_solved_us": "last_solved_at",
    "segment_started_us": "segment_started_at",
}


def to_us(instant: dt.datetime | None) -> int | None:
    """An aware datetime as integer microseconds since the epoch (exact), or ``None``."""
    if instant is None:
        return None
    delta = instant - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(value: int | None) -> dt.datetime | None:
    """The inverse of :func:`to_us`."""
    return None if value is None else EPOCH + dt.timedelta(microseconds=int(value))


def ticket_values(metrics: TicketMetrics) -> dict[str, Any]:
    """The ``performance_ticket`` column values for ``metrics``."""
    values = {name: getattr(metrics, name) for name in PLAIN_COLUMNS}
    values.update({column: to_us(getattr(metrics, attribute)) for column, attribute in INSTANT_COLUMNS.items()})
    return values


def episode_values(episode: Episode) -> dict[str, Any]:
    """The ``performance_episode`` column values for ``episode`` (without the ticket)."""
    return {
        "seq": episode.seq,
        "started_us": to_us(episode.started_at),
        "ended_us": OPEN_END if episode.ended_at is None else to_us(episode.ended_at),
        "first_response_us": to_us(episode.first_response_at),
        "first_response_minutes": episode.first_response_minutes,
        "first_response_business": episode.first_response_business,
    }


def metrics_from_rows(row: PerformanceTicket, episode: PerformanceEpisode | None) -> TicketMetrics:
    """Stored metrics (and the current episode) back as :class:`TicketMetrics`, to fold on."""
    values: dict[str, Any] = {name: getattr(row, name) for name in PLAIN_COLUMNS}
    for column, attribute in INSTANT_COLUMNS.items():
        values[attribute] = from_us(getattr(row, column))
    metrics = TicketMetrics(ticket_id=row.ticket_id, **values)
    if episode is not None:
        metrics.episodes[episode.seq] = Episode(
            seq=episode.seq,
            started_at=from_us(episode.started_us),  # type: ignore[arg-type]
            ended_at=None if episode.ended_us == OPEN_END else from_us(episode.ended_us),
            first_response_at=from_us(episode.first_response_us),
            first_response_minutes=episode.first_response_minutes,
            first_response_business=episode.first_response_business,
        )
    return metrics


async def load_events(ticket_ids: Sequence[int], after: int = 0) -> dict[int, list[EventRecord]]:
    """The events of ``ticket_ids`` with ids above ``after``, oldest first, per ticket (one query)."""
    rows = (
        await TicketEvent.filter(ticket_id__in=list(ticket_ids), id__gt=after)
        .order_by("ticket_id", "id")
        .values(*EVENT_FIELDS, "actor__role")
    )
    events: dict[int, list[EventRecord]] = defaultdict(list)
    for row in rows:
        events[row["ticket_id"]].append(
            EventRecord(
                id=int(row["id"]),
                kind=str(row["kind"]),
                field=row["field"],
                old=decode(row["old_value"]),
                new=decode(row["new_value"]),
                actor_source=str(row["actor_source"]),
                actor_is_staff=str(row["actor__role"]) in STAFF_ROLES,
                created_at=row["created_at"],
            )
        )
    return events


def business_minutes_for(manager: pluggy.PluginManager, ticket: Ticket) -> BusinessMinutes | None:
    """Ask ``helpline_performance_business_minutes`` about ``ticket``; ``None`` when no plugin implements it.

    Plugins are asked as the core asks decisions (most recently registered first) until one answers;
    a plugin that raises is named in the :class:`PluginError`, which rolls the change back.
    """
    caller = getattr(manager.hook, BUSINESS_HOOK, None)
    implementations = list(reversed(caller.get_hookimpls())) if caller is not None else []
    if not implementations:
        return None

    async def ask(start: dt.datetime, end: dt.datetime) -> float | None:
        arguments = {"ticket": ticket, "start": start, "end": end}
        for implementation in implementations:
            try:
                answer = implementation.function(*(arguments[name] for name in implementation.argnames))
                if inspect.isawaitable(answer):
                    answer = await answer
            except Exception as exc:
                raise PluginError(implementation.plugin_name, BUSINESS_HOOK, exc) from exc
            if answer is not None:
                return float(answer)
        return None

    return ask


async def _write_episodes(ticket_id: int, episodes: Iterable[Episode], existing: set[int]) -> None:
    for episode in episodes:
        values = episode_values(episode)
        if episode.seq in existing:
            await PerformanceEpisode.filter(ticket_id=ticket_id, seq=episode.seq).update(**values)
        else:
            await PerformanceEpisode.create(ticket_id=ticket_id, **values)


async def catch_up(manager: pluggy.PluginManager, ticket: Ticket) -> None:
    """Fold ``ticket``'s new events into its stored metrics (call inside the change's transaction)."""
    row = await PerformanceTicket.get_or_none(ticket_id=ticket.id)
    after = int(row.last_event_id) if row is not None else 0
    events = (await load_events([ticket.id], after)).get(ticket.id, [])
    if not events:
        return
    current = None
    if row is not None:
        current = await PerformanceEpisode.filter(ticket_id=ticket.id).order_by("-seq").first()
    stored = metrics_from_rows(row, current) if row is not None else None
    metrics, spans = apply(ticket.id, stored, events)
    if metrics is None:
        return
    await resolve_business(metrics, spans, business_minutes_for(manager, ticket))
    values = ticket_values(metrics)
    if row is None:
        await PerformanceTicket.create(ticket_id=ticket.id, **values)
    else:
        await PerformanceTicket.filter(ticket_id=ticket.id).update(**values)
    first_changed = current.seq if current is not None else 0
    await _write_episodes(
        ticket.id,
        (episode for seq, episode in sorted(metrics.episodes.items()) if seq >= first_changed),
        {current.seq} if current is not None else set(),
    )


async def rebuild(manager: pluggy.PluginManager, *, batch_size: int = 500) -> int:
    """Recompute every ticket's metrics from its whole event log; return how many tickets.

    Each batch of tickets is one transaction: its rows are deleted and written afresh, so a reader
    sees either the old or the new figures of a ticket, never a mixture.
    """
    done = 0
    last_id = 0
    while True:
        tickets = await Ticket.filter(id__gt=last_id).order_by("id").limit(batch_size)
        if not tickets:
            return done
        last_id = tickets[-1].id
        ids = [ticket.id for ticket in tickets]
        events = await load_events(ids)
        rows: list[PerformanceTicket] = []
        episodes: list[PerformanceEpisode] = []
        for ticket in tickets:
            metrics, spans = fold(ticket.id, events.get(ticket.id, []))
            if metrics is None:
                continue
            await resolve_business(metrics, spans, business_minutes_for(manager, ticket))
            rows.append(PerformanceTicket(ticket_id=ticket.id, **ticket_values(metrics)))
            episodes.extend(
                PerformanceEpisode(ticket_id=ticket.id, **episode_values(episode))
                for _seq, episode in sorted(metrics.episodes.items())
            )
        async with transaction():
            await PerformanceEpisode.filter(ticket_id__in=ids).delete()
            await PerformanceTicket.filter(ticket_id__in=ids).delete()
            await PerformanceTicket.bulk_create(rows, batch_size=500)
            await PerformanceEpisode.bulk_create(episodes, batch_size=500)
        done += len(rows)
