"""Benchmark Helpline's GraphQL API over real HTTP against a bare strawberry schema (the ceiling).

What it does, in order (see ``benchmarks/README.md``):

1. seeds a fresh database (an SQLite file in a temporary folder, or a throwaway schema on the
   PostgreSQL server given with ``--database-url``) with 10,000 tickets, their tags, people and
   teams, and an admin API token;
2. counts the SQL statements of one ``tickets(first: 10)`` and one ``tickets(first: 100)`` request
   in-process (ASGI, lifespan entered): they must be equal, whatever the page size;
3. starts ``bare_schema.py`` and Helpline as two uvicorn processes (one worker each), warms both up,
   then loads them with the list query in alternating rounds (so that whatever else the machine
   is doing hits both alike), and the same with a ``createTicket`` mutation;
4. prints requests/s, p50, p99 and the CPU used by each server and by the load generator side by
   side, and Helpline's share of the bare throughput on the list page (the target is at least 0.6).

Run from the repository root: ``.venv/bin/python benchmarks/bench_api.py [--database-url ...] [--json]``.
All traffic goes to 127.0.0.1. Not a test: pytest never collects it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from helpline.app import create_app
from helpline.config import Settings
from helpline.core.db import normalise_database_url, open_database, transaction
from helpline.core.enums import Channel, MessageSource, Priority, Role, Status
from helpline.core.models import Counter, Message, Organization, Team, TeamMembership, Ticket, TicketTag, User
from helpline.core.people import NewUser, create_user, issue_token
from helpline.core.plugins import load_plugins
from helpline.core.runtime import Runtime
from helpline.core.tickets import TICKET_NUMBER_COUNTER, ensure_counters
from helpline.testing import count_statements, throwaway_postgres_schema

HERE = Path(__file__).resolve().parent
TARGET_RATIO = 0.6
CLIENT_BOUND = 0.85  # load generator busier than this (share of a core): it, not the server, set the pace
TAGS = ["billing", "bug", "hardware", "login", "vpn", "printer", "refund", "feature", "urgent", "email"]

LIST_QUERY = """
query TicketPage($first: Int!) {
  tickets(first: $first) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      number subject status priority tags
      requester { name }
      assignee { name }
      team { name }
    }
  }
}
"""

CREATE_MUTATION = """
mutation CreateTicket($input: CreateTicketInput!) {
  createTicket(input: $input) {
    ticket { id number status }
    userErrors { field message code }
  }
}
"""


def log(message: str) -> None:
    """Progress goes to stderr, so ``--json`` output on stdout stays clean."""
    print(message, file=sys.stderr, flush=True)


# -- the database -----------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def bench_database(base_url: str | None) -> AsyncIterator[str]:
    """Yield the URL of a fresh empty database; remove it afterwards.

    Without ``base_url``: an SQLite file in a temporary folder. With a PostgreSQL URL: a new schema
    ``bench_<random>`` on that database, dropped at the end. With an SQLite URL: that file, which
    must not exist yet, deleted at the end.
    """
    if not base_url:
        with tempfile.TemporaryDirectory(prefix="helpline-bench-") as folder:
            yield f"sqlite://{folder}/bench.db"
        return
    url = normalise_database_url(base_url)
    if not url.startswith("asyncpg://"):
        with _new_sqlite_file(url):
            yield url
        return
    async with throwaway_postgres_schema(url, prefix="bench") as schema_url:
        yield schema_url


@contextlib.contextmanager
def _new_sqlite_file(url: str) -> Iterator[None]:
    """Refuse an existing SQLite file (the seed needs an empty database); delete the file afterwards."""
    path = Path(url.split("://", 1)[1].split("?", 1)[0])
    if path.exists():
        raise SystemExit(f"{path} exists: the benchmark seeds a new database; give a path that does not exist")
    try:
        yield
    finally:
        for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            leftover.unlink(missing_ok=True)


@dataclasses.dataclass(frozen=True)
class SeedShape:
    """How much to seed."""

    tickets: int = 10_000
    customers: int = 1_000
    agents: int = 24
    teams: int = 8
    organizations: int = 20


async def seed_people(shape: SeedShape, rng: random.Random, created: dt.datetime) -> tuple[list[int], list[int]]:
    """Organizations, teams, agents (each in two teams) and customers (half in an organization, 5%
    VIP), with ``bulk_create``; shared by the benchmarks that seed a help desk. Returns the team and
    agent ids."""
    stamp = {"created_at": created, "updated_at": created}
    async with transaction():
        await Organization.bulk_create(
            [Organization(name=f"Org {i}", shared_tickets=i % 2 == 0, **stamp) for i in range(shape.organizations)]
        )
        await Team.bulk_create(
            [Team(name=f"Team {i}", description=f"Team {i} queue", **stamp) for i in range(shape.teams)]
        )
        await User.bulk_create(
            [
                User(email=f"agent{i}@example.com", name=f"Agent {i}", role=Role.AGENT, **stamp)
                for i in range(shape.agents)
            ]
        )
    organization_ids = list(await Organization.all().order_by("id").values_list("id", flat=True))
    team_ids = list(await Team.all().order_by("id").values_list("id", flat=True))
    agent_ids = list(await User.filter(role=Role.AGENT).values_list("id", flat=True))
    async with transaction():
        await User.bulk_create(
            [
                User(
                    email=f"customer{i}@example.com",
                    name=f"Customer {i}",
                    role=Role.CUSTOMER,
                    organization_id=rng.choice(organization_ids) if rng.random() < 0.5 else None,
                    vip=rng.random() < 0.05,
                    **stamp,
                )
                for i in range(shape.customers)
            ],
            batch_size=1000,
        )
        await TeamMembership.bulk_create(
            [
                TeamMembership(team_id=team_id, user_id=agent_id, created_at=created)
                for agent_id in agent_ids
                for team_id in rng.sample(team_ids, 2)
            ]
        )
    return team_ids, agent_ids  # type: ignore[return-value]  # values_list(flat=True) gives ints


async def seed(url: str, shape: SeedShape, rng_seed: int = 1) -> str:
    """Fill the empty database at ``url`` and return an admin API token secret.

    People and teams go in with ``bulk_create`` (the admin through the core service), tickets
    with one first message and 0-3 tags each, spread over the last weeks: seeding, not measured.
    """
    rng = random.Random(rng_seed)
    plugins = load_plugins(())
    async with open_database(plugins, url, global_fallback=False):
        await ensure_counters()
        runtime = Runtime(settings=Settings(database_url=url, plugins=()), plugins=plugins)
        admin = await create_user(
            runtime, None, NewUser(email="admin@example.com", name="Admin", role=Role.ADMIN), bootstrap=True
        )
        now = runtime.clock.now()
        team_ids, agent_ids = await seed_people(shape, rng, now)
        customers = list(
            await User.filter(role=Role.CUSTOMER).values_list("id", "organization_id")  # type: ignore[arg-type]
        )
        start = now - dt.timedelta(minutes=shape.tickets)
        statuses = [Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD, Status.SOLVED, Status.CLOSED]
        rows = []
        for index in range(shape.tickets):
            requester_id, organization_id = rng.choice(customers)
            created = start + dt.timedelta(minutes=index)
            rows.append(
                Ticket(
                    number=1001 + index,
                    subject=f"Seeded ticket {index + 1}: something is not working",
                    status=rng.choice(statuses),
                    priority=rng.choice(list(Priority)),
                    channel=rng.choice(list(Channel)),
                    requester_id=requester_id,
                    organization_id=organization_id,
                    team_id=rng.choice(team_ids) if rng.random() < 0.8 else None,
                    assignee_id=rng.choice(agent_ids) if rng.random() < 0.7 else None,
                    custom_fields={},
                    version=1,
                    created_at=created,
                    updated_at=created,
                )
            )
        async with transaction():
            await Ticket.bulk_create(rows, batch_size=1000)
        ids = dict(await Ticket.all().values_list("number", "id"))  # type: ignore[arg-type]
        tags: list[TicketTag] = []
        messages: list[Message] = []
        for row in rows:
            ticket_id = ids[row.number]
            tags.extend(TicketTag(ticket_id=ticket_id, name=name) for name in rng.sample(TAGS, rng.randint(0, 3)))
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
        async with transaction():
            await TicketTag.bulk_create(tags, batch_size=2000)
            await Message.bulk_create(messages, batch_size=2000)
            await Counter.filter(name=TICKET_NUMBER_COUNTER).update(value=1000 + shape.tickets)
        _token, secret = await issue_token(runtime, admin, "benchmark")
    return secret


# -- SQL statements per list request ----------------------------------------------------------


async def statements_per_list_request(url: str, token: str, page_sizes: tuple[int, ...]) -> dict[int, list[str]]:
    """The SQL of one list request per page size, run in-process through the ASGI app."""
    app = create_app(Settings(), plugins=(), database_url=url)
    found: dict[int, list[str]] = {}
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(app.router.lifespan_context(app))
        transport = httpx.ASGITransport(app=app)
        client = await stack.enter_async_context(httpx.AsyncClient(transport=transport, base_url="http://bench"))
        headers = {"Authorization": f"Bearer {token}"}
        # One request first, so that anything done once per process is not counted.
        await client.post("/graphql", json={"query": LIST_QUERY, "variables": {"first": 1}}, headers=headers)
        for size in page_sizes:
            with count_statements() as statements:
                response = await client.post(
                    "/graphql", json={"query": LIST_QUERY, "variables": {"first": size}}, headers=headers
                )
            body = response.json()
            if body.get("errors") or len(body["data"]["tickets"]["nodes"]) != size:
                raise RuntimeError(f"the list request for {size} tickets failed: {body.get('errors')}")
            found[size] = list(statements)
    return found


# -- servers ----------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclasses.dataclass
class Server:
    """A running uvicorn process."""

    name: str
    process: asyncio.subprocess.Process
    url: str
    log_path: Path

    def cpu_seconds(self) -> float | None:
        """User + system CPU time the process has used so far (Linux ``/proc``), else ``None``."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _inherited_environment() -> dict[str, str]:
    """This process's environment without ``HELPLINE_*`` settings, so only ours reach the server."""
    return {key: value for key, value in os.environ.items() if not key.startswith("HELPLINE_")}


