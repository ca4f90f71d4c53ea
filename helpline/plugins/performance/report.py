"""Performance reports: SQL aggregations over the per-ticket table, never Python loops over tickets.

A report covers a period of local days in a time zone, optionally split by day/week/month
(:mod:`.periods`), grouped by any of agent (assignee), team, organization, channel, priority and
category (the ticket's current values). Each row counts two populations:

- tickets *created* in the row's interval: ``created`` and first response time;
- tickets *solved* in the row's interval (their latest solve): ``solved``, resolution times,
  requester wait, agent work and on-hold time, reopen rate, first-contact resolution rate (one
  touch), agent replies and reassignments per ticket (how Zendesk Explore attributes them);

plus the *backlog* at the end of the interval: episodes open at that instant (created or reopened
before it, not yet resolved).

Three statements per report, whatever the number of tickets or rows: one per population (the
created tickets, then the solved ones: its counts and sums, and the percentiles of its
durations), then the backlog. Percentiles are exact and interpolated like PostgreSQL's
``percentile_cont`` (and ``statistics.quantiles(method="inclusive")``): each duration is ranked
within its row by its own window (``ROW_NUMBER`` over the row's partition), and only the (at most
four) ranked values each median and 90th percentile needs come back, side by side in one record
per row and duration; the interpolation is done here. Only the durations the caller asks for are
ranked (``ReportRequest.durations``, ``business_durations``): each costs a sort of its population.

Why it is shaped this way (profiled on 1,000,000 tickets, SQLite; benchmarks/README.md): ranking
every duration in one window over their stacked populations sorted ~500,000 rows at once and
counted each partition with a second, buffering window (1.4 s of a 1.6 s monthly report). Now a
population is read once, from a covering index (models.py), into a materialized CTE; the counts
per row come from one ``GROUP BY`` that the counts and sums needed anyway and are joined to the
tickets, so each duration's window only numbers its rows. Window functions and materialized CTEs
work alike on SQLite and PostgreSQL; only the count join differs (see :meth:`Report._population`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pluggy

from helpline.core.db import connection, is_postgres
from helpline.core.enums import Priority
from helpline.core.errors import BadInput
from helpline.core.models import Organization, Team, User
from helpline.core.plugins import HelplinePlugins
from helpline.plugins.performance.hookspecs import ColumnQuery, ReportColumn
from helpline.plugins.performance.metrics import DURATIONS
from helpline.plugins.performance.periods import Bucket, Interval, bucket_sql, buckets, zone_named

# Dimension name -> column of performance_ticket.
DIMENSIONS: dict[str, str] = {
    "agent": "assignee_id",
    "team": "team_id",
    "organization": "organization_id",
    "channel": "channel",
    "priority": "priority",
    "category": "category",
}
# Which population each duration is measured over (see the module docstring).
CREATED_DURATIONS = ("first_response",)
PERCENTILES = {"median": (1, 2), "p90": (9, 10)}  # p as a fraction (numerator, denominator)
# The solved population's sums, as ``expression AS name`` (names are ReportRow fields).
SOLVED_AGGREGATES = (
    "SUM(CASE WHEN reopens > 0 THEN 1 ELSE 0 END) AS reopened",
    "SUM(CASE WHEN one_touch THEN 1 ELSE 0 END) AS one_touch",
    "SUM(agent_replies) AS agent_replies",
    "SUM(reassignments) AS reassignments",
)
SOLVED_COLUMNS = ("reopens", "one_touch", "agent_replies", "reassignments")  # what they sum
Metric = tuple[int, str]  # (metric number in the statement, duration column)
MAX_FILTER_VALUES = 500
# The most rows (an interval x a group) a report may hold; see Report's docstring.
MAX_ROWS = 50_000
EXTRA_COLUMNS_HOOK = "helpline_performance_report_columns"


@dataclasses.dataclass(frozen=True)
class ReportFilter:
    """Restrict a report to some teams, agents, organizations, channels, priorities or categories."""

    team_ids: tuple[int, ...] = ()
    agent_ids: tuple[int, ...] = ()
    organization_ids: tuple[int, ...] = ()
    channels: tuple[str, ...] = ()
    priorities: tuple[int, ...] = ()
    categories: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class ReportRequest:
    """What to report: local days ``first``..``last`` (inclusive) in ``timezone``, grouped and split.

    ``scope_assignee``: only tickets assigned to this person (an agent's own figures; set by
    :mod:`.access`, never by the caller's input). ``durations``: which durations (names from
    :data:`~.metrics.DURATIONS`) get a median and 90th percentile; ``None`` is all of them. Each one
    costs a sort of its population, so the GraphQL API asks only for those a query selects.
    ``business_durations``: which of those also get business-minute figures (when a plugin
    measures business minutes): another sort each; ``None`` is all of ``durations``. The GraphQL
    API asks for them only when a query selects a business-minute field.
    """

    first: dt.date
    last: dt.date
    timezone: str = "UTC"
    group_by: tuple[str, ...] = ()
    interval: Interval | None = None
    filter: ReportFilter = ReportFilter()
    scope_assignee: int | None = None
    durations: tuple[str, ...] | None = None
    business_durations: tuple[str, ...] | None = None


# Presented figures (API, CLI) are rounded: minutes to 1/100 (under a second), rates and ratios
# to 4 decimals. Sums of float minutes otherwise show binary noise (20965.600000000002), which
# reads as false precision; the stored and ranked values stay exact.
MINUTE_DIGITS = 2
RATE_DIGITS = 4


def presented(value: float | None, digits: int = MINUTE_DIGITS) -> float | None:
    """``value`` rounded for presentation (``None`` stays ``None``)."""
    return None if value is None else round(value, digits)


SUBJECT_MODELS: dict[str, Any] = {"agent": User, "team": Team, "organization": Organization}


async def subject_names(rows: Iterable[ReportRow]) -> dict[tuple[str, int], str]:
    """Names of the agents, teams and organizations the ``rows`` are grouped by: one query per kind."""
    wanted: dict[str, set[int]] = {kind: set() for kind in SUBJECT_MODELS}
    for row in rows:
        for kind, ids in wanted.items():
            if row.group.get(kind) is not None:
                ids.add(int(row.group[kind]))
    names: dict[tuple[str, int], str] = {}
    for kind, model in SUBJECT_MODELS.items():
        if wanted[kind]:
            for pk, name in await model.filter(id__in=sorted(wanted[kind])).values_list("id", "name"):
                names[(kind, int(pk))] = str(name)
    return names


@dataclasses.dataclass
class Stats:
    """Median and 90th percentile of one duration over a row's tickets, and how many had one."""

    count: int = 0
    median: float | None = None
    p90: float | None = None


