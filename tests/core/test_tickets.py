"""Tickets through the GraphQL API: creation, replies and the lifecycle, updates, versions, events."""

from typing import Any

from helpline.core.clock import FrozenClock
from helpline.core.models import Message, Ticket, TicketEvent
from helpline.testing import HelplineClient, TestUser
from tests.gql import ADD_MESSAGE, CREATE_TICKET, TICKET, UPDATE_TICKET

EVENTS = (
    "query($id: ID!) { ticket(id: $id) { events(first: 100) { totalCount nodes { kind field oldValue newValue "
    "actor { name } actorSource createdAt messageId } } } }"
)


async def create(client: HelplineClient, user: TestUser, **fields: Any) -> dict[str, Any]:
    payload = {"subject": "Printer on fire", "description": "Smoke everywhere", **fields}
    data = await client.data(CREATE_TICKET, {"input": payload}, user.token)
    assert data["createTicket"]["userErrors"] == []
    return data["createTicket"]["ticket"]  # type: ignore[no-any-return]


async def reply(
    client: HelplineClient, user: TestUser, ticket_id: str, body: str = "ok", **fields: Any
) -> dict[str, Any]:
    data = await client.data(ADD_MESSAGE, {"input": {"ticketId": ticket_id, "body": body, **fields}}, user.token)
    return data["addMessage"]  # type: ignore[no-any-return]


async def update(client: HelplineClient, user: TestUser, ticket_id: str, **fields: Any) -> dict[str, Any]:
    data = await client.data(UPDATE_TICKET, {"input": {"id": ticket_id, **fields}}, user.token)
    return data["updateTicket"]  # type: ignore[no-any-return]


async def test_ticket_numbers_are_sequential_from_1001(client: HelplineClient, customer: TestUser) -> None:
    numbers = [(await create(client, customer))["number"] for _ in range(3)]
    assert numbers == [1001, 1002, 1003]


async def test_creation_keeps_every_field(client: HelplineClient, admin: TestUser, customer: TestUser) -> None:
    ticket = await create(
        client,
        customer,
        priority="URGENT",
        type="INCIDENT",
        category="Hardware",
        channel="EMAIL",
        tags=["Printer", "fire", "printer"],
        customFields={"floor": 3, "building": "B"},
    )
    assert ticket["priority"] == "URGENT"
    assert ticket["type"] == "INCIDENT"
    assert ticket["category"] == "Hardware"
    assert ticket["channel"] == "EMAIL"
    assert ticket["tags"] == ["fire", "printer"]
    assert ticket["customFields"] == {"floor": 3, "building": "B"}
    assert ticket["version"] == 1
    stored = await client.data(TICKET, {"id": ticket["id"]}, admin.token)
    messages = stored["ticket"]["messages"]["nodes"]
    assert [m["body"] for m in messages] == ["Smoke everywhere"]


async def test_agent_creates_for_a_customer_and_routes(
    client: HelplineClient, admin: TestUser, agent: TestUser, customer: TestUser
) -> None:
    team = await client.data('mutation { createTeam(input: {name: "Support"}) { team { id } } }', token=admin.token)
    team_id = team["createTeam"]["team"]["id"]
    ticket_requester = await client.data("{ viewer { id } }", token=customer.token)
    agent_id = (await client.data("{ viewer { id } }", token=agent.token))["viewer"]["id"]
    await client.data(
        "mutation($t: ID!, $u: ID!) { addTeamMember(input: {teamId: $t, userId: $u}) { userErrors { code } } }",
        {"t": team_id, "u": agent_id},
        admin.token,
    )
    ticket = await create(
        client, agent, requesterId=ticket_requester["viewer"]["id"], teamId=team_id, assigneeId=agent_id
    )
    assert ticket["requester"]["name"] == "Cora Customer"
    assert ticket["team"]["name"] == "Support"
    assert ticket["assignee"]["name"] == "Alan Agent"


