"""Benchmark: importing the ServiceNow log (UCI dataset 498, 141,712 updates) with every built-in plugin on.

For each database (an SQLite file, and PostgreSQL when ``--postgres URL`` is given) it creates a
fresh database, an admin, and runs the same code as ``helpline import servicenow-log``; it prints
updates per second (source rows replayed), the peak memory of the process (``ru_maxrss``), the
database size, and the memory after each tenth of the log (flat = streaming works).
``--profile`` prints where the time goes (cProfile, top functions by cumulative and own time, and
the most frequent SQL statement shapes; ``BENCH_PROFILE_OUT=FILE`` also saves the profile for pstats). ``--compare`` also runs each database row by row (each
row its own savepoint, the plugins' work written per row): the baseline for the batched replay.

    .venv/bin/python benchmarks/bench_import.py --postgres postgres://postgres@127.0.0.1:5432/test
    .venv/bin/python benchmarks/bench_import.py --path helpline/plugins/importer/data/servicenow_sample.csv.gz --profile

Each database runs in its own process, so the peak memory of one does not hide the other's.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import cProfile
import itertools
import json
import os
import pstats
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from helpline.config import Settings
from helpline.core.db import connection, is_postgres, open_database
from helpline.core.plugins import BUILTIN_PLUGINS, load_plugins
from helpline.core.runtime import Runtime
from helpline.core.tickets import ensure_counters
from helpline.plugins.importer.mapping import servicenow_mapping
from helpline.plugins.importer.service import import_file
from helpline.testing import count_statements, throwaway_postgres_schema

ROOT = Path(__file__).resolve().parents[1]
LOG = ROOT.parent / "shared" / "data" / "uci-incidents" / "incident_event_log.csv.gz"


def _shape(sql: str) -> str:
    """A statement without its values, to count statements by kind."""
    return re.sub(r"'[^']*'|\b\d+\b", "?", sql)[:150]


def peak_mb() -> float:
    """Peak resident memory of this process so far, in MB (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def resident_mb() -> float:
    """Resident memory of this process now, in MB (the peak only ever grows: a spike stays in it)."""
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _file_bytes(path: str) -> int:
    return sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))


async def database_bytes(url: str) -> int:
    """The database's size on disk."""
    if not is_postgres():
        return _file_bytes(url.removeprefix("sqlite://"))
    rows = await connection().execute_query_dict(
        "SELECT coalesce(sum(pg_total_relation_size(quote_ident(schemaname) || '.' || quote_ident(tablename))), 0) "
        "AS size FROM pg_tables WHERE schemaname = current_schema()"
    )
    return int(rows[0]["size"])


