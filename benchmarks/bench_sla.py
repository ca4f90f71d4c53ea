"""Benchmark the SLA plugin at 10,000 and 100,000 open tickets, on SQLite or PostgreSQL.

What it does, per size (see ``benchmarks/README.md``):

1. seeds a fresh database (reusing ``bench_api.bench_database``: an SQLite file in a temporary
   folder, or a throwaway schema on the PostgreSQL server given with ``--database-url``) with
   people, teams and N open tickets (new, open, pending, on hold) created over the 20 days before a
   fixed "now" (Wednesday 2026-06-10 15:00Z), each with tags, a first message, its first-response
   and resolution clocks and their history: all with ``bulk_create``. Two calendars (New York and
   a split-day Berlin, with generated public holidays) and three policies go in through
   ``helpline.plugins.sla.admin``, as an admin would create them. Due times, pauses and recorded
   breaches are computed with the plugin's own arithmetic, as if the clocks had run;
2. changes the standard policy's targets (``admin.update_policy``) and times one
   ``jobs.recompute`` run that retargets every open clock: seconds and clocks per second;
3. runs the app in-process (``httpx.ASGITransport``, lifespan entered, jobs off, frozen clock) and
   alternates ``slaTickets(filter: {atRiskWithinMinutes: 60}, first: 50)``, the breached filter and
   the plain ``tickets(first: 50)`` page, one request at a time, all with ``totalCount`` and the
   same ticket selection: p50/p99 per query (target: at-risk p50 under 50 ms at 100,000), plus the
   SQL statements of one at-risk request;
4. prints the query plans (EXPLAIN) of the at-risk page and count;
5. runs ``bench_business_time`` for the due-time throughput line.

    .venv/bin/python benchmarks/bench_sla.py [--database-url postgres://postgres@127.0.0.1:5432/test]
        [--sizes 10000,100000] [--requests 300] [--json]

Not a test: pytest never collects it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from tortoise.expressions import Subquery

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_api import TAGS, SeedShape, bench_database, log, seed_people  # noqa: E402
from bench_business_time import main as business_time_main  # noqa: E402

from helpline.app import create_app  # noqa: E402
from helpline.config import Settings  # noqa: E402
from helpline.core.auth import load_viewer  # noqa: E402
from helpline.core.clock import FrozenClock  # noqa: E402
from helpline.core.db import connection, open_database, transaction  # noqa: E402
from helpline.core.enums import Channel, MessageSource, Priority, Role, Status  # noqa: E402
from helpline.core.models import Counter, Message, Ticket, TicketTag, User  # noqa: E402
from helpline.core.people import NewUser, create_user, issue_token  # noqa: E402
from helpline.core.plugins import load_plugins  # noqa: E402
from helpline.core.runtime import Runtime  # noqa: E402
from helpline.core.tickets import TICKET_NUMBER_COUNTER, ensure_counters  # noqa: E402
from helpline.plugins.sla import admin, jobs  # noqa: E402
from helpline.plugins.sla.business_time import WorkingInterval, business_time_between  # noqa: E402
from helpline.plugins.sla.clocks import load_config, schedule, settings_row  # noqa: E402
from helpline.plugins.sla.models import ClockKind, ClockPhase, SlaClock, SlaClockEvent, SlaSettings  # noqa: E402
from helpline.plugins.sla.policies import TicketFacts, select_policy  # noqa: E402

NOW = dt.datetime(2026, 6, 10, 15, 0, tzinfo=dt.UTC)  # a Wednesday: 11:00 in New York, 17:00 in Berlin
SPREAD = dt.timedelta(days=20)
PLUGINS = ("sla",)
OPEN_STATUSES = [Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD]
STATUS_WEIGHTS = [2, 5, 2, 1]
MICROSECOND = dt.timedelta(microseconds=1)

SELECTION = """
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      number subject status priority tags
      requester { name }
      assignee { name }
      team { name }
    }
