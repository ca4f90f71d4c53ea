"""Periodic jobs across real ``helpline worker`` processes: two workers on one PostgreSQL database
never run a job at the same time and share its runs; a worker killed mid-run (SIGKILL) leaves the
job to the other once its lease has passed; SIGTERM lets a worker finish the run in hand.

The workers run the ``e2e_jobs`` test plugin (tests/e2e/jobs_plugin.py), loaded through an entry
point in a temporary folder on ``PYTHONPATH``. Its one job appends ``start``/``end`` lines (process
id and instant) to a file; the assertions are about the order of those events, never about how
long anything took.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from helpline import testing
from tests.e2e.processes import HELPLINE, ServerProcess, helpline_env, plugin_site, run_helpline

pytestmark = pytest.mark.e2e

WAIT = 90.0  # generous deadlines for a busy machine
READY_LINE = "Helpline worker:"
ON_POSTGRES = os.environ.get("HELPLINE_TEST_DATABASE_URL", "").startswith(("postgres://", "postgresql://"))
needs_postgres = pytest.mark.skipif(
    not ON_POSTGRES, reason="several worker processes on one database: set HELPLINE_TEST_DATABASE_URL to PostgreSQL"
)

Run = tuple[int, float, float | None]  # process id, start, end (None: the process died mid-run)


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    async with testing.test_database() as url:
        yield url


@pytest.fixture
def migrated(database_url: str, tmp_path: Path) -> str:
    """The database with every migration applied, so the workers start at once and alike."""
    done = run_helpline("migrate", cwd=tmp_path, env=helpline_env(database_url))
    assert done.returncode == 0, done.stdout + done.stderr
    return database_url


class Workers:
    """Start ``helpline worker`` processes running the recording job; kill all that remain on exit."""

    def __init__(self, database_url: str, folder: Path, run_seconds: float, interval: float, lease: float) -> None:
        self.log = folder / "runs.log"
        self.env = {
            **helpline_env(database_url, log_level="WARNING"),
            **plugin_site(folder / "site", "e2e_jobs", "tests.e2e.jobs_plugin"),
            "JOBS_E2E_LOG": str(self.log),
            "JOBS_E2E_RUN_SECONDS": str(run_seconds),
            "JOBS_E2E_INTERVAL": str(interval),
            "JOBS_E2E_LEASE": str(lease),
        }
        self.folder = folder
        self.processes: list[ServerProcess] = []

    def start(self) -> ServerProcess:
        """Start one worker and wait until it announces its jobs (its signal handlers are in place)."""
        worker = ServerProcess([str(HELPLINE), "worker"], cwd=self.folder, env=self.env)
        self.processes.append(worker)
        lines = worker.lines_until(lambda line: line.startswith(READY_LINE), timeout=WAIT)
        assert "e2e_jobs.record" in lines[-1], lines
        return worker

    def runs(self) -> list[Run]:
        """Every run so far, in the order they started."""
        if not self.log.exists():
            return []
        open_runs: dict[int, tuple[float, None]] = {}
        runs: list[Run] = []
        for line in self.log.read_text().splitlines():
            event, pid_text, instant_text = line.split()
            pid, instant = int(pid_text), float(instant_text)
            if event == "start":
                assert pid not in open_runs, f"process {pid} started a run inside its own run"
                open_runs[pid] = (instant, None)
            else:
                start, _ = open_runs.pop(pid)
                runs.append((pid, start, instant))
        runs += [(pid, start, None) for pid, (start, _) in open_runs.items()]
        return sorted(runs, key=lambda run: run[1])

    def wait_for(self, condition: object, what: str) -> list[Run]:
        """Poll the log until ``condition(runs)`` holds; return the runs."""
        deadline = time.monotonic() + WAIT
        while True:
            runs = self.runs()
            if condition(runs):  # type: ignore[operator]
                return runs
            if time.monotonic() > deadline:
                output = "\n".join(worker.describe() for worker in self.processes)
                raise AssertionError(f"gave up waiting for {what}; runs: {runs}\n{output}")
            time.sleep(0.05)


@contextlib.contextmanager
def workers(database_url: str, folder: Path, **timing: float) -> Iterator[Workers]:
    group = Workers(database_url, folder, **timing)
    try:
        yield group
    finally:
        for worker in group.processes:
            worker.kill()


def assert_never_concurrent(runs: list[Run]) -> None:
    """Each run started after the one before it had ended (runs sorted by start)."""
    for before, after in itertools.pairwise(runs):
        assert before[2] is not None and before[2] <= after[1], f"overlapping runs {before} and {after}: {runs}"


@needs_postgres
def test_two_workers_share_a_job_and_never_run_it_at_the_same_time(migrated: str, tmp_path: Path) -> None:
    # A run takes 0.3 s and is due every 0.5 s: two runs at once would show as overlapping lines.
    with workers(migrated, tmp_path, run_seconds=0.3, interval=0.5, lease=10) as group:
        first, second = group.start(), group.start()
        runs = group.wait_for(
            lambda runs: len([run for run in runs if run[2] is not None]) >= 12, "twelve finished runs"
        )
        assert first.stop(signal.SIGTERM) == 0, first.describe()
        assert second.stop(signal.SIGTERM) == 0, second.describe()
    runs = group.runs()
    assert len(runs) >= 12
    assert_never_concurrent(runs)
    # Both took part: a worker waiting for the holder looks again when the job can next be due,
    # so both race for each run (the conditional UPDATE picks one) instead of the holder keeping it.
    pids = {run[0] for run in runs}
    assert pids == {first.process.pid, second.process.pid}, runs
    assert "Traceback" not in first.text + second.text


@needs_postgres
def test_a_worker_killed_mid_run_leaves_the_job_to_the_other_after_the_lease(migrated: str, tmp_path: Path) -> None:
    lease = 8.0
    # A run takes 6 s (inside the lease, and far longer than noticing it started takes even on a busy
    # machine), so the kill lands mid-run.
    with workers(migrated, tmp_path, run_seconds=6.0, interval=0.5, lease=lease) as group:
        by_pid = {worker.process.pid: worker for worker in (group.start(), group.start())}
        (victim_pid, victim_start, _), *_ = group.wait_for(lambda runs: runs, "a first run")
        by_pid[victim_pid].process.kill()  # SIGKILL: no clean-up, the lease stays in the table
        by_pid[victim_pid].kill()
        survivor_pid = next(pid for pid in by_pid if pid != victim_pid)
        runs = group.wait_for(
            lambda runs: any(pid == survivor_pid and end is not None for pid, _start, end in runs),
            "the surviving worker to run the job",
        )
        assert by_pid[survivor_pid].stop(signal.SIGTERM) == 0, by_pid[survivor_pid].describe()
    assert runs[0] == (victim_pid, victim_start, None), f"the killed run never ended: {runs}"
    taken_over = runs[1]
    assert taken_over[0] == survivor_pid, runs
    # Not before the lease ran out: the lease started at the claim, a moment before the recorded start.
    assert taken_over[1] >= victim_start + lease - 0.5, runs
    assert_never_concurrent(runs[1:])


def test_sigterm_lets_a_worker_finish_the_run_in_hand_and_exit_0(migrated: str, tmp_path: Path) -> None:
    with workers(migrated, tmp_path, run_seconds=1.0, interval=60, lease=30) as group:
        worker = group.start()
        group.wait_for(lambda runs: runs, "the run to start")
        code = worker.stop(signal.SIGTERM)
        assert code == 0, worker.describe()
    assert [(pid, end is not None) for pid, _start, end in group.runs()] == [(worker.process.pid, True)]
    assert "Helpline worker stopped." in worker.text and "Traceback" not in worker.text
