"""Keeping the per-ticket metrics: incrementally as events happen, and rebuilt from the event log.

- :func:`catch_up` is called from the event hooks; it notes the ticket in the transaction's
  deferred work (:func:`helpline.core.db.deferred`), and just before the transaction commits
  :func:`catch_up_many` reads the noted tickets' events newer than the last ones folded in,
  continues the stored metrics with them through :func:`.metrics.apply`, and writes the rows and
  changed episodes: a fixed number of statements per transaction, so a transaction that applies
  many changes (an import batch) pays once. Several hooks fire for one change (a reply that opens a
  ticket announces the status change and the message); the ticket is noted once.
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
from typing import Any

import pluggy

from helpline.core.bulk import update_many
from helpline.core.db import connection, deferred, is_postgres, placeholder, transaction
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
TICKET_COLUMNS = (*PLAIN_COLUMNS, *INSTANT_COLUMNS)
EPISODE_COLUMNS = (
    "seq",
    "started_us",
    "ended_us",
    "first_response_us",
    "first_response_minutes",
    "first_response_business",
)


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


# Tickets per statement of :func:`load_events_after` (two parameters each; both databases allow
# over 30,000 parameters per statement).
MARKS_PER_STATEMENT = 5_000


async def load_events_after(marks: dict[int, int]) -> dict[int, list[EventRecord]]:
    """The events of each ticket in ``marks`` with ids above its own mark, oldest first, per ticket.

    One statement per :data:`MARKS_PER_STATEMENT` tickets: the marks go in as a ``VALUES`` list
    joined to the event log, so each ticket reads only its unfolded events. (One range above the
    lowest mark read, in an import, five events for each one folded: a ticket last changed long
    ago pulled in every other ticket's events since.)
    """
    events: dict[int, list[EventRecord]] = defaultdict(list)
    items = sorted(marks.items())
    postgres = is_postgres()
    created_at = TicketEvent._meta.fields_map["created_at"]
    for start in range(0, len(items), MARKS_PER_STATEMENT):
        chunk = items[start : start + MARKS_PER_STATEMENT]
        cast = "::bigint" if postgres else ""
        values = ", ".join(
            f"({placeholder(2 * index + 1)}{cast}, {placeholder(2 * index + 2)}{cast})" for index in range(len(chunk))
        )
        sql = (
            f"WITH marks (ticket_id, after_id) AS (VALUES {values}) "
            "SELECT e.id, e.ticket_id, e.kind, e.field, e.old_value, e.new_value, e.actor_source, e.created_at, "
            "u.role AS actor_role "
            "FROM helpline_ticket_event e JOIN marks m ON e.ticket_id = m.ticket_id AND e.id > m.after_id "
            "LEFT JOIN helpline_user u ON u.id = e.actor_id ORDER BY e.ticket_id, e.id"
        )
        parameters = [number for pair in chunk for number in pair]
        for row in await connection().execute_query_dict(sql, parameters):
            events[int(row["ticket_id"])].append(
                EventRecord(
                    id=int(row["id"]),
                    kind=str(row["kind"]),
                    field=row["field"],
                    old=decode(row["old_value"]),
                    new=decode(row["new_value"]),
                    actor_source=str(row["actor_source"]),
                    actor_is_staff=row["actor_role"] in STAFF_ROLES,
                    created_at=created_at.to_python_value(row["created_at"]),
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


async def catch_up(manager: pluggy.PluginManager, ticket: Ticket) -> None:
    """Fold ``ticket``'s new events into its stored metrics before the change's transaction commits.

    Inside a transaction the ticket joins the transaction's :class:`CatchUp` (one batch for every
    ticket the transaction touches, written just before commit); outside one it is folded at once.
    """
    work = deferred(CATCH_UP_KEY, lambda: CatchUp(manager))
    if work is None:
        await catch_up_many(manager, {ticket.id: ticket})
    else:
        work.tickets[ticket.id] = ticket


CATCH_UP_KEY = "performance.catch_up"


class CatchUp:
    """The tickets a transaction changed, folded together when it flushes (see :func:`catch_up`)."""

    def __init__(self, manager: pluggy.PluginManager) -> None:
        self.manager = manager
        self.tickets: dict[int, Ticket] = {}

    async def flush(self) -> None:
        """Fold and write every gathered ticket (the set empties, ready for more)."""
        tickets, self.tickets = self.tickets, {}
        if not tickets:
            return
        try:
            await catch_up_many(self.manager, tickets)
        except Exception as exc:
            # As from a hook: the change rolls back and the error names this plugin (the cause, the rest).
            raise PluginError("performance", CATCH_UP_KEY, exc) from exc


async def catch_up_many(manager: pluggy.PluginManager, tickets: dict[int, Ticket]) -> None:
    """Fold the new events of ``tickets`` (by id) into their stored metrics, in a fixed number of
    statements whatever their number: read the rows, the new events and the current episodes,
    fold each ticket, then insert new rows and update changed ones in one statement per table."""
    ids = sorted(tickets)
    rows = {row.ticket_id: row for row in await PerformanceTicket.filter(ticket_id__in=ids)}
    # Each ticket's events above the last one folded (0 for a ticket not kept yet).
    events = await load_events_after(
        {ticket_id: int(rows[ticket_id].last_event_id) if ticket_id in rows else 0 for ticket_id in ids}
    )
    current: dict[int, PerformanceEpisode] = {}
    if rows:
        for stored_episode in await PerformanceEpisode.filter(ticket_id__in=list(rows)).order_by("ticket_id", "seq"):
            current[stored_episode.ticket_id] = stored_episode  # the last (highest seq) wins
    new_rows: list[PerformanceTicket] = []
    changed_rows: list[PerformanceTicket] = []
    new_episodes: list[PerformanceEpisode] = []
    changed_episodes: list[PerformanceEpisode] = []
    for ticket_id in ids:
        row = rows.get(ticket_id)
        ticket_events = [event for event in events.get(ticket_id, ()) if row is None or event.id > row.last_event_id]
        if not ticket_events:
            continue
        episode_row = current.get(ticket_id)
        stored = metrics_from_rows(row, episode_row) if row is not None else None
        metrics, spans = apply(ticket_id, stored, ticket_events)
        if metrics is None:
            continue
        await resolve_business(metrics, spans, business_minutes_for(manager, tickets[ticket_id]))
        values = ticket_values(metrics)
        if row is None:
            new_rows.append(PerformanceTicket(ticket_id=ticket_id, **values))
        else:
            for name, value in values.items():
                setattr(row, name, value)
            changed_rows.append(row)
        first_changed = episode_row.seq if episode_row is not None else 0
        for seq, episode in sorted(metrics.episodes.items()):
            if seq < first_changed:
                continue
            if episode_row is not None and seq == episode_row.seq:
                for name, value in episode_values(episode).items():
                    setattr(episode_row, name, value)
                changed_episodes.append(episode_row)
            else:
                new_episodes.append(PerformanceEpisode(ticket_id=ticket_id, **episode_values(episode)))
    if new_rows:
        await PerformanceTicket.bulk_create(new_rows, batch_size=500)
    await update_many(changed_rows, TICKET_COLUMNS)
    if new_episodes:
        await PerformanceEpisode.bulk_create(new_episodes, batch_size=500)
    await update_many(changed_episodes, EPISODE_COLUMNS)


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
        events = await load_events_after(dict.fromkeys(ids, 0))
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
