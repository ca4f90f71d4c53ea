"""SLA clocks: started, paused, resumed, retargeted, met and breached as tickets change.

Every function runs inside the transaction of the ticket change that caused it (the plugin's event
hooks call them), so a clock never disagrees with its ticket. "Now" is the change's own time
(``ticket.updated_at``, ``message.created_at``), which the core took from the injectable clock.

The rules (decisions a help desk user would expect; the tests hold them):

- A new ticket gets a first-response and a resolution clock, running from its creation. Each
  customer message that waits for an answer (after the first response) starts a next-response
  clock, unless one is already running.
- Only a public reply written by a human agent or admin meets first and next response: not an
  internal note, not an automatic acknowledgement, bot or automation message, not the customer.
- Statuses in ``SlaSettings.pausing_statuses`` (pending and on_hold by default) pause every running
  clock; leaving them resumes it. Solving meets the resolution clock (and a waiting next response);
  a first-response clock never answered is cancelled (no response to measure). Reopening a solved
  ticket resumes its resolution clock without counting the solved time. Closing is like solving;
  merging cancels the clocks.
- A change of anything a policy matches on re-selects the policy and retargets the open clocks from
  the business time already used; a paused clock stays paused. When the calendar changes, the time
  used is re-measured on the new calendar from the clock's history (its running segments).
- A breach, once recorded, stays recorded (history is not rewritten by a later retarget).

Within a transaction the engine keeps an :class:`SlaWork` (see :func:`helpline.core.db.deferred`):
the configuration is read once, each ticket's clocks are read once, and the clocks' changes and
history lines are written together just before commit, so a transaction that applies many changes
(an import batch) writes once per table. Outside a transaction each change is written at once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from tortoise.functions import Max

from helpline.core.actors import Actor
from helpline.core.bulk import insert_many, update_many
from helpline.core.db import database_identity, deferred, in_batch
from helpline.core.enums import MessageSource, Role, Status
from helpline.core.models import Message, Ticket, TicketTag, User
from helpline.plugins.sla.business_time import BusinessCalendar, add_business_time, business_time_between
from helpline.plugins.sla.models import (
    ClockKind,
    ClockPhase,
    SlaCalendar,
    SlaClock,
    SlaClockEvent,
    SlaPolicy,
    SlaSettings,
)
from helpline.plugins.sla.policies import PolicyRule, TicketFacts, calendar_from_rows, select_policy

DEFAULT_PAUSING = (Status.PENDING.value, Status.ON_HOLD.value)
OPEN_PHASES = (ClockPhase.RUNNING, ClockPhase.PAUSED)
FINAL_STATUSES = (Status.CLOSED, Status.MERGED)
RESOLVED_STATUSES = (Status.SOLVED, Status.CLOSED)


# -- configuration as the engine reads it ------------------------------------------------------


@dataclasses.dataclass
class SlaConfig:
    """Policies in order, calendars by id, and the settings: read once per change or job run."""

    policies: list[PolicyRule]
    calendars: dict[int, BusinessCalendar]
    pausing_statuses: frozenset[str]

    def calendar(self, calendar_id: int | None) -> BusinessCalendar | None:
        """The calendar with this id (None for None or a deleted one)."""
        return None if calendar_id is None else self.calendars.get(calendar_id)


async def settings_row() -> SlaSettings:
    """The settings row, created with the defaults on first use."""
    row = await SlaSettings.filter(id=1).first()
    if row is None:
        row, _ = await SlaSettings.get_or_create(id=1, defaults={"pausing_statuses": list(DEFAULT_PAUSING)})
    return row


SLA_WORK_KEY = "sla.clocks"
# Calendars and policies as of one committed configuration version of one database (see load_config).
_config_cache: list[tuple[object, tuple[int, tuple[str, ...]], SlaConfig]] = []


class SlaWork:
    """The engine's state within one transaction: the configuration, the clocks read so far (all of
    a ticket's, by ticket), and the changes not yet written."""

    def __init__(self) -> None:
        self.config: SlaConfig | None = None
        self.config_changed = False  # this transaction changed calendars, policies or settings
        self.clocks: dict[int, list[SlaClock]] = {}
        # A prefetched ticket's latest public reply by a human agent or admin (None: none yet),
        # dropped when a message reaches the ticket in this transaction (see agent_replied_since).
        self.latest_agent_reply: dict[int, dt.datetime | None] = {}
        self.pending = ClockChanges()

    async def flush(self) -> None:
        """Write the changed clocks and history lines (the clocks read stay known: they match the rows)."""
        pending, self.pending = self.pending, ClockChanges()
        await pending.save()


