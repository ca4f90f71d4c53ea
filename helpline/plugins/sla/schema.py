"""GraphQL for the SLA plugin: ``Ticket.sla``, calendars, policies, settings and calendar checks.

Who sees what (decisions):
- ``ticket { sla }`` follows the ticket's visibility (the core has already checked it); customers get
  ``null`` unless an admin turned ``customersSeeSla`` on, and then the clocks without the policy
  and without history (both can tell of staff-side facts: a VIP flag, a change of team).
- Calendars, policies, settings, ``businessTime``/``addBusinessTime`` and ``slaTickets`` are for
  agents and admins; changing them is for admins.
- ``slaTickets`` lists tickets the viewer may see (the core's rule) whose clocks are at risk or
  breached, oldest first; breached means passed its due time and not yet met.

Clock figures are computed at request time on the clock's calendar with "now" from the runtime's
clock, so they are right to the minute between two runs of the breach job.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import strawberry
from strawberry.types import Info
from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet

from helpline.core import auth
from helpline.core.enums import Channel, Priority, Status, TicketType
from helpline.core.errors import BadInput, NotFound
from helpline.plugins.sla import admin
from helpline.plugins.sla.business_time import (
    MINUTES_PER_DAY,
    CalendarError,
    WorkingInterval,
    add_business_time,
    business_time_between,
    minute_of_day,
)
from helpline.plugins.sla.clocks import SlaConfig, elapsed_us, load_config, settings_row
from helpline.plugins.sla.models import ClockKind, ClockPhase, SlaCalendar, SlaClock, SlaClockEvent, SlaPolicy
from helpline.plugins.sla.policies import calendar_from_rows
from helpline.schema.context import loader_of, runtime_of, viewer_of
from helpline.schema.errors import UserErrorType, attempt
from helpline.schema.ids import decode_id, encode_id
from helpline.schema.pagination import connection, paginate
from helpline.schema.ticket_rows import load_ticket_rows
from helpline.schema.types import (
    TicketChannel,
    TicketConnection,
    TicketEdge,
    TicketKind,
    TicketPriority,
    TicketStatus,
    global_id,
)

SlaClockKind = strawberry.enum(ClockKind, name="SlaClockKind", description="Which target a clock times.")


@strawberry.enum(description="A clock's state; BREACHED also after a late response (see metAt).")
class SlaClockState(enum.Enum):
    RUNNING = "running"
    PAUSED = "paused"
    MET = "met"
    BREACHED = "breached"
    CANCELLED = "cancelled"


def state_of(clock: SlaClock, now: dt.datetime) -> SlaClockState:
    """The state shown for ``clock`` at ``now`` (a passed due time shows before the job records it)."""
    if clock.phase == ClockPhase.CANCELLED:
        return SlaClockState.CANCELLED
    if clock.breached_at is not None or (
        clock.phase == ClockPhase.RUNNING and clock.due_at is not None and clock.due_at <= now
    ):
        return SlaClockState.BREACHED
    return {
        ClockPhase.MET: SlaClockState.MET,
        ClockPhase.RUNNING: SlaClockState.RUNNING,
        ClockPhase.PAUSED: SlaClockState.PAUSED,
    }[clock.phase]


def _minutes(microseconds: int) -> float:
    return microseconds / 60_000_000


def _clock_text(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


# -- request-scoped loading ---------------------------------------------------------------------


async def request_config(info: Info) -> SlaConfig:
    """Calendars, policies and settings, read once per request."""

    async def load(keys: Sequence[int]) -> list[SlaConfig]:
        config = await load_config()
        return [config for _ in keys]

    return await loader_of(info, "sla.config", load).load(0)  # type: ignore[no-any-return]


async def _clocks_by_ticket(ticket_ids: Sequence[int]) -> list[list[SlaClock]]:
    found: defaultdict[int, list[SlaClock]] = defaultdict(list)
    for clock in await SlaClock.filter(ticket_id__in=list(set(ticket_ids))).order_by("id"):
        found[clock.ticket_id].append(clock)
    return [found[ticket_id] for ticket_id in ticket_ids]


async def _history_by_clock(clock_ids: Sequence[int]) -> list[list[SlaClockEvent]]:
    found: defaultdict[int, list[SlaClockEvent]] = defaultdict(list)
    for line in await SlaClockEvent.filter(clock_id__in=list(set(clock_ids))).order_by("at", "id"):
        found[line.clock_id].append(line)
    return [found[clock_id] for clock_id in clock_ids]


async def _customers_see_sla(keys: Sequence[int]) -> list[bool]:
    settings = await settings_row()
    return [settings.customers_see_sla for _ in keys]


# -- types ----------------------------------------------------------------------------------------


@strawberry.type(description="One line of a clock's history: why its due time is what it is.")
class SlaClockHistoryEntry:
    kind: str = strawberry.field(
        description="started, paused, resumed, retargeted, met, reopened, breached, warned or cancelled."
    )
    at: dt.datetime
    due_at: dt.datetime | None = strawberry.field(description="The due time after this line.")
    note: str


@strawberry.type(name="SlaClock", description="One target's clock on a ticket.")
class SlaClockType:
    _clock: strawberry.Private[SlaClock]
    _config: strawberry.Private[SlaConfig]
    _now: strawberry.Private[dt.datetime]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(encode_id("SlaClock", self._clock.id))

    @strawberry.field
    def kind(self) -> SlaClockKind:  # type: ignore[valid-type]
        return self._clock.kind

    @strawberry.field
    def state(self) -> SlaClockState:
        return state_of(self._clock, self._now)

    @strawberry.field(description="The policy's target in business minutes (null: no policy sets one).")
    def target_minutes(self) -> int | None:
        return self._clock.target_minutes

    @strawberry.field
    def started_at(self) -> dt.datetime:
        return self._clock.started_at

    @strawberry.field(description="When the target is due; null while paused or without a target.")
    def due_at(self) -> dt.datetime | None:
        return self._clock.due_at

    @strawberry.field
    def met_at(self) -> dt.datetime | None:
        return self._clock.met_at

    @strawberry.field(description="The due time it passed, if it did.")
    def breached_at(self) -> dt.datetime | None:
        clock = self._clock
        if clock.breached_at is None and state_of(clock, self._now) == SlaClockState.BREACHED:
            return clock.due_at
        return clock.breached_at

    @strawberry.field(description="Business minutes used so far (null without a calendar).")
    def business_minutes_elapsed(self) -> float | None:
        calendar = self._config.calendar(self._clock.calendar_id)
        return None if calendar is None else _minutes(elapsed_us(self._clock, calendar, self._now))

    @strawberry.field(description="Business minutes left before the due time; negative once breached.")
    def business_minutes_remaining(self) -> float | None:
        clock = self._clock
        calendar = self._config.calendar(clock.calendar_id)
        if calendar is None or clock.target_minutes is None:
            return None
        return clock.target_minutes - _minutes(elapsed_us(clock, calendar, self._now))

    @strawberry.field(
        description="Every start, pause, resume, retarget, met and breach, in time order (staff only: empty for "
        "customers, as its notes tell of staff-side changes)."
    )
    async def history(self, info: Info) -> list[SlaClockHistoryEntry]:
        if viewer_of(info).is_customer:
            return []
        lines = await loader_of(info, "sla.history", _history_by_clock).load(self._clock.id)
        return [SlaClockHistoryEntry(kind=line.kind, at=line.at, due_at=line.due_at, note=line.note) for line in lines]


@strawberry.type(name="SlaCalendarInterval", description="Working time on a weekday (0 = Monday), local time.")
class SlaIntervalType:
    weekday: int
    start: str
    end: str = strawberry.field(description="At or before start: the shift ends the next day.")


@strawberry.type(name="SlaCalendar", description="Working hours in a time zone, with holidays.")
class SlaCalendarType:
    """Resolved from the ``SlaCalendar`` row itself (its attributes)."""

    name: str
    timezone: str = strawberry.field(description="IANA time zone, e.g. America/New_York.")
    id: strawberry.ID = global_id("SlaCalendar")

    @strawberry.field
    def intervals(self) -> list[SlaIntervalType]:
        return [
            SlaIntervalType(weekday=weekday, start=_clock_text(start), end=_clock_text(end))
            for weekday, start, end in self.intervals  # type: ignore[attr-defined]
        ]

    @strawberry.field(description="Dates (YYYY-MM-DD) without working time.")
    def holidays(self) -> list[str]:
        return list(self.holidays)  # type: ignore[attr-defined]


@strawberry.type(name="SlaTarget", description="Targets for one priority, in business minutes.")
class SlaTargetType:
    priority: TicketPriority  # type: ignore[valid-type]
    first_response: int | None
    next_response: int | None
    resolution: int | None


@strawberry.type(name="SlaConditions", description="What a ticket must match (an empty list: anything).")
class SlaConditionsType:
    priorities: list[TicketPriority]  # type: ignore[valid-type]
    team_ids: list[strawberry.ID]
    organization_ids: list[strawberry.ID]
    types: list[TicketKind]  # type: ignore[valid-type]
    categories: list[str]
    channels: list[TicketChannel]  # type: ignore[valid-type]
    tags: list[str] = strawberry.field(description="The ticket carries any of them.")
    vip: bool | None = strawberry.field(description="The requester is (true) or is not (false) a VIP.")


def _conditions_out(conditions: dict[str, Any]) -> SlaConditionsType:
    return SlaConditionsType(
        priorities=[Priority[name.upper()] for name in conditions.get("priorities", [])],
        team_ids=[strawberry.ID(encode_id("Team", pk)) for pk in conditions.get("team_ids", [])],
        organization_ids=[
            strawberry.ID(encode_id("Organization", pk)) for pk in conditions.get("organization_ids", [])
        ],
        types=[TicketType(value) for value in conditions.get("types", [])],
        categories=list(conditions.get("categories", [])),
        channels=[Channel(value) for value in conditions.get("channels", [])],
        tags=list(conditions.get("tags", [])),
        vip=conditions.get("vip"),
    )


@strawberry.type(name="SlaPolicy", description="Conditions and targets; the first matching active policy applies.")
class SlaPolicyType:
    """Resolved from the ``SlaPolicy`` row itself (its attributes)."""

    name: str
    position: int = strawberry.field(description="Policies are tried in ascending position.")
    active: bool
    warning_minutes: int = strawberry.field(
        description="Business minutes before a due time at which the warning hook fires."
    )
    id: strawberry.ID = global_id("SlaPolicy")

    @strawberry.field
    def conditions(self) -> SlaConditionsType:
        return _conditions_out(self.conditions)  # type: ignore[arg-type]

    @strawberry.field
    def targets(self) -> list[SlaTargetType]:
        targets: dict[str, dict[str, int]] = self.targets  # type: ignore[assignment]
        return [
            SlaTargetType(
                priority=Priority[name.upper()],
                first_response=kinds.get("first_response"),
                next_response=kinds.get("next_response"),
                resolution=kinds.get("resolution"),
            )
            for name, kinds in sorted(targets.items(), key=lambda item: Priority[item[0].upper()])
        ]

    @strawberry.field
    async def calendar(self) -> SlaCalendarType:
        return await SlaCalendar.get(id=self.calendar_id)  # type: ignore[attr-defined,no-any-return]


@strawberry.type(name="SlaPolicyRef", description="The policy that set a ticket's targets.")
class SlaPolicyRef:
    id: strawberry.ID
    name: str


@strawberry.type(description="A ticket's service level: its policy and clocks.")
class TicketSla:
    policy: SlaPolicyRef | None = strawberry.field(description="The policy timing the open clocks, if any.")
    clocks: list[SlaClockType]


@strawberry.type(name="SlaSettings")
class SlaSettingsType:
    pausing_statuses: list[TicketStatus]  # type: ignore[valid-type]
    customers_see_sla: bool


@strawberry.type
class SlaTicketFields:
    """Fields the SLA plugin adds to ``Ticket``."""

    @strawberry.field(description="Service level: policy and clocks (customers: only when allowed).")
    async def sla(self, info: Info) -> TicketSla | None:
        viewer = viewer_of(info)
        if viewer.is_customer and not await loader_of(info, "sla.customers_see", _customers_see_sla).load(0):
            return None
        ticket_id: int = self.id  # type: ignore[attr-defined]
        clocks = await loader_of(info, "sla.clocks", _clocks_by_ticket).load(ticket_id)
        config = await request_config(info)
        now = runtime_of(info).clock.now()
        policy_id = next((c.policy_id for c in reversed(clocks) if c.policy_id is not None), None)
        policy = next((p for p in config.policies if p.id == policy_id), None)
        if viewer.is_customer:
            policy = None  # a policy's name can tell what it matched on (a VIP flag, a team): staff only
        return TicketSla(
            policy=SlaPolicyRef(id=strawberry.ID(encode_id("SlaPolicy", policy.id)), name=policy.name)
            if policy
            else None,
            clocks=[SlaClockType(_clock=clock, _config=config, _now=now) for clock in clocks],
        )


# -- queries --------------------------------------------------------------------------------------


@strawberry.input(description="Tickets by the state of their SLA clocks (both given: either holds).")
class SlaTicketFilter:
    at_risk_within_minutes: int | None = strawberry.field(
        default=None, description="A running clock is due within this many minutes (not yet breached)."
    )
    breached: bool | None = strawberry.field(default=None, description="A clock passed its due time and is not met.")
    kind: SlaClockKind | None = None  # type: ignore[valid-type]


async def _calendar_for(calendar_id: strawberry.ID) -> Any:
    row = await SlaCalendar.get_or_none(id=decode_id(calendar_id, "SlaCalendar", "calendarId"))
    if row is None:
        raise NotFound("no such calendar")
    return calendar_from_rows(row.timezone, row.intervals, row.holidays)


def _aware(value: dt.datetime, field: str) -> dt.datetime:
    if value.tzinfo is None:
        raise BadInput(f"{field}: give a time with a zone offset, e.g. 2026-06-08T09:00:00Z")
    return value


def clock_filter(
    now: dt.datetime, *, at_risk_within_minutes: int | None, breached: bool | None, kind: ClockKind | None
) -> QuerySet[SlaClock]:
    """The clocks ``slaTickets`` looks for at ``now`` (BAD_USER_INPUT when neither filter is given).

    At risk: running, not breached, due after now and within the horizon. Breached: open and past
    its due time (recorded by the job, or running past it before the job's next run).
    """
    conditions = Q()
    if breached:
        conditions |= Q(phase__in=[ClockPhase.RUNNING, ClockPhase.PAUSED]) & (
            Q(breached_at__isnull=False) | Q(phase=ClockPhase.RUNNING, due_at__lte=now)
        )
    if at_risk_within_minutes is not None:
        if not 0 <= at_risk_within_minutes <= 366 * 24 * 60:
            raise BadInput("atRiskWithinMinutes must be between 0 and a year of minutes")
        horizon = now + dt.timedelta(minutes=at_risk_within_minutes)
        conditions |= Q(phase=ClockPhase.RUNNING, breached_at__isnull=True, due_at__gt=now, due_at__lte=horizon)
    if not breached and at_risk_within_minutes is None:
        raise BadInput("give atRiskWithinMinutes, breached: true, or both")
    clocks = SlaClock.filter(conditions)
    if kind is not None:
        clocks = clocks.filter(kind=kind)
    return clocks


@strawberry.type
class SlaQuery:
    """Root fields of the SLA plugin."""

    @strawberry.field(description="Business calendars (agents and admins).")
    async def sla_calendars(self, info: Info) -> list[SlaCalendarType]:
        auth.require_staff(viewer_of(info))
        return [row for row in await SlaCalendar.all().order_by("name")]

    @strawberry.field(description="Policies in the order they are tried (agents and admins).")
    async def sla_policies(self, info: Info) -> list[SlaPolicyType]:
        auth.require_staff(viewer_of(info))
        return [row for row in await SlaPolicy.all().order_by("position", "id")]

    @strawberry.field(description="How clocks behave (agents and admins).")
    async def sla_settings(self, info: Info) -> SlaSettingsType:
        auth.require_staff(viewer_of(info))
        settings = await settings_row()
        return SlaSettingsType(
            pausing_statuses=[Status(value) for value in settings.pausing_statuses],
            customers_see_sla=settings.customers_see_sla,
        )

    @strawberry.field(description="Business minutes between two instants on a calendar (agents and admins).")
    async def business_time(
        self, info: Info, calendar_id: strawberry.ID, start: dt.datetime, end: dt.datetime
    ) -> float:
        auth.require_staff(viewer_of(info))
        calendar = await _calendar_for(calendar_id)
        try:
            return business_time_between(calendar, _aware(start, "start"), _aware(end, "end")) / dt.timedelta(minutes=1)
        except CalendarError as exc:
            raise BadInput(str(exc)) from None

    @strawberry.field(description="The instant when some business minutes have passed (agents and admins).")
    async def add_business_time(
        self, info: Info, calendar_id: strawberry.ID, start: dt.datetime, minutes: float
    ) -> dt.datetime:
        auth.require_staff(viewer_of(info))
        calendar = await _calendar_for(calendar_id)
        if not 0 <= minutes <= admin.MAX_HOLIDAY_YEARS * 366 * 24 * 60:
            raise BadInput("minutes must be between 0 and ten years")
        try:
            return add_business_time(calendar, _aware(start, "start"), dt.timedelta(minutes=minutes))
        except CalendarError as exc:
            raise BadInput(str(exc)) from None

    @strawberry.field(description="Tickets you may see whose clocks are at risk or breached, oldest first.")
    async def sla_tickets(
        self, info: Info, filter: SlaTicketFilter, first: int | None = None, after: str | None = None
    ) -> TicketConnection:
        viewer = auth.require_staff(viewer_of(info))
        clocks = clock_filter(
            runtime_of(info).clock.now(),
            at_risk_within_minutes=filter.at_risk_within_minutes,
            breached=filter.breached,
            kind=filter.kind,
        )
        tickets = auth.visible_tickets(viewer).filter(id__in=Subquery(clocks.values("ticket_id")))
        page = await paginate(
            runtime_of(info), tickets, first=first, after=after, order_field="id", load=load_ticket_rows
        )
        return connection(TicketConnection, TicketEdge, page)  # type: ignore[no-any-return]


# -- mutations ------------------------------------------------------------------------------------


@strawberry.input(
    description="Working time on a weekday: start and end as HH:MM local time ('24:00' ends at midnight)."
)
class SlaIntervalInput:
    weekday: int = strawberry.field(description="0 = Monday ... 6 = Sunday.")
    start: str
    end: str


@strawberry.input(description="Public holidays from the holidays package, e.g. country US, subdivision NY.")
class GeneratedHolidaysInput:
    country: str
    subdivision: str | None = None
    years: list[int]


@strawberry.input
class CreateSlaCalendarInput:
    name: str
    timezone: str
    intervals: list[SlaIntervalInput]
    holidays: list[str] = strawberry.field(default_factory=list, description="Dates, YYYY-MM-DD.")
    generated_holidays: GeneratedHolidaysInput | None = None


@strawberry.input(description="Fields left out keep their values; generatedHolidays adds to the holidays.")
class UpdateSlaCalendarInput:
    id: strawberry.ID
    name: str | None = None
    timezone: str | None = None
    intervals: list[SlaIntervalInput] | None = None
    holidays: list[str] | None = None
    generated_holidays: GeneratedHolidaysInput | None = None


@strawberry.type
class SlaCalendarPayload:
    calendar: SlaCalendarType | None
    user_errors: list[UserErrorType]


@strawberry.input
class SlaConditionsInput:
    priorities: list[TicketPriority] | None = None  # type: ignore[valid-type]
    team_ids: list[strawberry.ID] | None = None
    organization_ids: list[strawberry.ID] | None = None
    types: list[TicketKind] | None = None  # type: ignore[valid-type]
    categories: list[str] | None = None
    channels: list[TicketChannel] | None = None  # type: ignore[valid-type]
    tags: list[str] | None = None
    vip: bool | None = None


@strawberry.input(description="Targets for one priority in business minutes; leave one out for no target.")
class SlaTargetInput:
    priority: TicketPriority  # type: ignore[valid-type]
    first_response: int | None = None
    next_response: int | None = None
    resolution: int | None = None


@strawberry.input
class CreateSlaPolicyInput:
    name: str
    calendar_id: strawberry.ID
    targets: list[SlaTargetInput]
    conditions: SlaConditionsInput | None = None
    position: int | None = strawberry.field(default=None, description="Default: after the last policy.")
    warning_minutes: int = 0
    active: bool = True


@strawberry.input(description="Fields left out keep their values; targets and conditions are replaced whole.")
class UpdateSlaPolicyInput:
    id: strawberry.ID
    name: str | None = None
    calendar_id: strawberry.ID | None = None
    targets: list[SlaTargetInput] | None = None
    conditions: SlaConditionsInput | None = None
    position: int | None = None
    warning_minutes: int | None = None
    active: bool | None = None


@strawberry.input
class DeleteSlaPolicyInput:
    id: strawberry.ID


@strawberry.type
class SlaPolicyPayload:
    policy: SlaPolicyType | None
    user_errors: list[UserErrorType]


@strawberry.type
class DeleteSlaPolicyPayload:
    deleted_id: strawberry.ID | None
    user_errors: list[UserErrorType]


@strawberry.input
class UpdateSlaSettingsInput:
    pausing_statuses: list[TicketStatus] | None = None  # type: ignore[valid-type]
    customers_see_sla: bool | None = None


@strawberry.type
class SlaSettingsPayload:
    settings: SlaSettingsType | None
    user_errors: list[UserErrorType]


def _intervals(values: list[SlaIntervalInput]) -> list[WorkingInterval]:
    intervals = []
    for index, value in enumerate(values):
        try:
            # An end of 00:00 is the next midnight, as 24:00 is.
            end = minute_of_day(value.end) or MINUTES_PER_DAY
            intervals.append(WorkingInterval(value.weekday, minute_of_day(value.start), end))
        except CalendarError as exc:
            raise admin.ValidationFailed(
                [admin.UserError(("input", "intervals", str(index)), str(exc), "INVALID_TIME")]
            ) from None
    return intervals


def _source(value: GeneratedHolidaysInput | None) -> admin.HolidaySource | None:
    return None if value is None else admin.HolidaySource(value.country, value.subdivision, value.years)


def _conditions_in(value: SlaConditionsInput | None) -> dict[str, Any] | None:
    if value is None:
        return None
    conditions: dict[str, Any] = {}
    if value.priorities:
        conditions["priorities"] = [Priority(p).name.lower() for p in value.priorities]
    if value.team_ids:
        conditions["team_ids"] = [decode_id(pk, "Team", "teamIds") for pk in value.team_ids]
    if value.organization_ids:
        conditions["organization_ids"] = [
            decode_id(pk, "Organization", "organizationIds") for pk in value.organization_ids
        ]
    if value.types:
        conditions["types"] = [TicketType(t).value for t in value.types]
    if value.categories:
        conditions["categories"] = list(value.categories)
    if value.channels:
        conditions["channels"] = [Channel(c).value for c in value.channels]
    if value.tags:
        conditions["tags"] = [tag.strip().lower() for tag in value.tags]
    if value.vip is not None:
        conditions["vip"] = value.vip
    return conditions


def _targets_in(values: list[SlaTargetInput] | None) -> dict[str, dict[str, Any]] | None:
    if values is None:
        return None
    targets: dict[str, dict[str, Any]] = {}
    for value in values:
        name = Priority(value.priority).name.lower()
        if name in targets:
            raise admin.ValidationFailed(
                [admin.UserError(("input", "targets"), f"{name} is listed twice", "DUPLICATE")]
            )
        kinds = {
            "first_response": value.first_response,
            "next_response": value.next_response,
            "resolution": value.resolution,
        }
        targets[name] = {kind: minutes for kind, minutes in kinds.items() if minutes is not None}
    return targets


def _policy_fields(input: CreateSlaPolicyInput | UpdateSlaPolicyInput) -> dict[str, Any]:
    """The policy fields of a create or update input, decoded (``None``: left as it is, on update)."""
    return {
        "name": input.name,
        "calendar_id": decode_id(input.calendar_id, "SlaCalendar", "calendarId") if input.calendar_id else None,
        "position": input.position,
        "conditions": _conditions_in(input.conditions),
        "targets": _targets_in(input.targets),
        "warning_minutes": input.warning_minutes,
        "active": input.active,
    }


async def _apply_fields(info: Info, policy_id: int | None, **fields: Any) -> SlaPolicy:
    viewer, now = viewer_of(info), runtime_of(info).clock.now()
    values = admin.PolicyFields(**fields)
    if policy_id is None:
        return await admin.create_policy(viewer, now, values)
    return await admin.update_policy(viewer, now, policy_id, values)


@strawberry.type
class SlaMutation:
    """Admin mutations of the SLA plugin; each is one transaction, and bad input saves nothing."""

    @strawberry.mutation(description="Create a business calendar (admins).")
    async def create_sla_calendar(self, info: Info, input: CreateSlaCalendarInput) -> SlaCalendarPayload:
        async def run() -> SlaCalendar:
            return await admin.create_calendar(
                viewer_of(info),
                runtime_of(info).clock.now(),
                name=input.name,
                timezone=input.timezone,
                intervals=_intervals(input.intervals),
                holidays=input.holidays,
                generated=_source(input.generated_holidays),
            )

        row, errors = await attempt(run())
        return SlaCalendarPayload(calendar=row, user_errors=errors)

    @strawberry.mutation(description="Change a business calendar (admins); open clocks follow within a minute.")
    async def update_sla_calendar(self, info: Info, input: UpdateSlaCalendarInput) -> SlaCalendarPayload:
        async def run() -> SlaCalendar:
            return await admin.update_calendar(
                viewer_of(info),
                runtime_of(info).clock.now(),
                decode_id(input.id, "SlaCalendar"),
                name=input.name,
                timezone=input.timezone,
                intervals=_intervals(input.intervals) if input.intervals is not None else None,
                holidays=input.holidays,
                generated=_source(input.generated_holidays),
            )

        row, errors = await attempt(run())
        return SlaCalendarPayload(calendar=row, user_errors=errors)

    @strawberry.mutation(description="Create a policy (admins); open clocks follow within a minute.")
    async def create_sla_policy(self, info: Info, input: CreateSlaPolicyInput) -> SlaPolicyPayload:
        async def run() -> SlaPolicy:
            return await _apply_fields(info, None, **_policy_fields(input))

        row, errors = await attempt(run())
        return SlaPolicyPayload(policy=row, user_errors=errors)

    @strawberry.mutation(description="Change a policy (admins); open clocks follow within a minute.")
    async def update_sla_policy(self, info: Info, input: UpdateSlaPolicyInput) -> SlaPolicyPayload:
        async def run() -> SlaPolicy:
            return await _apply_fields(info, decode_id(input.id, "SlaPolicy"), **_policy_fields(input))

        row, errors = await attempt(run())
        return SlaPolicyPayload(policy=row, user_errors=errors)

    @strawberry.mutation(description="Delete a policy (admins); its clocks are retargeted, their history kept.")
    async def delete_sla_policy(self, info: Info, input: DeleteSlaPolicyInput) -> DeleteSlaPolicyPayload:
        policy_id = decode_id(input.id, "SlaPolicy")
        _, errors = await attempt(admin.delete_policy(viewer_of(info), policy_id))
        return DeleteSlaPolicyPayload(deleted_id=None if errors else input.id, user_errors=errors)

    @strawberry.mutation(description="Change which statuses pause clocks, and whether customers see SLA data.")
    async def update_sla_settings(self, info: Info, input: UpdateSlaSettingsInput) -> SlaSettingsPayload:
        async def run() -> SlaSettingsType:
            settings = await admin.update_settings(
                viewer_of(info),
                pausing_statuses=(
                    [Status(s) for s in input.pausing_statuses] if input.pausing_statuses is not None else None
                ),
                customers_see_sla=input.customers_see_sla,
            )
            return SlaSettingsType(
                pausing_statuses=[Status(value) for value in settings.pausing_statuses],
                customers_see_sla=settings.customers_see_sla,
            )

        settings, errors = await attempt(run())
        return SlaSettingsPayload(settings=settings, user_errors=errors)


__all__ = ["SlaMutation", "SlaQuery", "SlaTicketFields"]