@dataclasses.dataclass
class ReportRow:
    """One row: an interval (``period_start``, ``None`` without interval) and a group."""

    period_start: dt.date | None
    group: dict[str, Any]
    created: int = 0
    solved: int = 0
    backlog: int = 0
    reopened: int = 0
    one_touch: int = 0
    agent_replies: int = 0
    reassignments: int = 0
    calendar: dict[str, Stats] = dataclasses.field(default_factory=dict)
    business: dict[str, Stats] = dataclasses.field(default_factory=dict)
    extra: dict[str, float | None] = dataclasses.field(default_factory=dict)

    def _rate(self, count: int) -> float | None:
        return count / self.solved if self.solved else None

    @property
    def reopen_rate(self) -> float | None:
        """Share of the solved tickets that were ever reopened."""
        return self._rate(self.reopened)

    @property
    def first_contact_resolution_rate(self) -> float | None:
        """Share of the solved tickets solved with one agent reply and never reopened."""
        return self._rate(self.one_touch)

    @property
    def replies_per_ticket(self) -> float | None:
        """Agent public replies per solved ticket."""
        return self._rate(self.agent_replies)

    @property
    def reassignments_per_ticket(self) -> float | None:
        """Reassignments per solved ticket."""
        return self._rate(self.reassignments)

    def flat(self, names: Mapping[tuple[str, int], str] | None = None) -> dict[str, Any]:
        """The row as one flat mapping (for CSV and JSON), figures rounded (:func:`presented`).

        Priorities read as names (``low`` ... ``urgent``: the stored 1-4 would read as ServiceNow's
        opposite scale). Agents, teams and organizations keep their id and, with ``names`` (see
        :func:`subject_names`), get a ``<kind>_name`` column next to it.
        """
        values: dict[str, Any] = {"period_start": self.period_start.isoformat() if self.period_start else None}
        for dimension, value in self.group.items():
            if dimension == "priority" and value is not None:
                value = Priority(int(value)).name.lower()
            values[dimension] = value
            if names is not None and dimension in SUBJECT_MODELS:
                values[f"{dimension}_name"] = names.get((dimension, int(value))) if value is not None else None
        values.update(
            created=self.created,
            solved=self.solved,
            backlog=self.backlog,
            reopen_rate=presented(self.reopen_rate, RATE_DIGITS),
            first_contact_resolution_rate=presented(self.first_contact_resolution_rate, RATE_DIGITS),
            replies_per_ticket=presented(self.replies_per_ticket, RATE_DIGITS),
            reassignments_per_ticket=presented(self.reassignments_per_ticket, RATE_DIGITS),
        )
        for name in DURATIONS:
            for kind, stats in (("minutes", self.calendar.get(name)), ("business_minutes", self.business.get(name))):
                values[f"{name}_median_{kind}"] = presented(stats.median) if stats else None
                values[f"{name}_p90_{kind}"] = presented(stats.p90) if stats else None
        values.update({column: presented(value, RATE_DIGITS) for column, value in self.extra.items()})
        return values