async def run_one(url: str, path: Path, batch_size: int, profile: bool, row_by_row: bool) -> dict[str, object]:
    """Import ``path`` into a fresh database at ``url``; return the figures."""
    plugins = load_plugins(list(BUILTIN_PLUGINS))
    settings = Settings(database_url=url)
    memory: list[float] = []
    resident: list[float] = []  # resident memory at each tenth, next to the peak so far
    async with open_database(plugins, url, create_schema=True, global_fallback=False):
        await ensure_counters()
        runtime = Runtime(settings=settings, plugins=plugins)
        from helpline.cli import bootstrap_admin

        await bootstrap_admin(runtime, "admin@example.com", "Admin", only_if_empty=True)
        marks: set[int] = set()
        clock: list[float] = []  # when each tenth was reached: the rate per tenth shows growth with size
        rows_in_all = [0]

        def progress(done: int, total: int) -> None:
            rows_in_all[0] = total
            tenth = done * 10 // max(total, 1)
            if tenth not in marks:
                marks.add(tenth)
                memory.append(round(peak_mb(), 1))
                resident.append(round(resident_mb(), 1))
                clock.append(time.perf_counter())

        profiler = cProfile.Profile() if profile else None
        started = time.perf_counter()
        cpu_started = time.process_time()  # this process's CPU, aiosqlite's thread included
        if profiler:
            profiler.enable()
        # Statements are only collected when profiling: the list would distort the peak memory.
        with count_statements() if profile else contextlib.nullcontext([]) as statements:
            outcome = await import_file(
                runtime,
                path,
                servicenow_mapping(),
                batch_size=batch_size,
                progress=progress,
                all_or_nothing=not row_by_row,
            )
        if profiler:
            profiler.disable()
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started
        size = await database_bytes(url)
    if profiler:
        if os.environ.get("BENCH_PROFILE_OUT"):  # for pstats: python -m pstats FILE
            profiler.dump_stats(os.environ["BENCH_PROFILE_OUT"])
        stats = pstats.Stats(profiler, stream=sys.stderr).strip_dirs()
        stats.sort_stats("cumulative").print_stats(45)
        stats.sort_stats("tottime").print_stats(30)
        shapes = collections.Counter(_shape(sql) for sql in statements)
        print(f"{len(statements)} statements; the most frequent shapes:", file=sys.stderr)
        for shape, count in shapes.most_common(40):
            print(f"{count:8d}  {shape}", file=sys.stderr)
    report = outcome.report
    return {
        "database": "postgresql" if url.startswith(("postgres", "asyncpg")) else "sqlite",
        "rows_read": outcome.read_rows,
        "updates_replayed": report.rows,
        "tickets": report.tickets_created,
        "skipped": report.skipped_total,
        "batches": report.batches,
        "batches_row_by_row": report.batches_row_by_row,
        "seconds": round(seconds, 1),
        "updates_per_second": round(report.rows / seconds),
        # CPU time moves less than wall time when other work shares the machine.
        "cpu_seconds": round(cpu_seconds, 1),
        "updates_per_cpu_second": round(report.rows / cpu_seconds),
        "peak_memory_mb": round(peak_mb(), 1),
        "memory_by_tenth_mb": memory,
        "resident_by_tenth_mb": resident,
        "updates_per_second_by_tenth": [
            round(rows_in_all[0] / 10 / (later - earlier)) for earlier, later in itertools.pairwise(clock)
        ],
        "database_mb": round(size / 1e6, 1),
        "sla_agreement": None if outcome.agreement is None else round(outcome.agreement.rate or 0, 3),
    }


async def child(database: str, path: Path, batch_size: int, profile: bool, row_by_row: bool) -> None:
    """Run one database's import (in this process) and print its figures as JSON."""
    if database == "sqlite":
        with tempfile.TemporaryDirectory(prefix="bench-import-") as folder:
            figures = await run_one(f"sqlite://{folder}/helpline.db", path, batch_size, profile, row_by_row)
    else:
        async with throwaway_postgres_schema(database, prefix="bench") as url:
            figures = await run_one(url, path, batch_size, profile, row_by_row)
    print(json.dumps(figures))


def main() -> None:
    """Run each database in a child process and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--path", type=Path, default=LOG)
    parser.add_argument("--postgres", help="PostgreSQL URL; also benchmark there")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--compare",
        action="store_true",
        help="also replay row by row (each row its own savepoint, the plugins' work written per row): the baseline",
    )
    parser.add_argument("--row-by-row", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        asyncio.run(child(args.child, args.path, args.batch_size, args.profile, args.row_by_row))
        return
    if not args.path.exists():
        sys.exit(f"no log at {args.path} (../shared/data is needed)")
    databases = ["sqlite"] + ([args.postgres] if args.postgres else [])
    ways = [False, True] if args.compare else [False]
    for database in databases:
        for row_by_row in ways:
            command = [sys.executable, __file__, "--child", database, "--path", str(args.path)]
            command += ["--batch-size", str(args.batch_size)] + (["--profile"] if args.profile else [])
            command += ["--row-by-row"] if row_by_row else []
            output = subprocess.run(command, check=True, capture_output=True, text=True)
            if args.profile:
                print(output.stderr[-20000:])
            figures = json.loads(output.stdout.strip().splitlines()[-1])
            figures["replay"] = "row by row" if row_by_row else "batched"
            print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
