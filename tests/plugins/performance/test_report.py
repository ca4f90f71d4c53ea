"""Reports: exact percentiles (a property test against a plain reference), time-zone buckets, access."""

from __future__ import annotations

import datetime as dt
import itertools
import random
import statistics
from collections.abc import AsyncIterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpline.core.clock import FrozenClock
from helpline.core.enums import Status
from helpline.core.errors import BadInput
from helpline.core.models import Team, Ticket
from helpline.plugins.performance import report
from helpline.plugins.performance.metrics import DURATIONS
from helpline.plugins.performance.models import (
    OPEN_END,
    SOLVED_DURATION_COLUMNS,
    PerformanceEpisode,
    PerformanceTicket,
)
from helpline.plugins.performance.periods import Interval
from helpline.plugins.performance.report import ReportFilter, ReportRequest, run_report
from helpline.plugins.performance.service import to_us
from helpline.schema.ids import encode_id
from helpline.testing import HelplineClient, TestUser, count_statements, running_app
from tests.plugins.performance.helpers import change, open_ticket, reply

MARCH = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
TICKETS = 300


@pytest.fixture
async def bare_tickets(clock: FrozenClock) -> AsyncIterator[tuple[HelplineClient, list[int], list[int]]]:
    """An app with 300 core tickets (no metrics yet) and three teams; the test writes the metrics."""
    async with running_app(plugins=["performance"], clock=clock) as client:
        requester = await client.make_user("customer")
        now = clock.now()
        teams = [await Team.create(name=f"T{index}", created_at=now, updated_at=now) for index in range(3)]
        await Ticket.bulk_create(
            [
                Ticket(number=index, subject="s", requester_id=requester.id, created_at=now, updated_at=now)
                for index in range(TICKETS)
            ]
        )
        ids = [ticket_id for ticket_id in await Ticket.all().order_by("id").values_list("id", flat=True)]
        yield client, ids, [team.id for team in teams]


def reference(values: list[float], p: float) -> float:
    """The textbook percentile with linear interpolation (R type 7, numpy's default)."""
    if len(values) == 1:
        return values[0]
    if p == 0.5:
        return statistics.median(values)
    return statistics.quantiles(values, n=10, method="inclusive")[round(p * 10) - 1]