"""
QUERIES = {
    "tickets(first: 50)": "query { tickets(first: 50) { %s } }" % SELECTION,
    "slaTickets atRisk 60": "query { slaTickets(filter: {atRiskWithinMinutes: 60}, first: 50) { %s } }" % SELECTION,
    "slaTickets breached": "query { slaTickets(filter: {breached: true}, first: 50) { %s } }" % SELECTION,
}
AT_RISK = "slaTickets atRisk 60"


def _targets(scale: float) -> dict[str, dict[str, int]]:
    base = {
        "urgent": (60, 480),
        "high": (240, 1200),
        "normal": (480, 2400),
        "low": (960, 4800),
    }
    return {
        priority: {"first_response": round(first * scale), "resolution": round(resolution * scale)}
        for priority, (first, resolution) in base.items()
    }


# -- seeding ------------------------------------------------------------------------------------


@dataclasses.dataclass
class Seeded:
    """What the measurements need from the seed."""

    token: str
    admin_id: int
    standard_policy_id: int
    open_clocks: int
    seconds: float


async def seed(url: str, tickets: int, rng_seed: int = 1) -> Seeded:
    """Fill the empty database at ``url`` (see the module docstring); not measured."""
    began = time.perf_counter()
    rng = random.Random(rng_seed)
    plugins = load_plugins(PLUGINS)
    async with open_database(plugins, url, global_fallback=False):
        await ensure_counters()
        runtime = Runtime(settings=Settings(database_url=url, plugins=PLUGINS), plugins=plugins, clock=FrozenClock(NOW))
        admin_user = await create_user(
            runtime, None, NewUser(email="admin@example.com", name="Admin", role=Role.ADMIN), bootstrap=True
        )
        viewer = await load_viewer(admin_user)
        _token, secret = await issue_token(runtime, admin_user, "benchmark")
        team_ids, agent_ids = await seed_people(
            SeedShape(tickets=tickets, customers=max(1000, tickets // 10)), rng, NOW - SPREAD
        )
        customers = list(await User.filter(role=Role.CUSTOMER).values_list("id", "organization_id", "vip"))

        # Calendars and policies as an admin enters them (validated, config_version raised).
        weekdays = range(5)
        new_york = await admin.create_calendar(
            viewer,
            NOW,
            name="New York",
            timezone="America/New_York",
            intervals=[WorkingInterval(day, 8 * 60, 18 * 60) for day in weekdays],
            generated=admin.HolidaySource("US", None, [2026]),
        )
        berlin = await admin.create_calendar(
            viewer,
            NOW,
            name="Berlin",
            timezone="Europe/Berlin",
            intervals=[
                WorkingInterval(day, start * 60, end * 60) for day in weekdays for start, end in ((9, 13), (14, 18))
            ],
            generated=admin.HolidaySource("DE", "BE", [2026]),
        )
        await admin.create_policy(
            viewer,
            NOW,
            admin.PolicyFields(
                name="VIP", calendar_id=new_york.id, conditions={"vip": True}, targets=_targets(0.5), warning_minutes=30
            ),
        )
        await admin.create_policy(
            viewer,
            NOW,
            admin.PolicyFields(
                name="EMEA",
                calendar_id=berlin.id,
                conditions={"team_ids": team_ids[:2]},
                targets=_targets(1),
                warning_minutes=60,
            ),
        )
        standard = await admin.create_policy(
            viewer,
            NOW,
            admin.PolicyFields(name="Standard", calendar_id=new_york.id, targets=_targets(1), warning_minutes=60),
        )
        config = await load_config()

        created = sorted(NOW - SPREAD * rng.random() for _ in range(tickets))
        rows: list[Ticket] = []
        ticket_tags: list[list[str]] = []
        vip_of: list[bool] = []
        for index, when in enumerate(created):
            requester_id, organization_id, vip = rng.choice(customers)
            rows.append(
                Ticket(
                    number=1001 + index,
                    subject=f"Seeded ticket {index + 1}: something is not working",
                    status=rng.choices(OPEN_STATUSES, STATUS_WEIGHTS)[0],
                    priority=rng.choice(list(Priority)),
                    channel=rng.choice(list(Channel)),
                    requester_id=requester_id,
                    organization_id=organization_id,
                    team_id=rng.choice(team_ids) if rng.random() < 0.8 else None,
                    assignee_id=rng.choice(agent_ids) if rng.random() < 0.7 else None,
                    custom_fields={},
                    version=1,
                    created_at=when,
                    updated_at=when,
                )
            )
            ticket_tags.append(rng.sample(TAGS, rng.randint(0, 3)))
            vip_of.append(bool(vip))
        async with transaction():
            await Ticket.bulk_create(rows, batch_size=1000)
        ids = dict(await Ticket.all().values_list("number", "id"))  # type: ignore[arg-type]

        clocks: list[SlaClock] = []
        history: dict[tuple[int, str], list[tuple[str, dt.datetime, dt.datetime | None]]] = {}
        tags: list[TicketTag] = []
        messages: list[Message] = []
        for row, names, vip in zip(rows, ticket_tags, vip_of, strict=True):
            ticket_id = ids[row.number]
            tags.extend(TicketTag(ticket_id=ticket_id, name=name) for name in names)
            messages.append(
                Message(
                    ticket_id=ticket_id,
                    author_id=row.requester_id,
                    body="Seeded description.",
                    source=MessageSource.HUMAN,
                    channel=row.channel,
                    created_at=row.created_at,
                )
            )
            facts = TicketFacts(
                priority=row.priority,
                team_id=row.team_id,
                organization_id=row.organization_id,
                type=None,
                category=None,
                channel=row.channel.value,
                tags=frozenset(names),
                vip=vip,
            )
            policy = select_policy(config.policies, facts)
            assert policy is not None  # "Standard" matches everything
            calendar = config.calendars[policy.calendar_id]
            paused = row.status.value in config.pausing_statuses
            for kind in (ClockKind.FIRST_RESPONSE, ClockKind.RESOLUTION):
                target = policy.target(row.priority, kind)
                clock = SlaClock(
                    ticket_id=ticket_id,
                    kind=kind,
                    phase=ClockPhase.RUNNING,
                    policy_id=policy.id,
                    calendar_id=policy.calendar_id,
                    target_minutes=target,
                    elapsed_us=0,
                    running_since=row.created_at,
                    started_at=row.created_at,
                )
                schedule(clock, calendar, policy.warning_minutes)
                lines: list[tuple[str, dt.datetime, dt.datetime | None]] = [("started", row.created_at, clock.due_at)]
                if paused:  # paused half-way between creation and now
                    paused_at = row.created_at + (NOW - row.created_at) / 2
                    if clock.due_at is not None and clock.due_at <= paused_at:
                        clock.breached_at = clock.due_at
                        lines.append(("breached", clock.due_at, clock.due_at))
                    clock.elapsed_us = business_time_between(calendar, row.created_at, paused_at) // MICROSECOND
                    clock.running_since = None
                    clock.phase = ClockPhase.PAUSED
                    schedule(clock, None, 0)
                    lines.append(("paused", paused_at, clock.due_at))
                elif clock.due_at is not None and clock.due_at <= NOW:
                    clock.breached_at = clock.due_at
                    lines.append(("breached", clock.due_at, clock.due_at))
                clock.breach_announced = clock.breached_at is not None
                clock.warned = clock.warn_at is not None and clock.warn_at <= NOW
                clocks.append(clock)
                history[(ticket_id, kind.value)] = lines
        async with transaction():
            await TicketTag.bulk_create(tags, batch_size=2000)
            await Message.bulk_create(messages, batch_size=2000)
            await SlaClock.bulk_create(clocks, batch_size=2000)
            await Counter.filter(name=TICKET_NUMBER_COUNTER).update(value=1000 + tickets)
        events = [
            SlaClockEvent(clock_id=clock_id, kind=kind, at=at, due_at=due_at, note="seeded")
            for clock_id, ticket_id, clock_kind in await SlaClock.all().values_list("id", "ticket_id", "kind")
            for kind, at, due_at in history[(ticket_id, str(getattr(clock_kind, "value", clock_kind)))]
        ]
        async with transaction():
            await SlaClockEvent.bulk_create(events, batch_size=5000)
        # The clocks are up to date with the configuration: the recompute job has nothing to do yet.
        settings = await settings_row()
        await SlaSettings.filter(id=1).update(clocks_version=settings.config_version)
        if connection().capabilities.dialect == "postgres":
            await connection().execute_script("ANALYZE")  # what autovacuum does after a bulk load
    return Seeded(
        token=secret,
        admin_id=admin_user.id,
        standard_policy_id=standard.id,
        open_clocks=len(clocks),
        seconds=time.perf_counter() - began,
    )


# -- 1. recomputation ---------------------------------------------------------------------------


async def measure_recompute(url: str, seeded: Seeded) -> dict[str, Any]:
    """Tighten the standard policy's targets by a fifth, then time one ``jobs.recompute`` run."""
    plugins = load_plugins(PLUGINS)
    async with open_database(plugins, url, global_fallback=False):
        clock = FrozenClock(NOW)
        runtime = Runtime(settings=Settings(database_url=url, plugins=PLUGINS), plugins=plugins, clock=clock)
        viewer = await load_viewer(await User.get(id=seeded.admin_id))
        await admin.update_policy(viewer, NOW, seeded.standard_policy_id, admin.PolicyFields(targets=_targets(0.8)))
        clock.advance(minutes=1)
        began = time.perf_counter()
        changed = await jobs.recompute(runtime)
        seconds = time.perf_counter() - began
        settings = await settings_row()
        if settings.clocks_version != settings.config_version:
            raise RuntimeError("recompute did not bring the clocks up to the configuration")
    return {
        "open_clocks": seeded.open_clocks,
        "changed": changed,
        "seconds": seconds,
        "clocks_per_second": changed / seconds,
    }


