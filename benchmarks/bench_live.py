"""Benchmark live updates across processes: a change made through server B reaches subscribers on A.

What it does, in order (see ``benchmarks/README.md``):

1. creates a throwaway schema on the PostgreSQL server of ``--database-url`` and seeds it with an
   admin, their API token and ``--tickets`` tickets;
2. starts two real ``helpline serve`` processes (A and B) on that schema, core plugin only;
3. opens ``--subscribers`` websockets to A (graphql-transport-ws), each with one subscription:
   ``visibleTicketsChanged`` (scenario "all": every change goes to every subscriber), then, in a
   second scenario, ``ticketChanged`` spread evenly over the tickets ("per-ticket");
4. waits until every subscriber has heard a warm-up change, then makes ``--changes`` changes one
   at a time through B's HTTP API (``updateTicket`` setting a new subject) and, for each, waits until
   every subscriber that should hear it has (bounded by ``--timeout``) before the next;
5. reports the latency from the moment B's response arrived to each receipt on A's websockets:
   p50, p99 and max over every receipt, and the same from the moment the request was sent. The
   target: p99 under 100 ms with 200 subscribers.

Run from the repository root: ``.venv/bin/python benchmarks/bench_live.py [--database-url ...]``.
All traffic goes to 127.0.0.1. Not a test: pytest never collects it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import websockets

from helpline.config import Settings
from helpline.core.db import open_database
from helpline.core.enums import Role
from helpline.core.people import NewUser, create_user, issue_token
from helpline.core.plugins import load_plugins
from helpline.core.runtime import Runtime
from helpline.core.tickets import NewTicket, create_ticket, ensure_counters
from helpline.schema.ids import encode_id
from helpline.testing import throwaway_postgres_schema

HELPLINE = Path(sys.executable).parent / "helpline"
TARGET_P99_MS = 100.0
UPDATE = (
    "mutation($input: UpdateTicketInput!) { updateTicket(input: $input) { ticket { version } userErrors { code } } }"
)
ALL = "subscription { visibleTicketsChanged { kind ticketId ticket { id subject status version } } }"
ONE = "subscription($id: ID!) { ticketChanged(id: $id) { kind ticketId ticket { id subject status version } } }"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def seed(database_url: str, tickets: int) -> tuple[str, list[int]]:
    """An admin's token and ``tickets`` ticket ids, written in-process before the servers start."""
    plugins = load_plugins(("core",))
    runtime = Runtime(settings=Settings(plugins=("core",), database_url=database_url), plugins=plugins)
    async with open_database(plugins, database_url):
        await ensure_counters()
        admin = await create_user(
            runtime, None, NewUser(email="admin@example.com", name="Admin", role=Role.ADMIN), bootstrap=True
        )
        _token, secret = await issue_token(runtime, admin, "bench")
        ids = []
        for number in range(tickets):
            ticket = await create_ticket(
                runtime,
                NewTicket(subject=f"ticket {number}", description="seeded"),
                viewer=None,
                actor=admin_actor(admin),
            )
            ids.append(ticket.id)
    return secret, ids


def admin_actor(admin: Any) -> Any:
    from helpline.core.actors import Actor
    from helpline.core.enums import MessageSource

    return Actor(user=admin, source=MessageSource.HUMAN)


