"""Reports through GraphQL by every dimension, with filters; the rates; the leaderboard's metrics."""

from __future__ import annotations

from typing import Any

from helpline.core.clock import FrozenClock
from helpline.core.enums import Channel, Priority, Status
from helpline.core.models import Organization
from helpline.schema.ids import encode_id
from helpline.testing import HelplineClient, TestUser
from tests.plugins.performance.helpers import change, open_ticket, reply

ROWS = """
query($groupBy: [PerformanceDimension!], $filter: PerformanceFilter) {
  performanceReport(from: "2026-06-01", to: "2026-06-30", groupBy: $groupBy, filter: $filter) {
    groupBy
    rows { organization { id name } channel priority category created solved backlog reopenRate
           firstContactResolutionRate repliesPerTicket reassignmentsPerTicket
           fullResolution { count medianMinutes } }
  }
}"""
BOARD = """query($metric: LeaderboardMetric!) {
  performanceLeaderboard(from: "2026-06-01", to: "2026-06-30", metric: $metric) { rank agent { name } value solved }
}"""


async def history(client: HelplineClient, clock: FrozenClock, admin: TestUser, agent: TestUser) -> dict[str, Any]:
    """Four June tickets (see the test) by two customers, one of them in Acme; two agents."""
    rt = client.runtime
    now = clock.now()
    acme = await Organization.create(name="Acme", created_at=now, updated_at=now)
    insider = await client.make_user("customer", organization_id=acme.id)
    outsider = await client.make_user("customer")
    other = await client.make_user("agent", name="Bea Other")
    billing = {"channel": Channel.EMAIL, "priority": Priority.HIGH, "category": "billing"}

    # 1: Acme, email, high, billing: one agent reply, solved after 10 minutes (one touch).
    one = await open_ticket(rt, insider.user, **billing)
    await change(rt, one, admin.user, assignee_id=agent.id)
    clock.advance(minutes=10)
    await reply(rt, one, agent.user, status=Status.SOLVED)
    # 2: the same kind; reassigned, solved, reopened by the customer, solved again: 2 replies.
    two = await open_ticket(rt, insider.user, **billing)
    await change(rt, two, admin.user, assignee_id=agent.id)
    await change(rt, two, admin.user, assignee_id=other.id)
    clock.advance(minutes=20)
    await reply(rt, two, other.user, status=Status.SOLVED)
    clock.advance(minutes=20)
    await reply(rt, two, insider.user)
    clock.advance(minutes=20)
    await reply(rt, two, other.user, status=Status.SOLVED)
    # 3: no organization, phone, low, no category: answered, still open (the backlog).
    three = await open_ticket(rt, outsider.user, channel=Channel.PHONE, priority=Priority.LOW)
    await change(rt, three, admin.user, assignee_id=agent.id)
    await reply(rt, three, agent.user)
    # 4: web, normal: left out by the channel filter below.
    await open_ticket(rt, outsider.user)
    return {"acme": acme}


async def test_every_dimension_filters_and_rates_through_graphql(
    client: HelplineClient, clock: FrozenClock, admin: TestUser, agent: TestUser
) -> None:
    made = await history(client, clock, admin, agent)
    acme_id = encode_id("Organization", made["acme"].id)
    variables = {
        "groupBy": ["ORGANIZATION", "CHANNEL", "PRIORITY", "CATEGORY"],
        "filter": {"channels": ["EMAIL", "PHONE"]},
    }
    report = (await client.data(ROWS, variables, token=admin.token))["performanceReport"]
    assert report["groupBy"] == ["ORGANIZATION", "CHANNEL", "PRIORITY", "CATEGORY"]
    # Rows in group order, a missing value (no organization) first.
    assert report["rows"] == [
        {
            "organization": None,
            "channel": "PHONE",
            "priority": "LOW",
            "category": None,
            "created": 1,
            "solved": 0,
            "backlog": 1,
            "reopenRate": None,
            "firstContactResolutionRate": None,
            "repliesPerTicket": None,
            "reassignmentsPerTicket": None,
            "fullResolution": {"count": 0, "medianMinutes": None},
        },
        {
            "organization": {"id": acme_id, "name": "Acme"},
            "channel": "EMAIL",
            "priority": "HIGH",
            "category": "billing",
            "created": 2,
            "solved": 2,
            "backlog": 0,
            "reopenRate": 0.5,  # ticket 2 was reopened
            "firstContactResolutionRate": 0.5,  # ticket 1 only
            "repliesPerTicket": 1.5,  # 1 + 2 agent replies (the customer's does not count)
            "reassignmentsPerTicket": 0.5,
            "fullResolution": {"count": 2, "medianMinutes": (10 + 60) / 2},
        },
    ]

    # Filters by organization and priority combine (all must hold), grouped by category alone.
    only = {"groupBy": ["CATEGORY"], "filter": {"organizationIds": [acme_id], "priorities": ["HIGH", "URGENT"]}}
    rows = (await client.data(ROWS, only, token=admin.token))["performanceReport"]["rows"]
    assert [(row["category"], row["created"], row["solved"]) for row in rows] == [("billing", 2, 2)]
    nothing = {"groupBy": ["CATEGORY"], "filter": {"organizationIds": [acme_id], "priorities": ["LOW"]}}
    assert (await client.data(ROWS, nothing, token=admin.token))["performanceReport"]["rows"] == []


async def test_the_leaderboard_ranks_by_each_metric(
    client: HelplineClient, clock: FrozenClock, admin: TestUser, agent: TestUser
) -> None:
    await history(client, clock, admin, agent)

    async def board(metric: str) -> list[tuple[int, str, float | None, int]]:
        entries = (await client.data(BOARD, {"metric": metric}, token=admin.token))["performanceLeaderboard"]
        return [(entry["rank"], entry["agent"]["name"], entry["value"], entry["solved"]) for entry in entries]

    # Alan solved ticket 1 (one touch, 10 min; ticket 3 is his too, unsolved); Bea ticket 2 (60 min).
    assert await board("SOLVED") == [(1, "Alan Agent", 1.0, 1), (2, "Bea Other", 1.0, 1)]  # ties: by agent id
    assert await board("FIRST_CONTACT_RESOLUTION_RATE") == [(1, "Alan Agent", 1.0, 1), (2, "Bea Other", 0.0, 1)]
    assert await board("FULL_RESOLUTION_MEDIAN") == [(1, "Alan Agent", 10.0, 1), (2, "Bea Other", 60.0, 1)]
    # First response is over the tickets created: Alan's 1 and 3 (10 and 0 minutes), Bea's 2 (20).
    first_response = await board("FIRST_RESPONSE_MEDIAN")
    assert first_response == [(1, "Alan Agent", 5.0, 1), (2, "Bea Other", 20.0, 1)]
