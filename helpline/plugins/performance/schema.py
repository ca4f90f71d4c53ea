"""GraphQL: ``performanceReport``, ``agentPerformance``, ``teamPerformance``, ``performanceLeaderboard``.

Every field asks :mod:`.access` who may see what: admins everything, agents their own figures
(tickets assigned to them), customers FORBIDDEN, anonymous callers UNAUTHENTICATED.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Annotated

import strawberry
from strawberry.types import Info
from strawberry.types.nodes import SelectedField, Selection
from strawberry.utils.str_converters import to_camel_case

from helpline.core.enums import Channel, Priority
from helpline.core.errors import BadInput
from helpline.plugins.performance import access
from helpline.plugins.performance.metrics import DURATIONS
from helpline.plugins.performance.periods import Interval
from helpline.plugins.performance.report import (
    RATE_DIGITS,
    ReportFilter,
    ReportRequest,
    ReportRow,
    Stats,
    presented,
    run_report,
    subject_names,
)
from helpline.schema.context import context_of, runtime_of, viewer_of
from helpline.schema.ids import decode_id, encode_id
from helpline.schema.types import TicketChannel, TicketPriority

PerformanceInterval = strawberry.enum(
    Interval, name="PerformanceInterval", description="How a report splits its period."
)


@strawberry.enum(description="What performance rows are grouped by (the ticket's current values).")
class PerformanceDimension(enum.Enum):
    AGENT = "agent"
    TEAM = "team"
    ORGANIZATION = "organization"
    CHANNEL = "channel"
    PRIORITY = "priority"
    CATEGORY = "category"


@strawberry.enum(description="What a leaderboard ranks agents by.")
class LeaderboardMetric(enum.Enum):
    SOLVED = "solved"
    FIRST_CONTACT_RESOLUTION_RATE = "first_contact_resolution_rate"
    FIRST_RESPONSE_MEDIAN = "first_response_median"
    FULL_RESOLUTION_MEDIAN = "full_resolution_median"


@strawberry.input(description="Restrict a report; each list means 'any of these'.")
class PerformanceFilter:
    team_ids: list[strawberry.ID] | None = None
    agent_ids: list[strawberry.ID] | None = None
    organization_ids: list[strawberry.ID] | None = None
    channels: list[TicketChannel] | None = None  # type: ignore[valid-type]
    priorities: list[TicketPriority] | None = None  # type: ignore[valid-type]
    categories: list[str] | None = None


@strawberry.type(description="A person, team or organization a row is about.")
class PerformanceSubject:
    id: strawberry.ID
    name: str


@strawberry.type(description="Median and 90th percentile of one duration, in calendar and business minutes.")
class DurationStats:
    count: int = strawberry.field(description="Tickets (or episodes) the figures are over.")
    median_minutes: float | None
    p90_minutes: float | None
    median_business_minutes: float | None = strawberry.field(description="Null without a business calendar (SLA).")
    p90_business_minutes: float | None


@strawberry.type(description="A value another plugin adds to report rows (SLA attainment, CSAT...).")
class PerformanceExtraValue:
    name: str
    value: float | None


@strawberry.type(description="One row of a performance report: an interval and a group.")
class PerformanceRow:
    period_start: dt.date | None = strawberry.field(
        description="Local date the interval starts; null without interval."
    )
    agent: PerformanceSubject | None
    team: PerformanceSubject | None
    organization: PerformanceSubject | None
    channel: TicketChannel | None  # type: ignore[valid-type]
    priority: TicketPriority | None  # type: ignore[valid-type]
    category: str | None
    created: int = strawberry.field(description="Tickets created in the interval.")
    solved: int = strawberry.field(description="Tickets whose latest solve is in the interval.")
    backlog: int = strawberry.field(description="Unresolved tickets at the end of the interval.")
    reopen_rate: float | None = strawberry.field(description="Share of the solved tickets ever reopened.")
    first_contact_resolution_rate: float | None = strawberry.field(
        description="Share of the solved tickets solved after one agent reply, never reopened."
    )
    replies_per_ticket: float | None = strawberry.field(description="Agent public replies per solved ticket.")
    reassignments_per_ticket: float | None
    first_response: DurationStats = strawberry.field(description="Creation to first agent reply (created tickets).")
    first_resolution: DurationStats = strawberry.field(description="Creation to first solve (solved tickets).")
    full_resolution: DurationStats = strawberry.field(description="Creation to latest solve (solved tickets).")
    requester_wait: DurationStats = strawberry.field(description="Time new or open (solved tickets).")
    agent_work: DurationStats = strawberry.field(description="Time open with an assignee (solved tickets).")
    on_hold: DurationStats = strawberry.field(description="Time on hold (solved tickets).")
    extra: list[PerformanceExtraValue]


@strawberry.type(description="A performance report.")
class PerformanceReport:
    timezone: str
    interval: PerformanceInterval | None  # type: ignore[valid-type]
    group_by: list[PerformanceDimension]
    rows: list[PerformanceRow]


@strawberry.type(description="One agent's place on a leaderboard.")
class LeaderboardEntry:
    rank: int
    agent: PerformanceSubject
    value: float | None
    solved: int


def _stats(calendar: Stats | None, business: Stats | None) -> DurationStats:
    return DurationStats(
        count=calendar.count if calendar else 0,
        median_minutes=presented(calendar.median) if calendar else None,
        p90_minutes=presented(calendar.p90) if calendar else None,
        median_business_minutes=presented(business.median) if business else None,
        p90_business_minutes=presented(business.p90) if business else None,
    )


TYPE_NAMES = {"agent": "User", "team": "Team", "organization": "Organization"}


def _subject(row: ReportRow, kind: str, names: dict[tuple[str, int], str]) -> PerformanceSubject | None:
    value = row.group.get(kind)
    if value is None:
        return None
    return PerformanceSubject(
        id=strawberry.ID(encode_id(TYPE_NAMES[kind], int(value))), name=names.get((kind, int(value)), "")
    )


def _to_graphql(row: ReportRow, names: dict[tuple[str, int], str]) -> PerformanceRow:
    channel = row.group.get("channel")
    priority = row.group.get("priority")
    return PerformanceRow(
        period_start=row.period_start,
        agent=_subject(row, "agent", names),
        team=_subject(row, "team", names),
        organization=_subject(row, "organization", names),
        channel=Channel(channel) if channel is not None else None,
        priority=Priority(int(priority)) if priority is not None else None,
        category=row.group.get("category"),
        created=row.created,
        solved=row.solved,
        backlog=row.backlog,
        reopen_rate=presented(row.reopen_rate, RATE_DIGITS),
        first_contact_resolution_rate=presented(row.first_contact_resolution_rate, RATE_DIGITS),
        replies_per_ticket=presented(row.replies_per_ticket, RATE_DIGITS),
        reassignments_per_ticket=presented(row.reassignments_per_ticket, RATE_DIGITS),
        first_response=_stats(row.calendar.get("first_response"), row.business.get("first_response")),
        first_resolution=_stats(row.calendar.get("first_resolution"), row.business.get("first_resolution")),
        full_resolution=_stats(row.calendar.get("full_resolution"), row.business.get("full_resolution")),
        requester_wait=_stats(row.calendar.get("requester_wait"), row.business.get("requester_wait")),
        agent_work=_stats(row.calendar.get("agent_work"), row.business.get("agent_work")),
        on_hold=_stats(row.calendar.get("on_hold"), row.business.get("on_hold")),
        extra=[
            PerformanceExtraValue(name=name, value=presented(value, RATE_DIGITS))
            for name, value in sorted(row.extra.items())
        ],
    )


def _ids(values: list[strawberry.ID] | None, type_name: str, field: str) -> tuple[int, ...]:
    return tuple(decode_id(str(value), type_name, field) for value in values or ())


def _filter(chosen: PerformanceFilter | None) -> ReportFilter:
    if chosen is None:
        return ReportFilter()
    return ReportFilter(
        team_ids=_ids(chosen.team_ids, "Team", "filter.teamIds"),
        agent_ids=_ids(chosen.agent_ids, "User", "filter.agentIds"),
        organization_ids=_ids(chosen.organization_ids, "Organization", "filter.organizationIds"),
        channels=tuple(Channel(value).value for value in chosen.channels or ()),
        priorities=tuple(int(Priority(value)) for value in chosen.priorities or ()),
        categories=tuple(chosen.categories or ()),
    )


# GraphQL field of a PerformanceRow -> the duration it shows.
DURATION_FIELDS = {to_camel_case(name): name for name in DURATIONS}


def _field_names(selections: list[Selection], path: tuple[str, ...]) -> set[str]:
    """Names of the fields selected (through fragments too) inside the fields along ``path``."""
    names: set[str] = set()
    for selection in selections:
        if isinstance(selection, SelectedField):
            if not path:
                names.add(selection.name)
            elif selection.name == path[0]:
                names |= _field_names(selection.selections, path[1:])
        else:  # a fragment spread or an inline fragment: its fields count as selected here
            names |= _field_names(selection.selections, path)
    return names


BUSINESS_FIELDS = {"medianBusinessMinutes", "p90BusinessMinutes"}


def selected_durations(info: Info, under: str | None = None) -> tuple[str, ...]:
    """The durations whose statistics the query selects on its rows (``under``: the rows field).

    Computing a duration's percentiles costs a sort of its population, so a report computes only
    those a query shows. A field skipped by ``@skip``/``@include`` still counts (computed anyway).
    """
    selections: list[Selection] = [child for field in info.selected_fields for child in field.selections]
    names = _field_names(selections, (under,) if under else ())
    return tuple(duration for field, duration in DURATION_FIELDS.items() if field in names)


def selected_business_durations(info: Info, under: str | None = None) -> tuple[str, ...]:
    """The durations whose business-minute figures the query selects (each another sort).

    Calendar figures of a selected duration are always computed (``count`` comes with them);
    business minutes (SLA calendars) only when ``medianBusinessMinutes`` or ``p90BusinessMinutes``
    is selected: with the SLA plugin on, a query showing calendar minutes ranks half as much.
    """
    selections: list[Selection] = [child for field in info.selected_fields for child in field.selections]
    prefix = (under,) if under else ()
    return tuple(
        duration
        for field, duration in DURATION_FIELDS.items()
        if _field_names(selections, (*prefix, field)) & BUSINESS_FIELDS
    )


# Reports per GraphQL request. Each report is bounded (report.MAX_ROWS rows, three years), but
# aliases could ask for the same heavy report dozens of times in one request; a dashboard needs a
# few (a report, the team and agent views, a leaderboard).
MAX_REPORTS_PER_REQUEST = 4
REPORTS_RUN = "performance.reports_run"


def _spend_report(info: Info) -> None:
    """Count one report against the request's budget; BAD_USER_INPUT past it (nothing runs)."""
    state = context_of(info).plugin_state
    state[REPORTS_RUN] = state.get(REPORTS_RUN, 0) + 1
    if state[REPORTS_RUN] > MAX_REPORTS_PER_REQUEST:
        raise BadInput(
            f"a request runs at most {MAX_REPORTS_PER_REQUEST} performance reports "
            "(performanceReport, agentPerformance, teamPerformance, performanceLeaderboard); send more requests"
        )


