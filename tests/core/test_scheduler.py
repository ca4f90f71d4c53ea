"""Periodic jobs: due times from the clock, one run per due time across workers, failures isolated."""

import asyncio
import datetime as dt
import logging

import pytest

from helpline import PeriodicJob, hookimpl
from helpline.core.clock import FrozenClock
from helpline.core.errors import PluginLoadError
from helpline.core.models import JobState
from helpline.core.scheduler import collect_jobs, next_due, run_due_jobs
from helpline.testing import running_app


class Counting:
    """Two jobs: one every minute that counts its runs, one every hour that fails."""

    helpline_plugin_name = "counting"

    def __init__(self) -> None:
        self.runs = 0

    async def tick(self, runtime: object) -> None:
        await asyncio.sleep(0)  # yield, so concurrent workers would interleave here
        self.runs += 1

    @staticmethod
    def broken(runtime: object) -> None:
        raise RuntimeError("the mail server is down")

    @hookimpl
    def helpline_register_periodic(self) -> list[PeriodicJob]:
        return [PeriodicJob("tick", 60, self.tick), PeriodicJob("broken", 3600, self.broken)]


async def test_jobs_run_when_due_and_not_before(clock: FrozenClock) -> None:
    plugin = Counting()
    async with running_app(extra_plugins=[plugin], clock=clock) as client:
        jobs = collect_jobs(client.runtime)
        assert [job.name for job in jobs] == ["counting.tick", "counting.broken"]
        assert await run_due_jobs(client.runtime, jobs, "w1") == ["counting.tick", "counting.broken"]
        assert await run_due_jobs(client.runtime, jobs, "w1") == [], "nothing is due again yet"
        clock.advance(seconds=59)
        assert await run_due_jobs(client.runtime, jobs, "w1") == []
        clock.advance(seconds=1)
        assert await run_due_jobs(client.runtime, jobs, "w1") == ["counting.tick"]
        assert plugin.runs == 2
        state = await JobState.get(name="counting.tick")
        assert state.runs == 2 and state.locked_until is None and state.last_error is None


async def test_a_failing_job_is_logged_with_its_plugin_and_retried_next_interval(
    clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    plugin = Counting()
    async with running_app(extra_plugins=[plugin], clock=clock) as client:
        jobs = collect_jobs(client.runtime)
        with caplog.at_level(logging.ERROR, logger="helpline.jobs"):
            ran = await run_due_jobs(client.runtime, jobs, "w1")
        assert "counting.broken" in ran and plugin.runs == 1, "the failure did not stop the other job"
        assert "plugin 'counting'" in caplog.text and "the mail server is down" in caplog.text
        state = await JobState.get(name="counting.broken")
        assert state.failures == 1 and state.last_error == "RuntimeError: the mail server is down"
        assert state.locked_until is None
        clock.advance(minutes=59)
        assert "counting.broken" not in await run_due_jobs(client.runtime, jobs, "w1")
        clock.advance(minutes=1)
        assert "counting.broken" in await run_due_jobs(client.runtime, jobs, "w1")
        assert (await JobState.get(name="counting.broken")).failures == 2


async def test_two_workers_never_run_the_same_due_job_twice(clock: FrozenClock) -> None:
    plugin = Counting()
    async with running_app(extra_plugins=[plugin], clock=clock) as client:
        jobs = collect_jobs(client.runtime)
        for _ in range(5):
            first, second = await asyncio.gather(
                run_due_jobs(client.runtime, jobs, "worker-a"), run_due_jobs(client.runtime, jobs, "worker-b")
            )
            assert sorted(first + second).count("counting.tick") == 1, (first, second)
            clock.advance(minutes=1)
        assert plugin.runs == 5


async def test_a_crashed_workers_lease_expires(clock: FrozenClock) -> None:
    plugin = Counting()
    async with running_app(extra_plugins=[plugin], clock=clock) as client:
        jobs = [job for job in collect_jobs(client.runtime) if job.name == "counting.tick"]
        await run_due_jobs(client.runtime, jobs, "w1")
        clock.advance(minutes=1)
        # A worker claims the job and dies before finishing: its lease holds the job...
        await JobState.filter(name="counting.tick").update(
            locked_until=clock.now() + dt.timedelta(minutes=5),
            locked_by="dead-worker",
        )
        assert await run_due_jobs(client.runtime, jobs, "w2") == []
        # ...until the lease runs out.
        clock.advance(minutes=5)
        assert await run_due_jobs(client.runtime, jobs, "w2") == ["counting.tick"]


class BadJobs:
    helpline_plugin_name = "bad_jobs"

    @hookimpl
    def helpline_register_periodic(self) -> list[PeriodicJob]:
        return [PeriodicJob("x", 0, lambda runtime: None)]


async def test_a_job_without_a_positive_interval_stops_start_up(clock: FrozenClock) -> None:
    with pytest.raises(PluginLoadError, match="bad_jobs"):
        async with running_app(extra_plugins=[BadJobs()], clock=clock):
            pass


async def test_a_job_held_by_another_worker_is_looked_at_again_when_it_could_be_due(clock: FrozenClock) -> None:
    plugin = Counting()
    async with running_app(extra_plugins=[plugin], clock=clock) as client:
        jobs = [job for job in collect_jobs(client.runtime) if job.name == "counting.tick"]
        await run_due_jobs(client.runtime, jobs, "w1")
        assert await next_due(jobs, clock.now()) == clock.now() + dt.timedelta(minutes=1)
        clock.advance(minutes=1)
        started, lease_end = clock.now(), clock.now() + dt.timedelta(minutes=5)
        await JobState.filter(name="counting.tick").update(
            locked_until=lease_end, locked_by="busy-worker", last_started_at=started
        )
        # Due now, but held: other workers do not poll in a tight loop. They look again when the
        # holder's run could have made it due again (start + interval), so they race for that run...
        assert await next_due(jobs, clock.now()) == started + dt.timedelta(minutes=1)
        # ...and, if the holder still runs then, at the end of its lease.
        clock.advance(minutes=1, seconds=1)
        assert await next_due(jobs, clock.now()) == lease_end


async def test_once_stopped_a_worker_claims_no_further_job(clock: FrozenClock) -> None:
    stop = asyncio.Event()

    class Stopping:
        helpline_plugin_name = "stopping"

        @staticmethod
        def first(runtime: object) -> None:
            stop.set()  # SIGTERM arrives while this job runs

        @hookimpl
        def helpline_register_periodic(self) -> list[PeriodicJob]:
            return [PeriodicJob("first", 60, self.first), PeriodicJob("second", 60, lambda runtime: None)]

    async with running_app(extra_plugins=[Stopping()], clock=clock) as client:
        jobs = collect_jobs(client.runtime)
        assert await run_due_jobs(client.runtime, jobs, "w1", stop) == ["stopping.first"], "it finished, then stopped"
        assert (await JobState.get(name="stopping.second")).runs == 0
        assert await run_due_jobs(client.runtime, jobs, "w1") == ["stopping.second"], "still due for the next worker"