@contextlib.contextmanager
def server(database_url: str, name: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``helpline serve`` on a free port (core plugin, jobs off, warnings only); stopped on exit."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("HELPLINE_")}
    env.update(
        HELPLINE_DATABASE_URL=database_url,
        HELPLINE_PLUGINS="core",
        HELPLINE_LOG_LEVEL="warning",
        HELPLINE_RUN_JOBS_IN_PROCESS="false",
    )
    command = [str(HELPLINE), "serve", "--host", "127.0.0.1", "--port", str(port)]
    profile = os.environ.get(f"BENCH_PROFILE_{name}")  # e.g. BENCH_PROFILE_A=/tmp/a.prof: cProfile that server
    if profile:
        command = [sys.executable, "-m", "cProfile", "-o", profile, *command]
    process = subprocess.Popen(
        command,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=sys.stderr,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise SystemExit(f"server {name} exited with {process.returncode}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(base_url + "/healthz", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit(f"server {name} did not answer")
            time.sleep(0.1)
        log(f"server {name}: {base_url} (pid {process.pid})")
        yield base_url, process
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Subscriber:
    """One websocket to A with one subscription; records when each subject arrives."""

    def __init__(self, websocket: Any) -> None:
        self.websocket = websocket
        self.received: dict[str, float] = {}
        self.changed = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def read(self) -> None:
        async for raw in self.websocket:
            now = time.perf_counter()
            message = json.loads(raw)
            if message.get("type") != "next":
                if message.get("type") in ("error", "complete"):
                    raise RuntimeError(f"subscription ended: {message}")
                continue
            payload = message["payload"]
            if payload.get("errors"):
                raise RuntimeError(f"subscription error: {payload['errors']}")
            event = next(iter(payload["data"].values()))
            self.received[event["ticket"]["subject"]] = now
            self.changed.set()


@contextlib.asynccontextmanager
async def subscribers(
    base_url: str, token: str, documents: list[tuple[str, dict[str, Any]]]
) -> AsyncIterator[list[Subscriber]]:
    url = base_url.replace("http://", "ws://") + "/graphql"
    async with contextlib.AsyncExitStack() as stack:
        result = []
        for index, (query, variables) in enumerate(documents):
            websocket = await stack.enter_async_context(websockets.connect(url, subprotocols=["graphql-transport-ws"]))  # type: ignore[list-item]
            await websocket.send(
                json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
            )
            ack = json.loads(await websocket.recv())
            assert ack["type"] == "connection_ack", ack
            await websocket.send(
                json.dumps({"id": str(index), "type": "subscribe", "payload": {"query": query, "variables": variables}})
            )
            subscriber = Subscriber(websocket)
            subscriber.task = asyncio.create_task(subscriber.read())
            result.append(subscriber)
        try:
            yield result
        finally:
            for subscriber in result:
                assert subscriber.task is not None
                subscriber.task.cancel()


async def wait_for(subject: str, audience: list[Subscriber], within: float) -> bool:
    deadline = time.perf_counter() + within
    for subscriber in audience:
        while subject not in subscriber.received:
            if subscriber.task is not None and subscriber.task.done():
                subscriber.task.result()
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                return False
            subscriber.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(subscriber.changed.wait(), min(remaining, 0.5))
    return True


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def run_scenario(
    name: str,
    a_url: str,
    a_pid: int,
    b: httpx.AsyncClient,
    token: str,
    ticket_ids: list[int],
    documents: list[tuple[str, dict[str, Any]]],
    audience_of: Any,
    args: argparse.Namespace,
) -> dict[str, Any]:
    async with subscribers(a_url, token, documents) as subs:
        headers = {"Authorization": f"Bearer {token}"}

        async def change(ticket_id: int, subject: str) -> tuple[float, float]:
            sent = time.perf_counter()
            response = await b.post(
                "/graphql",
                json={
                    "query": UPDATE,
                    "variables": {"input": {"id": encode_id("Ticket", ticket_id), "subject": subject}},
                },
                headers=headers,
            )
            answered = time.perf_counter()
            body = response.json()
            assert not body.get("errors") and not body["data"]["updateTicket"]["userErrors"], body
            return sent, answered

        # Warm-up: poke every ticket until every subscriber has heard something (subscriptions are
        # registered asynchronously; the protocol does not acknowledge them).
        for attempt in range(200):
            subjects = []
            for ticket_id in ticket_ids:
                subject = f"warm-{attempt}-{ticket_id}"
                await change(ticket_id, subject)
                subjects.append(subject)
            await asyncio.sleep(0.2)
            if all(sub.received for sub in subs):
                break
        else:
            raise SystemExit("not every subscriber heard the warm-up changes")
        await asyncio.sleep(0.5)

        from_response: list[float] = []
        from_request: list[float] = []
        missing = 0
        cpu_before = cpu_seconds(a_pid)
        started = time.perf_counter()
        for number in range(args.changes):
            ticket_id = ticket_ids[number % len(ticket_ids)]
            subject = f"{name}-{number}"
            sent, answered = await change(ticket_id, subject)
            audience = audience_of(subs, ticket_id)
            if not await wait_for(subject, audience, args.timeout):
                missing += sum(1 for sub in audience if subject not in sub.received)
            for sub in audience:
                if subject in sub.received:
                    from_response.append((sub.received[subject] - answered) * 1000)
                    from_request.append((sub.received[subject] - sent) * 1000)
        elapsed = time.perf_counter() - started
        cpu_a = cpu_seconds(a_pid) - cpu_before
    return {
        "scenario": name,
        "subscribers": len(documents),
        "changes": args.changes,
        "receipts": len(from_response),
        "missing": missing,
        "from_response_ms": summary(from_response),
        "from_request_ms": summary(from_request),
        "server_a_cpu_ms_per_change": round(cpu_a * 1000 / args.changes, 2),
        "seconds": round(elapsed, 1),
    }


def summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    return {
        "p50": round(statistics.median(values), 2),
        "p99": round(percentile(values, 0.99), 2),
        "max": round(max(values), 2),
    }


async def main(args: argparse.Namespace) -> int:
    async with throwaway_postgres_schema(args.database_url, prefix="bench") as url:
        token, ticket_ids = await seed(url, args.tickets)
        log(f"seeded {len(ticket_ids)} tickets")
        with server(url, "A") as (a_url, a_process), server(url, "B") as (b_url, _b_process):
            async with httpx.AsyncClient(base_url=b_url, timeout=30) as b:
                results = []
                everyone = [(ALL, {}) for _ in range(args.subscribers)]
                results.append(
                    await run_scenario(
                        "all", a_url, a_process.pid, b, token, ticket_ids, everyone, lambda subs, _id: subs, args
                    )
                )
                log(format_result(results[-1]))
                spread = [
                    (ONE, {"id": encode_id("Ticket", ticket_ids[i % len(ticket_ids)])}) for i in range(args.subscribers)
                ]
                by_ticket = {ticket_id: i % len(ticket_ids) for i, ticket_id in enumerate(ticket_ids)}

                def audience(subs: list[Subscriber], ticket_id: int) -> list[Subscriber]:
                    return [sub for i, sub in enumerate(subs) if i % len(ticket_ids) == by_ticket[ticket_id]]

                results.append(
                    await run_scenario("per-ticket", a_url, a_process.pid, b, token, ticket_ids, spread, audience, args)
                )
                log(format_result(results[-1]))
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(
            f"{'scenario':<11} {'subs':>5} {'receipts':>8} {'miss':>4}  from response p50/p99/max ms   "
            f"from request p50/p99/max ms   A cpu ms/change"
        )
        for result in results:
            print(format_result(result))
        print(f"target: p99 (from B's response) < {TARGET_P99_MS:.0f} ms with {args.subscribers} subscribers")
    worst = max(result["from_response_ms"].get("p99", float("inf")) for result in results)
    failed = any(result["missing"] for result in results) or worst >= TARGET_P99_MS
    return 1 if args.check and failed else 0


def format_result(result: dict[str, Any]) -> str:
    response, request = result["from_response_ms"], result["from_request_ms"]
    return (
        f"{result['scenario']:<11} {result['subscribers']:>5} {result['receipts']:>8} {result['missing']:>4}  "
        f"{response.get('p50', 0):>8.1f} {response.get('p99', 0):>8.1f} {response.get('max', 0):>8.1f}     "
        f"{request.get('p50', 0):>7.1f} {request.get('p99', 0):>7.1f} {request.get('max', 0):>7.1f}     "
        f"{result['server_a_cpu_ms_per_change']:>8.2f}"
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/test")
    parser.add_argument("--subscribers", type=int, default=200)
    parser.add_argument("--changes", type=int, default=300)
    parser.add_argument("--tickets", type=int, default=50)
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for one change's receipts")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--check", action="store_true", help="exit 1 when the target is missed")
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