def sla_work() -> SlaWork | None:
    """The current transaction's :class:`SlaWork` (``None`` outside a transaction)."""
    return deferred(SLA_WORK_KEY, SlaWork)


def config_changed() -> None:
    """Note that the current transaction changed the configuration: read it afresh from now on."""
    work = sla_work()
    if work is not None:
        work.config, work.config_changed = None, True


async def load_config() -> SlaConfig:
    """Policies, calendars and settings: the settings row once per transaction, calendars and
    policies once per configuration version.

    Every calendar, policy or pausing change raises ``config_version`` in its own transaction, so a
    version read from a committed settings row names one set of calendars and policies: those are
    kept per process under it. A transaction that changed the configuration itself reads (and
    keeps) nothing from the process cache: its version is not committed yet and may roll back.
    """
    work = sla_work()
    if work is not None and work.config is not None:
        return work.config
    settings = await settings_row()
    key = (int(settings.config_version), tuple(sorted(settings.pausing_statuses)))
    shared = work is None or not work.config_changed
    database = database_identity()
    config = None
    if shared and _config_cache and _config_cache[0][0] is database and _config_cache[0][1] == key:
        config = _config_cache[0][2]
    if config is None:
        config = await _read_config(frozenset(settings.pausing_statuses))
        if shared:
            _config_cache[:] = [(database, key, config)]  # one version at a time: the newest is in use
    if work is not None:
        work.config = config
    return config


async def _read_config(pausing_statuses: frozenset[str]) -> SlaConfig:
    calendars = {
        row.id: calendar_from_rows(row.timezone, row.intervals, row.holidays) for row in await SlaCalendar.all()
    }
    policies = [
        PolicyRule(
            id=row.id,
            name=row.name,
            calendar_id=row.calendar_id,
            conditions=row.conditions,
            targets=row.targets,
            warning_minutes=row.warning_minutes,
        )
        for row in await SlaPolicy.filter(active=True).order_by("position", "id")
    ]
    return SlaConfig(policies=policies, calendars=calendars, pausing_statuses=pausing_statuses)


async def facts_of(ticket: Ticket, policies: Sequence[PolicyRule] | None = None) -> TicketFacts:
    """The ticket's attributes, tags and requester VIP flag, as policies see them.

    Given the ``policies`` that will judge them, tags and the VIP flag are read only when one of
    them has a condition on it (each is a query; most policy sets match on priority and team).
    """
    wants_tags = policies is None or any(policy.conditions.get("tags") for policy in policies)
    wants_vip = policies is None or any(policy.conditions.get("vip") is not None for policy in policies)
    tags = await TicketTag.filter(ticket_id=ticket.id).values_list("name", flat=True) if wants_tags else []
    vip = await User.filter(id=ticket.requester_id).values_list("vip", flat=True) if wants_vip else []
    return TicketFacts(
        priority=ticket.priority,
        team_id=ticket.team_id,
        organization_id=ticket.organization_id,
        type=ticket.type.value if ticket.type is not None else None,
        category=ticket.category,
        channel=ticket.channel.value,
        tags=frozenset(tags),  # type: ignore[arg-type]
        vip=bool(vip and vip[0]),
    )


# -- one clock's arithmetic ----------------------------------------------------------------------

MICROSECOND = dt.timedelta(microseconds=1)


def _us(delta: dt.timedelta) -> int:
    return delta // MICROSECOND


def elapsed_us(clock: SlaClock, calendar: BusinessCalendar | None, now: dt.datetime) -> int:
    """Business microseconds the clock has used by ``now`` (0 without a calendar)."""
    used = clock.elapsed_us
    if clock.running_since is not None and calendar is not None and now > clock.running_since:
        used += _us(business_time_between(calendar, clock.running_since, now))
    return used