durations = st.one_of(st.none(), st.floats(min_value=0, max_value=100_000, allow_nan=False).map(lambda v: round(v, 3)))
tickets = st.lists(
    st.tuples(
        st.integers(0, 3),  # team (3: none)
        st.integers(0, 40 * 24 * 60),  # minutes after March 1st it was created (some fall outside March)
        durations,  # first response
        durations,  # full resolution (None: not solved)
    ),
    min_size=200,
    max_size=TICKETS,
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(generated=tickets)
async def test_medians_and_percentiles_match_a_reference(
    bare_tickets: tuple[HelplineClient, list[int], list[int]],
    generated: list[tuple[int, int, float | None, float | None]],
) -> None:
    _client, ids, team_ids = bare_tickets
    teams: list[int | None] = [*team_ids, None]
    await PerformanceTicket.all().delete()
    rows = []
    for ticket_id, (team, minutes, first_response, resolution) in zip(ids, generated, strict=False):
        created = MARCH + dt.timedelta(minutes=minutes)
        solved = created + dt.timedelta(minutes=resolution) if resolution is not None else None
        rows.append(
            PerformanceTicket(
                ticket_id=ticket_id,
                status="solved" if solved else "open",
                team_id=teams[team],
                channel="web",
                priority=2,
                created_us=to_us(created),
                last_solved_us=to_us(solved),
                first_response_minutes=first_response,
                full_resolution_minutes=resolution,
            )
        )
    await PerformanceTicket.bulk_create(rows)

    # The whole of March per team, then March split by week per team: each (interval, team) row
    # is checked against the reference (a NULL team is a group of its own).
    month = await run_report(ReportRequest(first=dt.date(2026, 3, 1), last=dt.date(2026, 3, 31), group_by=("team",)))
    check_against_reference(
        month, rows, [(dt.datetime(2026, 3, 1, tzinfo=dt.UTC), dt.datetime(2026, 4, 1, tzinfo=dt.UTC))], teams
    )
    weekly = await run_report(
        ReportRequest(first=dt.date(2026, 3, 1), last=dt.date(2026, 3, 31), group_by=("team",), interval=Interval.WEEK)
    )
    edges = (
        [dt.datetime(2026, 3, 1, tzinfo=dt.UTC)]
        + [dt.datetime(2026, 3, 2, tzinfo=dt.UTC) + dt.timedelta(weeks=week) for week in range(5)]
        + [dt.datetime(2026, 4, 1, tzinfo=dt.UTC)]
    )
    check_against_reference(weekly, rows, list(itertools.pairwise(edges)), teams)


def check_against_reference(
    report: list[Any], rows: list[PerformanceTicket], periods: list[tuple[dt.datetime, dt.datetime]], teams: list[Any]
) -> None:
    """Each (period, team) row of ``report`` has the counts and percentiles the reference gives."""
    by_key = {(row.period_start, row.group["team"]): row for row in report}
    for start, end in periods:
        start_us, end_us = to_us(start), to_us(end)
        period_start = start.date() if len(periods) > 1 else None
        for team_id in teams:
            mine = [row for row in rows if row.team_id == team_id]
            created = [row for row in mine if start_us <= row.created_us < end_us]
            solved = [row for row in mine if row.last_solved_us is not None and start_us <= row.last_solved_us < end_us]
            responses = sorted(r.first_response_minutes for r in created if r.first_response_minutes is not None)
            resolutions = sorted(r.full_resolution_minutes for r in solved if r.full_resolution_minutes is not None)
            if not created and not solved:
                assert (period_start, team_id) not in by_key
                continue
            row = by_key[(period_start, team_id)]
            assert (row.created, row.solved) == (len(created), len(solved))
            for name, values in (("first_response", responses), ("full_resolution", resolutions)):
                stats = row.calendar.get(name)
                if not values:
                    assert stats is None
                    continue
                assert stats is not None and stats.count == len(values)
                assert stats.median == pytest.approx(reference(values, 0.5), rel=1e-9, abs=1e-9)
                assert stats.p90 == pytest.approx(reference(values, 0.9), rel=1e-9, abs=1e-9)


async def test_days_are_bucketed_in_the_requested_time_zone_across_the_clock_change(
    bare_tickets: tuple[HelplineClient, list[int], list[int]],
) -> None:
    _client, ids, _teams = bare_tickets
    instants = [
        dt.datetime(2026, 3, 8, 4, 30, tzinfo=dt.UTC),  # Sat 7 March 23:30 EST
        dt.datetime(2026, 3, 8, 5, 0, tzinfo=dt.UTC),  # Sun 8 March 00:00 EST
        dt.datetime(2026, 3, 9, 3, 59, tzinfo=dt.UTC),  # Sun 8 March 23:59 EDT (the day had 23 hours)
        dt.datetime(2026, 3, 9, 4, 0, tzinfo=dt.UTC),  # Mon 9 March 00:00 EDT
    ]
    await PerformanceTicket.bulk_create(
        [
            PerformanceTicket(ticket_id=ticket_id, status="new", channel="web", priority=2, created_us=to_us(instant))
            for ticket_id, instant in zip(ids, instants, strict=False)
        ]
    )
    for interval, expected in (
        (Interval.DAY, {"2026-03-07": 1, "2026-03-08": 2, "2026-03-09": 1}),
        (Interval.WEEK, {"2026-03-02": 3, "2026-03-09": 1}),
        (Interval.MONTH, {"2026-03-01": 4}),
    ):
        report = await run_report(
            ReportRequest(
                first=dt.date(2026, 3, 1), last=dt.date(2026, 3, 31), timezone="America/New_York", interval=interval
            )
        )
        assert {row.period_start.isoformat(): row.created for row in report if row.period_start} == expected
        assert all(row.backlog == 0 for row in report)  # no episodes were written


REPORT = """
query($from: Date!, $to: Date!, $groupBy: [PerformanceDimension!], $tz: String!) {
  performanceReport(from: $from, to: $to, timezone: $tz, groupBy: $groupBy) {
    rows { agent { id name } created solved backlog firstContactResolutionRate
           firstResponse { count medianMinutes p90Minutes medianBusinessMinutes } }
  }
}"""
VARIABLES = {"from": "2026-06-01", "to": "2026-06-30", "groupBy": ["AGENT"], "tz": "Europe/Paris"}


async def test_agents_see_their_own_figures_admins_all_customers_nothing(
    client: HelplineClient, clock: FrozenClock, admin: TestUser, agent: TestUser, customer: TestUser
) -> None:
    rt = client.runtime
    other = await client.make_user("agent", name="Olga Other")
    for person, minutes in ((agent, 10), (other, 30), (other, 50)):
        ticket_id = await open_ticket(rt, customer.user)
        await change(rt, ticket_id, admin.user, assignee_id=person.id)
        clock.advance(minutes=minutes)
        await reply(rt, ticket_id, person.user, status=Status.SOLVED)

    everyone = (await client.data(REPORT, VARIABLES, token=admin.token))["performanceReport"]["rows"]
    assert [(row["agent"]["name"], row["created"], row["solved"]) for row in everyone] == [
        ("Alan Agent", 1, 1),
        ("Olga Other", 2, 2),
    ]
    assert everyone[1]["firstResponse"] == {
        "count": 2,
        "medianMinutes": 40.0,
        "p90Minutes": 48.0,
        "medianBusinessMinutes": None,
    }
    assert everyone[1]["firstContactResolutionRate"] == 1.0

    own = (await client.data(REPORT, VARIABLES, token=agent.token))["performanceReport"]["rows"]
    assert [(row["agent"]["id"], row["created"]) for row in own] == [(encode_id("User", agent.id), 1)]
    # Asking for someone else's figures does not widen an agent's scope.
    query = "query($from: Date!, $to: Date!, $ids: [ID!]) { agentPerformance(from: $from, to: $to, agentIds: $ids) { created } }"
    assert (
        await client.data(
            query, {"from": "2026-06-01", "to": "2026-06-30", "ids": [encode_id("User", other.id)]}, token=agent.token
        )
    ) == {"agentPerformance": []}
    board = '{ performanceLeaderboard(from: "2026-06-01", to: "2026-06-30") { rank agent { name } value } }'
    assert (await client.data(board, token=admin.token))["performanceLeaderboard"] == [
        {"rank": 1, "agent": {"name": "Olga Other"}, "value": 2.0},
        {"rank": 2, "agent": {"name": "Alan Agent"}, "value": 1.0},
    ]
    assert len((await client.data(board, token=agent.token))["performanceLeaderboard"]) == 1

    for token, code in ((customer.token, "FORBIDDEN"), (None, "UNAUTHENTICATED")):
        for document in (REPORT, '{ teamPerformance(from: "2026-06-01", to: "2026-06-30") { created } }', board):
            body = await client.post(document, VARIABLES if document is REPORT else None, token=token)
            assert body["data"] is None
            assert [error["extensions"]["code"] for error in body["errors"]] == [code]


@pytest.mark.parametrize(
    ("variables", "fragment"),
    [
        ({**VARIABLES, "tz": "Mars/Olympus"}, "unknown time zone"),
        ({**VARIABLES, "tz": "Europe/" + "x" * 300}, "unknown time zone"),  # too long for a file name
        ({**VARIABLES, "tz": "localtime"}, "unknown time zone"),
        ({**VARIABLES, "tz": "posix/Factory"}, "unknown time zone"),
        ({**VARIABLES, "tz": "right/Europe/Paris"}, "unknown time zone"),  # counts leap seconds
        ({**VARIABLES, "from": "9999-12-30", "to": "9999-12-31"}, "report dates lie between"),
        ({**VARIABLES, "from": "0001-01-01", "to": "0001-01-02"}, "report dates lie between"),
        ({**VARIABLES, "to": "2026-05-01"}, "ends before it starts"),
        ({**VARIABLES, "groupBy": ["AGENT", "AGENT"]}, "once"),
        ({**VARIABLES, "from": "2016-01-01"}, "at most"),
    ],
)
async def test_bad_report_input_is_bad_user_input(
    client: HelplineClient, admin: TestUser, variables: dict[str, Any], fragment: str
) -> None:
    body = await client.post(REPORT, variables, token=admin.token)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert fragment in body["errors"][0]["message"]


async def test_backlog_counts_episodes_open_at_the_end_of_each_interval(
    client: HelplineClient, clock: FrozenClock, admin: TestUser, customer: TestUser
) -> None:
    rt = client.runtime
    clock.set(dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC))
    first = await open_ticket(rt, customer.user)
    await open_ticket(rt, customer.user)
    clock.set(dt.datetime(2026, 6, 2, 12, tzinfo=dt.UTC))
    await change(rt, first, admin.user, status=Status.SOLVED)
    clock.set(dt.datetime(2026, 6, 3, 12, tzinfo=dt.UTC))
    await reply(rt, first, customer.user)  # reopened: back in the backlog
    assert await PerformanceEpisode.filter(ticket_id=first).count() == 2

    report = await run_report(ReportRequest(first=dt.date(2026, 6, 1), last=dt.date(2026, 6, 3), interval=Interval.DAY))
    assert [(row.period_start.isoformat(), row.backlog) for row in report if row.period_start] == [
        ("2026-06-01", 2),
        ("2026-06-02", 1),
        ("2026-06-03", 2),
    ]


