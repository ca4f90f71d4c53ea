"""Merging tickets: messages move with their authors and times; merged tickets are final; races."""

import asyncio
from typing import Any

from helpline.core.clock import FrozenClock
from helpline.core.enums import Status
from helpline.core.models import Message, Ticket
from helpline.schema.ids import decode_id
from helpline.testing import HelplineClient, TestUser
from tests.core.test_tickets import create, reply
from tests.gql import ADD_MESSAGE, MERGE, TICKET, UPDATE_TICKET


async def merge(client: HelplineClient, user: TestUser, source: str, target: str) -> dict[str, Any]:
    return await client.post(MERGE, {"input": {"sourceId": source, "targetId": target}}, user.token)


async def test_merge_moves_messages_keeping_authors_and_times(
    client: HelplineClient, agent: TestUser, customer: TestUser, clock: FrozenClock
) -> None:
    a = await create(client, customer, subject="A")
    clock.advance(minutes=1)
    b = await create(client, customer, subject="B")
    clock.advance(minutes=1)
    await reply(client, agent, b["id"], "answer on B")
    before = {m.body: (m.author_id, m.created_at) for m in await Message.filter(ticket_id=decode_id(b["id"], "Ticket"))}

    body = await merge(client, agent, b["id"], a["id"])
    result = body["data"]["mergeTickets"]
    assert result["userErrors"] == []
    assert result["source"]["status"] == "MERGED"
    assert result["source"]["mergedInto"] == {"number": a["number"]}

    moved = await Message.filter(ticket_id=decode_id(a["id"], "Ticket")).order_by("created_at", "id")
    assert [m.body for m in moved] == ["Smoke everywhere", "Smoke everywhere", "answer on B"]
    for message in moved:
        if message.body in before and message.merged_from_id is not None:
            assert (message.author_id, message.created_at) == before[message.body]
    assert await Message.filter(ticket_id=decode_id(b["id"], "Ticket")).count() == 0


async def test_merged_ticket_refuses_further_changes(
    client: HelplineClient, agent: TestUser, customer: TestUser
) -> None:
    a = await create(client, customer)
    b = await create(client, customer)
    await merge(client, agent, b["id"], a["id"])
    update = await client.data(UPDATE_TICKET, {"input": {"id": b["id"], "priority": "HIGH"}}, agent.token)
    assert update["updateTicket"]["userErrors"][0]["code"] == "TICKET_MERGED"
    message = await client.data(ADD_MESSAGE, {"input": {"ticketId": b["id"], "body": "hello?"}}, customer.token)
    errors = message["addMessage"]["userErrors"]
    assert errors[0]["code"] == "TICKET_MERGED"
    assert "#1001" in errors[0]["message"], "the error says where the conversation went"


async def test_merging_into_a_merged_ticket_or_back_is_refused(
    client: HelplineClient, agent: TestUser, customer: TestUser
) -> None:
    a = await create(client, customer)
    b = await create(client, customer)
    c = await create(client, customer)
    await merge(client, agent, b["id"], a["id"])
    into_merged = await merge(client, agent, c["id"], b["id"])
    assert into_merged["errors"][0]["extensions"]["code"] == "CONFLICT"
    loop = await merge(client, agent, a["id"], b["id"])
    assert loop["errors"][0]["extensions"]["code"] == "CONFLICT"
    self_merge = await merge(client, agent, c["id"], c["id"])
    assert self_merge["data"]["mergeTickets"]["userErrors"][0]["code"] == "MERGE_INTO_SELF"
    assert await Ticket.filter(status=Status.MERGED).count() == 1


async def test_closed_tickets_cannot_be_merged(client: HelplineClient, agent: TestUser, customer: TestUser) -> None:
    a = await create(client, customer)
    b = await create(client, customer)
    await client.data(UPDATE_TICKET, {"input": {"id": b["id"], "status": "SOLVED"}}, agent.token)
    await client.data(UPDATE_TICKET, {"input": {"id": b["id"], "status": "CLOSED"}}, agent.token)
    result = await merge(client, agent, b["id"], a["id"])
    assert result["data"]["mergeTickets"]["userErrors"][0]["code"] == "TICKET_CLOSED"