async def test_customers_cannot_route_or_create_for_others(
    client: HelplineClient, customer: TestUser, agent: TestUser
) -> None:
    agent_id = (await client.data("{ viewer { id } }", token=agent.token))["viewer"]["id"]
    data = await client.data(
        CREATE_TICKET, {"input": {"subject": "x", "description": "y", "assigneeId": agent_id}}, customer.token
    )
    assert data["createTicket"]["ticket"] is None
    assert data["createTicket"]["userErrors"][0]["code"] == "FORBIDDEN_FIELD"
    data = await client.data(
        CREATE_TICKET, {"input": {"subject": "x", "description": "y", "requesterId": agent_id}}, customer.token
    )
    assert data["createTicket"]["userErrors"][0]["code"] == "FORBIDDEN_FIELD"
    assert await Ticket.all().count() == 0


async def test_agent_public_reply_opens_a_new_ticket(
    client: HelplineClient, agent: TestUser, customer: TestUser
) -> None:
    ticket = await create(client, customer)
    note = await reply(client, agent, ticket["id"], "looking", internal=True)
    assert note["ticket"]["status"] == "NEW", "an internal note does not open the ticket"
    answer = await reply(client, agent, ticket["id"], "On our way")
    assert answer["ticket"]["status"] == "OPEN"
    assert answer["message"]["author"]["name"] == "Alan Agent"
    assert answer["message"]["source"] == "HUMAN"


async def test_agent_reply_can_set_pending_and_customer_reply_reopens(
    client: HelplineClient, agent: TestUser, customer: TestUser
) -> None:
    ticket = await create(client, customer)
    answer = await reply(client, agent, ticket["id"], "Which model?", status="PENDING")
    assert answer["ticket"]["status"] == "PENDING"
    back = await reply(client, customer, ticket["id"], "The X200")
    assert back["ticket"]["status"] == "OPEN"


async def test_customer_reply_leaves_on_hold_alone(client: HelplineClient, agent: TestUser, customer: TestUser) -> None:
    ticket = await create(client, customer)
    await update(client, agent, ticket["id"], status="ON_HOLD")
    back = await reply(client, customer, ticket["id"], "Any news?")
    assert back["ticket"]["status"] == "ON_HOLD"


async def test_customer_reply_reopens_solved(client: HelplineClient, agent: TestUser, customer: TestUser) -> None:
    ticket = await create(client, customer)
    await update(client, agent, ticket["id"], status="SOLVED")
    back = await reply(client, customer, ticket["id"], "Still broken")
    assert back["ticket"]["status"] == "OPEN"
    assert await Ticket.filter(id=_pk(ticket["id"])).values_list("solved_at", flat=True) == [None]


async def test_customer_reply_to_closed_ticket_opens_a_linked_follow_up(
    client: HelplineClient, admin: TestUser, agent: TestUser, customer: TestUser
) -> None:
    ticket = await create(client, customer, tags=["printer"])
    agent_id = (await client.data("{ viewer { id } }", token=agent.token))["viewer"]["id"]
    await update(client, agent, ticket["id"], assigneeId=agent_id, status="SOLVED")
    await update(client, agent, ticket["id"], status="CLOSED")
    result = await reply(client, customer, ticket["id"], "It is on fire again")
    assert result["userErrors"] == []
    follow_up = result["ticket"]
    view = await client.data(TICKET, {"id": follow_up["id"]}, admin.token)
    assert view["ticket"]["assignee"]["name"] == "Alan Agent", "the follow-up goes back to whoever solved it"
    assert view["ticket"]["tags"] == ["printer"]
    events = (await client.data(EVENTS, {"id": follow_up["id"]}, admin.token))["ticket"]["events"]["nodes"]
    assert events[0]["newValue"]["followUpOfId"] == ticket["id"]
    assert follow_up["number"] == 1002
    assert follow_up["status"] == "NEW"
    assert follow_up["followUpOf"] == {"number": 1001}
    assert result["message"]["body"] == "It is on fire again"
    original = await client.data(TICKET, {"id": ticket["id"]}, admin.token)
    assert original["ticket"]["status"] == "CLOSED"
    assert original["ticket"]["messages"]["totalCount"] == 1, "the closed ticket is untouched"


