"""The SLA plugin through GraphQL and its jobs: the issue's cases, pauses, retargets, hooks, access."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from helpline.core import tickets
from helpline.core.actors import Actor
from helpline.core.clock import FrozenClock
from helpline.core.enums import MessageSource
from helpline.core.runtime import Runtime
from helpline.core.scheduler import collect_jobs, run_due_jobs
from helpline.plugins.sla import jobs
from helpline.schema.ids import decode_id
from helpline.testing import HelplineClient, TestUser, count_statements
from tests.core.test_tickets import create, reply, update
from tests.plugins.sla.conftest import SlaHookRecorder

WEEKDAYS = [0, 1, 2, 3, 4]
CALENDAR = """mutation($input: CreateSlaCalendarInput!) { createSlaCalendar(input: $input) {
  calendar { id name timezone intervals { weekday start end } holidays } userErrors { field message code } } }"""
POLICY = """mutation($input: CreateSlaPolicyInput!) { createSlaPolicy(input: $input) {
  policy { id name position targets { priority firstResponse nextResponse resolution } } userErrors { field message code } } }"""
SLA = """query($id: ID!) { ticket(id: $id) { number sla { policy { name } clocks { kind state targetMinutes dueAt
  metAt breachedAt businessMinutesElapsed businessMinutesRemaining history { kind at dueAt note } } } } }"""


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)  # type: ignore[misc]


def iso(instant: dt.datetime) -> str:
    return instant.astimezone(dt.UTC).isoformat()


def runtime_of(client: HelplineClient) -> Runtime:
    return client.app.state.runtime  # type: ignore[no-any-return]


async def make_calendar(
    client: HelplineClient, admin: TestUser, timezone: str, *spans: tuple[str, str], days: list[int] = WEEKDAYS
) -> str:
    intervals = [{"weekday": day, "start": start, "end": end} for day in days for start, end in spans]
    data = await client.data(
        CALENDAR, {"input": {"name": f"{timezone} hours", "timezone": timezone, "intervals": intervals}}, admin.token
    )
    assert data["createSlaCalendar"]["userErrors"] == []
    return data["createSlaCalendar"]["calendar"]["id"]  # type: ignore[no-any-return]


async def make_policy(
    client: HelplineClient, admin: TestUser, calendar_id: str, targets: list[dict[str, Any]], **fields: Any
) -> dict[str, Any]:
    data = await client.data(
        POLICY,
        {"input": {"name": fields.pop("name", "Standard"), "calendarId": calendar_id, "targets": targets, **fields}},
        admin.token,
    )
    assert data["createSlaPolicy"]["userErrors"] == []
    return data["createSlaPolicy"]["policy"]  # type: ignore[no-any-return]


async def clocks_of(client: HelplineClient, user: TestUser, ticket_id: str) -> dict[str, dict[str, Any]]:
    data = await client.data(SLA, {"id": ticket_id}, user.token)
    return {clock["kind"]: clock for clock in data["ticket"]["sla"]["clocks"]}


# -- the issue's cases -----------------------------------------------------------------------------


async def test_first_response_counts_only_a_human_agents_public_reply(
    client: HelplineClient, clock: FrozenClock, admin: TestUser, agent: TestUser, customer: TestUser
) -> None:
    calendar = await make_calendar(client, admin, "UTC", ("00:00", "24:00"), days=list(range(7)))
    await make_policy(
        client,
        admin,
        calendar,
        [{"priority": "HIGH", "firstResponse": 15}, {"priority": "NORMAL", "firstResponse": 30}],
    )
    clock.set(utc(2026, 6, 8, 10, 0, 0))
    strict = await create(client, customer, priority="HIGH")
    relaxed = await create(client, customer, priority="NORMAL")
    rt = runtime_of(client)
    for ticket in (strict, relaxed):
        ticket_id = decode_id(ticket["id"], "Ticket")
        clock.set(utc(2026, 6, 8, 10, 0, 5))
        acknowledgement = Actor(user=None, source=MessageSource.AUTO_REPLY, name="acknowledgement")
        await tickets.add_message(rt, ticket_id, "We got your request.", viewer=None, actor=acknowledgement)
        clock.set(utc(2026, 6, 8, 10, 1))
        bot = Actor(user=None, source=MessageSource.BOT, name="helper bot")
        await tickets.add_message(rt, ticket_id, "Have you tried restarting?", viewer=None, actor=bot)
        clock.set(utc(2026, 6, 8, 10, 10))
        await reply(client, agent, ticket["id"], "Checking the logs", internal=True)
        clock.set(utc(2026, 6, 8, 10, 20))
        await reply(client, agent, ticket["id"], "Fixed: restart the router.")

    strict_clock = (await clocks_of(client, admin, strict["id"]))["FIRST_RESPONSE"]
    assert strict_clock["metAt"] == iso(utc(2026, 6, 8, 10, 20))
    assert strict_clock["state"] == "BREACHED" and strict_clock["breachedAt"] == iso(utc(2026, 6, 8, 10, 15))
    assert strict_clock["businessMinutesElapsed"] == 20
    relaxed_clock = (await clocks_of(client, admin, relaxed["id"]))["FIRST_RESPONSE"]
    assert relaxed_clock["state"] == "MET" and relaxed_clock["breachedAt"] is None
    assert relaxed_clock["businessMinutesRemaining"] == 10


async def test_pending_pauses_the_resolution_clock_for_business_hours_only(
    client: HelplineClient, clock: FrozenClock, admin: TestUser, agent: TestUser, customer: TestUser
) -> None:
    riyadh = ZoneInfo("Asia/Riyadh")
    calendar = await make_calendar(client, admin, "Asia/Riyadh", ("09:00", "17:00"), days=[6, 0, 1, 2, 3])
    await make_policy(client, admin, calendar, [{"priority": "NORMAL", "resolution": 8 * 60}])
    clock.set(dt.datetime(2026, 6, 8, 9, 0, tzinfo=riyadh))
    ticket = await create(client, customer)
    clock.set(dt.datetime(2026, 6, 8, 16, 0, tzinfo=riyadh))
    assert (await reply(client, agent, ticket["id"], "Which model is it?", status="PENDING"))["userErrors"] == []
    paused = (await clocks_of(client, admin, ticket["id"]))["RESOLUTION"]
    assert paused["state"] == "PAUSED" and paused["dueAt"] is None and paused["businessMinutesRemaining"] == 60

    clock.set(dt.datetime(2026, 6, 9, 10, 0, tzinfo=riyadh))
    await reply(client, customer, ticket["id"], "An XR-7.")
    resumed = (await clocks_of(client, admin, ticket["id"]))["RESOLUTION"]
    assert resumed["state"] == "RUNNING"
    assert resumed["dueAt"] == iso(utc(2026, 6, 9, 8, 0))  # Tue 11:00 in Riyadh
    assert [line["kind"] for line in resumed["history"]] == ["started", "paused", "resumed"]
    assert resumed["history"][1]["note"] == "ticket is pending"


async def test_a_priority_rise_while_paused_does_not_breach_during_the_pause(
    client: HelplineClient,
    clock: FrozenClock,
    admin: TestUser,
    agent: TestUser,
    customer: TestUser,
    recorder: SlaHookRecorder,
) -> None:
    calendar = await make_calendar(client, admin, "UTC", ("09:00", "17:00"))
    await make_policy(
        client, admin, calendar, [{"priority": "NORMAL", "resolution": 480}, {"priority": "URGENT", "resolution": 60}]
    )
    clock.set(utc(2026, 6, 8, 9, 0))
    ticket = await create(client, customer)
    clock.set(utc(2026, 6, 8, 9, 30))
    await reply(client, agent, ticket["id"], "Need your logs.", status="PENDING")
    clock.set(utc(2026, 6, 8, 11, 0))
    assert (await update(client, agent, ticket["id"], priority="URGENT"))["userErrors"] == []
    paused = (await clocks_of(client, admin, ticket["id"]))["RESOLUTION"]
    assert (paused["state"], paused["targetMinutes"], paused["businessMinutesRemaining"]) == ("PAUSED", 60, 30)
    assert paused["history"][-1]["kind"] == "retargeted"

    clock.set(utc(2026, 6, 8, 12, 0))
    await jobs.deadlines(runtime_of(client))
    assert recorder.breaches == []
    clock.set(utc(2026, 6, 8, 13, 0))
    await reply(client, customer, ticket["id"], "Here are the logs.")
    assert (await clocks_of(client, admin, ticket["id"]))["RESOLUTION"]["dueAt"] == iso(utc(2026, 6, 8, 13, 30))

    clock.set(utc(2026, 6, 8, 13, 31))
    await asyncio.gather(jobs.deadlines(runtime_of(client)), jobs.deadlines(runtime_of(client)))
    await jobs.deadlines(runtime_of(client))
    assert recorder.breaches == [(ticket["number"], "resolution")]  # once, although the job ran three times
    breached = (await clocks_of(client, admin, ticket["id"]))["RESOLUTION"]
    assert breached["state"] == "BREACHED" and breached["breachedAt"] == iso(utc(2026, 6, 8, 13, 30))


async def test_reopening_resumes_resolution_without_the_solved_time(
    client: HelplineClient, clock: FrozenClock, admin: TestUser, agent: TestUser, customer: TestUser
) -> None:
    calendar = await make_calendar(client, admin, "UTC", ("09:00", "17:00"))
    await make_policy(client, admin, calendar, [{"priority": "NORMAL", "resolution": 240, "firstResponse": 60}])
    clock.set(utc(2026, 6, 8, 9, 0))
    ticket = await create(client, customer)
    clock.set(utc(2026, 6, 8, 10, 0))
    await reply(client, agent, ticket["id"], "Done.", status="SOLVED")
    solved = await clocks_of(client, admin, ticket["id"])
    assert solved["RESOLUTION"]["state"] == "MET" and solved["FIRST_RESPONSE"]["state"] == "MET"
    clock.set(utc(2026, 6, 8, 15, 0))
    await reply(client, customer, ticket["id"], "It broke again.")
    clocks = await clocks_of(client, admin, ticket["id"])
    reopened = clocks["RESOLUTION"]
    assert reopened["state"] == "RUNNING" and reopened["metAt"] is None
    assert reopened["businessMinutesElapsed"] == 60
    assert reopened["dueAt"] == iso(utc(2026, 6, 9, 10, 0))  # 180 min left: 2 h today, 1 h tomorrow from 09:00
    assert clocks["NEXT_RESPONSE"]["state"] == "RUNNING"  # the customer's message waits for an answer


async def test_warnings_then_breaches_are_announced_once_and_listed(
    client: HelplineClient,
    clock: FrozenClock,
    admin: TestUser,
    agent: TestUser,
    customer: TestUser,
    recorder: SlaHookRecorder,
) -> None:
    calendar = await make_calendar(client, admin, "UTC", ("00:00", "24:00"), days=list(range(7)))
    await make_policy(client, admin, calendar, [{"priority": "NORMAL", "firstResponse": 30}], warningMinutes=10)
    clock.set(utc(2026, 6, 8, 9, 0))
    ticket = await create(client, customer)
    listing = "query($f: SlaTicketFilter!) { slaTickets(filter: $f) { totalCount nodes { number } } }"

    team = await client.data('mutation { createTeam(input: {name: "Billing"}) { team { id } } }', token=admin.token)
    await update(client, admin, ticket["id"], teamId=team["createTeam"]["team"]["id"])

    clock.set(utc(2026, 6, 8, 9, 15))
    at_risk = await client.data(listing, {"f": {"atRiskWithinMinutes": 20}}, agent.token)
    assert at_risk["slaTickets"]["totalCount"] == 0  # Billing's ticket: not the agent's to see
    at_risk = await client.data(listing, {"f": {"atRiskWithinMinutes": 20}}, admin.token)
    assert [node["number"] for node in at_risk["slaTickets"]["nodes"]] == [ticket["number"]]
    assert (await client.data(listing, {"f": {"atRiskWithinMinutes": 10}}, admin.token))["slaTickets"][
        "totalCount"
    ] == 0

    scheduled = collect_jobs(runtime_of(client))
    clock.set(utc(2026, 6, 8, 9, 21))
    await run_due_jobs(runtime_of(client), scheduled, "worker-1")
    assert recorder.warnings == [(ticket["number"], "first_response")] and recorder.breaches == []
    clock.set(utc(2026, 6, 8, 9, 31))
    breached = await client.data(listing, {"f": {"breached": True}}, admin.token)
    assert breached["slaTickets"]["totalCount"] == 1  # listed before the job records it
    await run_due_jobs(runtime_of(client), scheduled, "worker-1")
    await run_due_jobs(runtime_of(client), scheduled, "worker-2")
    clock.set(utc(2026, 6, 8, 9, 45))
    await run_due_jobs(runtime_of(client), scheduled, "worker-2")
    assert recorder.warnings == [(ticket["number"], "first_response")]
    assert recorder.breaches == [(ticket["number"], "first_response")]
    history = (await clocks_of(client, admin, ticket["id"]))["FIRST_RESPONSE"]["history"]
    assert [(line["kind"], line["at"]) for line in history] == [
        ("started", iso(utc(2026, 6, 8, 9, 0))),
        ("warned", iso(utc(2026, 6, 8, 9, 20))),
        ("breached", iso(utc(2026, 6, 8, 9, 30))),
    ]


async def test_a_new_policy_retargets_open_clocks_from_the_time_already_used(
    client: HelplineClient, clock: FrozenClock, admin: TestUser, customer: TestUser
) -> None:
    clock.set(utc(2026, 6, 8, 9, 0))
    ticket = await create(client, customer)
    untimed = (await clocks_of(client, admin, ticket["id"]))["RESOLUTION"]
    assert (untimed["state"], untimed["dueAt"], untimed["targetMinutes"]) == ("RUNNING", None, None)

    clock.set(utc(2026, 6, 8, 11, 0))
    calendar = await make_calendar(client, admin, "UTC", ("09:00", "17:00"))
    await make_policy(client, admin, calendar, [{"priority": "NORMAL", "resolution": 180}])
    assert await jobs.recompute(runtime_of(client)) == 2  # the first-response clock gets no target
    timed = (await clocks_of(client, admin, ticket["id"]))["RESOLUTION"]
    assert timed["dueAt"] == iso(utc(2026, 6, 8, 12, 0)) and timed["businessMinutesElapsed"] == 120
    assert await jobs.recompute(runtime_of(client)) == 0  # nothing changed since


# -- access and input -------------------------------------------------------------------------------


async def test_customers_see_sla_only_when_allowed(client: HelplineClient, admin: TestUser, customer: TestUser) -> None:
    ticket = await create(client, customer)
    assert (await client.data(SLA, {"id": ticket["id"]}, customer.token))["ticket"]["sla"] is None
    change = "mutation { updateSlaSettings(input: {customersSeeSla: true}) { settings { customersSeeSla } userErrors { code } } }"
    forbidden = await client.post(change, token=customer.token)
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await client.data(change, token=admin.token))["updateSlaSettings"]["settings"]["customersSeeSla"]
    assert len((await client.data(SLA, {"id": ticket["id"]}, customer.token))["ticket"]["sla"]["clocks"]) == 2
    for query in ("{ slaPolicies { id } }", "{ slaCalendars { id } }", "{ slaSettings { customersSeeSla } }"):
        assert (await client.post(query, token=customer.token))["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_bad_calendars_and_policies_are_refused_whole(client: HelplineClient, admin: TestUser) -> None:
    cases = [
        (
            {
                "timezone": "UTC",
                "intervals": [
                    {"weekday": 0, "start": "08:00", "end": "12:00"},
                    {"weekday": 0, "start": "11:00", "end": "13:00"},
                ],
            },
            "OVERLAPPING_INTERVALS",
        ),
        (
            {"timezone": "Mars/Olympus_Mons", "intervals": [{"weekday": 0, "start": "08:00", "end": "12:00"}]},
            "UNKNOWN_TIMEZONE",
        ),
        ({"timezone": "UTC", "intervals": [{"weekday": 0, "start": "8am", "end": "12:00"}]}, "INVALID_TIME"),
        (
            {
                "timezone": "UTC",
                "intervals": [{"weekday": 0, "start": "08:00", "end": "12:00"}],
                "holidays": ["2026-02-30"],
            },
            "INVALID_DATE",
        ),
        ({"timezone": "UTC", "intervals": [{"weekday": 9, "start": "08:00", "end": "12:00"}]}, "INVALID"),
        (
            {
                "timezone": "UTC",
                "intervals": [{"weekday": 0, "start": "08:00", "end": "12:00"}],
                "generatedHolidays": {"country": "XX", "years": [2026]},
            },
            "UNKNOWN_REGION",
        ),
    ]
    for fields, code in cases:
        data = await client.data(CALENDAR, {"input": {"name": "Bad", **fields}}, admin.token)
        assert code in [error["code"] for error in data["createSlaCalendar"]["userErrors"]], (fields, data)
    assert (await client.data("{ slaCalendars { id } }", token=admin.token))["slaCalendars"] == []

    calendar = await make_calendar(client, admin, "UTC", ("09:00", "17:00"))
    for targets in ([{"priority": "NORMAL", "resolution": 0}], [{"priority": "NORMAL", "resolution": -5}]):
        data = await client.data(
            POLICY, {"input": {"name": "Bad", "calendarId": calendar, "targets": targets}}, admin.token
        )
        assert [error["code"] for error in data["createSlaPolicy"]["userErrors"]] == ["INVALID_TARGET"]
    assert (await client.data("{ slaPolicies { id } }", token=admin.token))["slaPolicies"] == []
    taken = await client.data(
        CALENDAR, {"input": {"name": "UTC hours", "timezone": "UTC", "intervals": []}}, admin.token
    )
    assert "OVERLAPPING_INTERVALS" not in str(taken) and taken["createSlaCalendar"]["userErrors"]


async def test_generated_holidays_and_calendar_checks(client: HelplineClient, admin: TestUser, agent: TestUser) -> None:
    data = await client.data(
        CALENDAR,
        {
            "input": {
                "name": "New York office",
                "timezone": "America/New_York",
                "intervals": [{"weekday": day, "start": "09:00", "end": "17:00"} for day in WEEKDAYS],
                "generatedHolidays": {"country": "US", "subdivision": "NY", "years": [2026]},
            }
        },
        admin.token,
    )
    calendar = data["createSlaCalendar"]["calendar"]
    assert "2026-01-01" in calendar["holidays"] and "2026-11-26" in calendar["holidays"]
    measured = await client.data(
        'query($c: ID!) { businessTime(calendarId: $c, start: "2026-03-06T21:00:00Z", end: "2026-03-09T14:00:00Z") }',
        {"c": calendar["id"]},
        agent.token,
    )
    assert measured["businessTime"] == 120  # Fri 16:00 EST to Mon 10:00 EDT
    added = await client.data(
        'query($c: ID!) { addBusinessTime(calendarId: $c, start: "2026-03-06T22:30:00Z", minutes: 60) }',
        {"c": calendar["id"]},
        agent.token,
    )
    assert added["addBusinessTime"] == "2026-03-09T14:00:00+00:00"  # Mon 10:00 EDT (Friday ended at 17:00)
    naive = await client.post(
        'query($c: ID!) { businessTime(calendarId: $c, start: "2026-03-06T21:00:00", end: "2026-03-09T14:00:00Z") }',
        {"c": calendar["id"]},
        agent.token,
    )
    assert naive["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_sla_on_a_ticket_page_costs_the_same_statements_at_any_size(
    client: HelplineClient, clock: FrozenClock, admin: TestUser, customer: TestUser
) -> None:
    calendar = await make_calendar(client, admin, "UTC", ("00:00", "24:00"), days=list(range(7)))
    await make_policy(client, admin, calendar, [{"priority": "NORMAL", "firstResponse": 30, "resolution": 600}])
    for _ in range(12):
        await create(client, customer)
    page = """query($n: Int!) { tickets(first: $n) { nodes { number sla { policy { name } clocks { kind state dueAt
      businessMinutesElapsed history { kind at } } } } } }"""
    counts = []
    for size in (3, 12):
        with count_statements() as statements:
            data = await client.data(page, {"n": size}, admin.token)
        assert len(data["tickets"]["nodes"]) == size
        assert all(len(node["sla"]["clocks"]) == 2 for node in data["tickets"]["nodes"])
        counts.append(len(statements))
    assert counts[0] == counts[1], counts


# -- found by attacking it ---------------------------------------------------------------------------


async def test_a_target_lowered_below_the_time_used_is_breached_when_it_was_passed(
    client: HelplineClient, clock: FrozenClock, admin: TestUser, agent: TestUser, customer: TestUser
) -> None:
    calendar = await make_calendar(client, admin, "UTC", ("00:00", "24:00"), days=list(range(7)))
    await make_policy(
        client,
        admin,
        calendar,
        [{"priority": "NORMAL", "firstResponse": 120}, {"priority": "URGENT", "firstResponse": 30}],
    )
    clock.set(utc(2026, 6, 8, 9, 0))
    ticket = await create(client, customer)
    clock.set(utc(2026, 6, 8, 10, 0))
    await update(client, agent, ticket["id"], priority="URGENT")
    lowered = (await clocks_of(client, admin, ticket["id"]))["FIRST_RESPONSE"]
    assert lowered["state"] == "BREACHED" and lowered["breachedAt"] == iso(utc(2026, 6, 8, 9, 30))
    assert lowered["dueAt"] == iso(utc(2026, 6, 8, 9, 30)) and lowered["businessMinutesRemaining"] == -30
    clock.set(utc(2026, 6, 8, 10, 30))
    await reply(client, agent, ticket["id"], "Sorry for the wait.")
    met_late = (await clocks_of(client, admin, ticket["id"]))["FIRST_RESPONSE"]
    assert met_late["state"] == "BREACHED" and met_late["metAt"] == iso(utc(2026, 6, 8, 10, 30))


async def test_pausing_after_the_due_time_before_the_job_runs_keeps_the_breach(
    client: HelplineClient, clock: FrozenClock, admin: TestUser, agent: TestUser, customer: TestUser
) -> None:
    calendar = await make_calendar(client, admin, "UTC", ("00:00", "24:00"), days=list(range(7)))
    await make_policy(client, admin, calendar, [{"priority": "NORMAL", "firstResponse": 30, "resolution": 60}])
    clock.set(utc(2026, 6, 8, 9, 0))
    ticket = await create(client, customer)
    clock.set(utc(2026, 6, 8, 11, 0))
    await update(client, agent, ticket["id"], status="ON_HOLD")  # no job ran in between
    paused = await clocks_of(client, admin, ticket["id"])
    assert paused["FIRST_RESPONSE"]["state"] == paused["RESOLUTION"]["state"] == "BREACHED"
    assert paused["RESOLUTION"]["breachedAt"] == iso(utc(2026, 6, 8, 10, 0))
    clock.set(utc(2026, 6, 8, 11, 5))
    await reply(client, agent, ticket["id"], "Done.", status="SOLVED")
    solved = await clocks_of(client, admin, ticket["id"])
    assert solved["RESOLUTION"]["state"] == "BREACHED" and solved["RESOLUTION"]["metAt"] is not None


async def test_reopening_applies_the_policy_as_it_is_now(
    client: HelplineClient, clock: FrozenClock, admin: TestUser, agent: TestUser, customer: TestUser
) -> None:
    calendar = await make_calendar(client, admin, "UTC", ("00:00", "24:00"), days=list(range(7)))
    await make_policy(
        client, admin, calendar, [{"priority": "NORMAL", "resolution": 600}, {"priority": "URGENT", "resolution": 60}]
    )
    clock.set(utc(2026, 6, 8, 9, 0))
    ticket = await create(client, customer)
    clock.set(utc(2026, 6, 8, 9, 10))
    await reply(client, agent, ticket["id"], "Done.", status="SOLVED")
    clock.set(utc(2026, 6, 8, 9, 20))
    await update(client, agent, ticket["id"], priority="URGENT")  # while solved
    clock.set(utc(2026, 6, 8, 9, 30))
    await reply(client, customer, ticket["id"], "Not fixed.")
    reopened = (await clocks_of(client, admin, ticket["id"]))["RESOLUTION"]
    assert (reopened["state"], reopened["targetMinutes"]) == ("RUNNING", 60)
    assert reopened["dueAt"] == iso(utc(2026, 6, 8, 10, 20))  # 10 minutes used, 50 left from 09:30


async def test_changing_the_pausing_statuses_reaches_open_clocks(
    client: HelplineClient, clock: FrozenClock, admin: TestUser, agent: TestUser, customer: TestUser
) -> None:
    calendar = await make_calendar(client, admin, "UTC", ("00:00", "24:00"), days=list(range(7)))
    await make_policy(client, admin, calendar, [{"priority": "NORMAL", "resolution": 600}])
    clock.set(utc(2026, 6, 8, 9, 0))
    ticket = await create(client, customer)
    await update(client, agent, ticket["id"], status="PENDING")
    assert (await clocks_of(client, admin, ticket["id"]))["RESOLUTION"]["state"] == "PAUSED"
    change = "mutation { updateSlaSettings(input: {pausingStatuses: [ON_HOLD]}) { userErrors { code } } }"
    await client.data(change, token=admin.token)
    clock.set(utc(2026, 6, 8, 10, 0))
    await jobs.recompute(runtime_of(client))
    resumed = (await clocks_of(client, admin, ticket["id"]))["RESOLUTION"]
    assert resumed["state"] == "RUNNING" and resumed["dueAt"] == iso(utc(2026, 6, 8, 20, 0))  # 600 min from 10:00


async def test_customers_allowed_to_see_sla_get_no_policy_or_history(
    client: HelplineClient, admin: TestUser, customer: TestUser
) -> None:
    calendar = await make_calendar(client, admin, "UTC", ("00:00", "24:00"), days=list(range(7)))
    await make_policy(client, admin, calendar, [{"priority": "NORMAL", "resolution": 600}], name="VIP customers")
    await client.data(
        "mutation { updateSlaSettings(input: {customersSeeSla: true}) { userErrors { code } } }", token=admin.token
    )
    ticket = await create(client, customer)
    sla = (await client.data(SLA, {"id": ticket["id"]}, customer.token))["ticket"]["sla"]
    assert sla["policy"] is None and all(clock["history"] == [] for clock in sla["clocks"])
    assert sla["clocks"][1]["dueAt"] is not None


async def test_strict_times_and_zones(client: HelplineClient, admin: TestUser) -> None:
    for start in ("-0:30", "\u0660\u0668:\u0660\u0660", "0_8:00", " 8:00", "+8:00", "8:00"):
        intervals = [{"weekday": 0, "start": start, "end": "12:00"}]
        data = await client.data(
            CALENDAR, {"input": {"name": "Odd", "timezone": "UTC", "intervals": intervals}}, admin.token
        )
        assert [error["code"] for error in data["createSlaCalendar"]["userErrors"]] == ["INVALID_TIME"], start
    for zone in ("localtime", "Factory", "A" * 5000):
        intervals = [{"weekday": 0, "start": "08:00", "end": "12:00"}]
        data = await client.data(
            CALENDAR, {"input": {"name": "Odd", "timezone": zone, "intervals": intervals}}, admin.token
        )
        assert [error["code"] for error in data["createSlaCalendar"]["userErrors"]] == ["UNKNOWN_TIMEZONE"], zone[:20]
    night = [{"weekday": 0, "start": "22:00", "end": "00:00"}]
    data = await client.data(CALENDAR, {"input": {"name": "Night", "timezone": "UTC", "intervals": night}}, admin.token)
    assert data["createSlaCalendar"]["calendar"]["intervals"] == [{"weekday": 0, "start": "22:00", "end": "24:00"}]
    twice = [{"weekday": 7, "start": "08:00", "end": "12:00"}] * 2
    data = await client.data(CALENDAR, {"input": {"name": "Odd", "timezone": "UTC", "intervals": twice}}, admin.token)
    assert data["createSlaCalendar"]["userErrors"]  # not an internal error
