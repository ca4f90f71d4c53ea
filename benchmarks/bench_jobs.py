"""Does running periodic jobs inside ``helpline serve`` slow its requests down? And what does a claim cost?

For each database (SQLite in a temporary folder, and PostgreSQL when ``--database-url`` names one):

1. two fresh databases, each with its first admin made by ``helpline init`` (its token is the
   one the load uses);
2. two real ``helpline serve`` processes, both loading ``bench_jobs_plugin.py`` (``--jobs`` trivial
   jobs every ``--interval`` seconds) through an entry point written into a temporary folder:
   **no jobs** runs with ``--no-jobs``, **jobs** runs the jobs in-process;
3. the CPU each server uses while idle for ``--idle-seconds`` (what the jobs cost on their own);
4. an authenticated ``{ viewer { name email } }`` query under steady load (``--concurrency`` in
   flight), the two servers measured in alternating rounds (``bench_api.run_interleaved``), so
   other load on the machine hits both alike: requests/s, p50, p99, server CPU per request;
5. how many job runs the jobs server made meanwhile (from ``helpline_job_state``), to show the
   jobs really ran;
6. the claim itself, in-process on the same database: the conditional UPDATE that wins a due job,
   the one that finds it held, the release after a run, and one idle poll of the loop (nothing due).

Run from the repository root with the virtualenv's Python::

    .venv/bin/python benchmarks/bench_jobs.py
    .venv/bin/python benchmarks/bench_jobs.py --database-url postgres://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from bench_api import (
    LoadSettings,
    Result,
    Scenario,
    Server,
    bench_database,
    free_port,
    log,
    percentile,
    run_interleaved,
)

from helpline.config import Settings
from helpline.core.clock import FrozenClock
from helpline.core.db import open_database
from helpline.core.models import JobState
from helpline.core.plugins import load_plugins
from helpline.core.runtime import Runtime
from helpline.core.scheduler import _claim, _finish, collect_jobs, next_due, run_due_jobs

HERE = Path(__file__).resolve().parent
HELPLINE = Path(sys.executable).parent / "helpline"
TOKEN = re.compile(r"^\s+(hl_[A-Za-z0-9_-]+)\s*$", re.MULTILINE)
QUERY = json.dumps({"query": "{ viewer { name email } }"}).encode()


def plugin_site(folder: Path) -> dict[str, str]:
    """Write an entry point for ``bench_jobs_plugin`` into ``folder``; return the child's ``PYTHONPATH``.

    The same mechanism the end-to-end tests use (tests/e2e/processes.py ``plugin_site``).
    """
    dist_info = folder / "helpline_bench_jobs-0.1.0.dist-info"
    dist_info.mkdir(parents=True, exist_ok=True)
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: helpline-bench-jobs\nVersion: 0.1.0\n")
    (dist_info / "entry_points.txt").write_text("[helpline.plugins]\nbench_jobs = bench_jobs_plugin\n")
    if str(folder) not in sys.path:  # this process times the claim with the same plugin
        sys.path.insert(0, str(folder))
    return {"PYTHONPATH": f"{folder}:{HERE}"}


def child_env(url: str, extra: dict[str, str]) -> dict[str, str]:
    """Our environment without ``HELPLINE_*``, plus the database and ``extra``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("HELPLINE_")}
    return {**env, "HELPLINE_DATABASE_URL": url, "HELPLINE_LOG_LEVEL": "WARNING", **extra}