class _Sql:
    """Builds one statement's parameters with the placeholders of the database in use."""

    def __init__(self) -> None:
        self.params: list[Any] = []
        self.postgres = is_postgres()

    def param(self, value: Any) -> str:
        self.params.append(value)
        return f"${len(self.params)}" if self.postgres else "?"

    def values_in(self, column: str, values: Sequence[Any]) -> str:
        return f"{column} IN ({', '.join(self.param(value) for value in values)})"


def _conditions(sql: _Sql, request: ReportRequest, alias: str = "") -> list[str]:
    prefix = f"{alias}." if alias else ""
    conditions = []
    chosen = request.filter
    for column, values in (
        ("team_id", chosen.team_ids),
        ("assignee_id", chosen.agent_ids),
        ("organization_id", chosen.organization_ids),
        ("channel", chosen.channels),
        ("priority", chosen.priorities),
        ("category", chosen.categories),
    ):
        if len(values) > MAX_FILTER_VALUES:
            raise BadInput(f"a filter takes at most {MAX_FILTER_VALUES} values")
        if values:
            conditions.append(sql.values_in(prefix + column, values))
    if request.scope_assignee is not None:
        conditions.append(f"{prefix}assignee_id = {sql.param(request.scope_assignee)}")
    return conditions


def _in_period(sql: _Sql, column: str, slices: list[Bucket]) -> str:
    return f"{column} >= {sql.param(slices[0].start_us)} AND {column} < {sql.param(slices[-1].end_us)}"


def _where(conditions: Iterable[str]) -> str:
    return " AND ".join(conditions)


