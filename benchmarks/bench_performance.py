"""Benchmark: the performance plugin's monthly report over 100,000 and 1,000,000 tickets.

For each database (SQLite file, and PostgreSQL when ``--postgres URL`` is given) and each size,
it creates a fresh database with the plugin's tables, bulk-seeds tickets (12 months of them,
evenly spread over 2025-07..2026-06, 20 teams, 200 agents) with their per-ticket metrics and one
episode each straight in SQL (the fold is not what is measured here), then times:

- ``month by team``: one month (June 2026, Europe/Paris) grouped by team, every metric (the
  target: under 1 s at 1,000,000 tickets on SQLite);
- ``month, 2 durations``: the same, with the percentiles of first response and full resolution
  only (what a GraphQL query selecting those two computes);
- ``year by month x team``: the whole year split by month, grouped by team (every row is read);
- ``3 years by day x team``: 2023-07-01..2026-06-30 split by day (1,096 intervals), by team;
- with business minutes (as when the SLA plugin is on; the seed fills them), the month by team
  with every duration in calendar and business minutes, side by side with the same report whose
  query selects calendar minutes only (``business_durations=()``, what GraphQL asks for then).

Each is run ``--repeat`` times; the best and the median wall time are printed, and the best
process CPU time. Side by side in the same run,
the backlog statement alone (what issue 5's DAY reports spent their time in): ours, and the
baseline, the statement it replaced (every interval end joined with every episode open then,
kept below as :func:`baseline_backlog`), timed on the same data. The baseline of the three-year
DAY report visits about intervals x episodes index entries (minutes at 1,000,000 tickets): it runs
once, and only up to ``--baseline-day-max`` tickets.
Run::

    .venv/bin/python benchmarks/bench_performance.py --sizes 100000,1000000 \
        --postgres postgres://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable

from helpline.core.db import connection, is_postgres, open_database
from helpline.core.plugins import load_plugins
from helpline.plugins.performance.periods import Interval
from helpline.plugins.performance.report import Report, ReportRequest, run_report
from helpline.testing import throwaway_postgres_schema

START_US = int(dt.datetime(2025, 7, 1, tzinfo=dt.UTC).timestamp()) * 1_000_000
SPAN_US = 365 * 86_400 * 1_000_000
TEAMS, AGENTS = 20, 200


def _random(upper: int) -> str:
    """A SQL expression for a pseudo-random integer in [0, upper)."""
    if is_postgres():
        return f"floor(random() * {upper})::bigint"
    return f"(abs(random()) % {upper})"


async def seed(size: int) -> None:
    """Tickets, teams, one requester, per-ticket metrics and episodes, generated inside the database."""
    db = connection()
    now = "'2026-06-30 00:00:00+00:00'"
    await db.execute_script(
        "INSERT INTO helpline_user (email, name, role, vip, is_active, created_at, updated_at) "
        f"VALUES ('c@example.com', 'C', 'customer', false, true, {now}, {now})"
    )
    teams = ", ".join(f"('Team {index}', '', {now}, {now})" for index in range(TEAMS))
    await db.execute_script(f"INSERT INTO helpline_team (name, description, created_at, updated_at) VALUES {teams}")
    series = (
        f"generate_series(1, {size}) AS s(x)"
        if is_postgres()
        else f"(WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {size}) SELECT x FROM c) AS s"
    )
    await db.execute_script(
        "INSERT INTO helpline_ticket (id, number, subject, status, priority, channel, requester_id, custom_fields, "
        "version, created_at, updated_at) "
        f"SELECT x, x, 'Ticket', 'solved', 2, 'web', 1, '{{}}', 1, {now}, {now} FROM {series}"
    )
    created = f"{START_US} + CAST(x AS BIGINT) * {SPAN_US // size}"
    await db.execute_script(
        "INSERT INTO performance_ticket (ticket_id, status, team_id, assignee_id, channel, priority, created_us, "
        "last_solved_us, first_solved_us, reopens, assignments, reassignments, agent_replies, one_touch, "
        "first_response_minutes, first_resolution_minutes, full_resolution_minutes, requester_wait_minutes, "
        "agent_work_minutes, on_hold_minutes, first_response_business, first_resolution_business, "
        "full_resolution_business, requester_wait_business, agent_work_business, on_hold_business, last_event_id) "
        f"SELECT x, 'solved', 1 + {_random(TEAMS)}, {_random(AGENTS)}, 'web', 2, {created}, "
        f"{created} + r * 60000000, {created} + r * 60000000, {_random(4)} / 3, 1, 0, 1 + {_random(3)}, "
        f"{'true' if is_postgres() else '1'}, f * 1.0, r * 1.0, r * 1.0, r * 0.5, r * 0.3, "
        f"{_random(100)} * 1.0, f * 0.3, r * 0.3, r * 0.3, r * 0.15, r * 0.1, 0, 0 "
        f"FROM (SELECT x, {_random(5000)} AS r, {_random(600)} AS f FROM {series}) AS g"
    )
    await db.execute_script(
        "INSERT INTO performance_episode (ticket_id, seq, started_us, ended_us, first_response_minutes) "
        "SELECT ticket_id, 0, created_us, last_solved_us, first_response_minutes FROM performance_ticket"
    )
    await db.execute_script("ANALYZE")


async def timed(label: str, repeat: int, work: Callable[[], Awaitable[object]]) -> float:
    """Run ``work`` ``repeat`` times; print and return the best time in seconds."""
    times, cpu = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        await work()
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    # CPU time of this process (every thread: aiosqlite runs SQLite in one) is what a shared
    # machine's load disturbs least; on PostgreSQL the statements run in the server, not here.
    print(
        f"    {label:<32} best {min(times) * 1000:8.1f} ms   median {statistics.median(times) * 1000:8.1f} ms"
        f"   cpu best {min(cpu) * 1000:8.1f} ms"
    )
    return min(times)


async def baseline_backlog(report: Report) -> dict[tuple[int, int | None], int]:
    """The backlog statement before issue 5's fix: every interval end x every episode open then.

    Kept here only as the benchmark's baseline (grouped by team, no filter), as it was in report.py.
    """
    ends = ", ".join(f"({bucket.key}, {int(bucket.end_us)})" for bucket in report.slices)
    query = (
        f"WITH b(k, e) AS (VALUES {ends}) "
        "SELECT b.k AS k, t.team_id AS g0, COUNT(*) AS backlog FROM b "
        "JOIN performance_episode e ON e.started_us < b.e AND e.ended_us >= b.e "
        "JOIN performance_ticket t ON t.ticket_id = e.ticket_id "
        "WHERE e.started_us < b.e AND e.ended_us >= b.e GROUP BY b.k, t.team_id"
    )
    return {(int(r["k"]), r["g0"]): int(r["backlog"]) for r in (await connection().execute_query(query))[1]}


async def ours_backlog(request: ReportRequest) -> dict[tuple[int, int | None], int]:
    """Today's backlog statement alone (grouped by team), as a mapping like the baseline's."""
    report = Report(request)
    await report._backlog()
    keys = {bucket.start: bucket.key for bucket in report.slices}
    return {
        (keys[row.period_start] if row.period_start else 0, row.group["team"]): row.backlog
        for row in report._rows.values()
        if row.backlog
    }


async def measure(url: str, size: int, repeat: int, baseline_day_max: int) -> dict[str, float]:
    """Seed a fresh database at ``url`` with ``size`` tickets and time the reports."""
    plugins = load_plugins(["performance"])
    async with open_database(plugins, url, create_schema=True, global_fallback=False):
        started = time.perf_counter()
        await seed(size)
        print(f"  {size:>9,} tickets (seeded in {time.perf_counter() - started:.1f} s)")
        month = ReportRequest(
            first=dt.date(2026, 6, 1), last=dt.date(2026, 6, 30), timezone="Europe/Paris", group_by=("team",)
        )
        year = ReportRequest(
            first=dt.date(2025, 7, 1),
            last=dt.date(2026, 6, 30),
            timezone="Europe/Paris",
            group_by=("team",),
            interval=Interval.MONTH,
        )
        days = dataclasses.replace(year, first=dt.date(2023, 7, 1), interval=Interval.DAY)
        two = dataclasses.replace(month, durations=("first_response", "full_resolution"))
        rows = await run_report(month, plugins)
        assert len(rows) == TEAMS and sum(row.created for row in rows) > 0
        results = {
            "month": await timed("month by team", repeat, lambda: run_report(month, plugins)),
            "month2": await timed("month, 2 durations", repeat, lambda: run_report(two, plugins)),
            "year": await timed("year by month x team", repeat, lambda: run_report(year, plugins)),
            "days": await timed("3 years by day x team", repeat, lambda: run_report(days, plugins)),
        }
        business = dataclasses.replace(month, business_durations=())
        for _round in range(2):  # alternating, so load changes hit both alike
            results["month+business"] = await timed(
                "month, calendar + business", repeat, lambda: Report(month).rows(with_business=True)
            )
            results["month calendar"] = await timed(
                "month, calendar selected", repeat, lambda: Report(business).rows(with_business=True)
            )
        print("    backlog statement alone, ours vs baseline (same data, same run):")
        for key, request in (("month", month), ("year", year), ("days", days)):
            if key == "month":  # the monthly report is ungrouped by interval: one end instant
                request = dataclasses.replace(request, interval=Interval.MONTH)
            ours = await ours_backlog(request)
            results[f"{key} backlog"] = await timed(f"{key}: ours", repeat, lambda r=request: ours_backlog(r))
            if key == "days" and size > baseline_day_max:
                print(f"    {key}: baseline skipped above {baseline_day_max:,} tickets (--baseline-day-max)")
                continue
            report = Report(request)
            assert await baseline_backlog(report) == ours, f"{key}: ours and the baseline disagree"
            times = 1 if key == "days" else repeat
            results[f"{key} baseline"] = await timed(f"{key}: baseline", times, lambda r=report: baseline_backlog(r))
        return results


async def main() -> None:
    """Parse the arguments, run every database and size, print the growth."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--postgres", help="a PostgreSQL URL (a throwaway schema is used)")
    parser.add_argument("--skip-sqlite", action="store_true", help="only PostgreSQL")
    parser.add_argument("--baseline-day-max", type=int, default=100_000, help="largest size to run the DAY baseline")
    arguments = parser.parse_args()
    sizes = [int(size) for size in arguments.sizes.split(",")]
    databases: list[tuple[str, str | None]] = [] if arguments.skip_sqlite else [("SQLite", None)]
    if arguments.postgres:
        databases.append(("PostgreSQL", arguments.postgres))
    for name, base in databases:
        print(name)
        results = {}
        for size in sizes:
            if base is None:
                with tempfile.TemporaryDirectory() as folder:
                    results[size] = await measure(
                        f"sqlite://{folder}/bench.db", size, arguments.repeat, arguments.baseline_day_max
                    )
            else:
                async with throwaway_postgres_schema(base, prefix="bench") as url:
                    results[size] = await measure(url, size, arguments.repeat, arguments.baseline_day_max)
        if len(sizes) > 1:
            low, high = sizes[0], sizes[-1]
            for key in ("month", "month2", "year", "days"):
                print(f"  {key}: x{results[high][key] / results[low][key]:.1f} time for x{high / low:.0f} tickets")


if __name__ == "__main__":
    asyncio.run(main())
