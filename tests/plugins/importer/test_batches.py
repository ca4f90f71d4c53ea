"""The batched replay (all or nothing, plugins' work written once per batch) gives exactly what the
row-by-row replay gives: the same event log, SLA clocks and their history, and performance metrics.

Each comparison imports the shipped sample into two fresh databases, one each way, and compares
everything by source key and by name (never by row id: PostgreSQL's sequences do not roll back, so
a retried batch moves ids on).
"""

from __future__ import annotations

import json
from typing import Any

from helpline.core.enums import Role
from helpline.core.models import Team, Ticket, TicketEvent, User
from helpline.plugins.importer.mapping import servicenow_mapping
from helpline.plugins.importer.replay import SkippedRow, email_for
from helpline.plugins.importer.service import SAMPLE, import_file
from helpline.plugins.performance.models import PerformanceEpisode, PerformanceTicket
from helpline.plugins.sla.models import SlaClock, SlaClockEvent
from helpline.testing import running_app
from tests.plugins.importer.raw import raw_rows

PLUGINS = ["sla", "performance", "importer"]
ID_FIELDS = ("team_id", "assignee_id", "requester_id", "organization_id")


async def dump() -> dict[str, Any]:
    """Everything the replay wrote that a report or a clock depends on, id-free."""
    keys = {ticket.id: ticket.custom_fields["import_key"] for ticket in await Ticket.all()}
    names: dict[str, dict[Any, str]] = {
        "team_id": dict(await Team.all().values_list("id", "name")),  # type: ignore[arg-type]
        "assignee_id": dict(await User.all().values_list("id", "email")),  # type: ignore[arg-type]
    }
    names["requester_id"] = names["assignee_id"]
    names["organization_id"] = {}

    def named(field: str | None, value: Any) -> Any:
        if field in ID_FIELDS and value is not None:
            return names[field].get(int(value), value)
        return value

    events = [
        (
            keys[event.ticket_id],
            event.kind,
            event.field,
            named(event.field, json.loads(event.old_value)) if event.old_value else None,
            named(event.field, json.loads(event.new_value)) if event.new_value and event.field else event.new_value,
            event.created_at,
            event.actor_source,
        )
        for event in await TicketEvent.all().order_by("id")
        if event.kind != "created"
    ]
    clocks = {clock.id: clock for clock in await SlaClock.all()}
    clock_rows = sorted(
        (
            keys[clock.ticket_id],
            str(clock.kind),
            str(clock.phase),
            clock.target_minutes,
            clock.elapsed_us,
            clock.started_at,
            clock.running_since,
            clock.due_at,
            clock.met_at,
            clock.breached_at,
        )
        for clock in clocks.values()
    )
    history = sorted(
        (
            keys[clocks[line.clock_id].ticket_id],
            str(clocks[line.clock_id].kind),
            line.kind,
            line.at,
            line.due_at,
            line.note,
        )
        for line in await SlaClockEvent.all()
    )
    metrics = {}
    for row in await PerformanceTicket.all():
        values = {name: value for name, value in row.__dict__.items() if not name.startswith("_")}
        values.pop("ticket_id", None)
        values.pop("last_event_id", None)  # an event id: differs when ids differ
        for field in ID_FIELDS:
            values[field] = named(field, values.get(field))
        metrics[keys[row.ticket_id]] = values
    episodes = sorted(
        (
            keys[episode.ticket_id],
            episode.seq,
            episode.started_us,
            episode.ended_us,
            episode.first_response_us,
            episode.first_response_minutes,
            episode.first_response_business,
        )
        for episode in await PerformanceEpisode.all()
    )
    return {"events": events, "clocks": clock_rows, "history": history, "metrics": metrics, "episodes": episodes}


async def import_sample(
    *, all_or_nothing: bool, customer: tuple[str, str] | None = None
) -> tuple[dict[str, Any], list[SkippedRow]]:
    """Import the sample into a fresh database one way (with ``customer`` (name, email) created
    first, if given); return the dump and the rows passed to on_skip."""
    async with running_app(plugins=PLUGINS) as client:
        await client.make_user("admin")
        if customer is not None:
            await client.make_user(Role.CUSTOMER, name=customer[0], email=customer[1])
        listed: list[SkippedRow] = []
        outcome = await import_file(
            client.runtime,
            SAMPLE,
            servicenow_mapping(),
            batch_size=200,
            on_skip=listed.append,
            all_or_nothing=all_or_nothing,
        )
        assert listed == outcome.report.skipped_rows, "each skipped row is passed on once"
        report = outcome.report
        # Without refusals, every batch commits all or nothing: none falls back to row by row.
        if all_or_nothing and customer is None:
            assert report.batches > 1 and report.batches_row_by_row == 0
        if all_or_nothing and customer is not None:
            assert 0 < report.batches_row_by_row < report.batches
        return await dump(), listed


async def test_the_batched_replay_writes_exactly_what_the_row_by_row_replay_writes() -> None:
    batched, batched_skips = await import_sample(all_or_nothing=True)
    careful, careful_skips = await import_sample(all_or_nothing=False)
    assert batched["events"] and batched["clocks"] and batched["metrics"], "the sample produced something to compare"
    assert batched == careful
    assert batched_skips == careful_skips


async def test_a_refused_row_rolls_its_batch_back_and_the_batch_is_replayed_row_by_row() -> None:
    # An agent of the log who already exists as a customer: the service refuses to assign them.
    agent = next(row["assigned_to"] for row in raw_rows() if row["assigned_to"] not in ("", "?"))
    email = email_for(agent, servicenow_mapping().email_domain)
    batched, batched_skips = await import_sample(all_or_nothing=True, customer=(agent, email))
    careful, careful_skips = await import_sample(all_or_nothing=False, customer=(agent, email))
    refused = [row for row in batched_skips if "is a customer and cannot be assigned" in row.reason]
    assert refused, "some rows were refused by the services"
    assert len({(row.line, row.reason) for row in batched_skips}) == len(batched_skips), "no row listed twice"
    assert batched == careful
    assert batched_skips == careful_skips
