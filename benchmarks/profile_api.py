"""Where a list request's time goes: Helpline and the bare strawberry schema, in-process, side by side.

``bench_api.py`` measures throughput over real HTTP; this script finds where the time goes. It seeds
the same database (``bench_api.seed``), builds Helpline's app with the core plugin only (as the
benchmark's server runs) and imports ``bare_schema.app``, then calls each ASGI app directly, one
request at a time, with the benchmark's list request (no HTTP client, no sockets):

1. **ms/request**, in alternating rounds (``--rounds``) of ``--requests`` requests each: the wall
   time and the process CPU time (all threads: aiosqlite's included) per request, for both apps,
   and Helpline's cost over the bare schema's;
2. **statements**: the SQL of one request (``helpline.testing.count_statements``);
3. with ``--profile``: a cProfile of ``--profile-requests`` Helpline requests, the top functions by
   cumulative and by own time (``--top``), and the same for the bare app with ``--profile-bare``.

Run from the repository root::

    .venv/bin/python benchmarks/profile_api.py                     # SQLite in a temp folder
    .venv/bin/python benchmarks/profile_api.py --database-url postgres://postgres@127.0.0.1:5432/test
    .venv/bin/python benchmarks/profile_api.py --profile --top 40

Not a test: pytest never collects it, and nothing asserts on time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_api import LIST_QUERY, SeedShape, bench_database, log, seed  # noqa: E402

from helpline.app import create_app  # noqa: E402
from helpline.config import Settings  # noqa: E402
from helpline.testing import count_statements, graphql_post_scope  # noqa: E402

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


class Caller:
    """Calls an ASGI app with one POST /graphql and checks the answer (200, no ``errors``)."""

    def __init__(self, app: ASGIApp, body: bytes, headers: dict[str, str]) -> None:
        self.app = app
        self.body = body
        self.headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"host", b"bench"),
            *((name.lower().encode(), value.encode()) for name, value in headers.items()),
        ]

    async def __call__(self) -> bytes:
        """One request; returns the response body."""
        scope = graphql_post_scope(self.headers)
        sent = False
        status = 0
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                await asyncio.sleep(3600)  # a real server would wait for a disconnect
            sent = True
            return {"type": "http.request", "body": self.body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        content = b"".join(chunks)
        if status != 200 or b'"errors"' in content:
            raise RuntimeError(f"request failed: HTTP {status}: {content[:500]!r}")
        return content


async def timed(caller: Caller, count: int) -> tuple[float, float]:
    """Wall and process-CPU milliseconds per request over ``count`` sequential requests."""
    wall = time.perf_counter()
    cpu = time.process_time()
    for _ in range(count):
        await caller()
    return (
        (time.perf_counter() - wall) * 1000 / count,
        (time.process_time() - cpu) * 1000 / count,
    )


def profile_text(profiler: cProfile.Profile, top: int) -> str:
    """The ``top`` functions by cumulative time and by own time."""
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.strip_dirs()
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


async def run(options: argparse.Namespace) -> dict[str, Any]:
    """Seed, then measure both apps in alternating rounds; optionally profile."""
    os.environ.setdefault("BENCH_TICKETS", str(options.tickets))
    import bare_schema  # after BENCH_TICKETS is set: it builds its store on import

    body = json.dumps({"query": LIST_QUERY, "variables": {"first": options.page_size}}).encode()
    async with bench_database(options.database_url) as url:
        backend = "postgres" if url.startswith("asyncpg://") else "sqlite"
        log(f"seeding {options.tickets} tickets on {backend} ...")
        token = await seed(url, SeedShape(tickets=options.tickets))
        app = create_app(Settings(), plugins=(), database_url=url)
        async with app.router.lifespan_context(app):
            helpline = Caller(app, body, {"Authorization": f"Bearer {token}"})
            bare = Caller(bare_schema.app, body, {})
            for caller in (helpline, bare):
                for _ in range(options.warmup):
                    await caller()
            with count_statements() as statements:
                await helpline()
            log(f"{len(statements)} SQL statements per request")
            figures: dict[str, list[tuple[float, float]]] = {"helpline": [], "bare": []}
            for round_index in range(options.rounds):
                figures["helpline"].append(await timed(helpline, options.requests))
                figures["bare"].append(await timed(bare, options.requests))
                h, b = figures["helpline"][-1], figures["bare"][-1]
                log(
                    f"  round {round_index + 1}: helpline {h[0]:.2f} ms ({h[1]:.2f} CPU), "
                    f"bare {b[0]:.2f} ms ({b[1]:.2f} CPU)"
                )
            profiles: dict[str, str] = {}
            if options.profile:
                for name, caller in (("helpline", helpline), ("bare", bare)):
                    if name == "bare" and not options.profile_bare:
                        continue
                    profiler = cProfile.Profile()
                    profiler.enable()
                    for _ in range(options.profile_requests):
                        await caller()
                    profiler.disable()
                    profiles[name] = profile_text(profiler, options.top)

    def summary(name: str) -> dict[str, float]:
        walls = [wall for wall, _cpu in figures[name]]
        cpus = [cpu for _wall, cpu in figures[name]]
        return {
            "wall_ms_median": statistics.median(walls),
            "wall_ms_best": min(walls),
            "cpu_ms_median": statistics.median(cpus),
            "cpu_ms_best": min(cpus),
        }

    return {
        "backend": backend,
        "tickets": options.tickets,
        "page_size": options.page_size,
        "statements": list(statements),
        "helpline": summary("helpline"),
        "bare": summary("bare"),
        "rounds": figures,
        "profiles": profiles,
    }


def format_report(report: dict[str, Any]) -> str:
    """The human-readable summary (and profiles, when taken)."""
    h, b = report["helpline"], report["bare"]
    lines = [
        f"in-process list {report['page_size']}, {report['backend']}, {report['tickets']} tickets "
        f"(median of rounds; best in brackets)",
        f"  helpline: {h['wall_ms_median']:.2f} ms wall ({h['wall_ms_best']:.2f}), "
        f"{h['cpu_ms_median']:.2f} ms CPU ({h['cpu_ms_best']:.2f})",
        f"  bare:     {b['wall_ms_median']:.2f} ms wall ({b['wall_ms_best']:.2f}), "
        f"{b['cpu_ms_median']:.2f} ms CPU ({b['cpu_ms_best']:.2f})",
        f"  helpline - bare: {h['wall_ms_median'] - b['wall_ms_median']:.2f} ms wall, "
        f"{h['cpu_ms_median'] - b['cpu_ms_median']:.2f} ms CPU; "
        f"bare / helpline (wall) = {b['wall_ms_median'] / h['wall_ms_median']:.2f}",
        f"  SQL statements per request: {len(report['statements'])}",
    ]
    lines.extend(f"    {' '.join(sql.split())[:200]}" for sql in report["statements"])
    for name, text in report["profiles"].items():
        lines += ["", f"=== profile: {name} ===", text]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse options, run, print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--database-url", help="as bench_api.py: postgres://... or sqlite://PATH (default: temp SQLite)"
    )
    parser.add_argument("--tickets", type=int, default=10_000, help="tickets to seed (10000)")
    parser.add_argument("--page-size", type=int, default=50, help="first: of the list query (50)")
    parser.add_argument("--requests", type=int, default=300, help="requests per app per round (300)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (5)")
    parser.add_argument("--warmup", type=int, default=50, help="unmeasured requests per app first (50)")
    parser.add_argument("--profile", action="store_true", help="cProfile Helpline requests after measuring")
    parser.add_argument("--profile-bare", action="store_true", help="with --profile: the bare app as well")
    parser.add_argument("--profile-requests", type=int, default=300, help="requests profiled (300)")
    parser.add_argument("--top", type=int, default=35, help="functions listed per profile table (35)")
    parser.add_argument("--json", action="store_true", help="JSON on stdout")
    options = parser.parse_args(argv)
    runner: Callable[[Any], Any] = asyncio.run
    with contextlib.suppress(ImportError):
        import uvloop

        runner = uvloop.run  # as uvicorn runs the servers
    report = runner(run(options))
    print(json.dumps(report, indent=2) if options.json else format_report(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