# -- 2. the at-risk filter through GraphQL --------------------------------------------------------


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def measure_api(url: str, seeded: Seeded, requests: int, warmup: int) -> dict[str, Any]:
    """p50/p99 of each query, one request at a time, alternating; the SQL of one at-risk request."""
    from helpline.testing import count_statements

    settings = Settings(database_url=url, plugins=PLUGINS, run_jobs_in_process=False)
    app = create_app(settings, clock=FrozenClock(NOW + dt.timedelta(minutes=1)))
    headers = {"Authorization": f"Bearer {seeded.token}"}
    bodies = {name: json.dumps({"query": query}).encode() for name, query in QUERIES.items()}
    latencies: dict[str, list[float]] = {name: [] for name in QUERIES}
    totals: dict[str, int] = {}
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(app.router.lifespan_context(app))
        client = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=60)
        )
        post_headers = {**headers, "Content-Type": "application/json"}

        async def ask(name: str) -> float:
            began = time.perf_counter()
            response = await client.post("/graphql", content=bodies[name], headers=post_headers)
            elapsed = time.perf_counter() - began
            body = response.json()
            if response.status_code != 200 or body.get("errors"):
                raise RuntimeError(f"{name} failed: {json.dumps(body)[:1000]}")
            connection_data = next(iter(body["data"].values()))
            totals[name] = connection_data["totalCount"]
            return elapsed

        for _ in range(warmup):
            for name in QUERIES:
                await ask(name)
        with count_statements() as statements:
            await ask(AT_RISK)
        for _ in range(requests):
            for name in QUERIES:
                latencies[name].append(await ask(name))
        explain = await explain_at_risk(NOW + dt.timedelta(minutes=1))
    return {
        "queries": {
            name: {
                "requests": len(values),
                "total_count": totals[name],
                "p50_ms": statistics.median(values) * 1000,
                "p99_ms": _percentile(values, 0.99) * 1000,
                "mean_ms": statistics.fmean(values) * 1000,
            }
            for name, values in latencies.items()
        },
        "at_risk_sql": [" ".join(sql.split()) for sql in statements],
        "explain": explain,
    }


