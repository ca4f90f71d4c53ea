"""Who sees what: one set of rules, applied to every query (DESIGN.md, "Access control")."""

from typing import Any

import pytest

from helpline.config import Settings
from helpline.core.clock import FrozenClock
from helpline.testing import HelplineClient, TestUser, running_app
from tests.core.test_tickets import create, reply
from tests.gql import ADD_MESSAGE

MESSAGES = "query($id: ID!) { ticket(id: $id) { messages { totalCount nodes { id body internal } } } }"
LIST = "{ tickets(first: 50) { totalCount nodes { number messages { totalCount nodes { body } } } } }"


async def three_message_ticket(client: HelplineClient, agent: TestUser, customer: TestUser) -> dict[str, Any]:
    """A ticket with the customer's message, an internal note and a public reply."""
    ticket = await create(client, customer, description="customer message")
    note = await reply(client, agent, ticket["id"], "internal note: customer seems angry", internal=True)
    await reply(client, agent, ticket["id"], "public reply")
    return {"ticket": ticket, "note_id": note["message"]["id"]}


async def test_customer_sees_exactly_two_messages_everywhere(
    client: HelplineClient, agent: TestUser, customer: TestUser
) -> None:
    setup = await three_message_ticket(client, agent, customer)
    view = await client.data(MESSAGES, {"id": setup["ticket"]["id"]}, customer.token)
    messages = view["ticket"]["messages"]
    assert messages["totalCount"] == 2
    assert [m["body"] for m in messages["nodes"]] == ["customer message", "public reply"]
    listing = await client.data(LIST, token=customer.token)
    node = listing["tickets"]["nodes"][0]
    assert node["messages"]["totalCount"] == 2
    assert "internal note" not in str(listing)
    by_subject = await client.data(
        '{ tickets(filter: {subjectContains: "printer"}) { nodes { messages { totalCount } } } }', token=customer.token
    )
    assert by_subject["tickets"]["nodes"][0]["messages"]["totalCount"] == 2
    staff_view = await client.data(MESSAGES, {"id": setup["ticket"]["id"]}, agent.token)
    assert staff_view["ticket"]["messages"]["totalCount"] == 3


async def test_internal_note_by_id_is_not_found_for_the_customer(
    client: HelplineClient, agent: TestUser, customer: TestUser
) -> None:
    setup = await three_message_ticket(client, agent, customer)
    query = "query($id: ID!) { message(id: $id) { body } }"
    body = await client.post(query, {"id": setup["note_id"]}, customer.token)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert "internal" not in body["errors"][0]["message"]
    staff = await client.data(query, {"id": setup["note_id"]}, agent.token)
    assert staff["message"]["body"].startswith("internal note")


