"""Ticket lists: filters, ordering, cursor pagination, total counts, and no N+1 queries."""

import base64
import datetime as dt
import json
from typing import Any

import pytest

from helpline.core.clock import FrozenClock
from helpline.core.enums import Priority
from helpline.core.models import Ticket, TicketTag
from helpline.testing import HelplineClient, TestUser, count_statements
from tests.core.test_tickets import create, reply

PAGE = """
query($first: Int, $after: String, $filter: TicketFilterInput, $order: TicketOrder) {
  tickets(first: $first, after: $after, filter: $filter, orderBy: $order) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { number subject status priority tags requester { name } assignee { name } team { name } } }
  }
}
"""


async def listing(client: HelplineClient, user: TestUser, **variables: Any) -> dict[str, Any]:
    return (await client.data(PAGE, variables, user.token))["tickets"]  # type: ignore[no-any-return]


def numbers(page: dict[str, Any]) -> list[int]:
    return [edge["node"]["number"] for edge in page["edges"]]


@pytest.fixture
async def seeded(client: HelplineClient, admin: TestUser, customer: TestUser, clock: FrozenClock) -> dict[str, Any]:
    """Six tickets an hour apart: priorities cycle, tags alternate, two are answered."""
    created = []
    for index in range(6):
        ticket = await create(
            client,
            customer,
            subject=f"Ticket {index} {'printer' if index % 2 else 'network'}",
            priority=["LOW", "NORMAL", "HIGH"][index % 3],
            tags=["even"] if index % 2 == 0 else ["odd"],
        )
        created.append(ticket)
        clock.advance(hours=1)
    await reply(client, admin, created[0]["id"], "answer")
    await reply(client, admin, created[3]["id"], "answer")
    return {"tickets": created}


async def test_pages_walk_the_whole_list_without_gaps_or_repeats(
    client: HelplineClient, admin: TestUser, seeded: dict[str, Any]
) -> None:
    seen: list[int] = []
    after = None
    pages = 0
    while True:
        page = await listing(client, admin, first=4, after=after, order={"field": "NUMBER", "direction": "ASC"})
        assert page["totalCount"] == 6
        seen += numbers(page)
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [1001, 1002, 1003, 1004, 1005, 1006]
    assert pages == 2


async def test_default_order_is_newest_first(client: HelplineClient, admin: TestUser, seeded: dict[str, Any]) -> None:
    assert numbers(await listing(client, admin)) == [1006, 1005, 1004, 1003, 1002, 1001]


async def test_priority_order_breaks_ties_by_id_across_pages(
    client: HelplineClient, admin: TestUser, seeded: dict[str, Any]
) -> None:
    order = {"field": "PRIORITY", "direction": "DESC"}
    first = await listing(client, admin, first=3, order=order)
    second = await listing(client, admin, first=3, order=order, after=first["pageInfo"]["endCursor"])
    assert numbers(first) + numbers(second) == [1006, 1003, 1005, 1002, 1004, 1001]


async def test_filters(client: HelplineClient, admin: TestUser, seeded: dict[str, Any]) -> None:
    assert numbers(await listing(client, admin, filter={"status": ["OPEN"]})) == [1004, 1001]
    assert numbers(await listing(client, admin, filter={"priority": ["HIGH"]})) == [1006, 1003]
    assert numbers(await listing(client, admin, filter={"tag": "ODD"})) == [1006, 1004, 1002]
    assert numbers(await listing(client, admin, filter={"subjectContains": "PRINTER"})) == [1006, 1004, 1002]
    window = {"createdAfter": "2026-06-08T10:00:00+00:00", "createdBefore": "2026-06-08T12:00:00Z"}
    assert numbers(await listing(client, admin, filter=window)) == [1003, 1002]
    assert numbers(await listing(client, admin, filter={"status": ["NEW"], "priority": ["LOW"]})) == []
    assert numbers(await listing(client, admin, filter={"status": ["NEW"], "priority": ["HIGH"]})) == [1006, 1003]
    assert numbers(await listing(client, admin, filter={"unassigned": True})) == [1006, 1005, 1004, 1003, 1002, 1001]
    requester = seeded["tickets"][0]["requester"]["id"]
    assert len(numbers(await listing(client, admin, filter={"requesterIds": [requester]}))) == 6
    updated = await listing(client, admin, filter={"updatedAfter": "2026-06-08T15:00:00Z"})
    assert numbers(updated) == [1004, 1001], "the two answered tickets were updated last"