async def explain_at_risk(now: dt.datetime) -> dict[str, list[str]]:
    """The query plans of the at-risk page and count, built as ``slaTickets`` builds them for an admin."""
    from helpline.plugins.sla.schema import clock_filter

    clocks = clock_filter(now, at_risk_within_minutes=60, breached=None, kind=None)
    tickets = Ticket.filter(id__in=Subquery(clocks.values("ticket_id")))
    client = connection()
    postgres = client.capabilities.dialect == "postgres"
    plans: dict[str, list[str]] = {}
    for name, queryset in (("page", tickets.order_by("id").limit(51)), ("count", tickets.count())):
        queryset._choose_db_if_not_chosen()
        queryset._make_query()
        sql, params = queryset.query.get_parameterized_sql()
        prefix = "EXPLAIN ANALYZE " if postgres else "EXPLAIN QUERY PLAN "
        _count, rows = await client.execute_query(prefix + sql, params)
        plans[name] = [str(row[0]) if postgres else str(row[3]) for row in rows]
    return plans


# -- the run --------------------------------------------------------------------------------------


async def run_size(base_url: str | None, tickets: int, requests: int, warmup: int) -> dict[str, Any]:
    """Seed one database with ``tickets`` open tickets and measure it."""
    async with bench_database(base_url) as url:
        backend = "postgres" if url.startswith("asyncpg://") else "sqlite"
        log(f"[{backend} {tickets}] seeding ...")
        seeded = await seed(url, tickets)
        log(f"[{backend} {tickets}] seeded {seeded.open_clocks} open clocks in {seeded.seconds:.1f}s; recompute ...")
        recompute = await measure_recompute(url, seeded)
        log(f"[{backend} {tickets}] recompute {recompute['seconds']:.1f}s; GraphQL ...")
        api = await measure_api(url, seeded, requests, warmup)
    return {"backend": backend, "tickets": tickets, "seed_seconds": seeded.seconds, "recompute": recompute, **api}