def init_database(url: str, env: dict[str, str], workdir: Path) -> str:
    """``helpline init``: create the database and the first admin; return the admin's token."""
    done = subprocess.run(
        [str(HELPLINE), "init"], cwd=workdir, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    match = TOKEN.search(done.stdout)
    if done.returncode != 0 or match is None:
        raise SystemExit(f"helpline init failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return match.group(1)


@contextlib.asynccontextmanager
async def helpline_serve(name: str, args: list[str], env: dict[str, str], workdir: Path) -> AsyncIterator[Server]:
    """Run ``helpline serve ARGS`` on a free loopback port until the block ends (then SIGINT)."""
    port = free_port()
    log_path = workdir / f"{name}.log"
    with log_path.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            str(HELPLINE),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            *args,
            cwd=workdir,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    server = Server(name=name, process=process, url=f"http://127.0.0.1:{port}/graphql", log_path=log_path)
    try:
        deadline = time.monotonic() + 120
        async with httpx.AsyncClient(timeout=2.0) as client:
            while True:
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                        break
                if process.returncode is not None or time.monotonic() > deadline:
                    raise SystemExit(f"{name} did not start:\n{log_path.read_text(errors='replace')[-3000:]}")
                await asyncio.sleep(0.1)
        yield server
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()


async def job_runs(url: str) -> int:
    """How many runs the benchmark's jobs made so far (all servers on ``url``)."""
    async with open_database(load_plugins(None), url, create_schema=False, global_fallback=False):
        states = await JobState.filter(name__startswith="bench_jobs.")
        return sum(state.runs for state in states)


async def _timed(count: int, step: Callable[[int], Awaitable[Any]]) -> dict[str, float]:
    """Run ``step(i)`` ``count`` times; return p50, p99 and mean in milliseconds."""
    durations = []
    for index in range(count):
        started = time.perf_counter()
        await step(index)
        durations.append(time.perf_counter() - started)
    durations.sort()
    return {
        "p50_ms": percentile(durations, 0.5) * 1000,
        "p99_ms": percentile(durations, 0.99) * 1000,
        "mean_ms": sum(durations) / len(durations) * 1000,
    }


async def claim_costs(url: str, count: int) -> dict[str, dict[str, float]]:
    """Time the scheduler's statements in-process on ``url`` (whose job rows the jobs server made)."""
    plugins = load_plugins(None)
    clock = FrozenClock(dt.datetime.now(dt.UTC) + dt.timedelta(days=1))  # every job is due
    runtime = Runtime(settings=Settings(database_url=url), plugins=plugins, clock=clock)
    async with open_database(plugins, url, create_schema=False, global_fallback=False):
        jobs = [job for job in collect_jobs(runtime) if job.plugin == "bench_jobs"]
        job = jobs[0]

        async def win(index: int) -> None:
            clock.advance(days=1)  # due again, and any lease has passed
            assert await _claim(job, "bench", clock.now())

        async def lose(index: int) -> None:
            assert not await _claim(job, "other", clock.now())  # held by "bench" since the last win

        async def release(index: int) -> None:
            clock.advance(days=1)
            await _claim(job, "bench", clock.now())  # not timed: the release below is
            started = time.perf_counter()
            await _finish(job, "bench", runtime, None)
            release_times.append(time.perf_counter() - started)

        async def idle_poll(index: int) -> None:
            assert await run_due_jobs(runtime, jobs, "bench") == []  # nothing due: one SELECT
            await next_due(jobs, clock.now())  # and when to look again: one more

        costs = {"claim, wins": await _timed(count, win), "claim, held elsewhere": await _timed(count, lose)}
        release_times: list[float] = []
        await _timed(count, release)
        release_times.sort()
        costs["release after a run"] = {
            "p50_ms": percentile(release_times, 0.5) * 1000,
            "p99_ms": percentile(release_times, 0.99) * 1000,
            "mean_ms": sum(release_times) / len(release_times) * 1000,
        }
        await JobState.filter(name__in=[job.name for job in jobs]).update(
            next_run_at=clock.now() + dt.timedelta(days=365), locked_until=None
        )
        costs[f"idle poll of {len(jobs)} jobs (select + next due)"] = await _timed(count, idle_poll)
        return costs


async def bench_backend(base_url: str | None, args: argparse.Namespace) -> dict[str, Any]:
    """Everything for one database."""
    async with bench_database(base_url) as plain_url, bench_database(base_url) as jobs_url:
        backend = "postgres" if plain_url.startswith("asyncpg://") else "sqlite"
        with tempfile.TemporaryDirectory(prefix="helpline-bench-jobs-") as folder:
            workdir = Path(folder)
            extra = {
                **plugin_site(workdir / "site"),
                "BENCH_JOBS_COUNT": str(args.jobs),
                "BENCH_JOBS_INTERVAL": str(args.interval),
            }
            plain_env, jobs_env = child_env(plain_url, extra), child_env(jobs_url, extra)
            log(f"{backend}: helpline init x2 ...")
            plain_token = init_database(plain_url, plain_env, workdir)
            jobs_token = init_database(jobs_url, jobs_env, workdir)
            async with (
                helpline_serve("no-jobs", ["--no-jobs"], plain_env, workdir) as plain,
                helpline_serve("jobs", [], jobs_env, workdir) as jobs,
            ):
                log(f"{backend}: idle for {args.idle_seconds}s (CPU of each server) ...")
                before = {server.name: server.cpu_seconds() or 0.0 for server in (plain, jobs)}
                runs_before = await job_runs(jobs_url)
                await asyncio.sleep(args.idle_seconds)
                idle_cpu = {
                    server.name: ((server.cpu_seconds() or 0.0) - before[server.name]) / args.idle_seconds
                    for server in (plain, jobs)
                }
                runs_idle = await job_runs(jobs_url) - runs_before
                log(f"{backend}: {args.rounds} rounds alternating the two servers ...")
                load = LoadSettings(concurrency=args.concurrency, max_seconds=args.max_seconds)
                started_runs = await job_runs(jobs_url)
                started = time.perf_counter()
                results: list[Result] = await run_interleaved(
                    [
                        Scenario(
                            "serve --no-jobs",
                            plain,
                            lambda i: QUERY,
                            {"Authorization": f"Bearer {plain_token}"},
                            args.requests,
                        ),
                        Scenario(
                            f"serve + {args.jobs} jobs every {args.interval:g}s",
                            jobs,
                            lambda i: QUERY,
                            {"Authorization": f"Bearer {jobs_token}"},
                            args.requests,
                        ),
                    ],
                    args.warmup,
                    args.rounds,
                    load,
                )
                elapsed = time.perf_counter() - started
                runs_under_load = await job_runs(jobs_url) - started_runs
            log(f"{backend}: timing the claim statements ({args.claims} each) ...")
            costs = await claim_costs(jobs_url, args.claims)
    return {
        "backend": backend,
        "jobs": args.jobs,
        "interval_seconds": args.interval,
        "concurrency": args.concurrency,
        "idle_cpu_share": idle_cpu,
        "job_runs_while_idle": runs_idle,
        "job_runs_under_load": runs_under_load,
        "load_seconds": elapsed,
        "results": [dataclasses.asdict(result) for result in results],
        "claim_costs": costs,
    }


def format_report(report: dict[str, Any]) -> str:
    """A plain-text table per database."""
    lines = []
    for part in report["backends"]:
        lines.append(
            f"\n== {part['backend']}: {part['jobs']} jobs every {part['interval_seconds']:g}s, "
            f"{part['concurrency']} requests in flight =="
        )
        idle = part["idle_cpu_share"]
        lines.append(
            f"idle CPU: no-jobs {idle['no-jobs'] * 100:.1f}% of a core, jobs {idle['jobs'] * 100:.1f}% "
            f"({part['job_runs_while_idle']} job runs while idle, {part['job_runs_under_load']} "
            f"during the {part['load_seconds']:.0f}s of load, both servers' rounds included)"
        )
        lines.append(f"{'scenario':34} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'CPU ms/req':>11} {'errors':>7}")
        for result in part["results"]:
            cpu = result["server_cpu_ms_per_request"]
            lines.append(
                f"{result['scenario']:34} {result['requests_per_second']:8.0f} {result['p50_ms']:8.2f} "
                f"{result['p99_ms']:8.2f} {'-' if cpu is None else f'{cpu:.2f}':>11} {result['errors']:7d}"
            )
            lines.append(f"{'':34} per round req/s: {result['rounds_per_second']}")
        lines.append(f"{'statement':44} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8}")
        for name, cost in part["claim_costs"].items():
            lines.append(f"{name:44} {cost['p50_ms']:8.3f} {cost['p99_ms']:8.3f} {cost['mean_ms']:8.3f}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--database-url", help="also run on this PostgreSQL database (a throwaway schema)")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--requests", type=int, default=6000, help="per server, over all rounds")
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--max-seconds", type=float, default=60.0, help="per server, over all rounds")
    parser.add_argument("--idle-seconds", type=float, default=5.0)
    parser.add_argument("--claims", type=int, default=1000, help="timed statements of each kind")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures."""
    args = parse_args(argv)
    bases: list[str | None] = ([] if args.skip_sqlite else [None]) + ([args.database_url] if args.database_url else [])
    report = {"backends": [asyncio.run(bench_backend(base, args)) for base in bases]}
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