async def test_a_report_computes_only_the_durations_asked_for(
    client: HelplineClient, clock: FrozenClock, admin: TestUser, agent: TestUser, customer: TestUser
) -> None:
    rt = client.runtime
    for minutes in (10, 30):
        ticket_id = await open_ticket(rt, customer.user)
        await change(rt, ticket_id, admin.user, assignee_id=agent.id)
        clock.advance(minutes=minutes)
        await reply(rt, ticket_id, agent.user, status=Status.SOLVED)
    period = {"first": dt.date(2026, 6, 1), "last": dt.date(2026, 6, 30), "group_by": ("agent",)}
    (everything,) = await run_report(ReportRequest(**period))  # type: ignore[arg-type]
    (some,) = await run_report(ReportRequest(**period, durations=("first_response", "on_hold")))  # type: ignore[arg-type]
    assert set(everything.calendar) == set(DURATIONS)
    # Ungrouped, one interval: the windows have no partition at all; one agent, the same figures.
    (whole,) = await run_report(ReportRequest(first=dt.date(2026, 6, 1), last=dt.date(2026, 6, 30)))
    assert (whole.calendar, whole.solved) == (everything.calendar, everything.solved)
    assert set(some.calendar) == {"first_response", "on_hold"}
    assert some.calendar["first_response"] == everything.calendar["first_response"]
    assert (some.created, some.solved, some.one_touch) == (everything.created, everything.solved, 2)
    with pytest.raises(BadInput, match="unknown duration"):
        await run_report(ReportRequest(**period, durations=("lunch_break",)))  # type: ignore[arg-type]

    # GraphQL asks only for the durations a query selects, through fragments too.
    document = """
    fragment Waits on PerformanceRow { fullResolution { medianMinutes } }
    query { teamPerformance(from: "2026-06-01", to: "2026-06-30") {
      solved firstResponse { medianMinutes } ...Waits } }"""
    with count_statements() as statements:
        data = await client.data(document, token=admin.token)
    assert data["teamPerformance"] == [
        {"solved": 2, "firstResponse": {"medianMinutes": 20.0}, "fullResolution": {"medianMinutes": 20.0}}
    ]
    report_sql = " ".join(statement for statement in statements if "performance_ticket" in statement)
    assert "first_response_minutes" in report_sql and "full_resolution_minutes" in report_sql
    assert "agent_work_minutes" not in report_sql and "on_hold_minutes" not in report_sql