def format_report(runs: list[dict[str, Any]]) -> str:
    """The human-readable tables."""
    lines = [f"SLA benchmark, now = {NOW.isoformat()}", "", "1. recompute after a policy change (one job run)"]
    lines.append(f"{'backend':<9} {'tickets':>8} {'clocks':>8} {'seconds':>8} {'clocks/s':>9}")
    for run in runs:
        r = run["recompute"]
        lines.append(
            f"{run['backend']:<9} {run['tickets']:>8} {r['changed']:>8} {r['seconds']:>8.1f} {r['clocks_per_second']:>9,.0f}"
        )
    lines += ["", "2. GraphQL in-process, one request at a time", ""]
    header = f"{'backend':<9} {'tickets':>8} {'query':<22} {'totalCount':>10} {'p50 ms':>8} {'p99 ms':>8}"
    lines += [header, "-" * len(header)]
    for run in runs:
        for name, q in run["queries"].items():
            lines.append(
                f"{run['backend']:<9} {run['tickets']:>8} {name:<22} {q['total_count']:>10} "
                f"{q['p50_ms']:>8.1f} {q['p99_ms']:>8.1f}"
            )
        verdict = "meets" if run["queries"][AT_RISK]["p50_ms"] < 50 else "MISSES"
        lines.append(
            f"  at-risk p50 {verdict} the 50 ms target; SQL statements per at-risk request: {len(run['at_risk_sql'])}"
        )
    lines += ["", "query plans of the at-risk filter (admin viewer)"]
    for run in runs:
        for part, plan in run["explain"].items():
            lines.append(f"  {run['backend']} {run['tickets']} {part}:")
            lines.extend(f"    {line}" for line in plan)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run every size, print the tables (or JSON), then the due-time throughput."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--database-url", help="PostgreSQL server (a throwaway schema is used); default SQLite")
    parser.add_argument("--sizes", default="10000,100000", help="open tickets per run (default 10000,100000)")
    parser.add_argument("--requests", type=int, default=300, help="measured requests per query (default 300)")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured requests per query first (default 20)")
    parser.add_argument("--skip-business-time", action="store_true", help="leave out the due-time throughput")
    parser.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]

    async def run_all() -> list[dict[str, Any]]:
        return [await run_size(args.database_url, size, args.requests, args.warmup) for size in sizes]

    runs = asyncio.run(run_all())
    print(json.dumps(runs, indent=2) if args.json else format_report(runs))
    if not args.skip_business_time and not args.json:
        print("\n3. due-time throughput (bench_business_time.py)")
        business_time_main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
