"""A plugin for the periodic jobs' end-to-end tests: one job that records each of its runs in a file.

The tests load it into real ``helpline worker`` processes through an entry point (``e2e_jobs``)
written into a temporary folder on ``PYTHONPATH``. Settings come from the environment:
``JOBS_E2E_LOG`` (the file), ``JOBS_E2E_RUN_SECONDS`` (how long a run takes, so overlapping runs
would show), ``JOBS_E2E_INTERVAL`` and ``JOBS_E2E_LEASE`` (seconds).

Each run appends ``start PID T`` when it begins and ``end PID T`` when it ends (``T``: seconds
since the epoch from the runtime's clock), each with one ``write`` to a file opened for appending,
so lines from several processes never mix and a killed process leaves its ``start`` behind.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from helpline import PeriodicJob, hookimpl


def _record(event: str, runtime: Any) -> None:
    line = f"{event} {os.getpid()} {runtime.clock.now().timestamp():.6f}\n"
    descriptor = os.open(os.environ["JOBS_E2E_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(descriptor, line.encode())
    finally:
        os.close(descriptor)


async def record_run(runtime: Any) -> None:
    """Record the start, take ``JOBS_E2E_RUN_SECONDS``, record the end."""
    _record("start", runtime)
    await asyncio.sleep(float(os.environ["JOBS_E2E_RUN_SECONDS"]))
    _record("end", runtime)


@hookimpl
def helpline_register_periodic() -> PeriodicJob:
    """The one recording job."""
    return PeriodicJob(
        "record",
        float(os.environ["JOBS_E2E_INTERVAL"]),
        record_run,
        lease_seconds=float(os.environ["JOBS_E2E_LEASE"]),
    )
