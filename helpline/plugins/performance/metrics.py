"""Per-ticket performance metrics as a pure fold over a ticket's event log. No database, no hooks.

:func:`fold` turns a ticket's events (oldest first) into :class:`TicketMetrics`; :func:`apply`
continues from stored metrics with newer events. Both the incremental path (event hooks, one
change at a time) and ``helpline performance rebuild`` (every ticket from scratch) run this same
code, so they agree by construction; a test checks it on a generated history.

Definitions (what a Zendesk or Freshdesk user expects; the tests hold them):

- An *episode* runs from creation, or from a reopening (solved -> unsolved), until the ticket is
  resolved (solved, closed or merged). Reopens count solved -> open moves.
- *First response* of an episode: from its start to the first public reply by a human agent or
  admin. Internal notes, automation, bot and automatic replies, and the customer's own messages do
  not count. The ticket's first response time is its first episode's.
- *Time to first solve*: creation to the first move to ``solved``; *full resolution*: creation to
  the latest move to ``solved``.
- *Requester wait*: time spent ``new`` or ``open``; *on hold*: time ``on_hold``; *agent work*:
  time ``open`` with an assignee. Time counts once a status (or assignee) segment ends, so an open
  ticket's running segment is not included until it changes.
- *Agent replies*: public human replies by staff. *Reassignments*: assignee changes to another
  person after the first assignment (creation with an assignee counts as the first).
  *One touch* (first-contact resolution): now solved or closed, exactly one agent reply, never
  reopened.
- Dimensions (team, assignee, organization, channel, priority, category) are the ticket's values
  as the event log last set them.

Durations are calendar minutes between UTC instants (so a daylight-saving change never adds or
loses an hour). Business minutes need a calendar that only other plugins know: the fold records
:class:`Span` s (which column, from, to, set or add) and the caller asks the
``helpline_performance_business_minutes`` hook about each (:func:`resolve_business`).

Known limits: whether an actor is staff comes from their role when metrics are computed (the event
log does not record roles); messages moved in by a merge carry no events on the target, so they
do not count there.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

# Statuses after which a ticket needs nothing more: an episode ends here.
RESOLVED = frozenset({"solved", "closed", "merged"})
WAITING = frozenset({"new", "open"})
PRIORITY_RANKS = {"low": 1, "normal": 2, "high": 3, "urgent": 4}
# Duration columns: each has a calendar-minute and a business-minute column on the ticket row.
DURATIONS = (
    "first_response",
    "first_resolution",
    "full_resolution",
    "requester_wait",
    "agent_work",
    "on_hold",
)


@dataclasses.dataclass(frozen=True)
class EventRecord:
    """One ticket event as the fold needs it (decoded from ``TicketEvent``).

    ``old``/``new`` are the decoded JSON values; ``actor_is_staff`` is true for a human agent or
    admin (false for customers and for automations, bots and automatic replies).
    """

    id: int
    kind: str
    field: str | None
    old: Any
    new: Any
    actor_source: str
    actor_is_staff: bool
    created_at: dt.datetime


@dataclasses.dataclass
class Episode:
    """One stretch from creation or reopening until resolution."""

    seq: int
    started_at: dt.datetime
    ended_at: dt.datetime | None = None
    first_response_at: dt.datetime | None = None
    first_response_minutes: float | None = None
    first_response_business: float | None = None


# Durations that add up over a ticket's life (the others are set once, when reached).
ACCUMULATED = ("requester_wait", "agent_work", "on_hold")


@dataclasses.dataclass(frozen=True)
class Span:
    """A stretch of time whose business minutes go into a column: ``mode`` ``set`` or ``add``.

    ``column`` is a :data:`DURATIONS` name, or ``episode`` (the first response of episode ``seq``).
    """

    column: str
    start: dt.datetime
    end: dt.datetime
    mode: str = "add"
    seq: int = 0


@dataclasses.dataclass
class TicketMetrics:
    """Everything measured about one ticket, and the little state the fold needs to go on."""

    ticket_id: int
    created_at: dt.datetime
    status: str = "new"
    team_id: int | None = None
    assignee_id: int | None = None
    organization_id: int | None = None
    requester_id: int | None = None
    channel: str = "web"
    priority: int = 2
    category: str | None = None
    first_solved_at: dt.datetime | None = None
    last_solved_at: dt.datetime | None = None
    reopens: int = 0
    assignments: int = 0
    reassignments: int = 0
    agent_replies: int = 0
    one_touch: bool = False
    # Calendar minutes; ``None`` while not reached (first response, resolutions).
    first_response_minutes: float | None = None
    first_resolution_minutes: float | None = None
    full_resolution_minutes: float | None = None
    requester_wait_minutes: float = 0.0
    agent_work_minutes: float = 0.0
    on_hold_minutes: float = 0.0
    # Business minutes (``None`` without a calendar, i.e. when no plugin answers).
    first_response_business: float | None = None
    first_resolution_business: float | None = None
    full_resolution_business: float | None = None
    requester_wait_business: float | None = None
    agent_work_business: float | None = None
    on_hold_business: float | None = None
    # Fold state: where the current status/assignee segment began; the last event folded in.
    segment_started_at: dt.datetime | None = None
    last_event_id: int = 0
    episodes: dict[int, Episode] = dataclasses.field(default_factory=dict)

    @property
    def current_episode(self) -> Episode:
        """The latest episode (there is always one after creation)."""
        return self.episodes[max(self.episodes)]


def minutes_between(start: dt.datetime, end: dt.datetime) -> float:
    """Calendar minutes between two aware instants (UTC arithmetic, whatever their zones)."""
    return (end - start).total_seconds() / 60.0


def decode(value: str | None) -> Any:
    """An event value as stored (JSON text or ``None``) -> Python."""
    return None if value is None else json.loads(value)


def _close_segment(metrics: TicketMetrics, at: dt.datetime, spans: list[Span]) -> None:
    """Account the time since the last status/assignee change to wait, work and on-hold."""
    since = metrics.segment_started_at
    metrics.segment_started_at = at
    if since is None or at <= since:
        return
    minutes = minutes_between(since, at)
    if metrics.status in WAITING:
        metrics.requester_wait_minutes += minutes
        spans.append(Span("requester_wait", since, at))
    if metrics.status == "on_hold":
        metrics.on_hold_minutes += minutes
        spans.append(Span("on_hold", since, at))
    if metrics.status == "open" and metrics.assignee_id is not None:
        metrics.agent_work_minutes += minutes
        spans.append(Span("agent_work", since, at))


def _assign(metrics: TicketMetrics, assignee_id: int | None) -> None:
    if assignee_id is not None and assignee_id != metrics.assignee_id:
        metrics.assignments += 1
        metrics.reassignments = max(0, metrics.assignments - 1)
    metrics.assignee_id = assignee_id


def _created(ticket_id: int, event: EventRecord) -> TicketMetrics:
    snapshot = event.new or {}
    metrics = TicketMetrics(
        ticket_id=ticket_id,
        created_at=event.created_at,
        status=str(snapshot.get("status") or "new"),
        team_id=snapshot.get("team_id"),
        organization_id=snapshot.get("organization_id"),
        requester_id=snapshot.get("requester_id"),
        channel=str(snapshot.get("channel") or "web"),
        priority=PRIORITY_RANKS.get(str(snapshot.get("priority")), 2),
        category=snapshot.get("category"),
        segment_started_at=event.created_at,
        last_event_id=event.id,
    )
    _assign(metrics, snapshot.get("assignee_id"))
    metrics.episodes[0] = Episode(seq=0, started_at=event.created_at)
    return metrics


def _status_changed(metrics: TicketMetrics, event: EventRecord, spans: list[Span]) -> None:
    at = event.created_at
    old, new = str(metrics.status), str(event.new)
    _close_segment(metrics, at, spans)
    metrics.status = new
    episode = metrics.current_episode
    if new in RESOLVED and old not in RESOLVED:
        episode.ended_at = at
    if old in RESOLVED and new not in RESOLVED:
        metrics.reopens += 1
        seq = episode.seq + 1
        metrics.episodes[seq] = Episode(seq=seq, started_at=at)
    if new == "solved":
        if metrics.first_solved_at is None:
            metrics.first_solved_at = at
            metrics.first_resolution_minutes = minutes_between(metrics.created_at, at)
            spans.append(Span("first_resolution", metrics.created_at, at, mode="set"))
        metrics.last_solved_at = at
        metrics.full_resolution_minutes = minutes_between(metrics.created_at, at)
        spans.append(Span("full_resolution", metrics.created_at, at, mode="set"))
    metrics.one_touch = new in ("solved", "closed") and metrics.agent_replies == 1 and metrics.reopens == 0


def _message_added(metrics: TicketMetrics, event: EventRecord, spans: list[Span]) -> None:
    details = event.new or {}
    if details.get("internal") or event.actor_source != "human" or not event.actor_is_staff:
        return
    metrics.agent_replies += 1
    episode = metrics.current_episode
    if episode.ended_at is None and episode.first_response_at is None:
        episode.first_response_at = event.created_at
        episode.first_response_minutes = minutes_between(episode.started_at, event.created_at)
        spans.append(Span("episode", episode.started_at, event.created_at, mode="set", seq=episode.seq))
        if episode.seq == 0:
            metrics.first_response_minutes = episode.first_response_minutes
            spans.append(Span("first_response", episode.started_at, event.created_at, mode="set"))
    metrics.one_touch = metrics.status in ("solved", "closed") and metrics.agent_replies == 1 and metrics.reopens == 0


def step(metrics: TicketMetrics, event: EventRecord, spans: list[Span]) -> None:
    """Fold one (non-creation) event into ``metrics``; append the spans it measured to ``spans``."""
    metrics.last_event_id = max(metrics.last_event_id, event.id)
    if event.kind == "status_changed":
        _status_changed(metrics, event, spans)
    elif event.kind == "message_added":
        _message_added(metrics, event, spans)
    elif event.kind == "assigned" and event.field == "assignee_id":
        _close_segment(metrics, event.created_at, spans)
        _assign(metrics, event.new)
    elif event.kind == "assigned" and event.field == "team_id":
        metrics.team_id = event.new
    elif event.kind == "field_changed" and event.field == "priority":
        metrics.priority = PRIORITY_RANKS.get(str(event.new), metrics.priority)
    elif event.kind == "field_changed" and event.field == "category":
        metrics.category = event.new
    # Other kinds (merges, follow-ups, tags, subject...) measure nothing.


def apply(
    ticket_id: int, metrics: TicketMetrics | None, events: Iterable[EventRecord]
) -> tuple[TicketMetrics | None, list[Span]]:
    """Continue ``metrics`` (``None``: nothing yet) with ``events``, oldest first.

    Returns the new metrics (``None`` while no creation event was seen) and the spans to measure
    in business time. Events already folded in (id not above ``last_event_id``) are skipped.
    """
    spans: list[Span] = []
    for event in events:
        if metrics is None:
            if event.kind == "created":
                metrics = _created(ticket_id, event)
            continue
        if event.id <= metrics.last_event_id:
            continue
        step(metrics, event, spans)
    return metrics, spans


def fold(ticket_id: int, events: Iterable[EventRecord]) -> tuple[TicketMetrics | None, list[Span]]:
    """All of a ticket's metrics from its whole event log, oldest first (what ``rebuild`` does)."""
    return apply(ticket_id, None, events)