class Report:
    """Runs one :class:`ReportRequest` (build it, then ``await report.rows()``).

    Size bound: a report holds at most :data:`MAX_ROWS` (50,000) rows, a row being one interval x
    one group with any figure (created, solved or a backlog). A larger one is refused with
    BAD_USER_INPUT ("the report would have more than 50,000 rows ...") before its expensive part
    runs: the created and solved statements rank no duration once they count more rows than that
    (a constant condition in SQL), and the backlog's rows are counted before they are built. So
    no request makes the server rank, build or send millions of rows (a DAY report over three
    years grouped by agent and organization would); the work left is reading and grouping the
    period's tickets, which the period bound (three years, :data:`.periods.MAX_DAYS`) limits.
    Why 50,000: three years by day (1,096 intervals) for up to 45 groups, or a year by day for
    every one of 130 agents, fits; a GraphQL response of that many rows with every field is tens of MB.
    """

    def __init__(self, request: ReportRequest, manager: pluggy.PluginManager | None = None) -> None:
        unknown = [name for name in request.group_by if name not in DIMENSIONS]
        if unknown:
            raise BadInput(f"cannot group by {', '.join(unknown)} (choose from {', '.join(DIMENSIONS)})")
        if len(set(request.group_by)) != len(request.group_by):
            raise BadInput("each dimension may appear once in groupBy")
        unknown = [
            name for name in (*(request.durations or ()), *(request.business_durations or ())) if name not in DURATIONS
        ]
        if unknown:
            raise BadInput(f"unknown duration {', '.join(unknown)} (choose from {', '.join(DURATIONS)})")
        self.request = request
        self.manager = manager
        self.slices = buckets(request.first, request.last, zone_named(request.timezone), request.interval)
        self.dims = [DIMENSIONS[name] for name in request.group_by]
        self._rows: dict[tuple[Any, ...], ReportRow] = {}
        self._metric_names: dict[int, tuple[str, str]] = {}  # metric number -> (duration, kind)

    # -- SQL pieces ------------------------------------------------------------------------

    def _select_dims(self, alias: str = "") -> str:
        prefix = f"{alias}." if alias else ""
        return "".join(f", {prefix}{column} AS g{index}" for index, column in enumerate(self.dims))

    def _group_dims(self) -> str:
        return "".join(f", g{index}" for index in range(len(self.dims)))

    def _population_where(self, sql: _Sql, time_column: str) -> str:
        """``FROM ... WHERE`` of the tickets whose ``time_column`` lies in the period."""
        conditions = [_in_period(sql, time_column, self.slices), *_conditions(sql, self.request)]
        return f"FROM performance_ticket WHERE {_where(conditions)}"

    def _row(self, key: int, groups: Sequence[Any]) -> ReportRow:
        index = (key, *groups)
        row = self._rows.get(index)
        if row is None:
            start = self.slices[key].start if self.request.interval is not None else None
            group = {name: value for name, value in zip(self.request.group_by, groups, strict=True)}
            row = self._rows[index] = ReportRow(period_start=start, group=group)
        return row

    @staticmethod
    def _groups(record: Any, count: int) -> list[Any]:
        return [record[f"g{index}"] for index in range(count)]

    # -- the statements ----------------------------------------------------------------------

    async def _population(
        self, time_column: str, carried: Sequence[str], aggregates: Sequence[str], metrics: Sequence[Metric]
    ) -> None:
        """One statement for one population: its per-row counts and sums, and its ranked durations.

        The population (tickets whose ``time_column`` lies in the period) is read once into a
        materialized CTE ``p``; ``n`` groups it per row (the counts and sums, and how many tickets
        have each duration); each duration is then ranked on its own (``ROW_NUMBER`` over the row's
        partition ordered by value, one sort of that duration's values alone: cheaper than one
        sort over every duration stacked together) and only the ranks a percentile needs are kept.
        On SQLite each ticket is joined to its row's counts (``IS``: a NULL group is a group), so
        the filter needs no second window; PostgreSQL's planner cannot hash a NULL-safe join, and
        its window ``COUNT`` is cheap, so it counts in the window instead. Result rows: ``m = -1``
        for the counts of a report row, ``m >= 0`` for one ranked duration value.
        """
        sql = _Sql()
        postgres = sql.postgres
        dims = "".join(f", g{index}" for index in range(len(self.dims)))
        values = "".join(f", {column} AS v{number}" for number, column in metrics) + "".join(
            f", {column}" for column in carried
        )
        population = self._population_where(sql, time_column)
        counts = "".join(f", COUNT(v{number}) AS n{number}" for number, _column in metrics)
        ctes = [
            f"p AS MATERIALIZED (SELECT {bucket_sql(time_column, self.slices, sql.postgres)} AS k{self._select_dims()}"
            f"{values} {population})",
            f"n AS (SELECT k{dims}, COUNT(*) AS total{counts}"
            + "".join(f", {aggregate}" for aggregate in aggregates)
            + f" FROM p GROUP BY k{dims})",
        ]
        if not postgres:
            same_row = " AND ".join(["n.k = p.k", *(f"n.g{index} IS p.g{index}" for index in range(len(self.dims)))])
            sizes = "".join(f", n.n{number}" for number, _column in metrics)
            ctes.append(f"pn AS MATERIALIZED (SELECT p.*{sizes} FROM p JOIN n ON {same_row})")
        # Per percentile, the two ranks it interpolates between (the second may not exist).
        ranks = {
            f"{label}{offset}": f"(n - 1) * {numerator} / {denominator} + {offset}"
            for label, (numerator, denominator) in PERCENTILES.items()
            for offset in (1, 2)
        }
        nothing = "".join(f", NULL AS {column}" for column in ranks)
        # The size bound (MAX_ROWS): at most one count row past it comes back, and the windows (the
        # expensive part) run only within it: a constant condition, checked once before them.
        selects = [
            f"SELECT -1 AS m, k{dims}, total AS n{nothing}"
            + "".join(f", {aggregate.rsplit(' AS ', 1)[1]}" for aggregate in aggregates)
            + f" FROM (SELECT * FROM n LIMIT {MAX_ROWS + 1}) AS c"
        ]
        within_bound = f"(SELECT COUNT(*) FROM n) <= {MAX_ROWS}"
        padding = "".join(f", NULL AS {aggregate.rsplit(' AS ', 1)[1]}" for aggregate in aggregates)
        # The ranked values a row needs come back as one record per row and duration (the four
        # ranks side by side), not one per rank: a DAY report over years has ~100,000 of them,
        # and turning records into Python objects cost more than the statements.
        picks = ", ".join(f"MAX(CASE WHEN rn = {rank} THEN v END) AS {column}" for column, rank in ranks.items())
        # A report row's partition; without intervals every k is 0, and sorting by it is wasted.
        keys = ([] if len(self.slices) == 1 else ["k"]) + [f"g{index}" for index in range(len(self.dims))]
        partition = f"PARTITION BY {', '.join(keys)} " if keys else ""
        for number, _column in metrics:
            size = f"COUNT(*) OVER ({partition.strip()})" if postgres else f"n{number}"
            ranked = (
                f"SELECT k{dims}, v{number} AS v, {size} AS n, "
                f"ROW_NUMBER() OVER ({partition}ORDER BY v{number}) AS rn "
                f"FROM {'p' if postgres else 'pn'} WHERE v{number} IS NOT NULL"
            )
            selects.append(
                f"SELECT {number} AS m, k{dims}, MAX(n) AS n, {picks}{padding} FROM ({ranked}) AS r{number} "
                f"WHERE {within_bound} AND rn IN ({', '.join(ranks.values())}) GROUP BY k{dims}"
            )
        query = f"WITH {', '.join(ctes)} {' UNION ALL '.join(selects)}"
        records = (await connection().execute_query(query, sql.params))[1]
        self._check_size(sum(1 for record in records if int(record["m"]) < 0))
        for record in records:
            number = int(record["m"])
            row = self._row(int(record["k"]), self._groups(record, len(self.dims)))
            if number < 0:
                self._count_row(time_column, row, record)
                continue
            name, kind = self._metric_names[number]
            n = int(record["n"])
            stats = Stats(count=n)
            for label, (numerator, denominator) in PERCENTILES.items():
                lower = (n - 1) * numerator // denominator + 1
                ranked_values = {
                    rank: float(value)
                    for rank, value in ((lower, record[f"{label}1"]), (lower + 1, record[f"{label}2"]))
                    if value is not None
                }
                setattr(stats, label, interpolate(ranked_values, n, numerator, denominator))
            (row.calendar if kind == "calendar" else row.business)[name] = stats

    @staticmethod
    def _check_size(rows: int) -> None:
        """BAD_USER_INPUT when the report would hold more than :data:`MAX_ROWS` rows."""
        if rows > MAX_ROWS:
            raise BadInput(
                f"the report would have more than {MAX_ROWS:,} rows (intervals x groups): choose a shorter "
                "period, a longer interval, fewer groupBy dimensions or a filter"
            )

    @staticmethod
    def _count_row(time_column: str, row: ReportRow, record: Any) -> None:
        if time_column == "created_us":
            row.created = int(record["n"])
            return
        row.solved = int(record["n"])
        row.reopened = int(record["reopened"] or 0)
        row.one_touch = int(record["one_touch"] or 0)
        row.agent_replies = int(record["agent_replies"] or 0)
        row.reassignments = int(record["reassignments"] or 0)

    async def _populations(self, with_business: bool) -> None:
        """The created population's statement, then the solved population's."""
        self._metric_names.clear()
        by_population: dict[str, list[Metric]] = {"created_us": [], "last_solved_us": []}
        wanted = DURATIONS if self.request.durations is None else self.request.durations
        business = wanted if self.request.business_durations is None else self.request.business_durations
        for name in (name for name in DURATIONS if name in wanted):
            time_column = "created_us" if name in CREATED_DURATIONS else "last_solved_us"
            kinds = [("calendar", f"{name}_minutes")]
            if with_business and name in business:
                kinds.append(("business", f"{name}_business"))
            for kind, column in kinds:
                number = len(self._metric_names)
                self._metric_names[number] = (name, kind)
                by_population[time_column].append((number, column))
        await self._population("created_us", (), (), by_population["created_us"])
        await self._population("last_solved_us", SOLVED_COLUMNS, SOLVED_AGGREGATES, by_population["last_solved_us"])

    async def _backlog(self) -> None:
        """The backlog at the end of each interval, per group: one statement, O(episodes + intervals).

        An episode is in the backlog at instant T when it started before T and had not ended by T
        (``started_us < T <= ended_us``). Joining every interval end with every episode open then
        (what this replaced) costs intervals x episodes: a minute for a DAY report over three
        years of 100,000 tickets. Here each episode gets the key of the interval it starts in
        (``s``; -1 before the period) and of the one it ends in (``f``; past the last one if it
        is still open at the period's end); it is in the backlog at the end of intervals
        ``s..f-1``. So it counts +1 at ``s`` and -1 at ``f``, and the backlog at the end of
        interval k is the running sum of those deltas up to k, per group
        (``SUM(...) OVER (PARTITION BY group ORDER BY k)``).

        Read: the episodes that end after the first interval's end and start before the
        period's end (an index range on ``ended_us``: for a report of one interval, just the
        episodes open at its end). Only those crossing an interval end (``s < f``) are joined to
        their ticket (for its dimensions and the filter) and grouped: an episode opened and
        resolved within one interval is in no backlog (for MONTH, most of them). The sum comes
        back only for the intervals where a group's backlog changes; the intervals in between
        keep the one before, filled in here. Before building those rows their number is checked
        against :data:`MAX_ROWS`. An episode whose end precedes its start (the fold never writes
        one) counts nowhere, as by the definition.
        """
        sql = _Sql()
        last_key = len(self.slices)  # the end key of an episode still open at the period's end
        period_start, period_end = int(self.slices[0].start_us), int(self.slices[-1].end_us)
        # An episode resolved before the first interval's end is in no backlog: for a report of one
        # interval, only the episodes open at its end are read (the ended_us index's short tail).
        first_end = int(self.slices[0].end_us)
        start_key = f"CASE WHEN e.started_us < {period_start} THEN -1 ELSE {bucket_sql('e.started_us', self.slices, sql.postgres)} END"
        end_key = f"CASE WHEN e.ended_us >= {period_end} THEN {last_key} ELSE {bucket_sql('e.ended_us', self.slices, sql.postgres)} END"
        conditions = _conditions(sql, self.request, "t")
        joined = bool(self.dims or conditions)
        ticket = " JOIN performance_ticket t ON t.ticket_id = e.ticket_id" if joined else ""
        dims = self._group_dims()
        crossing = (
            f"SELECT {start_key} AS s, {end_key} AS f{self._select_dims('t')} "
            f"FROM performance_episode e{ticket} "
            f"WHERE {_where([f'e.ended_us >= {first_end}', f'e.started_us < {period_end}', *conditions])}"
        )
        partition = f"PARTITION BY {dims.lstrip(', ')} " if self.dims else ""
        query = (
            f"WITH x AS MATERIALIZED (SELECT * FROM ({crossing}) AS c WHERE s < f), "
            f"d AS (SELECT s AS k{dims}, COUNT(*) AS delta FROM x GROUP BY s{dims} "
            f"UNION ALL SELECT f AS k{dims}, -COUNT(*) AS delta FROM x WHERE f < {last_key} GROUP BY f{dims}) "
            f"SELECT k{dims}, SUM(SUM(delta)) OVER ({partition}ORDER BY k) AS backlog FROM d GROUP BY k{dims}"
        )
        changes: dict[tuple[Any, ...], list[tuple[int, int]]] = {}
        for record in (await connection().execute_query(query, sql.params))[1]:
            groups = tuple(self._groups(record, len(self.dims)))
            changes.setdefault(groups, []).append((int(record["k"]), int(record["backlog"])))
        # Each group's backlog holds from an interval where it changes until the next change.
        stretches: list[tuple[tuple[Any, ...], int, int, int]] = []  # (groups, first key, end key, backlog)
        for groups, steps in changes.items():
            steps.sort()
            for (key, backlog), (following, _next) in itertools.pairwise([*steps, (last_key, 0)]):
                if backlog > 0 and following > max(key, 0):
                    stretches.append((groups, max(key, 0), following, backlog))
        self._check_size(sum(end - first for _groups, first, end, _backlog in stretches))  # before building them
        for groups, first, end, backlog in stretches:
            for key in range(first, end):
                self._row(key, list(groups)).backlog = backlog
        self._check_size(len(self._rows))

    async def _extra_columns(self) -> None:
        if self.manager is None or not hasattr(self.manager.hook, EXTRA_COLUMNS_HOOK):
            return
        columns: list[ReportColumn] = []
        for result in getattr(self.manager.hook, EXTRA_COLUMNS_HOOK)():
            columns.extend(result if isinstance(result, list | tuple) else [result])
        if not columns:
            return
        sql = _Sql()
        key = " || '|' || ".join(
            [f"CAST({bucket_sql('last_solved_us', self.slices, sql.postgres)} AS TEXT)"]
            + [f"COALESCE(CAST({column} AS TEXT), '')" for column in self.dims]
        )
        tickets = f"SELECT ticket_id, {key} AS row_key {self._population_where(sql, 'last_solved_us')}"
        question = ColumnQuery(tickets_sql=tickets, params=tuple(sql.params))
        for column in columns:
            answers = await column.compute(question)
            for row_index, row in self._rows.items():
                row_key = "|".join(["" if value is None else str(value) for value in row_index])
                row.extra[column.name] = answers.get(row_key)

    async def rows(self, *, with_business: bool | None = None) -> list[ReportRow]:
        """Run the report; rows ordered by interval, then by group values (``None`` first).

        ``with_business`` (default: whether a plugin implements the business-minutes hook) adds
        the business-minute percentiles.
        """
        if with_business is None:
            with_business = has_business_minutes(self.manager)
        await self._populations(with_business)
        self._check_size(len(self._rows))
        await self._backlog()
        await self._extra_columns()
        return [self._rows[index] for index in sorted(self._rows, key=_sort_key)]