async def test_filter_by_team_and_assignee(client: HelplineClient, admin: TestUser, customer: TestUser) -> None:
    team = await client.data('mutation { createTeam(input: {name: "Ops"}) { team { id } } }', token=admin.token)
    team_id = team["createTeam"]["team"]["id"]
    admin_id = (await client.data("{ viewer { id } }", token=admin.token))["viewer"]["id"]
    customer_id = (await client.data("{ viewer { id } }", token=customer.token))["viewer"]["id"]
    await create(client, admin, requesterId=customer_id, teamId=team_id, assigneeId=admin_id)
    await create(client, admin, requesterId=customer_id)
    assert numbers(await listing(client, admin, filter={"teamIds": [team_id]})) == [1001]
    assert numbers(await listing(client, admin, filter={"assigneeIds": [admin_id]})) == [1001]
    assert numbers(await listing(client, admin, filter={"unassigned": True})) == [1002]


async def test_page_size_is_capped(client: HelplineClient, admin: TestUser) -> None:
    body = await client.post(PAGE, {"first": 101}, admin.token)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "between 0 and 100" in body["errors"][0]["message"]
    body = await client.post(PAGE, {"first": -1}, admin.token)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_forged_cursor_is_bad_input(client: HelplineClient, admin: TestUser) -> None:
    for cursor in ("nope", "W10=", "eyJhIjogMX0="):
        body = await client.post(PAGE, {"after": cursor}, admin.token)
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", cursor


async def test_a_cursor_reads_the_same_instant_in_any_offset(
    client: HelplineClient, admin: TestUser, seeded: dict[str, Any]
) -> None:
    order = {"field": "CREATED_AT", "direction": "DESC"}
    first = await listing(client, admin, first=2, order=order)
    value, pk, ordering = json.loads(base64.urlsafe_b64decode(first["pageInfo"]["endCursor"]))
    assert ordering == "-created_at"
    shifted = dt.datetime.fromisoformat(value).astimezone(dt.timezone(dt.timedelta(hours=5))).isoformat()
    same_instant = base64.urlsafe_b64encode(json.dumps([shifted, pk, ordering]).encode()).decode()
    genuine = await listing(client, admin, first=10, order=order, after=first["pageInfo"]["endCursor"])
    assert numbers(await listing(client, admin, first=10, order=order, after=same_instant)) == numbers(genuine)
    assert len(numbers(genuine)) == 4
    # A number that is no priority, in a cursor of the priority ordering: bad input, not a server error.
    forged = base64.urlsafe_b64encode(json.dumps([1002, pk, "priority"]).encode()).decode()
    body = await client.post(PAGE, {"after": forged, "order": {"field": "PRIORITY", "direction": "ASC"}}, admin.token)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_cursor_continues_only_a_list_in_its_own_order(
    client: HelplineClient, admin: TestUser, seeded: dict[str, Any]
) -> None:
    newest = {"field": "CREATED_AT", "direction": "DESC"}
    cursor = (await listing(client, admin, first=2, order=newest))["pageInfo"]["endCursor"]
    assert len(numbers(await listing(client, admin, first=10, order=newest, after=cursor))) == 4
    for other in (
        {"field": "CREATED_AT", "direction": "ASC"},  # same field, other direction
        {"field": "UPDATED_AT", "direction": "DESC"},  # same type of value, other field
        {"field": "NUMBER", "direction": "DESC"},
    ):
        body = await client.post(PAGE, {"after": cursor, "order": other}, admin.token)
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", other
        assert "not a cursor from this list" in body["errors"][0]["message"]


async def _seed_many(count: int) -> None:
    """Tickets straight into the tables, each with its own requester, assignee, team and tags."""
    from helpline.core.enums import Role, Status
    from helpline.core.models import Team, User

    now = dt.datetime(2026, 6, 8, tzinfo=dt.UTC)
    people = [
        User(email=f"u{i}@example.com", name=f"U{i}", role=Role.AGENT, created_at=now, updated_at=now)
        for i in range(count * 2)
    ]
    await User.bulk_create(people)
    users = await User.filter(email__startswith="u").order_by("id")
    await Team.bulk_create([Team(name=f"T{i}", created_at=now, updated_at=now) for i in range(count)])
    teams = await Team.all().order_by("id")
    await Ticket.bulk_create(
        [
            Ticket(
                number=5000 + i,
                subject=f"s{i}",
                status=Status.OPEN,
                priority=Priority.NORMAL,
                requester_id=users[2 * i].id,
                assignee_id=users[2 * i + 1].id,
                team_id=teams[i].id,
                created_at=now + dt.timedelta(minutes=i),
                updated_at=now,
                version=1,
            )
            for i in range(count)
        ]
    )
    tickets = await Ticket.all()
    await TicketTag.bulk_create([TicketTag(ticket_id=t.id, name=name) for t in tickets for name in ("a", "b")])


