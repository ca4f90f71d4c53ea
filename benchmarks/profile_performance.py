"""Profile the monthly performance report on SQLite per statement, with and without connection pragmas.

Seeds (once, kept in ``--path``) the same data as ``bench_performance.py`` and then, in separate
child processes alternating between the variants (so a change of load hits each alike), runs the
monthly report grouped by team and prints, per variant, the best process CPU and wall time of the
whole report and of each of its statements (created population, solved population, backlog),
plus ``EXPLAIN QUERY PLAN`` of each statement once. Variants are ``name=URL query`` pairs, e.g.::

    .venv/bin/python benchmarks/profile_performance.py --size 1000000 --path /tmp/perf1m.db \
        --variant "tortoise=cache_size=-2000&mmap_size=0" --variant "helpline="

(``helpline=``: the core's own settings; a query string overrides them for that variant.)
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
import time
from typing import Any

from helpline.core.db import connection, open_database
from helpline.core.plugins import load_plugins
from helpline.plugins.performance.report import Report, ReportRequest

MONTH = ReportRequest(first=dt.date(2026, 6, 1), last=dt.date(2026, 6, 30), timezone="Europe/Paris", group_by=("team",))


async def seed_file(path: str, size: int) -> None:
    """Create ``path`` with ``size`` tickets (bench_performance's seed)."""
    sys.path.insert(0, os.path.dirname(__file__))
    from bench_performance import seed  # the benchmark's own data, so figures compare

    async with open_database(load_plugins(["performance"]), f"sqlite://{path}", global_fallback=False):
        started = time.perf_counter()
        await seed(size)
        print(f"seeded {size:,} tickets in {time.perf_counter() - started:.1f} s", flush=True)


async def child(url: str, repeat: int, explain: bool) -> dict[str, Any]:
    """Run the report ``repeat`` times; best CPU/wall per statement and for the whole report."""
    statements: list[tuple[str, float, float]] = []
    plans: list[tuple[str, list[str]]] = []
    async with open_database(load_plugins(["performance"]), url, global_fallback=False):
        db = connection()
        original = db.execute_query

        async def timed_query(query: str, values: Any = None) -> Any:
            started, started_cpu = time.perf_counter(), time.process_time()
            result = await original(query, values)
            statements.append((query, time.perf_counter() - started, time.process_time() - started_cpu))
            return result

        pragmas = {}
        for name in ("cache_size", "mmap_size", "temp_store", "journal_mode", "synchronous"):
            pragmas[name] = (await original(f"PRAGMA {name}"))[1][0][0]
        db.execute_query = timed_query  # type: ignore[method-assign]
        best: dict[str, list[float]] = {}
        for _ in range(repeat):
            statements.clear()
            started, started_cpu = time.perf_counter(), time.process_time()
            await Report(MONTH).rows(with_business=False)
            whole = (time.perf_counter() - started, time.process_time() - started_cpu)
            names = ["created", "solved", "backlog"]
            for name, (_query, wall, cpu) in zip(["report", *names], [("", *whole), *statements], strict=False):
                previous = best.get(name)
                if previous is None or cpu < previous[1]:
                    best[name] = [wall, cpu]
        if explain:
            for name, (query, _wall, _cpu) in zip(["created", "solved", "backlog"], statements, strict=False):
                rows = (await original(f"EXPLAIN QUERY PLAN {query}", _params_of(query)))[1]
                plans.append((name, [f"{row['id']}<{row['parent']} {row['detail']}" for row in rows]))
        db.execute_query = original  # type: ignore[method-assign]
    return {"best": best, "plans": plans, "pragmas": pragmas}


def _params_of(query: str) -> list[Any]:
    """The parameters of a report statement of MONTH: the period's two bounds (no filter), if any."""
    slices = Report(MONTH).slices
    return [slices[0].start_us, slices[-1].end_us][: query.count("?")]


def main() -> None:
    """Seed once, then alternate the variants in child processes and print their best figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--path", required=True)
    parser.add_argument("--repeat", type=int, default=5, help="reports per child process")
    parser.add_argument("--rounds", type=int, default=3, help="child processes per variant, alternating")
    parser.add_argument("--variant", action="append", default=[], help="name=URL query (repeatable)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--explain", action="store_true")
    arguments = parser.parse_args()
    if arguments.child:
        print(json.dumps(asyncio.run(child(arguments.child, arguments.repeat, arguments.explain))))
        return
    if not os.path.exists(arguments.path):
        asyncio.run(seed_file(arguments.path, arguments.size))
    variants = [item.split("=", 1) for item in arguments.variant or ["helpline="]]
    results: dict[str, list[dict[str, Any]]] = {name: [] for name, _query in variants}
    for round_number in range(arguments.rounds):
        for name, query in variants:
            url = f"sqlite://{arguments.path}" + (f"?{query}" if query else "")
            explain = arguments.explain and round_number == 0 and name == variants[0][0]  # plans once
            command = [
                sys.executable,
                __file__,
                "--path",
                arguments.path,
                "--child",
                url,
                "--repeat",
                str(arguments.repeat),
            ]
            output = subprocess.run(
                command + (["--explain"] if explain else []), capture_output=True, text=True, check=True
            ).stdout
            result = json.loads(output.strip().splitlines()[-1])
            results[name].append(result)
            load = os.getloadavg()[0]
            figures = "  ".join(
                f"{key} {cpu * 1000:6.0f}/{wall * 1000:6.0f}" for key, (wall, cpu) in result["best"].items()
            )
            print(f"round {round_number} {name:<10} cpu/wall ms: {figures}   load {load:.2f}", flush=True)
            if explain:
                print(f"  pragmas: {result['pragmas']}")
                for statement, plan in result["plans"]:
                    print(f"  {statement}:")
                    for line in plan:
                        print(f"    {line}")
    print("best over rounds (cpu / wall ms):")
    for name, runs in results.items():
        keys = runs[0]["best"].keys()
        best = {key: min(run["best"][key] for run in runs) for key in keys}
        walls = {key: min(run["best"][key][0] for run in runs) for key in keys}
        print(
            f"  {name:<10} " + "  ".join(f"{key} {best[key][1] * 1000:6.0f} / {walls[key] * 1000:6.0f}" for key in keys)
        )


if __name__ == "__main__":
    main()