async def test_invisible_ticket_answers_exactly_like_a_missing_one(client: HelplineClient, customer: TestUser) -> None:
    other = await client.make_user("customer")
    ticket = await create(client, other)
    query = "query($id: ID!) { ticket(id: $id) { subject } }"
    hidden = await client.post(query, {"id": ticket["id"]}, customer.token)
    from helpline.schema.ids import decode_id, encode_id

    missing = await client.post(query, {"id": encode_id("Ticket", 999_999)}, customer.token)
    assert hidden == missing
    by_number = await client.post("{ ticket(number: 1001) { subject } }", token=customer.token)
    assert by_number["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    reply_attempt = await client.post(ADD_MESSAGE, {"input": {"ticketId": ticket["id"], "body": "hi"}}, customer.token)
    missing_reply = await client.post(
        ADD_MESSAGE, {"input": {"ticketId": encode_id("Ticket", 999_999), "body": "hi"}}, customer.token
    )
    # The same message but for the row id it echoes, and the same code.
    hidden_pk = decode_id(ticket["id"], "Ticket")
    assert reply_attempt["errors"][0]["message"].replace(str(hidden_pk), "N") == missing_reply["errors"][0][
        "message"
    ].replace("999999", "N")
    assert reply_attempt["errors"][0]["extensions"] == missing_reply["errors"][0]["extensions"]
    listing = await client.data(LIST, token=customer.token)
    assert listing["tickets"]["totalCount"] == 0


async def test_customers_cannot_see_notes_or_events(
    client: HelplineClient, agent: TestUser, customer: TestUser
) -> None:
    setup = await three_message_ticket(client, agent, customer)
    events = await client.post(
        "query($id: ID!) { ticket(id: $id) { events { totalCount } } }", {"id": setup["ticket"]["id"]}, customer.token
    )
    assert events["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    note = await client.data(
        ADD_MESSAGE, {"input": {"ticketId": setup["ticket"]["id"], "body": "x", "internal": True}}, customer.token
    )
    assert note["addMessage"]["userErrors"][0]["code"] == "FORBIDDEN_FIELD"


async def test_organization_sharing(client: HelplineClient, admin: TestUser) -> None:
    org = await client.data(
        'mutation { createOrganization(input: {name: "Acme", sharedTickets: false}) { organization { id } } }',
        token=admin.token,
    )
    org_id = org["createOrganization"]["organization"]["id"]
    from helpline.schema.ids import decode_id

    alice = await client.make_user("customer", organization_id=decode_id(org_id, "Organization"))
    bob = await client.make_user("customer", organization_id=decode_id(org_id, "Organization"))
    await create(client, alice, subject="Alice's problem")
    assert (await client.data(LIST, token=bob.token))["tickets"]["totalCount"] == 0
    await client.data(
        "mutation($id: ID!) { updateOrganization(input: {id: $id, sharedTickets: true}) { organization { sharedTickets } } }",
        {"id": org_id},
        admin.token,
    )
    shared = await client.data("{ tickets { totalCount nodes { subject requester { name email } } } }", token=bob.token)
    assert shared["tickets"]["totalCount"] == 1
    assert shared["tickets"]["nodes"][0]["requester"]["email"] is None, "customers never see others' e-mail"


async def test_agents_see_their_teams_their_assignments_and_the_triage_queue(
    client: HelplineClient, admin: TestUser, agent: TestUser, customer: TestUser
) -> None:
    teams = {}
    for name in ("Billing", "Hardware"):
        result = await client.data(
            "mutation($n: String!) { createTeam(input: {name: $n}) { team { id } } }", {"n": name}, admin.token
        )
        teams[name] = result["createTeam"]["team"]["id"]
    agent_id = (await client.data("{ viewer { id } }", token=agent.token))["viewer"]["id"]
    await client.data(
        "mutation($t: ID!, $u: ID!) { addTeamMember(input: {teamId: $t, userId: $u}) { userErrors { code } } }",
        {"t": teams["Hardware"], "u": agent_id},
        admin.token,
    )
    customer_id = (await client.data("{ viewer { id } }", token=customer.token))["viewer"]["id"]
    await create(client, admin, subject="triage", requesterId=customer_id)
    await create(client, admin, subject="hardware", requesterId=customer_id, teamId=teams["Hardware"])
    billing = await create(client, admin, subject="billing", requesterId=customer_id, teamId=teams["Billing"])
    visible = await client.data("{ tickets { nodes { subject } } }", token=agent.token)
    assert sorted(n["subject"] for n in visible["tickets"]["nodes"]) == ["hardware", "triage"]
    hidden = await client.post("query($id: ID!) { ticket(id: $id) { subject } }", {"id": billing["id"]}, agent.token)
    assert hidden["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    admin_view = await client.data("{ tickets { totalCount } }", token=admin.token)
    assert admin_view["tickets"]["totalCount"] == 3


async def test_agents_see_all_when_the_deployment_says_so(clock: FrozenClock) -> None:
    async with running_app(clock=clock, settings=Settings(agents_see_all_tickets=True)) as client:
        admin = await client.make_user("admin")
        agent = await client.make_user("agent")
        team = await client.data('mutation { createTeam(input: {name: "Billing"}) { team { id } } }', token=admin.token)
        await create(client, admin, teamId=team["createTeam"]["team"]["id"])
        assert (await client.data("{ tickets { totalCount } }", token=agent.token))["tickets"]["totalCount"] == 1


@pytest.mark.parametrize(
    "query",
    [
        "{ teams { name } }",
        "{ users { totalCount } }",
        "{ ticket(number: 1001) { events { totalCount } } }",
    ],
)
async def test_staff_only_queries_are_forbidden_for_customers(
    client: HelplineClient, customer: TestUser, query: str
) -> None:
    await create(client, customer)
    body = await client.post(query, token=customer.token)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_admin_only_mutations(client: HelplineClient, agent: TestUser) -> None:
    body = await client.post('mutation { createTeam(input: {name: "x"}) { team { id } } }', token=agent.token)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = await client.post(
        'mutation { createUser(input: {email: "x@y.zz", name: "X", role: ADMIN}) { user { id } } }', token=agent.token
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_tokens_are_hashed_shown_once_and_revocable(client: HelplineClient, admin: TestUser) -> None:
    from helpline.core.models import ApiToken

    created = await client.data(
        'mutation { createApiToken(input: {name: "laptop"}) { token { id prefix } secret } }', token=admin.token
    )
    secret = created["createApiToken"]["secret"]
    assert secret.startswith("hl_")
    assert not await ApiToken.filter(token_hash=secret).exists()
    assert all(secret not in str(row.__dict__) for row in await ApiToken.all())
    listing = await client.data("{ apiTokens { name prefix } }", token=secret)
    assert "secret" not in str(listing) and secret not in str(listing)
    assert (await client.data("{ viewer { name } }", token=secret))["viewer"]["name"] == "Ada Admin"
    await client.data(
        "mutation($id: ID!) { revokeApiToken(input: {id: $id}) { token { revokedAt } } }",
        {"id": created["createApiToken"]["token"]["id"]},
        admin.token,
    )
    revoked = await client.post("{ viewer { name } }", token=secret)
    assert revoked["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert revoked["errors"][0]["message"] == "the API token is invalid or has been revoked"


async def test_deactivated_users_tokens_stop_working(client: HelplineClient, admin: TestUser, agent: TestUser) -> None:
    agent_id = (await client.data("{ viewer { id } }", token=agent.token))["viewer"]["id"]
    await client.data(
        "mutation($id: ID!) { updateUser(input: {id: $id, isActive: false}) { user { isActive } } }",
        {"id": agent_id},
        admin.token,
    )
    body = await client.post("{ viewer { name } }", token=agent.token)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert body["errors"][0]["message"] == "the API token's user is deactivated"
    # Reactivating gives the same tokens back: deactivation suspends an account, revoking ends a token.
    await client.data(
        "mutation($id: ID!) { updateUser(input: {id: $id, isActive: true}) { user { isActive } } }",
        {"id": agent_id},
        admin.token,
    )
    assert (await client.data("{ viewer { name } }", token=agent.token))["viewer"]["name"] == "Alan Agent"


async def test_bad_tokens_are_unauthenticated(client: HelplineClient) -> None:
    for header in ("Bearer nope", "Basic abc", "Bearer ", "hl_only"):
        response = await client.http.post(
            "/graphql", json={"query": "{ viewer { name } }"}, headers={"Authorization": header}
        )
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", header


async def test_internal_notes_leave_no_trace_a_customer_can_see(
    client: HelplineClient, agent: TestUser, customer: TestUser, clock: FrozenClock
) -> None:
    ticket = await create(client, customer)
    query = "query($id: ID!) { ticket(id: $id) { version updatedAt messages { totalCount } } }"
    before = await client.data(query, {"id": ticket["id"]}, customer.token)
    clock.advance(minutes=5)
    await reply(client, agent, ticket["id"], "customer seems upset", internal=True)
    await reply(client, agent, ticket["id"], "second note", internal=True)
    assert await client.data(query, {"id": ticket["id"]}, customer.token) == before


async def test_nested_message_tickets_are_batched(client: HelplineClient, customer: TestUser) -> None:
    from helpline.testing import count_statements

    ticket = await create(client, customer)
    query = (
        "query($id: ID!) { ticket(id: $id) { messages(first: 40) { nodes { ticket { "
        "messages(first: 40) { nodes { ticket { number } } } } } } } }"
    )
    counts = []
    for replies in (2, 20):
        while await message_count(ticket["id"]) < replies:
            await reply(client, customer, ticket["id"], "more")
        with count_statements() as statements:
            await client.data(query, {"id": ticket["id"]}, customer.token)
        counts.append(len(statements))
    assert counts[0] == counts[1], counts


async def message_count(ticket_id: str) -> int:
    from helpline.core.models import Message
    from helpline.schema.ids import decode_id

    return await Message.filter(ticket_id=decode_id(ticket_id, "Ticket")).count()
