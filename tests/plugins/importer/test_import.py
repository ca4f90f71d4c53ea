"""Importing the ServiceNow sample: counts, skipped rows, idempotent re-runs, resume, reports.

Expected values come from :mod:`.raw`, which reads the sample's rows without the importer.
"""

from __future__ import annotations

import collections
import statistics
from collections.abc import AsyncIterator
from typing import Any

import pytest

from helpline.core.enums import Role, Status
from helpline.core.models import Team, Ticket, TicketEvent, User
from helpline.plugins.importer.cli import DEMO_QUERIES
from helpline.plugins.importer.mapping import servicenow_mapping
from helpline.plugins.importer.models import ImportState
from helpline.plugins.importer.replay import status_path
from helpline.plugins.importer.service import SAMPLE, ImportOutcome, import_file
from helpline.plugins.sla.models import SlaClock
from helpline.testing import HelplineClient, TestUser, running_app
from tests.plugins.importer.raw import Incident, incidents, raw_rows

PLUGINS = ["sla", "performance", "importer"]


@pytest.fixture
async def desk() -> AsyncIterator[tuple[HelplineClient, TestUser]]:
    """Every built-in plugin on a fresh database, with the admin the import acts as."""
    async with running_app(plugins=PLUGINS) as client:
        admin = await client.make_user("admin")
        yield client, admin


@pytest.fixture(scope="module")
def raw() -> tuple[list[dict[str, str]], dict[str, Incident]]:
    """The sample's rows and what they say, read independently."""
    rows = raw_rows()
    return rows, incidents(rows)


async def run(client: HelplineClient, **options: Any) -> ImportOutcome:
    """Import the shipped sample."""
    return await import_file(client.runtime, SAMPLE, servicenow_mapping(), **options)


async def snapshot() -> dict[str, tuple[Any, ...]]:
    """Every imported ticket, by source key: what it looks like and how long its history is."""
    events = collections.Counter(await TicketEvent.all().values_list("ticket_id", flat=True))
    teams = dict(await Team.all().values_list("id", "name"))
    result = {}
    for ticket in await Ticket.all():
        key = ticket.custom_fields["import_key"]
        result[key] = (
            ticket.status,
            ticket.priority,
            teams.get(ticket.team_id),
            ticket.assignee_id is not None,
            ticket.created_at,
            ticket.solved_at,
            ticket.closed_at,
            events[ticket.id],
        )
    return result


async def test_import_counts_match_the_rows(desk, raw) -> None:
    client, _admin = desk
    rows, expected = raw
    outcome = await run(client, batch_size=100)
    report = outcome.report
    minus_100 = [row for row in rows if row["incident_state"] == "-100"]
    after_close = sum(incident.rows_after_close for incident in expected.values())

    assert outcome.read_rows == len(rows)
    assert report.tickets_created == len(expected) == await Ticket.all().count()
    assert report.rows == len(rows) - len(minus_100)
    assert report.skipped == {
        "unknown status '-100'": len(minus_100),
        "ticket already closed (closed is final in Helpline)": after_close,
    }
    assert report.updates_applied + report.unchanged == sum(incident.usable_rows for incident in expected.values())
    assert minus_100 and after_close  # the sample carries both kinds of rows the import must skip
    tickets = {ticket.custom_fields["import_key"]: ticket for ticket in await Ticket.all()}
    for number, incident in expected.items():
        ticket = tickets[number]
        assert ticket.created_at == incident.opened
        assert ticket.status == (Status.CLOSED if incident.closed else ticket.status)
    # People: one customer per caller, one agent per resolver, all created by the import.
    callers = {row["caller_id"] for row in rows if row["incident_state"] != "-100"}
    assert await User.filter(role=Role.CUSTOMER).count() == len(callers)
    assert await ImportState.filter(source="servicenow-log").count() == len(expected)
    assert await ImportState.filter(closed=True).count() == sum(1 for i in expected.values() if i.closed)


async def test_skipped_rows_are_listed_with_line_and_reason(desk, raw) -> None:
    client, _admin = desk
    rows, _expected = raw
    listed = []
    outcome = await run(client, on_skip=listed.append)
    bad_lines = {index + 2 for index, row in enumerate(rows) if row["incident_state"] == "-100"}  # header is line 1
    assert {row.line for row in listed if row.reason.startswith("unknown status")} == bad_lines
    assert all(row.key for row in listed)
    assert listed == outcome.report.skipped_rows