NEW_YORK = ZoneInfo("America/New_York")
FIRST_DAY, LAST_DAY = dt.date(2026, 2, 20), dt.date(2026, 4, 10)  # across the 8 March clock change


def local_midnight(day: dt.date) -> dt.datetime:
    """Midnight starting ``day`` in New York, as a UTC instant (the reference's own boundaries)."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=NEW_YORK).astimezone(dt.UTC)


def reference_starts(interval: Interval) -> list[dt.date]:
    """The local days each interval of the period starts on, computed plainly."""
    days = [FIRST_DAY + dt.timedelta(days=offset) for offset in range((LAST_DAY - FIRST_DAY).days + 1)]
    if interval == Interval.DAY:
        return days
    if interval == Interval.WEEK:
        return [day for day in days if day == FIRST_DAY or day.weekday() == 0]
    return [day for day in days if day == FIRST_DAY or day.day == 1]


def instant(rng: random.Random) -> dt.datetime:
    """A moment from a month before the period to ten days after it, often exactly a local midnight."""
    day = FIRST_DAY + dt.timedelta(days=rng.randint(-30, (LAST_DAY - FIRST_DAY).days + 10))
    if rng.random() < 0.3:
        return local_midnight(day)
    return local_midnight(day) + dt.timedelta(minutes=rng.randint(0, 24 * 60 - 1))


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_backlog_matches_a_reference_at_every_interval(
    bare_tickets: tuple[HelplineClient, list[int], list[int]], seed: int
) -> None:
    _client, ids, team_ids = bare_tickets
    rng = random.Random(seed)
    teams: list[int | None] = [*team_ids, None]
    tickets: list[PerformanceTicket] = []
    spans: list[tuple[int | None, int, int]] = []  # (team, started_us, ended_us) of every episode
    episodes: list[PerformanceEpisode] = []
    for ticket_id in ids[:200]:
        team = rng.choice(teams)
        # One to three episodes (a reopened ticket has several), each starting at or after the last
        # one ended; the last may still be open; some are resolved in the instant they start.
        moments = sorted(instant(rng) for _ in range(rng.choice([2, 2, 4, 6])))
        bounds = [to_us(moment) for moment in moments]
        if rng.random() < 0.3:
            bounds[-1] = OPEN_END
        if rng.random() < 0.05:
            bounds[1] = bounds[0]
        for seq, (started, ended) in enumerate(zip(bounds[::2], bounds[1::2], strict=True)):
            episodes.append(PerformanceEpisode(ticket_id=ticket_id, seq=seq, started_us=started, ended_us=ended))
            spans.append((team, started, ended))
        tickets.append(
            PerformanceTicket(
                ticket_id=ticket_id, status="open", team_id=team, channel="web", priority=2, created_us=bounds[0]
            )
        )
    await PerformanceTicket.bulk_create(tickets)
    await PerformanceEpisode.bulk_create(episodes)

    for interval in Interval:
        starts = reference_starts(interval)
        ends = [to_us(local_midnight(day)) for day in [*starts[1:], LAST_DAY + dt.timedelta(days=1)]]
        period = {"first": FIRST_DAY, "last": LAST_DAY, "timezone": "America/New_York", "interval": interval}
        by_team = await run_report(ReportRequest(**period, group_by=("team",)))  # type: ignore[arg-type]
        everyone = await run_report(ReportRequest(**period))  # type: ignore[arg-type]
        # A filter without grouping: the statement joins the tickets but groups nothing.
        some = await run_report(ReportRequest(**period, filter=ReportFilter(team_ids=(team_ids[0],))))  # type: ignore[arg-type]
        got = {(row.period_start, row.group["team"]): row.backlog for row in by_team}
        for start, end in zip(starts, ends, strict=True):
            open_then = [team for team, started, ended in spans if started < end <= ended]
            for team in teams:
                assert got.get((start, team), 0) == open_then.count(team), (interval, start, team)
            total = {row.period_start: row.backlog for row in everyone}.get(start, 0)
            assert total == len(open_then), (interval, start)
            assert {row.period_start: row.backlog for row in some}.get(start, 0) == open_then.count(team_ids[0])
        assert {(row.period_start, row.group["team"]) for row in by_team if row.backlog} == {
            key for key, backlog in got.items() if backlog
        }


async def test_a_report_too_large_is_refused_before_it_is_built(
    client: HelplineClient, admin: TestUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    requester = await client.make_user("customer")
    await Ticket.bulk_create(
        [
            Ticket(number=index, subject="s", requester_id=requester.id, created_at=now, updated_at=now)
            for index in range(60)
        ]
    )
    ids = list(await Ticket.all().order_by("id").values_list("id", flat=True))
    # 60 agents, each with one ticket open since before the period: a backlog on every day of three
    # years, 60 x 1,099 rows (more than MAX_ROWS), though nothing was created or solved.
    await PerformanceTicket.bulk_create(
        [
            PerformanceTicket(
                ticket_id=ticket_id, status="open", assignee_id=agent, channel="web", priority=2, created_us=0
            )
            for agent, ticket_id in enumerate(ids)
        ]
    )
    await PerformanceEpisode.bulk_create(
        [PerformanceEpisode(ticket_id=ticket_id, seq=0, started_us=0, ended_us=OPEN_END) for ticket_id in ids]
    )
    query = """query($groupBy: [PerformanceDimension!], $interval: PerformanceInterval) {
      performanceReport(from: "2024-01-01", to: "2027-01-03", groupBy: $groupBy, interval: $interval) {
        rows { backlog } } }"""
    body = await client.post(query, {"groupBy": ["AGENT"], "interval": "DAY"}, token=admin.token)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert f"more than {report.MAX_ROWS:,} rows" in body["errors"][0]["message"]
    # Ungrouped, the same three years by day fit: one row a day.
    rows = (await client.data(query, {"groupBy": [], "interval": "DAY"}, token=admin.token))["performanceReport"][
        "rows"
    ]
    assert len(rows) == 1099 and {row["backlog"] for row in rows} == {60}

    # The created and solved counts are bounded too, before any percentile is ranked.
    monkeypatch.setattr(report, "MAX_ROWS", 30)
    with pytest.raises(BadInput, match="more than 30 rows"):
        await run_report(ReportRequest(first=dt.date(1970, 1, 1), last=dt.date(1970, 1, 1), group_by=("agent",)))
    (row,) = await run_report(ReportRequest(first=dt.date(1970, 1, 1), last=dt.date(1970, 1, 1)))
    assert (row.created, row.backlog) == (60, 60)


async def test_business_minutes_are_ranked_only_when_a_query_selects_them(clock: FrozenClock) -> None:
    async with running_app(plugins=["performance", "sla"], clock=clock) as client:
        admin = await client.make_user("admin")
        calendar_only = (
            '{ teamPerformance(from: "2026-06-01", to: "2026-06-30") { firstResponse { count medianMinutes } } }'
        )
        with_business = """{ teamPerformance(from: "2026-06-01", to: "2026-06-30") {
          firstResponse { medianMinutes } fullResolution { ...Business } } }
        fragment Business on DurationStats { p90BusinessMinutes }"""
        for document, business_columns in ((calendar_only, set()), (with_business, {"full_resolution_business"})):
            with count_statements() as statements:
                await client.data(document, token=admin.token)
            report_sql = " ".join(statement for statement in statements if "performance_ticket" in statement)
            assert "first_response_minutes" in report_sql
            assert {name for name in SOLVED_DURATION_COLUMNS if name in report_sql} == (
                {"full_resolution_minutes"} if business_columns else set()
            ) | business_columns
            assert "first_response_business" not in report_sql


async def test_a_request_runs_at_most_four_reports_whatever_its_aliases(
    client: HelplineClient, admin: TestUser
) -> None:
    report = 'r{i}: teamPerformance(from: "2026-06-01", to: "2026-06-30") {{ created }}'
    four = "{ " + " ".join(report.format(i=i) for i in range(4)) + " }"
    assert len(await client.data(four, token=admin.token)) == 4
    five = "{ " + " ".join(report.format(i=i) for i in range(5)) + " }"
    body = await client.post(five, token=admin.token)
    assert body["data"] is None
    assert {error["extensions"]["code"] for error in body["errors"]} == {"BAD_USER_INPUT"}
    assert "at most 4 performance reports" in body["errors"][0]["message"]