BusinessMinutes = Callable[[dt.datetime, dt.datetime], Awaitable[float | None]]


async def resolve_business(metrics: TicketMetrics, spans: Iterable[Span], business: BusinessMinutes | None) -> None:
    """Fill the business-minute columns from ``spans``, asking ``business`` about each one.

    ``business`` is ``None`` when no plugin can answer (the columns stay ``None``). An ``add`` span
    adds to its column (a span the calendar cannot measure, answered ``None``, is skipped); a ``set``
    span replaces its column's value.
    """
    if business is None:
        return
    # A total no span has added to yet is 0 business minutes, not unknown, when the ticket has a
    # calendar (asked with an empty span): left None, the ticket would drop out of the percentiles
    # while its calendar minutes (0) count, and a business median could exceed the calendar one.
    unset = [column for column in ACCUMULATED if getattr(metrics, f"{column}_business") is None]
    if unset and await business(metrics.created_at, metrics.created_at) is not None:
        for column in unset:
            setattr(metrics, f"{column}_business", 0.0)
    for span in spans:
        answer = await business(span.start, span.end)
        value = None if answer is None else float(answer)
        if span.column == "episode":
            episode = metrics.episodes.get(span.seq)
            if episode is not None:
                episode.first_response_business = value
            continue
        attribute = f"{span.column}_business"
        if span.mode == "set":
            setattr(metrics, attribute, value)
        elif value is not None:
            setattr(metrics, attribute, (getattr(metrics, attribute) or 0.0) + value)