async def test_a_second_run_changes_nothing(desk) -> None:
    client, _admin = desk
    first = await run(client)
    before = await snapshot()
    events = await TicketEvent.all().count()
    clocks = await SlaClock.all().count()

    second = await run(client)

    assert second.report.tickets_created == 0
    assert second.report.updates_applied == second.report.unchanged == 0
    assert second.report.already_imported == first.report.updates_applied + first.report.unchanged
    assert await snapshot() == before
    assert await TicketEvent.all().count() == events
    assert await SlaClock.all().count() == clocks
    assert second.policy_created is False and first.policy_created is True


class Interrupted(Exception):
    """Stands for Ctrl-C in the middle of an import."""


async def test_an_interrupted_import_resumes_where_it_stopped(raw) -> None:
    async with running_app(plugins=PLUGINS) as reference:
        await reference.make_user("admin")
        await run(reference)
        whole = await snapshot()

    async with running_app(plugins=PLUGINS) as client:
        await client.make_user("admin")
        batches = []

        def stop_after_three(done: int, total: int) -> None:
            batches.append(done)
            if len(batches) == 3:
                raise Interrupted

        with pytest.raises(Interrupted):
            await run(client, batch_size=150, progress=stop_after_three)
        # The third batch committed before the progress call: three batches' tickets are in.
        partial = await Ticket.all().count()
        assert 0 < partial < len(whole)

        resumed = await run(client, batch_size=150)
        assert resumed.report.already_imported > 0
        assert resumed.report.tickets_created == len(whole) - partial
        assert await snapshot() == whole


def test_status_moves_helpline_does_not_allow_are_bridged() -> None:
    assert status_path(Status.SOLVED, Status.PENDING) == [Status.OPEN, Status.PENDING]
    assert status_path(Status.NEW, Status.CLOSED) == [Status.SOLVED, Status.CLOSED]
    assert status_path(Status.OPEN, Status.CLOSED) == [Status.SOLVED, Status.CLOSED]
    assert status_path(Status.OPEN, Status.NEW) == []
    assert status_path(Status.SOLVED, Status.NEW) == [Status.OPEN]
    assert status_path(Status.NEW, Status.SOLVED) == [Status.SOLVED]
    assert status_path(Status.CLOSED, Status.OPEN) is None


REPORT = """
query ($groupBy: [PerformanceDimension!]) {
  performanceReport(from: "2016-01-01", to: "2017-12-31", groupBy: $groupBy) {
    rows { team { name } priority created solved fullResolution { count medianMinutes } }
  }
}
"""


def expected_rows(incidents_: dict[str, Incident], dimension: str) -> dict[Any, tuple[int, int, float | None]]:
    """(created, solved, median full resolution) per group, from the rows."""
    groups: dict[Any, list[Incident]] = collections.defaultdict(list)
    for incident in incidents_.values():
        groups[incident.team if dimension == "team" else incident.priority].append(incident)
    result = {}
    for group, members in groups.items():
        durations = [i.full_resolution_minutes for i in members if i.full_resolution_minutes is not None]
        result[group] = (len(members), len(durations), statistics.median(durations) if durations else None)
    return result


async def test_performance_report_per_team_and_priority_matches_the_rows(desk, raw) -> None:
    client, admin = desk
    _rows, expected = raw
    await run(client)
    for dimension, group_by in (("team", "TEAM"), ("priority", "PRIORITY")):
        data = await client.data(REPORT, {"groupBy": [group_by]}, token=admin.token)
        got = {}
        for row in data["performanceReport"]["rows"]:
            group = (row["team"] or {}).get("name") if dimension == "team" else row["priority"]
            got[group] = (row["created"], row["solved"], row["fullResolution"]["medianMinutes"])
        want = expected_rows(expected, dimension)
        assert got.keys() == want.keys()
        for group, (created, solved, median) in want.items():
            assert got[group][:2] == (created, solved), group
            assert got[group][2] == pytest.approx(median), group


async def test_the_queries_helpline_demo_prints_work_on_the_imported_sample(desk) -> None:
    client, admin = desk
    await run(client)
    printed = DEMO_QUERIES.format(host="127.0.0.1", port=8000, token=admin.token).splitlines()
    queries = [line.strip() for line in printed if line.startswith("  {")]
    assert len(queries) == 4
    for query in queries:
        data = await client.data(query, token=admin.token)
        assert all(value for value in data.values()), query