async def test_statement_count_does_not_grow_with_page_size(client: HelplineClient, admin: TestUser) -> None:
    await _seed_many(100)
    counts = {}
    for size in (10, 100):
        with count_statements() as statements:
            page = await listing(client, admin, first=size)
        assert len(page["edges"]) == size
        assert page["edges"][0]["node"]["tags"] == ["a", "b"]
        assert page["edges"][0]["node"]["team"]["name"].startswith("T")
        counts[size] = len(statements)
    assert counts[10] == counts[100], counts
    assert counts[10] <= 8, counts


async def test_total_count_comes_with_a_first_page_and_on_its_own_after_a_cursor(
    client: HelplineClient, admin: TestUser, seeded: dict[str, Any]
) -> None:
    spread = "fragment Counted on TicketConnection { totalCount } "
    inline = "... on TicketConnection { totalCount } "
    queries = {
        "field": "query($f: TicketFilterInput) { tickets(first: 2, filter: $f) { totalCount nodes { number } } }",
        "fragment": spread + "query($f: TicketFilterInput) { tickets(first: 2, filter: $f) { ...Counted } }",
        "inline": "query($f: TicketFilterInput) { tickets(first: 2, filter: $f) { " + inline + "} }",
    }
    statements_of: dict[str, int] = {}
    for name, query in queries.items():
        for filter_, expected in (({}, 6), ({"tag": "odd"}, 3), ({"status": ["CLOSED"]}, 0)):
            with count_statements() as statements:
                data = await client.data(query, {"f": filter_}, admin.token)
            assert data["tickets"]["totalCount"] == expected, (name, filter_)
            statements_of[name] = len(statements)
    without_total = "{ tickets(first: 2) { nodes { number } } }"
    with count_statements() as statements:
        await client.data(without_total, token=admin.token)
    # The token lookup and the page: the count is a subquery of the page's statement.
    assert statements_of == {"field": 2, "fragment": 2, "inline": 2} and len(statements) == 2
    first = await listing(client, admin, first=4, filter={"priority": ["LOW", "HIGH"]})
    later = await listing(
        client, admin, first=4, filter={"priority": ["LOW", "HIGH"]}, after=first["edges"][1]["cursor"]
    )
    assert first["totalCount"] == later["totalCount"] == 4
    assert numbers(later) == numbers(first)[2:]
    assert [edge["cursor"] for edge in later["edges"]] == [edge["cursor"] for edge in first["edges"]][2:]
    assert later["pageInfo"]["endCursor"] == first["pageInfo"]["endCursor"]


async def test_lists_of_the_same_shape_answer_each_viewer_with_their_own_values(
    client: HelplineClient, admin: TestUser
) -> None:
    """Statements are compiled once per shape and reused with each request's parameters: two
    agents in one team each, and two customers, must each get exactly their own tickets."""
    agents = [await client.make_user("agent", name=f"Agent {i}") for i in range(2)]
    customers = [await client.make_user("customer", name=f"Customer {i}") for i in range(2)]
    teams = []
    for index, agent in enumerate(agents):
        team = await client.data(
            "mutation($n: String!) { createTeam(input: {name: $n}) { team { id } } }",
            {"n": f"Team {index}"},
            admin.token,
        )
        teams.append(team["createTeam"]["team"]["id"])
        await client.data(
            "mutation($t: ID!, $u: ID!) { addTeamMember(input: {teamId: $t, userId: $u}) { userErrors { code } } }",
            {"t": teams[-1], "u": (await client.data("{ viewer { id } }", token=agent.token))["viewer"]["id"]},
            admin.token,
        )
    customer_ids = [(await client.data("{ viewer { id } }", token=c.token))["viewer"]["id"] for c in customers]
    for index in range(2):
        for copy in range(index + 1):
            await create(
                client, admin, subject=f"team {index} #{copy}", requesterId=customer_ids[index], teamId=teams[index]
            )
    query = "{ tickets(first: 10) { totalCount nodes { subject } } }"
    for _round in range(2):
        for index, (agent, customer) in enumerate(zip(agents, customers, strict=True)):
            expected = sorted(f"team {index} #{copy}" for copy in range(index + 1))
            for viewer in (agent, customer):
                data = (await client.data(query, token=viewer.token))["tickets"]
                assert sorted(node["subject"] for node in data["nodes"]) == expected
                assert data["totalCount"] == index + 1
    # A membership change is seen by the very next request.
    agent_id = (await client.data("{ viewer { id } }", token=agents[0].token))["viewer"]["id"]
    await client.data(
        "mutation($t: ID!, $u: ID!) { addTeamMember(input: {teamId: $t, userId: $u}) { userErrors { code } } }",
        {"t": teams[1], "u": agent_id},
        admin.token,
    )
    assert (await client.data(query, token=agents[0].token))["tickets"]["totalCount"] == 3
