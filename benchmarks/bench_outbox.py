"""Outbox throughput: effects delivered per second to a local HTTP receiver, against direct POSTs.

For each database (SQLite in a temporary folder, and PostgreSQL when ``--database-url`` names one):

1. **baseline**: the same POSTs the handler sends, sent directly (no database), with the same
   client and the same concurrency (``--batch-size`` in flight): what HTTP alone allows here;
2. **enqueue**: ``--effects`` effects written with :func:`helpline.core.outbox.enqueue`,
   ``--per-transaction`` to a transaction (not part of the delivery figure);
3. **outbox**: a :class:`helpline.core.outbox.Dispatcher` delivers them all: claim a batch, POST
   each effect (``Idempotency-Key`` header) concurrently, record the outcomes; repeated until none
   is due. The receiver must have seen every key exactly once.

The receiver (``outbox_receiver.py``) runs under uvicorn in another process. Run from the
repository root with the virtualenv's Python::

    .venv/bin/python benchmarks/bench_outbox.py
    .venv/bin/python benchmarks/bench_outbox.py --database-url postgres://postgres@127.0.0.1:5432/test
    .venv/bin/python benchmarks/bench_outbox.py --check   # exit 1 below 1,000 effects/s
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import httpx

from helpline import DeliveryHandler, hookimpl
from helpline.config import Settings
from helpline.core.db import open_database, transaction
from helpline.core.enums import EffectStatus
from helpline.core.models import OutboxEffect
from helpline.core.outbox import Dispatcher, Effect, collect_handlers, enqueue
from helpline.core.plugins import load_plugins
from helpline.core.runtime import Runtime
from helpline.testing import throwaway_postgres_schema

HERE = Path(__file__).resolve().parent
KIND = "bench.webhook"
TARGET = 1_000.0  # effects per second, from the issue


def free_port() -> int:
    """A loopback port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.asynccontextmanager
async def receiver_process() -> AsyncIterator[str]:
    """Start the receiver under uvicorn (httptools, no access log); yield its base URL."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("HELPLINE_")}
    command = ["-m", "uvicorn", "--app-dir", str(HERE), "outbox_receiver:app", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--no-access-log", "--log-level", "warning"]
    process = await asyncio.create_subprocess_exec(sys.executable, *command, env=env, stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=2.0) as http:
            deadline = time.monotonic() + 60
            while True:
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/stats")).status_code == 200:
                        break
                if process.returncode is not None or time.monotonic() > deadline:
                    raise RuntimeError("the receiver did not start")
                await asyncio.sleep(0.1)
        yield base
    finally:
        process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            process.kill()
            await process.wait()


class BenchWebhooks:
    """The handler under test: POST the payload with the idempotency key; non-2xx fails.

    It uses aiohttp: httpx, fine for tests, managed 250-860 POSTs/s on this machine, so it would
    measure the client rather than the outbox.
    """

    helpline_plugin_name = "bench"

    def __init__(self) -> None:
        self.http: aiohttp.ClientSession | None = None
        self.url = ""

    async def deliver(self, effect: Effect) -> None:
        assert self.http is not None
        async with self.http.post(
            self.url, json=effect.payload, headers={"Idempotency-Key": effect.idempotency_key}
        ) as response:
            response.raise_for_status()
            await response.read()

    @hookimpl
    def helpline_register_delivery(self) -> DeliveryHandler:
        return DeliveryHandler(KIND, self.deliver)


async def _stats(http: httpx.AsyncClient, base: str) -> dict[str, int]:
    return (await http.get(f"{base}/stats")).json()  # type: ignore[no-any-return]


async def measure(database_url: str, label: str, base: str, args: argparse.Namespace) -> dict[str, Any]:
    """The three phases on one database; figures in effects (or requests) per second."""
    plugin = BenchWebhooks()
    plugins = load_plugins([], extra=[plugin])
    settings = Settings(run_jobs_in_process=False, outbox_batch_size=args.batch_size)
    runtime = Runtime(settings=settings, plugins=plugins)
    connector = aiohttp.TCPConnector(limit=args.batch_size)
    async with (
        open_database(plugins, database_url, global_fallback=False),
        aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session,
        httpx.AsyncClient(timeout=30.0) as http,  # the receiver's /stats and /reset
    ):
        plugin.http, plugin.url = session, f"{base}/hook"
        n = args.effects

        # 1. baseline: direct POSTs, batch_size in flight, the same handler code.
        await http.post(f"{base}/reset")
        started = time.perf_counter()
        for start in range(0, n, args.batch_size):
            batch = [
                Effect(i, KIND, {"n": i}, f"direct:{i}", 1, runtime.clock.now())
                for i in range(start, min(n, start + args.batch_size))
            ]
            await asyncio.gather(*(plugin.deliver(effect) for effect in batch))
        direct_seconds = time.perf_counter() - started
        direct = await _stats(http, base)

        # 2. enqueue, in transactions as event hooks would.
        started = time.perf_counter()
        for start in range(0, n, args.per_transaction):
            async with transaction():
                for i in range(start, min(n, start + args.per_transaction)):
                    await enqueue(KIND, {"n": i, "ticket": 1000 + i, "event": "ticket_created"})
        enqueue_seconds = time.perf_counter() - started

        # 3. the outbox: a dispatcher delivers until nothing is due.
        await http.post(f"{base}/reset")
        dispatcher = Dispatcher(runtime, collect_handlers(runtime), name=f"bench-{label}")
        started = time.perf_counter()
        failures = 0
        while True:
            outcome = await dispatcher.deliver_due()
            failures += len(outcome.retrying) + len(outcome.dead)
            if outcome.claimed == 0:
                break
        outbox_seconds = time.perf_counter() - started
        seen = await _stats(http, base)
        delivered = await OutboxEffect.filter(status=EffectStatus.DELIVERED).count()
    return {
        "database": label,
        "effects": n,
        "direct_per_second": round(n / direct_seconds),
        "direct_received": direct["received"],
        "enqueue_per_second": round(n / enqueue_seconds),
        "outbox_per_second": round(n / outbox_seconds),
        "outbox_vs_direct": round(direct_seconds / outbox_seconds, 2),
        "received": seen["received"],
        "distinct_keys": seen["distinct"],
        "recorded_delivered": delivered,
        "failures": failures,
    }


def measure_in_child(database_url: str, label: str, base: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run :func:`measure` in a fresh Python process: Tortoise caches each model's SQL for the first
    database dialect a process uses, so SQLite and PostgreSQL cannot share one process."""
    command = [sys.executable, __file__, "--effects", str(args.effects), "--batch-size", str(args.batch_size)]
    command += ["--per-transaction", str(args.per_transaction), "--child", database_url, label, base]
    done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(done.stdout)  # type: ignore[no-any-return]