def schedule(clock: SlaClock, calendar: BusinessCalendar | None, warning_minutes: int) -> None:
    """Set ``due_at`` and ``warn_at`` from the time used and the target (running clocks only)."""
    if clock.running_since is None or calendar is None or clock.target_minutes is None:
        if clock.breached_at is None:
            clock.due_at = None
        clock.warn_at = None
        return
    target = clock.target_minutes * 60_000_000
    left = target - clock.elapsed_us
    if left > 0:
        clock.due_at = add_business_time(calendar, clock.running_since, dt.timedelta(microseconds=left))
        warning = warning_minutes * 60_000_000
        clock.warn_at = (
            add_business_time(calendar, clock.running_since, dt.timedelta(microseconds=left - warning))
            if 0 < warning < left
            else None
        )
    else:
        clock.due_at = clock.breached_at or clock.due_at or clock.running_since  # passed before this segment
        clock.warn_at = None


def _fold(clock: SlaClock, calendar: BusinessCalendar | None, now: dt.datetime) -> None:
    """Bank the running segment's business time, so the clock can change state at ``now``."""
    clock.elapsed_us = elapsed_us(clock, calendar, now)
    clock.running_since = now if clock.running_since is not None else None


def _history(clock: SlaClock, kind: str, at: dt.datetime, note: str = "") -> SlaClockEvent:
    # A clock new in a batch has no id until the batch inserts it: the line holds 0 until then, and
    # ClockChanges.save sets every line's clock_id from its clock just before inserting the lines.
    clock_id = clock.id if clock.id is not None else 0
    return SlaClockEvent(clock_id=clock_id, kind=kind, at=at, due_at=clock.due_at, note=note[:255])


# The columns the engine changes. ``warned`` and ``breach_announced`` belong to the deadlines job
# (claimed with conditional UPDATEs): saving a clock never writes them back from a stale copy.
ENGINE_FIELDS = (
    "phase",
    "policy_id",
    "calendar_id",
    "target_minutes",
    "elapsed_us",
    "running_since",
    "due_at",
    "warn_at",
    "met_at",
    "breached_at",
)


async def save_clocks(clocks: Sequence[SlaClock]) -> None:
    """Write the engine's columns of existing ``clocks``: one prepared UPDATE run for all of them
    (a recompute saves every open clock)."""
    await update_many(clocks, ENGINE_FIELDS)


@dataclasses.dataclass
class ClockChanges:
    """Clocks changed by one ticket change (or one recompute batch) and the history lines to append;
    saved together.

    Clocks are known by object (``id(clock)``), not by primary key: in a batch, a new clock is
    inserted when the batch flushes (``new``), and has no id until then.
    """

    clocks: dict[int, SlaClock] = dataclasses.field(default_factory=dict)
    history: list[SlaClockEvent] = dataclasses.field(default_factory=list)
    _history_by_clock: dict[int, list[SlaClockEvent]] = dataclasses.field(default_factory=dict)
    new: list[SlaClock] = dataclasses.field(default_factory=list)  # not inserted yet
    # Earlier changes of the same transaction, not written yet (their history counts too).
    earlier: ClockChanges | None = None

    def record(self, clock: SlaClock, kind: str, at: dt.datetime, note: str = "") -> None:
        """Mark ``clock`` changed and append a history line."""
        self.changed(clock)
        line = _history(clock, kind, at, note)
        self.history.append(line)
        self._history_by_clock.setdefault(id(clock), []).append(line)

    def changed(self, clock: SlaClock) -> None:
        """Mark ``clock`` changed (to be saved) without a history line."""
        self.clocks[id(clock)] = clock

    def has(self, clock: SlaClock) -> bool:
        """Whether this change already changed ``clock``."""
        return id(clock) in self.clocks

    def history_of(self, clock: SlaClock) -> list[SlaClockEvent]:
        """The history lines recorded for ``clock`` in this change (not saved yet)."""
        # By clock, not by scanning every line: a recompute batch records hundreds of lines.
        before = self.earlier.history_of(clock) if self.earlier is not None else []
        return before + list(self._history_by_clock.get(id(clock), ()))

    def absorb(self, later: ClockChanges) -> None:
        """Take ``later``'s changed clocks, new clocks and history lines, to be saved with these."""
        self.clocks.update(later.clocks)
        self.new.extend(later.new)
        self.history.extend(later.history)
        for key, lines in later._history_by_clock.items():
            self._history_by_clock.setdefault(key, []).extend(lines)

    async def save(self) -> None:
        """Write the new clocks (one INSERT per 500), the changed ones (one prepared UPDATE run:
        a recompute changes every open clock) and their history (one INSERT)."""
        if self.new:
            await insert_many(self.new)  # as they are now: no UPDATE after
        inserted = {id(clock) for clock in self.new}
        changed = [clock for key, clock in self.clocks.items() if key not in inserted]
        if changed:
            await save_clocks(changed)
        for key, lines in self._history_by_clock.items():
            clock_id = self.clocks[key].id
            for line in lines:
                line.clock_id = clock_id
        if self.history:
            await SlaClockEvent.bulk_create(self.history)