async def _report(
    info: Info,
    first: dt.date,
    last: dt.date,
    timezone: str,
    group_by: list[PerformanceDimension],
    interval: Interval | None,
    chosen: ReportFilter,
    durations: tuple[str, ...] | None = None,
    business_durations: tuple[str, ...] | None = None,
) -> list[ReportRow]:
    scope = access.scope_for(viewer_of(info))
    _spend_report(info)
    request = ReportRequest(
        first=first,
        last=last,
        timezone=timezone,
        group_by=tuple(dimension.value for dimension in group_by),
        interval=Interval(interval.value if isinstance(interval, enum.Enum) else interval) if interval else None,
        filter=chosen,
        scope_assignee=scope,
        durations=durations,
        business_durations=business_durations,
    )
    return await run_report(request, runtime_of(info).plugins)


async def _graphql_rows(rows: list[ReportRow]) -> list[PerformanceRow]:
    names = await subject_names(rows)
    return [_to_graphql(row, names) for row in rows]


From = Annotated[dt.date, strawberry.argument(name="from", description="First local day of the period.")]
To = Annotated[dt.date, strawberry.argument(description="Last local day of the period (inclusive).")]
Zone = Annotated[str, strawberry.argument(description="IANA time zone the days are in (default UTC).")]


def _leaderboard_value(row: ReportRow, metric: LeaderboardMetric) -> float | None:
    if metric == LeaderboardMetric.SOLVED:
        return float(row.solved)
    if metric == LeaderboardMetric.FIRST_CONTACT_RESOLUTION_RATE:
        return row.first_contact_resolution_rate
    stats = row.calendar.get(
        "first_response" if metric == LeaderboardMetric.FIRST_RESPONSE_MEDIAN else "full_resolution"
    )
    return stats.median if stats else None


