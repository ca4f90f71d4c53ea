"""Writes beside saturating reads: one client creating tickets while N clients list 50-ticket pages.

Fairness, not speed: on one uvicorn worker at 100% CPU, how many ``createTicket`` mutations get
through (and their median latency) while ``--readers`` clients send ``bench_api``'s list request
back to back, and how many lists. With ``--baseline PATH`` (a checkout of another commit, e.g.
``git worktree add /tmp/base b572a01``) the same load runs against that code too, in alternating
runs on copies of one seeded database, so the two are side by side in the same run. The baseline
is imported from PATH with this virtual environment's packages.

Run from the repository root::

    .venv/bin/python benchmarks/bench_mixed.py --readers 0,4,8 --baseline /tmp/base

Every server gets a fresh copy of the seeded SQLite file. Not a test: pytest never collects it.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_api import CREATE_MUTATION, LIST_QUERY, SeedShape, log, seed, uvicorn_server

ROOT = Path(__file__).resolve().parents[1]


@dataclasses.dataclass
class Outcome:
    """What one run got through in its time."""

    writes: int
    write_p50_ms: float
    reads: int


async def drive(url: str, token: str, readers: int, seconds: float) -> Outcome:
    """One writer and ``readers`` readers, back to back, for ``seconds``; every answer is checked."""
    headers = {"Authorization": f"Bearer {token}"}
    stop = time.monotonic() + seconds
    write_times: list[float] = []
    reads = 0
    limits = httpx.Limits(max_connections=readers + 2)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:

        async def writer() -> None:
            number = 0
            while time.monotonic() < stop:
                number += 1
                started = time.perf_counter()
                variables = {"input": {"subject": f"mixed load {number}", "description": "written under load"}}
                response = await client.post(
                    url, json={"query": CREATE_MUTATION, "variables": variables}, headers=headers
                )
                body = response.json()
                if "errors" in body or body["data"]["createTicket"]["userErrors"]:
                    raise RuntimeError(f"createTicket failed: {response.text[:300]}")
                write_times.append(time.perf_counter() - started)

        async def reader() -> None:
            nonlocal reads
            while time.monotonic() < stop:
                response = await client.post(
                    url, json={"query": LIST_QUERY, "variables": {"first": 50}}, headers=headers
                )
                if "errors" in response.json():
                    raise RuntimeError(f"list failed: {response.text[:300]}")
                reads += 1

        await asyncio.gather(writer(), *(reader() for _ in range(readers)))
    return Outcome(len(write_times), statistics.median(write_times) * 1000, reads)


async def run_server(code: Path, database: Path, token: str, readers: int, seconds: float) -> Outcome:
    """Serve ``database`` with the Helpline found in ``code`` (core plugin only) and drive it."""
    env = {"HELPLINE_DATABASE_URL": f"sqlite://{database}", "HELPLINE_PLUGINS": "core", "PYTHONPATH": str(code)}
    app = ["--factory", "helpline.app:create_app"]
    async with uvicorn_server("helpline", app, env, database.parent) as server:
        return await drive(server.url, token, readers, seconds)


def copy_database(source: Path, target: Path) -> None:
    """The seeded file (and its WAL, if any) as a fresh database at ``target``."""
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{source}{suffix}").exists():
            shutil.copy(f"{source}{suffix}", f"{target}{suffix}")


def remove_database(database: Path) -> None:
    """The file and its WAL companions."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)


async def main_async(options: argparse.Namespace, codes: list[tuple[str, Path]]) -> None:
    """Seed once, then alternate the servers (``codes``: name and checkout) for every reader count."""
    with tempfile.TemporaryDirectory(prefix="helpline-mixed-") as folder:
        seeded = Path(folder) / "seed.db"
        log(f"seeding {options.tickets} tickets ...")
        token = await seed(f"sqlite://{seeded}", SeedShape(tickets=options.tickets))
        print(
            f"{'readers':>7}  {'code':<14} {'writes':>7} {'write p50 ms':>13} {'lists':>7}  ({options.seconds:.0f} s each)"
        )
        for readers in (int(value) for value in options.readers.split(",")):
            for _repeat in range(options.repeat):
                for name, code in codes:
                    database = Path(folder) / "run.db"
                    copy_database(seeded, database)
                    outcome = await run_server(code, database, token, readers, options.seconds)
                    print(
                        f"{readers:>7}  {name:<14} {outcome.writes:>7} {outcome.write_p50_ms:>13.0f} {outcome.reads:>7}",
                        flush=True,
                    )
                    remove_database(database)


def main() -> None:
    """Parse options and run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--readers", default="0,4,8", help="reader counts, comma-separated (0,4,8)")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each run (10)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per reader count and code (1)")
    parser.add_argument("--tickets", type=int, default=10_000, help="tickets to seed (10000)")
    parser.add_argument("--baseline", help="a checkout of other code to run side by side")
    options = parser.parse_args()
    codes = [("this checkout", ROOT)]
    if options.baseline:
        codes.insert(0, ("baseline", Path(options.baseline).resolve()))
    asyncio.run(main_async(options, codes))


if __name__ == "__main__":
    main()