async def _saved_history(clock: SlaClock) -> list[SlaClockEvent]:
    """The clock's history lines already in the database (none for a clock not inserted yet)."""
    if clock.id is None:
        return []
    return list(await SlaClockEvent.filter(clock_id=clock.id).order_by("id"))


def _breach_if_overdue(clock: SlaClock, now: dt.datetime, changes: ClockChanges) -> None:
    """A running clock past its due time is breached at that due time, whoever notices first (the
    job, or a change that pauses, meets or cancels it before the job runs)."""
    if (
        clock.running_since is not None
        and clock.due_at is not None
        and now > clock.due_at
        and clock.breached_at is None
    ):
        clock.breached_at = clock.due_at
        changes.record(clock, "breached", clock.due_at)


def pause(clock: SlaClock, config: SlaConfig, now: dt.datetime, changes: ClockChanges, why: str) -> None:
    """Stop counting; a paused clock has no due time (it depends on when it resumes)."""
    _breach_if_overdue(clock, now, changes)
    _fold(clock, config.calendar(clock.calendar_id), now)
    clock.running_since = None
    clock.phase = ClockPhase.PAUSED
    schedule(clock, None, 0)
    changes.record(clock, "paused", now, why)


def resume(
    clock: SlaClock, config: SlaConfig, now: dt.datetime, changes: ClockChanges, why: str, kind: str = "resumed"
) -> None:
    """Count again from ``now``, with the time used before."""
    clock.running_since = now
    clock.phase = ClockPhase.RUNNING
    clock.met_at = None
    schedule(clock, config.calendar(clock.calendar_id), _warning_minutes(config, clock))
    changes.record(clock, kind, now, why)


def meet(clock: SlaClock, config: SlaConfig, now: dt.datetime, changes: ClockChanges, why: str) -> None:
    """The target is reached at ``now``: late if past the due time (then the breach is recorded too)."""
    _breach_if_overdue(clock, now, changes)
    _fold(clock, config.calendar(clock.calendar_id), now)
    clock.running_since = None
    clock.phase = ClockPhase.MET
    clock.met_at = now
    clock.warn_at = None
    changes.record(clock, "met", now, why)


def cancel(clock: SlaClock, config: SlaConfig, now: dt.datetime, changes: ClockChanges, why: str) -> None:
    """No longer measured (merged, or nothing left to measure)."""
    _breach_if_overdue(clock, now, changes)
    _fold(clock, config.calendar(clock.calendar_id), now)
    clock.running_since = None
    clock.phase = ClockPhase.CANCELLED
    clock.warn_at = None
    changes.record(clock, "cancelled", now, why)


def _warning_minutes(config: SlaConfig, clock: SlaClock) -> int:
    for policy in config.policies:
        if policy.id == clock.policy_id:
            return policy.warning_minutes
    return 0


