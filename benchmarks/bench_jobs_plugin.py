"""The benchmark's plugin: ``BENCH_JOBS_COUNT`` trivial periodic jobs every ``BENCH_JOBS_INTERVAL`` seconds.

``bench_jobs.py`` loads it into a real ``helpline serve`` through an entry point written into a
temporary folder on ``PYTHONPATH``. The jobs do nothing, so what they cost is the scheduler's own
work: the poll, the claim and the release.
"""

from __future__ import annotations

import os
from typing import Any

from helpline import PeriodicJob, hookimpl


def nothing(runtime: Any) -> None:
    """A job with no work of its own."""


@hookimpl
def helpline_register_periodic() -> list[PeriodicJob]:
    """The trivial jobs."""
    count = int(os.environ.get("BENCH_JOBS_COUNT", "20"))
    interval = float(os.environ.get("BENCH_JOBS_INTERVAL", "1"))
    return [PeriodicJob(f"noop_{index:02d}", interval, nothing, lease_seconds=30) for index in range(count)]
