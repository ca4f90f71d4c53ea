"""``helpline import`` and ``helpline demo`` as users run them: the installed script, in a subprocess."""

from __future__ import annotations

import csv
import gzip
import json
import signal
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from helpline import testing
from helpline.core.models import Ticket
from helpline.plugins.importer.mapping import MappingError, load_mapping
from helpline.plugins.importer.service import SAMPLE
from tests.e2e.processes import (
    HELPLINE,
    SERVING_LINE,
    START_TIMEOUT,
    ServerProcess,
    free_port,
    helpline_env,
    run_helpline,
)

GENERIC_MAPPING = {
    "source": "other-desk",
    "columns": {"key": "id", "updated_at": "at", "status": "state", "customer": "who", "team": "queue"},
    "format": {"datetime": "%Y-%m-%d %H:%M", "timezone": "Europe/Paris"},
    "values": {"status": {"open": "open", "done": "solved", "new": "new"}},
}


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    """A fresh database with an admin, shared by the in-process app and the CLI processes."""
    async with testing.test_database() as url:
        async with testing.running_app(plugins=["sla", "performance", "importer"], database_url=url) as client:
            await client.make_user("admin")
        yield url


async def test_servicenow_import_from_the_command_line(database_url: str, tmp_path: Path) -> None:
    env = helpline_env(database_url)
    report = tmp_path / "skipped.csv"
    first = run_helpline(
        "import", "servicenow-log", str(SAMPLE), "--skipped-report", str(report), cwd=tmp_path, env=env
    )
    assert first.returncode == 0, first.stderr
    assert "Tickets created: 276;" in first.stdout
    assert "SLA agreement with the source's own verdict:" in first.stdout
    assert "rows/s" in first.stderr and "ETA" in first.stderr  # the progress bar
    listed = list(csv.DictReader(report.open(encoding="utf-8")))
    assert {row["reason"] for row in listed} >= {"unknown status '-100'"}

    again = run_helpline("import", "servicenow-log", str(SAMPLE), "--quiet", cwd=tmp_path, env=env)
    assert again.returncode == 0, again.stderr
    assert "Tickets created: 0; updates applied: 0; unchanged: 0;" in again.stdout

    report_rows = run_helpline(
        "performance", "report", "--from", "2016-01-01", "--to", "2017-12-31", "--group-by", "priority",
        "--format", "json", cwd=tmp_path, env=env,
    )  # fmt: skip
    assert report_rows.returncode == 0, report_rows.stderr
    assert sum(row["created"] for row in json.loads(report_rows.stdout)) == 276


async def test_generic_import_with_a_mapping_file(database_url: str, tmp_path: Path) -> None:
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps(GENERIC_MAPPING), encoding="utf-8")
    source = tmp_path / "history.jsonl"
    lines = [
        {"id": "A-1", "at": "2024-03-04 09:00", "state": "new", "who": "Jo Doe", "queue": "Billing"},
        {"id": "A-1", "at": "2024-03-04 10:30", "state": "open", "who": "Jo Doe", "queue": "Billing"},
        {"id": "A-1", "at": "2024-03-05 11:00", "state": "done", "who": "Jo Doe", "queue": "Billing"},
        {"id": "A-2", "at": "yesterday", "state": "new", "who": "Al", "queue": "Billing"},
        {"id": "A-3", "at": "2024-03-04 09:00", "state": "lost", "who": "Al", "queue": "Billing"},
    ]
    source.write_text("\n".join(json.dumps(line) for line in lines), encoding="utf-8")
    result = run_helpline(
        "import",
        "file",
        str(source),
        "--mapping",
        str(mapping),
        "--quiet",
        cwd=tmp_path,
        env=helpline_env(database_url),
    )
    assert result.returncode == 0, result.stderr
    assert "Tickets created: 1;" in result.stdout
    assert "line 4 (A-2): invalid date in at: 'yesterday'" in result.stdout
    assert "line 5 (A-3): unknown status 'lost'" in result.stdout
    async with testing.running_app(plugins=["sla", "performance", "importer"], database_url=database_url):
        [ticket] = await Ticket.all()
        assert ticket.status == "solved"
        assert ticket.created_at.isoformat() == "2024-03-04T08:00:00+00:00"  # 09:00 in Paris is 08:00 UTC