def running_segments(history: Sequence[SlaClockEvent], now: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    """The spans in which the clock counted, from its history (the last one open until ``now``)."""
    segments: list[tuple[dt.datetime, dt.datetime]] = []
    since: dt.datetime | None = None
    for line in history:
        if line.kind in ("started", "resumed", "reopened") and since is None:
            since = line.at
        elif line.kind in ("paused", "met", "cancelled") and since is not None:
            segments.append((since, line.at))
            since = None
    if since is not None:
        segments.append((since, now))
    return segments


def target_passed_at(
    segments: Sequence[tuple[dt.datetime, dt.datetime]], calendar: BusinessCalendar, target_minutes: int
) -> dt.datetime | None:
    """The instant the running ``segments`` reached ``target_minutes`` of business time, if they did."""
    left = dt.timedelta(minutes=target_minutes)
    for start, end in segments:
        span = business_time_between(calendar, start, end)
        if span >= left:
            return add_business_time(calendar, start, left)
        left -= span
    return None


async def retarget(
    clock: SlaClock,
    policy: PolicyRule | None,
    target: int | None,
    config: SlaConfig,
    now: dt.datetime,
    changes: ClockChanges,
    history: Sequence[SlaClockEvent] | None = None,
    remeasure: bool = False,
) -> None:
    """Apply a (possibly new) policy and target to an open clock, keeping the business time used.

    ``remeasure`` measures the time used again from the clock's history even on the same calendar
    (its hours or holidays changed). Nothing is recorded when nothing changes.
    """
    new_calendar_id = policy.calendar_id if policy is not None else None
    before = (clock.policy_id, clock.calendar_id, clock.target_minutes, clock.due_at)
    if not remeasure and before[:3] == (policy.id if policy else None, new_calendar_id, target):
        return
    new_calendar = config.calendar(new_calendar_id)
    if remeasure or new_calendar_id != clock.calendar_id:
        # Measure the time used on the (new) calendar from the clock's running segments.
        if history is None:
            history = await _saved_history(clock)
        used = 0
        if new_calendar is not None:
            for start, end in running_segments([*history, *changes.history_of(clock)], now):
                used += _us(business_time_between(new_calendar, start, end))
        clock.elapsed_us = used
        clock.running_since = now if clock.phase == ClockPhase.RUNNING else None
    else:
        _fold(clock, new_calendar, now)
    clock.policy_id = policy.id if policy is not None else None
    clock.calendar_id = new_calendar_id
    clock.target_minutes = target
    schedule(clock, new_calendar, policy.warning_minutes if policy is not None else 0)
    if new_calendar is not None and target is not None and clock.elapsed_us >= target * 60_000_000:
        # The new target was passed already: due (and breached) when the time used reached it.
        if history is None:
            history = await _saved_history(clock)
        passed = target_passed_at(running_segments([*history, *changes.history_of(clock)], now), new_calendar, target)
        if passed is not None:
            clock.due_at = clock.breached_at or passed
            if clock.breached_at is None and passed < now:
                clock.breached_at = passed
                changes.record(clock, "breached", passed, f"target lowered to {target} min")
    if (clock.policy_id, clock.calendar_id, clock.target_minutes, clock.due_at) == before:
        changes.changed(clock)  # the banked time moved to now: save, nothing to tell
        return
    note = f"policy {policy.name}, target {target} min" if policy is not None and target else "no target"
    changes.record(clock, "retargeted", now, note)


# -- reacting to ticket changes ------------------------------------------------------------------


def _changes() -> ClockChanges:
    """A change's own record, continuing the transaction's unwritten ones (see :func:`_finish`)."""
    work = sla_work()
    return ClockChanges(earlier=work.pending if work is not None else None)


async def _finish(changes: ClockChanges) -> None:
    """Hand a change's record to the transaction's work (written before commit), or write it now."""
    work = sla_work()
    if work is None:
        await changes.save()
    else:
        work.pending.absorb(changes)


async def ticket_clocks(ticket_id: int) -> list[SlaClock]:
    """All of the ticket's clocks, oldest first: read once per transaction, then kept current."""
    work = sla_work()
    if work is not None and ticket_id in work.clocks:
        return work.clocks[ticket_id]
    clocks = list(await SlaClock.filter(ticket_id=ticket_id).order_by("id"))
    if work is not None:
        work.clocks[ticket_id] = clocks
    return clocks


async def prefetch_clocks(ticket_ids: Sequence[int]) -> None:
    """Read the clocks of every ticket of ``ticket_ids`` not known to this transaction yet, a
    thousand tickets per statement (a batch's tickets, announced by the core before it changes
    them); outside a transaction there is nothing to keep them in."""
    work = sla_work()
    if work is None:
        return
    missing = [ticket_id for ticket_id in ticket_ids if ticket_id not in work.clocks]
    for start in range(0, len(missing), 1000):
        chunk = missing[start : start + 1000]
        found: dict[int, list[SlaClock]] = {ticket_id: [] for ticket_id in chunk}
        for clock in await SlaClock.filter(ticket_id__in=chunk).order_by("ticket_id", "id"):
            found[clock.ticket_id].append(clock)
        work.clocks.update(found)
        latest: dict[int, dt.datetime | None] = dict.fromkeys(chunk)
        rows = (
            await _agent_replies(chunk)
            .group_by("ticket_id")
            .annotate(latest=Max("created_at"))
            .values("ticket_id", "latest")
        )
        for row in rows:
            latest[int(row["ticket_id"])] = row["latest"]
        work.latest_agent_reply.update(latest)


async def open_clocks(ticket_id: int) -> list[SlaClock]:
    """The ticket's running and paused clocks."""
    return [clock for clock in await ticket_clocks(ticket_id) if clock.phase in OPEN_PHASES]


async def _new_clock(
    ticket: Ticket,
    kind: ClockKind,
    policy: PolicyRule | None,
    config: SlaConfig,
    now: dt.datetime,
    changes: ClockChanges,
    paused: bool,
) -> SlaClock:
    target = policy.target(ticket.priority, kind) if policy is not None else None
    known = await ticket_clocks(ticket.id)
    clock = SlaClock(
        ticket_id=ticket.id,
        kind=kind,
        phase=ClockPhase.PAUSED if paused else ClockPhase.RUNNING,
        policy_id=policy.id if policy is not None else None,
        calendar_id=policy.calendar_id if policy is not None else None,
        target_minutes=target,
        running_since=None if paused else now,
        started_at=now,
    )
    if in_batch():
        changes.new.append(clock)  # inserted with the batch's other clocks when it flushes
    else:
        await clock.save()
    known.append(clock)
    schedule(clock, config.calendar(clock.calendar_id), policy.warning_minutes if policy is not None else 0)
    changes.record(
        clock, "started", now, f"policy {policy.name}, target {target} min" if policy and target else "no target"
    )
    if paused:
        changes.record(clock, "paused", now, f"ticket is {ticket.status.value}")
    return clock


async def ticket_created(ticket: Ticket, creator: Actor | None = None) -> None:
    """Start the first-response and resolution clocks of a new ticket.

    ``creator`` wrote its first message (public, at ``ticket.created_at``): when they are a human
    agent or admin, that message is a reply as far as :func:`_agent_replied_since` is concerned.
    """
    config = await load_config()
    policy = select_policy(config.policies, await facts_of(ticket, config.policies))
    work = sla_work()
    if work is not None:
        work.clocks[ticket.id] = []  # a new ticket has none: no need to ask
        if creator is not None:
            by_staff = creator.source == MessageSource.HUMAN and creator.role in (Role.AGENT, Role.ADMIN)
            work.latest_agent_reply[ticket.id] = ticket.created_at if by_staff else None
    changes = _changes()
    paused = ticket.status.value in config.pausing_statuses
    for kind in (ClockKind.FIRST_RESPONSE, ClockKind.RESOLUTION):
        await _new_clock(ticket, kind, policy, config, ticket.created_at, changes, paused)
    await _finish(changes)


async def _author_role(message: Message, actor_user: User | None) -> Role | None:
    """The role of the message's author (the acting user, usually: no query then)."""
    if message.author_id is None:
        return None
    if actor_user is not None and actor_user.id == message.author_id:
        return actor_user.role
    found = await User.filter(id=message.author_id).first()
    return found.role if found is not None else None


async def message_added(ticket: Ticket, message: Message, actor_user: User | None) -> None:
    """Meet response clocks on a human agent's public reply; start a next-response clock when a
    customer's message waits for an answer."""
    message_arrived(ticket.id)
    if message.internal or message.source != MessageSource.HUMAN or ticket.status in FINAL_STATUSES:
        return
    role = await _author_role(message, actor_user)
    now = message.created_at
    config = await load_config()
    changes = _changes()
    clocks = await open_clocks(ticket.id)
    if role in (Role.AGENT, Role.ADMIN):
        for clock in clocks:
            if clock.kind in (ClockKind.FIRST_RESPONSE, ClockKind.NEXT_RESPONSE):
                meet(clock, config, now, changes, "public reply by an agent")
    elif role == Role.CUSTOMER:
        waiting = any(clock.kind in (ClockKind.FIRST_RESPONSE, ClockKind.NEXT_RESPONSE) for clock in clocks)
        if not waiting:
            policy = select_policy(config.policies, await facts_of(ticket, config.policies))
            paused = ticket.status.value in config.pausing_statuses
            await _new_clock(ticket, ClockKind.NEXT_RESPONSE, policy, config, now, changes, paused)
    await _finish(changes)


def _agent_replies(ticket_ids: Sequence[int]) -> Any:
    return Message.filter(
        ticket_id__in=list(ticket_ids),
        internal=False,
        source=MessageSource.HUMAN,
        author__role__in=[Role.AGENT, Role.ADMIN],
    )


def message_arrived(ticket_id: int) -> None:
    """A message reached the ticket in this transaction: its prefetched latest reply is stale."""
    work = sla_work()
    if work is not None:
        work.latest_agent_reply.pop(ticket_id, None)


async def _agent_replied_since(ticket_id: int, since: dt.datetime) -> bool:
    work = sla_work()
    if work is not None and ticket_id in work.latest_agent_reply:
        latest = work.latest_agent_reply[ticket_id]
        return latest is not None and latest >= since
    return await Message.exists(
        ticket_id=ticket_id,
        internal=False,
        source=MessageSource.HUMAN,
        created_at__gte=since,
        author__role__in=[Role.AGENT, Role.ADMIN],
    )


async def status_changed(ticket: Ticket, old: Status, new: Status, message: Message | None = None) -> None:
    """Pause, resume, meet, reopen or cancel clocks as the status moves (see the module docstring).

    ``message`` is the message that made the change, if any (it is saved already, and may be the
    reply that meets the first response).
    """
    if message is not None:
        message_arrived(ticket.id)
    now = ticket.updated_at
    config = await load_config()
    changes = _changes()
    pausing = config.pausing_statuses
    if new == Status.MERGED:
        for clock in await open_clocks(ticket.id):
            cancel(clock, config, now, changes, "ticket merged")
        await _finish(changes)
        return
    if new in RESOLVED_STATUSES:
        for clock in await open_clocks(ticket.id):
            if clock.kind != ClockKind.FIRST_RESPONSE:
                meet(clock, config, now, changes, f"ticket {new.value}")
            elif await _agent_replied_since(ticket.id, clock.started_at):
                # The reply that solves it (status events come before the message's own event).
                meet(clock, config, now, changes, "public reply by an agent")
            else:
                cancel(clock, config, now, changes, f"{new.value} without a public reply")
        await _finish(changes)
        return
    if old == Status.SOLVED:
        resolutions = [clock for clock in await ticket_clocks(ticket.id) if clock.kind == ClockKind.RESOLUTION]
        resolution = resolutions[-1] if resolutions else None
        if resolution is not None and resolution.phase == ClockPhase.MET:
            resume(resolution, config, now, changes, "ticket reopened", kind="reopened")
            if new.value in pausing:
                pause(resolution, config, now, changes, f"ticket is {new.value}")
    for clock in await open_clocks(ticket.id):
        if changes.has(clock):
            continue
        follow_status(clock, new, config, now, changes)
    await _finish(changes)
    if old == Status.SOLVED:
        # While solved, nothing retargets the met resolution clock: bring it up to the policy now.
        await apply_policy(ticket, config, now)


def follow_status(clock: SlaClock, status: Status, config: SlaConfig, now: dt.datetime, changes: ClockChanges) -> None:
    """Pause a running clock in a pausing status, resume a paused one in any other."""
    if status.value in config.pausing_statuses and clock.phase == ClockPhase.RUNNING:
        pause(clock, config, now, changes, f"ticket is {status.value}")
    elif status.value not in config.pausing_statuses and clock.phase == ClockPhase.PAUSED:
        resume(clock, config, now, changes, f"ticket is {status.value}")


POLICY_INPUTS = frozenset(
    {"priority", "team_id", "organization_id", "type", "category", "channel", "tags", "requester_id"}
)


async def ticket_changed(ticket: Ticket, changed_fields: Iterable[str]) -> None:
    """Re-select the policy when something it matches on changed, and retarget the open clocks."""
    if POLICY_INPUTS.isdisjoint(changed_fields) or ticket.status in FINAL_STATUSES:
        return
    config = await load_config()
    await apply_policy(ticket, config, ticket.updated_at)


async def apply_policy(ticket: Ticket, config: SlaConfig, now: dt.datetime, facts: TicketFacts | None = None) -> None:
    """Retarget the ticket's open clocks to the policy that matches it now."""
    policy = select_policy(config.policies, facts or await facts_of(ticket, config.policies))
    changes = _changes()
    for clock in await open_clocks(ticket.id):
        target = policy.target(ticket.priority, clock.kind) if policy is not None else None
        await retarget(clock, policy, target, config, now, changes)
    await _finish(changes)