@contextlib.asynccontextmanager
async def uvicorn_server(
    name: str, app_args: list[str], env: dict[str, str], workdir: Path, ready_seconds: float = 60.0
) -> AsyncIterator[Server]:
    """Run ``uvicorn <app_args>`` on a free 127.0.0.1 port (one worker, no access log) until exit.

    The process runs in ``workdir`` (an empty folder, so no ``helpline.toml`` is picked up).
    """
    port = free_port()
    log_path = workdir / f"{name}.log"
    command = [
        "-m",
        "uvicorn",
        *app_args,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    with log_path.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *command,
            cwd=workdir,
            env={**_inherited_environment(), **env},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    server = Server(name=name, process=process, url=f"http://127.0.0.1:{port}/graphql", log_path=log_path)
    try:
        await _wait_until_ready(server, ready_seconds)
        yield server
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                process.kill()
                await process.wait()


async def _wait_until_ready(server: Server, ready_seconds: float) -> None:
    deadline = time.monotonic() + ready_seconds
    async with httpx.AsyncClient(timeout=2.0) as client:
        while time.monotonic() < deadline and server.process.returncode is None:
            with contextlib.suppress(httpx.TransportError):
                response = await client.post(server.url, json={"query": "{ __typename }"})
                if response.status_code == 200:
                    return
            await asyncio.sleep(0.1)
    tail = server.log_path.read_text(errors="replace")[-3000:]
    raise RuntimeError(f"{server.name} did not become ready (exit code {server.process.returncode}):\n{tail}")


# -- load -------------------------------------------------------------------------------------


@dataclasses.dataclass
class Samples:
    """Raw figures of one or more measured batches against one server."""

    latencies: list[float] = dataclasses.field(default_factory=list)
    sizes: list[int] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    server_cpu_seconds: float | None = 0.0
    client_cpu_seconds: float = 0.0
    batch_rates: list[float] = dataclasses.field(default_factory=list)

    def add(self, other: Samples) -> None:
        """Merge another batch into this one (remembering its requests/s)."""
        self.batch_rates.append(len(other.latencies) / other.seconds if other.seconds else 0.0)
        self.latencies += other.latencies
        self.sizes += other.sizes
        self.errors += other.errors
        self.seconds += other.seconds
        self.client_cpu_seconds += other.client_cpu_seconds
        if self.server_cpu_seconds is None or other.server_cpu_seconds is None:
            self.server_cpu_seconds = None
        else:
            self.server_cpu_seconds += other.server_cpu_seconds


@dataclasses.dataclass
class Result:
    """One scenario's figures. Latencies in milliseconds; CPU as a share of one core."""

    scenario: str
    requests: int
    errors: int
    seconds: float
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    mean_bytes: float
    server_cpu: float | None
    server_cpu_ms_per_request: float | None
    client_cpu: float
    rounds_per_second: list[float]
    client_bound: bool
    first_error: str | None = None

    @classmethod
    def from_samples(cls, scenario: str, samples: Samples) -> Result:
        """Summarise ``samples``: throughput over the measured time, nearest-rank percentiles."""
        latencies = sorted(samples.latencies)
        seconds = samples.seconds or float("nan")
        return cls(
            scenario=scenario,
            requests=len(latencies),
            errors=len(samples.errors),
            seconds=samples.seconds,
            requests_per_second=len(latencies) / seconds,
            p50_ms=percentile(latencies, 0.50) * 1000,
            p99_ms=percentile(latencies, 0.99) * 1000,
            mean_bytes=sum(samples.sizes) / len(samples.sizes) if samples.sizes else 0.0,
            server_cpu=None if samples.server_cpu_seconds is None else samples.server_cpu_seconds / seconds,
            server_cpu_ms_per_request=(
                None
                if samples.server_cpu_seconds is None or not latencies
                else samples.server_cpu_seconds / len(latencies) * 1000
            ),
            client_cpu=samples.client_cpu_seconds / seconds,
            rounds_per_second=[round(rate, 1) for rate in samples.batch_rates],
            client_bound=samples.client_cpu_seconds / seconds >= CLIENT_BOUND,
            first_error=samples.errors[0] if samples.errors else None,
        )


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list (``fraction`` in 0..1)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(fraction * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


@dataclasses.dataclass
class LoadSettings:
    """How hard and how long to push."""

    concurrency: int
    max_seconds: float


async def measure(
    client: httpx.AsyncClient,
    server: Server,
    make_body: Callable[[int], bytes],
    headers: dict[str, str],
    count: int,
    offset: int,
    load: LoadSettings,
) -> Samples:
    """POST ``count`` requests with ``load.concurrency`` in flight (at most ``load.max_seconds``).

    A request counts as an error unless it answers 200 without a GraphQL ``errors`` key.
    ``make_body`` gets the request's index (``offset`` onwards), so every request can differ.
    """
    samples = Samples()
    next_index = 0
    cpu_before = server.cpu_seconds()
    client_before = time.process_time()
    started = time.perf_counter()
    stop_at = started + load.max_seconds

    async def worker() -> None:
        nonlocal next_index
        while next_index < count and time.perf_counter() < stop_at:
            body = make_body(offset + next_index)
            next_index += 1
            sent = time.perf_counter()
            try:
                response = await client.post(server.url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                samples.errors.append(f"{type(exc).__name__}: {exc}")
                continue
            samples.latencies.append(time.perf_counter() - sent)
            content = response.content
            samples.sizes.append(len(content))
            if response.status_code != 200 or b'"errors"' in content:
                samples.errors.append(f"HTTP {response.status_code}: {content[:300]!r}")

    await asyncio.gather(*(worker() for _ in range(load.concurrency)))
    samples.seconds = time.perf_counter() - started
    samples.client_cpu_seconds = time.process_time() - client_before
    cpu_after = server.cpu_seconds()
    samples.server_cpu_seconds = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    return samples


@dataclasses.dataclass
class Scenario:
    """One line of the table: a request shape sent to one server."""

    name: str
    server: Server
    make_body: Callable[[int], bytes]
    headers: dict[str, str]
    requests: int


async def run_interleaved(scenarios: list[Scenario], warmup: int, rounds: int, load: LoadSettings) -> list[Result]:
    """Warm every scenario up, then measure them in turn, ``rounds`` times, each a share of its requests.

    Alternating the servers spreads any other load on the machine over all scenarios alike, so
    the ratio between them stays fair even when the absolute figures wander.
    """
    limits = httpx.Limits(max_connections=load.concurrency, max_keepalive_connections=load.concurrency)
    totals = {scenario.name: Samples() for scenario in scenarios}
    async with httpx.AsyncClient(limits=limits, timeout=30.0, headers={"Content-Type": "application/json"}) as client:
        for scenario in scenarios:
            await measure(client, scenario.server, scenario.make_body, scenario.headers, warmup, 0, load)
        for round_index in range(rounds):
            for scenario in scenarios:
                share = scenario.requests // rounds + (1 if round_index < scenario.requests % rounds else 0)
                offset = warmup + round_index * (scenario.requests // rounds + 1)
                time_left = LoadSettings(load.concurrency, load.max_seconds / rounds)
                batch = await measure(
                    client, scenario.server, scenario.make_body, scenario.headers, share, offset, time_left
                )
                totals[scenario.name].add(batch)
            log(f"  round {round_index + 1}/{rounds} done")
    return [Result.from_samples(scenario.name, totals[scenario.name]) for scenario in scenarios]


def list_body(page_size: int) -> Callable[[int], bytes]:
    """The list request: the same bytes every time."""
    body = json.dumps({"query": LIST_QUERY, "variables": {"first": page_size}}).encode()
    return lambda _index: body


def create_body(index: int) -> bytes:
    """A createTicket request with a subject of its own."""
    variables = {
        "input": {
            "subject": f"Benchmark ticket {index}",
            "description": "Created by benchmarks/bench_api.py",
            "priority": "HIGH",
            "tags": ["bench", TAGS[index % len(TAGS)]],
        }
    }
    return json.dumps({"query": CREATE_MUTATION, "variables": variables}).encode()


async def check_list_response(server: Server, headers: dict[str, str], page_size: int) -> None:
    """Fail early, with the response, if the list query does not return a full page."""
    async with httpx.AsyncClient(timeout=30.0) as client:
        response = await client.post(
            server.url, json={"query": LIST_QUERY, "variables": {"first": page_size}}, headers=headers
        )
    body = response.json()
    nodes = (body.get("data") or {}).get("tickets", {}).get("nodes", [])
    if body.get("errors") or len(nodes) != page_size:
        raise RuntimeError(f"{server.name}: unexpected list response: {json.dumps(body)[:1000]}")


# -- the run ----------------------------------------------------------------------------------


@dataclasses.dataclass
class Options:
    """Command-line options."""

    database_url: str | None
    tickets: int
    page_size: int
    requests: int
    create_requests: int
    warmup: int
    concurrency: int
    rounds: int
    max_seconds: float
    skip_create: bool
    show_sql: bool
    json: bool
    check: bool


def parse_args(argv: list[str] | None = None) -> Options:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--database-url",
        help="PostgreSQL server to benchmark on, e.g. postgres://postgres@127.0.0.1:5432/test "
        "(a throwaway schema is created and dropped), or sqlite://PATH for a new SQLite file. "
        "Default: an SQLite file in a temporary folder.",
    )
    parser.add_argument("--tickets", type=int, default=10_000, help="tickets to seed (default 10000)")
    parser.add_argument("--page-size", type=int, default=50, help="tickets per list page (default 50)")
    parser.add_argument("--requests", type=int, default=2000, help="measured list requests per server (2000)")
    parser.add_argument("--create-requests", type=int, default=1000, help="measured createTicket requests (1000)")
    parser.add_argument("--warmup", type=int, default=200, help="unmeasured requests before each scenario (200)")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight (default 8)")
    parser.add_argument("--rounds", type=int, default=4, help="alternations between the servers (default 4)")
    parser.add_argument(
        "--max-seconds", type=float, default=120.0, help="time cap per scenario, all rounds together (120)"
    )
    parser.add_argument("--skip-create", action="store_true", help="only the list scenarios")
    parser.add_argument("--show-sql", action="store_true", help="print the counted SQL statements")
    parser.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    parser.add_argument(
        "--check",
        action="store_true",
        help=f"exit 1 if the list ratio is below {TARGET_RATIO}, the SQL counts differ or a request failed",
    )
    args = parser.parse_args(argv)
    return Options(**vars(args))


async def run(options: Options) -> dict[str, Any]:
    """Seed, count statements, load both servers; return everything measured."""
    async with bench_database(options.database_url) as url:
        backend = "postgres" if url.startswith("asyncpg://") else "sqlite"
        log(f"seeding {options.tickets} tickets on {backend} ...")
        started = time.perf_counter()
        token = await seed(url, SeedShape(tickets=options.tickets))
        log(f"seeded in {time.perf_counter() - started:.1f}s")

        statements = await statements_per_list_request(url, token, (10, 100))
        counts = {size: len(sql) for size, sql in statements.items()}
        log(f"SQL statements per list request: first 10 -> {counts[10]}, first 100 -> {counts[100]}")

        auth = {"Authorization": f"Bearer {token}"}
        load = LoadSettings(concurrency=options.concurrency, max_seconds=options.max_seconds)
        helpline_env = {"HELPLINE_DATABASE_URL": url, "HELPLINE_PLUGINS": "core"}
        bare_env = {"BENCH_TICKETS": str(options.tickets)}
        page = options.page_size
        with tempfile.TemporaryDirectory(prefix="helpline-bench-run-") as folder:
            workdir = Path(folder)
            async with (
                uvicorn_server("bare", ["--app-dir", str(HERE), "bare_schema:app"], bare_env, workdir) as bare,
                uvicorn_server("helpline", ["--factory", "helpline.app:create_app"], helpline_env, workdir) as helpline,
            ):
                await check_list_response(bare, {}, page)
                await check_list_response(helpline, auth, page)
                log(f"list {page}: {options.rounds} rounds alternating bare strawberry and helpline ...")
                results = await run_interleaved(
                    [
                        Scenario(f"list {page} (bare strawberry)", bare, list_body(page), {}, options.requests),
                        Scenario(f"list {page} (helpline)", helpline, list_body(page), auth, options.requests),
                    ],
                    options.warmup,
                    options.rounds,
                    load,
                )
                if not options.skip_create:
                    log("createTicket: alternating bare strawberry and helpline ...")
                    results += await run_interleaved(
                        [
                            Scenario("createTicket (bare strawberry)", bare, create_body, {}, options.create_requests),
                            Scenario("createTicket (helpline)", helpline, create_body, auth, options.create_requests),
                        ],
                        options.warmup,
                        options.rounds,
                        load,
                    )

    by_name = {result.scenario: result for result in results}
    bare_list = by_name[f"list {options.page_size} (bare strawberry)"]
    helpline_list = by_name[f"list {options.page_size} (helpline)"]
    ratio = helpline_list.requests_per_second / bare_list.requests_per_second
    cpu_ratio = None
    if bare_list.server_cpu_ms_per_request and helpline_list.server_cpu_ms_per_request:
        cpu_ratio = bare_list.server_cpu_ms_per_request / helpline_list.server_cpu_ms_per_request
    round_ratios = [
        round(mine / theirs, 3) if theirs else None
        for mine, theirs in zip(helpline_list.rounds_per_second, bare_list.rounds_per_second, strict=True)
    ]
    create_ratio = None
    if not options.skip_create:
        create_ratio = (
            by_name["createTicket (helpline)"].requests_per_second
            / by_name["createTicket (bare strawberry)"].requests_per_second
        )
    return {
        "backend": backend,
        "tickets": options.tickets,
        "page_size": options.page_size,
        "concurrency": options.concurrency,
        "cpu_count": os.cpu_count(),
        "results": [dataclasses.asdict(result) for result in results],
        "list_ratio": ratio,
        "list_ratio_per_round": round_ratios,
        "list_cpu_ratio": cpu_ratio,
        "create_ratio": create_ratio,
        "target_ratio": TARGET_RATIO,
        "meets_target": ratio >= TARGET_RATIO,
        "sql_statements": {str(size): count for size, count in counts.items()},
        "sql_counts_equal": counts[10] == counts[100],
        "sql": {str(size): sql for size, sql in statements.items()} if options.show_sql else None,
    }


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def format_report(report: dict[str, Any]) -> str:
    """The human-readable table."""
    header = (
        f"{'scenario':<32} {'requests':>8} {'errors':>6} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'server CPU':>10} {'CPU ms/req':>10} {'client CPU':>10}"
    )
    lines = [
        f"Helpline API benchmark: {report['backend']}, {report['tickets']} tickets, "
        f"concurrency {report['concurrency']}, {report['cpu_count']} CPUs, one uvicorn worker",
        "",
        header,
        "-" * len(header),
    ]
    for result in report["results"]:
        lines.append(
            f"{result['scenario']:<32} {result['requests']:>8} {result['errors']:>6} "
            f"{result['requests_per_second']:>8.1f} {result['p50_ms']:>8.2f} {result['p99_ms']:>8.2f} "
            f"{_percent(result['server_cpu']):>10} {_ms(result['server_cpu_ms_per_request']):>10} "
            f"{_percent(result['client_cpu']):>10}" + (" *" if result["client_bound"] else "")
        )
        if result["first_error"]:
            lines.append(f"    first error: {result['first_error']}")
    if any(result["client_bound"] for result in report["results"]):
        lines.append(
            f"  * the load generator used over {CLIENT_BOUND:.0%} of a core: that line measures the client, "
            "not the server (its req/s is a lower bound)"
        )
    verdict = "meets the target" if report["meets_target"] else "BELOW the target"
    lines += [
        "",
        f"list {report['page_size']}: helpline / bare = {report['list_ratio']:.2f} "
        f"(target >= {report['target_ratio']}): {verdict}",
        "  per round: "
        + ", ".join("-" if value is None else f"{value:.2f}" for value in report["list_ratio_per_round"]),
    ]
    if report["list_cpu_ratio"] is not None:
        lines.append(f"  server CPU per request, bare / helpline: {report['list_cpu_ratio']:.2f}")
    if report["create_ratio"] is not None:
        lines.append(f"createTicket: helpline / bare = {report['create_ratio']:.2f} (for information)")
    counts = report["sql_statements"]
    equal = "equal" if report["sql_counts_equal"] else "NOT EQUAL"
    lines.append(f"SQL statements per list request: first 10 -> {counts['10']}, first 100 -> {counts['100']} ({equal})")
    if report["sql"]:
        for size, statements in report["sql"].items():
            lines.append(f"  first {size}:")
            lines.extend(f"    {' '.join(sql.split())[:160]}" for sql in statements)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the table (or JSON); with ``--check``, fail below the target."""
    options = parse_args(argv)
    runner: Callable[[Any], Any] = asyncio.run
    with contextlib.suppress(ImportError):
        import uvloop

        runner = uvloop.run  # a faster load generator leaves more of the machine to the server
    report = runner(run(options))
    print(json.dumps(report, indent=2) if options.json else format_report(report))
    failed_requests = any(result["errors"] for result in report["results"])
    if options.check and (failed_requests or not (report["meets_target"] and report["sql_counts_equal"])):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