@strawberry.type
class PerformanceQuery:
    """Root fields of the performance plugin."""

    @strawberry.field(description="Performance metrics for a period, grouped and split by interval.")
    async def performance_report(
        self,
        info: Info,
        from_: From,
        to: To,
        timezone: Zone = "UTC",
        group_by: list[PerformanceDimension] | None = None,
        interval: PerformanceInterval | None = None,  # type: ignore[valid-type]
        filter: PerformanceFilter | None = None,
    ) -> PerformanceReport:
        dimensions = list(group_by or [])
        durations = selected_durations(info, under="rows")
        business = selected_business_durations(info, under="rows")
        rows = await _report(info, from_, to, timezone, dimensions, interval, _filter(filter), durations, business)
        return PerformanceReport(
            timezone=timezone, interval=interval, group_by=dimensions, rows=await _graphql_rows(rows)
        )

    @strawberry.field(description="Per-agent figures (agents: their own only).")
    async def agent_performance(
        self,
        info: Info,
        from_: From,
        to: To,
        timezone: Zone = "UTC",
        agent_ids: list[strawberry.ID] | None = None,
        interval: PerformanceInterval | None = None,  # type: ignore[valid-type]
    ) -> list[PerformanceRow]:
        chosen = ReportFilter(agent_ids=_ids(agent_ids, "User", "agentIds"))
        durations, business = selected_durations(info), selected_business_durations(info)
        rows = await _report(
            info, from_, to, timezone, [PerformanceDimension.AGENT], interval, chosen, durations, business
        )
        return await _graphql_rows(rows)

    @strawberry.field(description="Per-team figures (agents: over their own tickets only).")
    async def team_performance(
        self,
        info: Info,
        from_: From,
        to: To,
        timezone: Zone = "UTC",
        team_ids: list[strawberry.ID] | None = None,
        interval: PerformanceInterval | None = None,  # type: ignore[valid-type]
    ) -> list[PerformanceRow]:
        chosen = ReportFilter(team_ids=_ids(team_ids, "Team", "teamIds"))
        durations, business = selected_durations(info), selected_business_durations(info)
        rows = await _report(
            info, from_, to, timezone, [PerformanceDimension.TEAM], interval, chosen, durations, business
        )
        return await _graphql_rows(rows)

    @strawberry.field(description="Agents ranked by a metric over a period (agents: their own entry only).")
    async def performance_leaderboard(
        self,
        info: Info,
        from_: From,
        to: To,
        timezone: Zone = "UTC",
        metric: LeaderboardMetric = LeaderboardMetric.SOLVED,
        first: int = 10,
    ) -> list[LeaderboardEntry]:
        if not 1 <= first <= 100:
            raise BadInput("first must be between 1 and 100")
        durations = {
            LeaderboardMetric.FIRST_RESPONSE_MEDIAN: ("first_response",),
            LeaderboardMetric.FULL_RESOLUTION_MEDIAN: ("full_resolution",),
        }.get(metric, ())
        everyone = await _report(
            info, from_, to, timezone, [PerformanceDimension.AGENT], None, ReportFilter(), durations, ()
        )
        rows = [row for row in everyone if row.group.get("agent") is not None]
        # Higher is better for counts and rates, lower for times; agents without a value come last.
        descending = metric in (LeaderboardMetric.SOLVED, LeaderboardMetric.FIRST_CONTACT_RESOLUTION_RATE)
        scored: list[tuple[ReportRow, float | None]] = [(row, _leaderboard_value(row, metric)) for row in rows]
        scored.sort(
            key=lambda item: (
                item[1] is None,
                -(item[1] or 0) if descending else (item[1] or 0),
                int(item[0].group["agent"]),
            )
        )
        names = await subject_names([row for row, _value in scored[:first]])
        entries: list[LeaderboardEntry] = []
        for rank, (row, value) in enumerate(scored[:first], start=1):
            subject = _subject(row, "agent", names)
            assert subject is not None
            entries.append(
                LeaderboardEntry(rank=rank, agent=subject, value=presented(value, RATE_DIGITS), solved=row.solved)
            )
        return entries