async def test_bad_input_is_a_clear_error_and_changes_nothing(database_url: str, tmp_path: Path) -> None:
    bad_mapping = tmp_path / "bad.toml"
    bad_mapping.write_text('source = "x"\n[columns]\nkey = "id"\nwhen = "at"\n', encoding="utf-8")
    with pytest.raises(MappingError, match="unknown field 'when'"):
        load_mapping(bad_mapping)
    long_zone = tmp_path / "zone.toml"
    long_zone.write_text(
        'source = "x"\n[columns]\nkey = "id"\n[format]\ntimezone = "Europe/' + "x" * 300 + '"\n', encoding="utf-8"
    )
    with pytest.raises(MappingError, match="unknown time zone"):  # not OSError: file name too long
        load_mapping(long_zone)
    env = helpline_env(database_url)
    result = run_helpline("import", "file", str(SAMPLE), "--mapping", str(bad_mapping), cwd=tmp_path, env=env)
    assert result.returncode == 1 and "unknown field 'when'" in result.stderr and "Traceback" not in result.stderr
    not_csv = tmp_path / "broken.csv.gz"
    not_csv.write_bytes(b"not gzip at all")
    result = run_helpline("import", "servicenow-log", str(not_csv), cwd=tmp_path, env=env)
    assert result.returncode == 1 and "broken.csv.gz" in result.stderr and "Traceback" not in result.stderr
    async with testing.running_app(plugins=["sla", "performance", "importer"], database_url=database_url):
        assert await Ticket.all().count() == 0


def test_demo_builds_a_database_and_prints_a_token(tmp_path: Path) -> None:
    result = run_helpline(
        "demo", "--folder", str(tmp_path / "demo"), "--no-serve", cwd=tmp_path, env=helpline_env(None)
    )
    assert result.returncode == 0, result.stderr
    assert "Tickets created: 276;" in result.stdout
    assert "Admin token (admin@example.com):  hl_" in result.stdout
    assert "teamPerformance" in result.stdout
    assert "    skipped " in result.stdout and "    line " not in result.stdout  # counts by reason, not rows
    assert (tmp_path / "demo" / "helpline-demo.db").exists()


def test_a_served_demo_answers_and_removes_its_temporary_folder_when_stopped(tmp_path: Path) -> None:
    port = free_port()
    env = {**helpline_env(None), "TMPDIR": str(tmp_path)}  # where the demo's temporary folder goes
    demo = ServerProcess([str(HELPLINE), "demo", "--port", str(port)], tmp_path, env)
    try:
        demo.lines_until(lambda line: line.startswith(SERVING_LINE), START_TIMEOUT)
        demo.wait_until_answering(f"http://127.0.0.1:{port}", START_TIMEOUT)
        (folder,) = tmp_path.glob("helpline-demo-*")
        assert (folder / "helpline-demo.db").exists()
        assert demo.stop(signal.SIGINT) == 0, demo.describe()
    finally:
        demo.kill()
    assert not list(tmp_path.glob("helpline-demo-*")), demo.describe()
    assert "Removed the demo folder" in demo.text


def test_a_demo_on_a_busy_port_stops_before_building_and_leaves_no_folder(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**helpline_env(None), "TMPDIR": str(tmp_path)}
        result = run_helpline("demo", "--port", str(port), cwd=tmp_path, env=env)
    assert result.returncode == 1 and "Address already in use" in result.stderr, result.stderr
    assert "Building" not in result.stdout
    assert not list(tmp_path.glob("helpline-demo-*"))


def test_the_sample_is_a_faithful_excerpt_of_the_real_log(shared_data: Path) -> None:
    with gzip.open(shared_data / "uci-incidents" / "incident_event_log.csv.gz", "rt", newline="") as handle:
        full = {tuple(row.values()) for row in csv.DictReader(handle)}
    with gzip.open(SAMPLE, "rt", newline="") as handle:
        sample = [tuple(row.values()) for row in csv.DictReader(handle)]
    assert 1000 < len(sample) < 3000
    assert all(row in full for row in sample)