async def test_staff_cannot_write_on_closed_tickets(
    client: HelplineClient, agent: TestUser, customer: TestUser
) -> None:
    ticket = await create(client, customer)
    await update(client, agent, ticket["id"], status="SOLVED")
    await update(client, agent, ticket["id"], status="CLOSED")
    result = await reply(client, agent, ticket["id"], "late")
    assert result["message"] is None
    assert result["userErrors"][0]["code"] == "TICKET_CLOSED"
    changed = await update(client, agent, ticket["id"], priority="HIGH")
    assert changed["userErrors"][0]["code"] == "TICKET_CLOSED"


async def test_invalid_transition_is_a_user_error_and_changes_nothing(
    client: HelplineClient, agent: TestUser, customer: TestUser
) -> None:
    ticket = await create(client, customer)
    result = await update(client, agent, ticket["id"], status="CLOSED", priority="HIGH")
    assert result["ticket"] is None
    assert result["userErrors"] == [
        {"field": ["input", "status"], "message": "a ticket cannot go from new to closed", "code": "INVALID_TRANSITION"}
    ]
    stored = await Ticket.get(id=_pk(ticket["id"]))
    assert (stored.status.value, stored.priority.name, stored.version) == ("new", "NORMAL", 1)
    assert await TicketEvent.filter(ticket_id=stored.id).count() == 1  # only "created"


async def test_customers_cannot_update_tickets(client: HelplineClient, customer: TestUser) -> None:
    ticket = await create(client, customer)
    body = await client.post(UPDATE_TICKET, {"input": {"id": ticket["id"], "priority": "URGENT"}}, customer.token)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_update_changes_fields_and_logs_each_change(
    client: HelplineClient, admin: TestUser, agent: TestUser, customer: TestUser, clock: FrozenClock
) -> None:
    ticket = await create(client, customer, tags=["a"])
    clock.advance(minutes=5)
    result = await update(
        client,
        agent,
        ticket["id"],
        priority="HIGH",
        tags=["b", "a"],
        subject="Printer smoking",
        status="OPEN",
        customFields={"floor": 2},
    )
    assert result["userErrors"] == []
    changed = result["ticket"]
    assert (changed["priority"], changed["tags"], changed["subject"], changed["status"]) == (
        "HIGH",
        ["a", "b"],
        "Printer smoking",
        "OPEN",
    )
    assert changed["version"] == 2
    events = (await client.data(EVENTS, {"id": ticket["id"]}, admin.token))["ticket"]["events"]["nodes"]
    by_field = {event["field"]: event for event in events if event["kind"] != "CREATED"}
    assert by_field["priority"]["oldValue"] == "NORMAL" and by_field["priority"]["newValue"] == "HIGH"
    assert by_field["status"]["kind"] == "STATUS_CHANGED"
    assert by_field["status"]["oldValue"] == "NEW" and by_field["status"]["newValue"] == "OPEN"
    assert by_field["tags"]["oldValue"] == ["a"] and by_field["tags"]["newValue"] == ["a", "b"]
    assert by_field["subject"]["newValue"] == "Printer smoking"
    assert by_field["customFields"]["newValue"] == {"floor": 2}
    assert all(event["actor"]["name"] == "Alan Agent" for event in by_field.values())
    assert all(event["createdAt"].startswith("2026-06-08T09:05:00") for event in by_field.values())


async def test_an_update_that_changes_nothing_keeps_the_version(
    client: HelplineClient, agent: TestUser, customer: TestUser
) -> None:
    ticket = await create(client, customer, priority="HIGH")
    result = await update(client, agent, ticket["id"], priority="HIGH")
    assert result["ticket"]["version"] == 1


