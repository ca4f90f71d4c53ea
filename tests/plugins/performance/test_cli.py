"""``helpline performance report|rebuild`` as users run them: the installed script, in a subprocess."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from helpline import testing
from helpline.core.clock import FrozenClock
from helpline.core.models import Team
from helpline.plugins.performance.models import PerformanceTicket
from tests.e2e.processes import helpline_env, run_helpline
from tests.plugins.performance.helpers import generated_history
from tests.plugins.performance.test_rebuild import snapshot


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    """A fresh database shared by the in-process app and the CLI processes."""
    async with testing.test_database() as url:
        yield url


async def test_rebuild_and_report_from_the_command_line(database_url: str, tmp_path: Path, clock: FrozenClock) -> None:
    async with testing.running_app(plugins=["performance"], database_url=database_url, clock=clock) as client:
        await generated_history(client, clock, seed=11, tickets=25)
        incremental = await snapshot()
        await PerformanceTicket.all().update(full_resolution_minutes=-1.0)  # spoil them: rebuild must fix
    env = helpline_env(database_url, plugins="performance")

    rebuilt = run_helpline("performance", "rebuild", "--batch-size", "4", cwd=tmp_path, env=env)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert f"Rebuilt the performance metrics of {len(incremental[0])} tickets." in rebuilt.stdout
    async with testing.running_app(plugins=["performance"], database_url=database_url, clock=clock):
        assert await snapshot() == incremental

    period = ["--from", "2026-06-01", "--to", "2026-09-30", "--timezone", "Europe/Berlin", "--interval", "month"]
    as_json = run_helpline(
        "performance", "report", *period, "--group-by", "team", "--format", "json", cwd=tmp_path, env=env
    )
    assert as_json.returncode == 0, as_json.stderr
    rows = json.loads(as_json.stdout)
    assert rows and {"period_start", "team", "created", "solved", "backlog", "full_resolution_median_minutes"} <= set(
        rows[0]
    )
    assert sum(row["created"] for row in rows) == len(incremental[0])
    async with testing.running_app(plugins=["performance"], database_url=database_url, clock=clock):
        team_names = {team.id: team.name for team in await Team.all()}
    # Teams by id and by name; figures rounded for reading (no binary noise such as 2.9999999999999982).
    assert {(row["team"], row["team_name"]) for row in rows} == {
        (row["team"], team_names.get(row["team"])) for row in rows
    } and any(row["team_name"] for row in rows)
    assert all(
        value is None or value == round(value, 2)
        for row in rows
        for column, value in row.items()
        if column.endswith("minutes")
    )

    as_csv = run_helpline("performance", "report", *period, "--group-by", "team", cwd=tmp_path, env=env)
    assert as_csv.returncode == 0, as_csv.stderr
    parsed = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [(row["period_start"], row["team"], int(row["created"])) for row in parsed] == [
        (row["period_start"], "" if row["team"] is None else str(row["team"]), row["created"]) for row in rows
    ]

    # A filter by priority (names as the API spells them), grouped by two dimensions.
    urgent = run_helpline(
        "performance", "report", *period, "--group-by", "priority,channel", "--priorities", "high,URGENT",
        "--format", "json", cwd=tmp_path, env=env,
    )  # fmt: skip
    assert urgent.returncode == 0, urgent.stderr
    filtered = json.loads(urgent.stdout)
    # Priorities by name: the stored 1-4 would read as ServiceNow's scale, where 1 is critical.
    assert {row["priority"] for row in filtered} <= {"high", "urgent"} and all("channel" in row for row in filtered)
    assert sum(row["created"] for row in filtered) == sum(1 for row in incremental[0] if row["priority"] >= 3) > 0
    wrong = run_helpline("performance", "report", *period, "--priorities", "lunch", cwd=tmp_path, env=env)
    assert wrong.returncode == 2 and "--priorities" in wrong.stderr
    wrong = run_helpline("performance", "report", *period, "--channels", "fax", cwd=tmp_path, env=env)
    assert wrong.returncode == 2 and "--channels" in wrong.stderr
    huge = run_helpline("performance", "report", *period, "--team-ids", "9" * 23, cwd=tmp_path, env=env)
    assert huge.returncode == 2 and "between 1 and" in huge.stderr and "Traceback" not in huge.stderr

    bad = run_helpline("performance", "report", *period, "--timezone", "Nowhere/Land", cwd=tmp_path, env=env)
    assert bad.returncode == 1 and "unknown time zone" in bad.stderr and "Traceback" not in bad.stderr


def test_the_commands_are_absent_when_the_plugin_is_off(tmp_path: Path) -> None:
    result = run_helpline("performance", "--help", cwd=tmp_path, env=helpline_env(None, plugins="core"))
    assert result.returncode == 2
    assert "No such command 'performance'" in result.stderr