async def test_customers_cannot_merge(client: HelplineClient, customer: TestUser) -> None:
    a = await create(client, customer)
    b = await create(client, customer)
    result = await merge(client, customer, b["id"], a["id"])
    assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_opposite_merges_at_the_same_moment_exactly_one_wins(
    client: HelplineClient, admin: TestUser, agent: TestUser, customer: TestUser
) -> None:
    a = await create(client, customer, subject="A")  # 1 message
    await reply(client, customer, a["id"], "more about A")  # A has 2 messages
    b = await create(client, customer, subject="B")  # B has 1 message

    first, second = await asyncio.gather(
        merge(client, agent, b["id"], a["id"]),
        merge(client, admin, a["id"], b["id"]),
    )

    outcomes = [first, second]
    winners = [o for o in outcomes if not o.get("errors") and o["data"]["mergeTickets"]["userErrors"] == []]
    losers = [o for o in outcomes if o.get("errors")]
    assert len(winners) == 1
    assert len(losers) == 1
    assert losers[0]["errors"][0]["extensions"]["code"] == "CONFLICT"
    open_tickets = await Ticket.exclude(status=Status.MERGED)
    assert len(open_tickets) == 1
    survivor = open_tickets[0]
    assert await Message.filter(ticket_id=survivor.id).count() == 3
    merged = await Ticket.get(status=Status.MERGED)
    assert merged.merged_into_id == survivor.id
    view = await client.data(TICKET, {"id": winners[0]["data"]["mergeTickets"]["target"]["id"]}, admin.token)
    assert view["ticket"]["messages"]["totalCount"] == 3


async def test_tickets_of_different_requesters_are_not_merged(
    client: HelplineClient, agent: TestUser, customer: TestUser
) -> None:
    other = await client.make_user("customer", name="Otto Other")
    mine = await create(client, customer)
    theirs = await create(client, other)
    result = await merge(client, agent, theirs["id"], mine["id"])
    assert result["data"]["mergeTickets"]["userErrors"][0]["code"] == "REQUESTERS_DIFFER"
    assert await Ticket.filter(status=Status.MERGED).count() == 0
    view = await client.data(TICKET, {"id": mine["id"]}, customer.token)
    assert view["ticket"]["messages"]["totalCount"] == 1


async def test_a_merge_chain_leads_replies_to_its_end(
    client: HelplineClient, agent: TestUser, customer: TestUser
) -> None:
    x = await create(client, customer, subject="X")
    y = await create(client, customer, subject="Y")
    z = await create(client, customer, subject="Z")
    await merge(client, agent, x["id"], y["id"])
    await merge(client, agent, y["id"], z["id"])
    answer = await client.data(ADD_MESSAGE, {"input": {"ticketId": x["id"], "body": "hello?"}}, customer.token)
    assert "#1003" in answer["addMessage"]["userErrors"][0]["message"]


async def test_the_merge_target_is_not_named_to_who_cannot_see_it(
    client: HelplineClient, admin: TestUser, agent: TestUser, customer: TestUser
) -> None:
    team = await client.data('mutation { createTeam(input: {name: "Secret"}) { team { id } } }', token=admin.token)
    customer_id = (await client.data("{ viewer { id } }", token=customer.token))["viewer"]["id"]
    source = await create(client, admin, requesterId=customer_id)  # triage: the agent sees it
    target = await create(client, admin, requesterId=customer_id, teamId=team["createTeam"]["team"]["id"])
    await merge(client, admin, source["id"], target["id"])
    answer = await client.data(ADD_MESSAGE, {"input": {"ticketId": source["id"], "body": "x"}}, agent.token)
    message = answer["addMessage"]["userErrors"][0]["message"]
    assert "#1002" not in message and "another ticket" in message