async def test_stale_expected_version_is_a_conflict_and_changes_nothing(
    client: HelplineClient, agent: TestUser, customer: TestUser
) -> None:
    ticket = await create(client, customer)
    first = await update(client, agent, ticket["id"], priority="HIGH", expectedVersion=1)
    assert first["ticket"]["version"] == 2
    body = await client.post(
        UPDATE_TICKET, {"input": {"id": ticket["id"], "priority": "LOW", "expectedVersion": 1}}, agent.token
    )
    assert body["errors"][0]["extensions"]["code"] == "CONFLICT"
    stored = await Ticket.get(id=_pk(ticket["id"]))
    assert (stored.priority.name, stored.version) == ("HIGH", 2)
    body = await client.post(
        ADD_MESSAGE, {"input": {"ticketId": ticket["id"], "body": "late", "expectedVersion": 1}}, agent.token
    )
    assert body["errors"][0]["extensions"]["code"] == "CONFLICT"
    assert await Message.filter(ticket_id=stored.id).count() == 1


async def test_assignment_rules(client: HelplineClient, admin: TestUser, agent: TestUser, customer: TestUser) -> None:
    ticket = await create(client, customer)
    team_id = (await client.data('mutation { createTeam(input: {name: "L2"}) { team { id } } }', token=admin.token))[
        "createTeam"
    ]["team"]["id"]
    agent_id = (await client.data("{ viewer { id } }", token=agent.token))["viewer"]["id"]
    customer_id = (await client.data("{ viewer { id } }", token=customer.token))["viewer"]["id"]
    not_member = await update(client, admin, ticket["id"], teamId=team_id, assigneeId=agent_id)
    assert not_member["userErrors"][0]["code"] == "ASSIGNEE_NOT_IN_TEAM"
    to_customer = await update(client, admin, ticket["id"], assigneeId=customer_id)
    assert to_customer["userErrors"][0]["code"] == "INVALID_ASSIGNEE"
    assigned = await update(client, admin, ticket["id"], assigneeId=agent_id)
    assert assigned["ticket"]["assignee"]["name"] == "Alan Agent"
    cleared = await update(client, admin, ticket["id"], assigneeId=None)
    assert cleared["ticket"]["assignee"] is None
    events = (await client.data(EVENTS, {"id": ticket["id"]}, admin.token))["ticket"]["events"]["nodes"]
    assignments = [(e["kind"], e["field"], e["oldValue"], e["newValue"]) for e in events if e["kind"] == "ASSIGNED"]
    assert assignments == [("ASSIGNED", "assigneeId", None, agent_id), ("ASSIGNED", "assigneeId", agent_id, None)]
    created = events[0]["newValue"]
    assert created["requesterId"] == customer_id and created["status"] == "NEW" and created["number"] == 1001


async def test_messages_keep_channel_and_time(
    client: HelplineClient, agent: TestUser, customer: TestUser, clock: FrozenClock
) -> None:
    ticket = await create(client, customer, channel="EMAIL")
    clock.advance(minutes=20)
    answer = await reply(client, agent, ticket["id"], "Call me", channel="PHONE")
    assert answer["message"]["channel"] == "PHONE"
    message = await Message.get(ticket_id=_pk(ticket["id"]), body="Call me")
    assert message.created_at.isoformat() == "2026-06-08T09:20:00+00:00"


def _pk(global_id: str) -> int:
    from helpline.schema.ids import decode_id

    return decode_id(global_id, "Ticket")


async def test_a_subject_of_invisible_characters_is_empty(client: HelplineClient, customer: TestUser) -> None:
    data = await client.data(
        CREATE_TICKET, {"input": {"subject": "\u200b\u200b \u2060", "description": "x"}}, customer.token
    )
    assert [error["code"] for error in data["createTicket"]["userErrors"]] == ["REQUIRED"]
    assert await Ticket.all().count() == 0