async def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Measure SQLite, then PostgreSQL when asked, against one receiver process."""
    results = []
    async with receiver_process() as base:
        with tempfile.TemporaryDirectory(prefix="bench-outbox-") as folder:
            print("measuring SQLite ...", file=sys.stderr)
            results.append(
                await asyncio.to_thread(measure_in_child, f"sqlite://{folder}/bench.db", "sqlite", base, args)
            )
        if args.database_url:
            print("measuring PostgreSQL ...", file=sys.stderr)
            async with throwaway_postgres_schema(args.database_url, prefix="bench") as url:
                results.append(await asyncio.to_thread(measure_in_child, url, "postgres", base, args))
    return results


def main(argv: list[str] | None = None) -> int:
    """Parse options, run, print a table (or JSON); with ``--check``, exit 1 below the target."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--effects", type=int, default=20_000, help="effects to deliver (default 20000)")
    parser.add_argument("--batch-size", type=int, default=100, help="outbox_batch_size and POSTs in flight (100)")
    parser.add_argument("--per-transaction", type=int, default=100, help="effects enqueued per transaction (100)")
    parser.add_argument("--database-url", help="also measure on this PostgreSQL database (a throwaway schema)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--check", action="store_true", help=f"exit 1 below {TARGET:,.0f} effects/s or on a loss")
    parser.add_argument("--child", nargs=3, metavar=("URL", "LABEL", "RECEIVER"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:  # one database, measured in this process; JSON on stdout for the parent
        print(json.dumps(asyncio.run(measure(*args.child, args))))
        return 0
    results = asyncio.run(run(args))
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(f"{args.effects:,} effects, {args.batch_size} per batch / in flight, {os.cpu_count()} CPUs")
        print(
            f"{'database':<10} {'direct POST/s':>14} {'outbox eff/s':>13} {'outbox/direct':>14} {'enqueue/s':>10}  check"
        )
        for result in results:
            intact = result["distinct_keys"] == result["received"] == result["recorded_delivered"] == result["effects"]
            print(
                f"{result['database']:<10} {result['direct_per_second']:>14,} {result['outbox_per_second']:>13,} "
                f"{result['outbox_vs_direct']:>14.2f} {result['enqueue_per_second']:>10,}  "
                f"{'every key once' if intact else 'MISMATCH ' + json.dumps(result)}"
            )
    ok = all(
        result["outbox_per_second"] >= TARGET
        and result["distinct_keys"] == result["received"] == result["recorded_delivered"] == result["effects"]
        for result in results
    )
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
