"""Periodic jobs contributed by plugins, and the loop that runs them (``helpline worker``).

Every job has a row in ``helpline_job_state``. A worker runs a job only after claiming it with one
conditional UPDATE (due, and not leased by anyone else), which is atomic on SQLite and PostgreSQL
alike: any number of workers may poll, and each due run happens once. A run that raises is logged
with its plugin's name and tried again at its next interval; it never stops the other jobs.
All times come from the runtime's clock, so tests move time instead of sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import inspect
import logging
import os
import socket
import uuid

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q

from helpline.core.contributions import PeriodicJob
from helpline.core.errors import PluginLoadError
from helpline.core.models import JobState
from helpline.core.runtime import Runtime

logger = logging.getLogger("helpline.jobs")
MAX_ERROR_LENGTH = 2_000


@dataclasses.dataclass(frozen=True)
class RegisteredJob:
    """A plugin's job under its stored name, ``<plugin>.<job>``."""

    plugin: str
    job: PeriodicJob

    @property
    def name(self) -> str:
        """The name the job's state is stored under."""
        return f"{self.plugin}.{self.job.name}"


def collect_jobs(runtime: Runtime) -> list[RegisteredJob]:
    """Every enabled plugin's periodic jobs; a bad or duplicate one stops start-up naming its plugin."""
    jobs: dict[str, RegisteredJob] = {}
    for contributed in runtime.plugins.collect("helpline_register_periodic"):
        job = contributed.value
        if not isinstance(job, PeriodicJob):
            raise PluginLoadError(f"plugin {contributed.plugin!r}: helpline_register_periodic must return PeriodicJob")
        if job.interval_seconds <= 0 or job.lease_seconds <= 0 or not job.name.strip():
            raise PluginLoadError(
                f"plugin {contributed.plugin!r}: job {job.name!r} needs a name and positive interval and lease"
            )
        registered = RegisteredJob(contributed.plugin, job)
        if registered.name in jobs:
            raise PluginLoadError(f"plugin {contributed.plugin!r} registers the job {job.name!r} twice")
        jobs[registered.name] = registered
    return list(jobs.values())


def worker_name() -> str:
    """A name for this worker in the job table: host, process and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


async def _states(jobs: list[RegisteredJob], now: dt.datetime) -> dict[str, JobState]:
    """Every job's state row, creating the missing ones (a new job is due at once)."""
    states = {state.name: state for state in await JobState.filter(name__in=[job.name for job in jobs])}
    for job in jobs:
        if job.name not in states:
            with contextlib.suppress(IntegrityError):  # another worker created it first
                await JobState.create(name=job.name, next_run_at=now)
            states[job.name] = JobState(name=job.name, next_run_at=now)
    return states


def _available_at(state: JobState, job: RegisteredJob, now: dt.datetime) -> dt.datetime:
    """When to look at a job again: when it is due, or, while another worker holds its lease, when
    that worker's run could have ended and made it due again (start + interval), else at the lease's
    end. Waiting for the whole lease would leave every next run to the holder (it re-claims first)."""
    if state.locked_until is None or state.locked_until <= now:
        return state.next_run_at
    if state.last_started_at is not None:
        earliest_next = state.last_started_at + dt.timedelta(seconds=job.job.interval_seconds)
        if now < earliest_next < state.locked_until:
            return earliest_next
    return state.locked_until


async def _claim(job: RegisteredJob, worker: str, now: dt.datetime) -> bool:
    lease_end = now + dt.timedelta(seconds=job.job.lease_seconds)
    claimed = await JobState.filter(
        Q(locked_until__isnull=True) | Q(locked_until__lte=now), name=job.name, next_run_at__lte=now
    ).update(locked_until=lease_end, locked_by=worker, last_started_at=now)
    return claimed == 1


async def _finish(job: RegisteredJob, worker: str, runtime: Runtime, error: BaseException | None) -> None:
    finished = runtime.clock.now()
    values: dict[str, object] = {
        "locked_until": None,
        "locked_by": "",
        "last_finished_at": finished,
        "next_run_at": finished + dt.timedelta(seconds=job.job.interval_seconds),
        "runs": F("runs") + 1,
    }
    if error is None:
        values["last_error"] = None
    else:
        values["last_error"] = f"{type(error).__name__}: {error}"[:MAX_ERROR_LENGTH]
        values["failures"] = F("failures") + 1
    # Only the holder releases: after an expired lease another worker may hold the job now.
    await JobState.filter(name=job.name, locked_by=worker).update(**values)


async def run_job(job: RegisteredJob, runtime: Runtime) -> BaseException | None:
    """Run one job once; return what it raised (logged with its plugin's name), or ``None``."""
    try:
        result = job.job.run(runtime)
        if inspect.isawaitable(result):
            await result
    except Exception as exc:
        logger.error("job %s of plugin %r failed", job.name, job.plugin, exc_info=exc)
        return exc
    return None


async def run_due_jobs(
    runtime: Runtime, jobs: list[RegisteredJob], worker: str, stop: asyncio.Event | None = None
) -> list[str]:
    """Claim and run every job that is due now; return the names of those this worker ran.

    Only jobs whose row says they are due and free are tried, so a poll with nothing to do costs one
    SELECT; the conditional UPDATE of the claim still decides. Once ``stop`` is set, no further job
    is claimed (the one in hand finishes).
    """
    if not jobs:
        return []
    now = runtime.clock.now()
    states = await _states(jobs, now)
    ran = []
    for job in jobs:
        if stop is not None and stop.is_set():
            break
        if _available_at(states[job.name], job, now) > now or not await _claim(job, worker, now):
            continue
        error = await run_job(job, runtime)
        await _finish(job, worker, runtime, error)
        ran.append(job.name)
    return ran


async def next_due(jobs: list[RegisteredJob], now: dt.datetime) -> dt.datetime | None:
    """When to look at ``jobs`` again (the earliest of their due times), or ``None`` without jobs.

    A job another worker holds is looked at when that run could have made it due again, or when its
    lease ends, so a worker neither polls in a tight loop meanwhile nor leaves all runs to the holder.
    """
    if not jobs:
        return None
    by_name = {job.name: job for job in jobs}
    states = await JobState.filter(name__in=list(by_name))
    return min((_available_at(state, by_name[state.name], now) for state in states), default=None)


async def work(runtime: Runtime, jobs: list[RegisteredJob], stop: asyncio.Event, max_wait_seconds: float = 5.0) -> None:
    """Run due jobs until ``stop`` is set, sleeping until the next one is due (at most ``max_wait_seconds``,
    so jobs added by other workers and clock changes are noticed)."""
    worker = worker_name()
    logger.info("worker %s runs %d job(s): %s", worker, len(jobs), ", ".join(job.name for job in jobs) or "none")
    while not stop.is_set():
        try:
            await run_due_jobs(runtime, jobs, worker, stop)
            due = await next_due(jobs, runtime.clock.now())
        except Exception:  # the database went away: keep the worker alive and try again
            logger.exception("worker %s could not poll its jobs", worker)
            due = None
        wait = max_wait_seconds
        if due is not None:
            wait = min(max_wait_seconds, max(0.0, (due - runtime.clock.now()).total_seconds()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=max(wait, 0.05))