def has_business_minutes(manager: pluggy.PluginManager | None) -> bool:
    """Whether any enabled plugin measures business minutes."""
    caller = getattr(manager.hook, "helpline_performance_business_minutes", None) if manager else None
    return bool(caller is not None and caller.get_hookimpls())


def interpolate(ranked: Mapping[int, float], n: int, numerator: int, denominator: int) -> float | None:
    """The ``numerator/denominator`` percentile of ``n`` sorted values, from the ranks it needs.

    Linear interpolation between the closest ranks (``percentile_cont``): position
    ``h = (n - 1) * p``; the value at rank ``floor(h) + 1`` plus the fraction of the way to the next.
    """
    if n == 0:
        return None
    lower_rank = (n - 1) * numerator // denominator + 1
    fraction = (n - 1) * numerator / denominator - (lower_rank - 1)
    lower = ranked[lower_rank]
    if fraction == 0 or lower_rank + 1 > n:
        return lower
    return lower + fraction * (ranked[lower_rank + 1] - lower)


def _sort_key(index: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple((value is not None, str(value) if not isinstance(value, int) else value) for value in index)


async def run_report(request: ReportRequest, plugins: HelplinePlugins | None = None) -> list[ReportRow]:
    """Run ``request`` and return its rows (the plugins may contribute business minutes and columns)."""
    return await Report(request, plugins.pm if plugins else None).rows()


def check_finite(value: float | None) -> float | None:
    """``None`` for NaN or infinity (never expected; keeps JSON valid if a plugin answers oddly)."""
    return None if value is None or not math.isfinite(value) else value
