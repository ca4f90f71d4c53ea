"""Live updates over graphql-transport-ws, through a real uvicorn server in the test's event loop.

Every test subscribes first, waits until the server has registered the subscription (the protocol
has no "subscribed" acknowledgement, so we watch the process's live hub), then changes tickets
through the HTTP API and reads what the websocket receives.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import pytest
import strawberry

from helpline import SchemaContribution, create_app, hookimpl
from helpline.config import Settings
from helpline.core import auth
from helpline.core.errors import PluginLoadError
from helpline.core.live import ChangeKind, LiveHub, TicketChange
from helpline.schema.ids import decode_id, encode_id
from helpline.schema.subscription import TicketChangeKind, ticket_event
from helpline.testing import HelplineClient, LiveConnection, TestUser, running_app, serving
from tests.core.test_tickets import create, reply, update

TICKET_CHANGED = (
    "subscription($id: ID!) { ticketChanged(id: $id) { kind ticketId changedFields "
    "ticket { id status version assignee { name } messages { totalCount } } message { body internal } } }"
)
VISIBLE_CHANGED = "subscription { visibleTicketsChanged { kind ticketId changedFields ticket { id subject status } message { body } } }"


@pytest.fixture
async def base_url(client: HelplineClient) -> AsyncIterator[str]:
    """The test app served over real HTTP and websockets."""
    async with serving(client.app) as url:
        yield url


def hub_of(client: HelplineClient) -> LiveHub:
    hub = client.runtime.live
    assert hub is not None, "the app's lifespan starts the live hub"
    return hub


async def subscribed(client: HelplineClient, count: int) -> None:
    """Wait (bounded) until the server holds ``count`` live subscriptions."""
    for _ in range(3000):
        if hub_of(client).subscriber_count >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"only {hub_of(client).subscriber_count} of {count} subscriptions registered")


def error_codes(message: dict[str, Any]) -> list[str]:
    payload = message["payload"]
    errors = payload if isinstance(payload, list) else payload.get("errors") or []
    return [error.get("extensions", {}).get("code") for error in errors]


async def make_team(client: HelplineClient, admin: TestUser, name: str, *members: TestUser) -> str:
    team = await client.data(
        "mutation($n: String!) { createTeam(input: {name: $n}) { team { id } } }", {"n": name}, admin.token
    )
    team_id: str = team["createTeam"]["team"]["id"]
    for member in members:
        await client.data(
            "mutation($t: ID!, $u: ID!) { addTeamMember(input: {teamId: $t, userId: $u}) { userErrors { code } } }",
            {"t": team_id, "u": encode_id("User", member.id)},
            admin.token,
        )
    return team_id


async def test_agent_sees_a_status_change_and_a_new_message(
    client: HelplineClient, base_url: str, agent: TestUser, customer: TestUser
) -> None:
    ticket = await create(client, customer)
    async with LiveConnection.open(base_url, agent.token) as live:
        operation = await live.subscribe(TICKET_CHANGED, {"id": ticket["id"]})
        await subscribed(client, 1)

        await update(client, agent, ticket["id"], status="PENDING")
        event = (await live.next_data(operation))["ticketChanged"]
        assert event["kind"] == "UPDATED"
        assert event["ticketId"] == ticket["id"]
        assert event["changedFields"] == ["status"]
        assert event["ticket"]["status"] == "PENDING"
        assert event["ticket"]["version"] == ticket["version"] + 1

        await reply(client, customer, ticket["id"], "it is still smoking")
        event = (await live.next_data(operation))["ticketChanged"]
        assert event["kind"] == "MESSAGE_ADDED"
        assert event["message"] == {"body": "it is still smoking", "internal": False}
        assert event["changedFields"] == ["status"], "a customer's reply reopens a pending ticket"
        assert event["ticket"]["status"] == "OPEN"
        assert event["ticket"]["messages"]["totalCount"] == 2, "each event is resolved from fresh rows"

        await reply(client, agent, ticket["id"], "looking into it", internal=True)
        event = (await live.next_data(operation))["ticketChanged"]
        assert event["kind"] == "MESSAGE_ADDED"
        assert event["message"] == {"body": "looking into it", "internal": True}, "staff receive notes"


async def test_customer_never_receives_an_internal_note(
    client: HelplineClient, base_url: str, agent: TestUser, customer: TestUser
) -> None:
    ticket = await create(client, customer)
    async with LiveConnection.open(base_url, customer.token) as live:
        one = await live.subscribe(TICKET_CHANGED, {"id": ticket["id"]})
        every = await live.subscribe(VISIBLE_CHANGED)
        await subscribed(client, 2)

        await reply(client, agent, ticket["id"], "internal: this customer again", internal=True)
        await reply(client, agent, ticket["id"], "We are on it")

        # The first event of each subscription is the public reply: the note produced nothing.
        event = (await live.next_data(one))["ticketChanged"]
        assert event["kind"] == "MESSAGE_ADDED"
        assert event["message"] == {"body": "We are on it", "internal": False}
        assert event["ticket"]["messages"]["totalCount"] == 2
        assert event["ticket"]["version"] == ticket["version"] + 1, "the note did not bump the version"
        listed = (await live.next_data(every))["visibleTicketsChanged"]
        assert listed["kind"] == "MESSAGE_ADDED"
        assert listed["message"] == {"body": "We are on it"}

        # A note that also changes the status tells the customer about the status only.
        await reply(client, agent, ticket["id"], "internal: waiting on vendor", internal=True, status="ON_HOLD")
        event = (await live.next_data(one))["ticketChanged"]
        assert event["kind"] == "UPDATED"
        assert event["message"] is None
        assert event["changedFields"] == ["status"]
        assert event["ticket"]["status"] == "ON_HOLD"
        assert "waiting on vendor" not in str(event)


async def test_subscribing_to_a_hidden_ticket_is_not_found_like_a_missing_one(
    client: HelplineClient, base_url: str, customer: TestUser
) -> None:
    someone_else = await client.make_user("customer")
    hidden = await create(client, someone_else)
    async with LiveConnection.open(base_url, customer.token) as live:
        for ticket_id in (hidden["id"], encode_id("Ticket", 999_999)):
            operation = await live.subscribe(TICKET_CHANGED, {"id": ticket_id})
            message = await live.next_message(operation)
            assert message["type"] == "error"
            assert error_codes(message) == ["NOT_FOUND"]
            assert message["payload"][0]["message"].startswith("no ticket with id")
    assert hub_of(client).subscriber_count == 0, "refused subscriptions leave nothing registered"


@pytest.mark.parametrize("credentials", ["bad-token", "no-token", "wrong-scheme"])
async def test_a_subscription_without_a_valid_token_is_unauthenticated(
    client: HelplineClient, base_url: str, customer: TestUser, credentials: str
) -> None:
    ticket = await create(client, customer)
    payload: dict[str, Any] = {
        "bad-token": {"Authorization": "Bearer hl_not-a-real-token"},
        "no-token": {},
        "wrong-scheme": {"Authorization": "Basic dXNlcjpwYXNz"},
    }[credentials]
    async with LiveConnection.open(base_url, payload=payload) as live:
        for query, variables in ((TICKET_CHANGED, {"id": ticket["id"]}), (VISIBLE_CHANGED, {})):
            operation = await live.subscribe(query, variables)
            message = await live.next_message(operation)
            assert message["type"] == "error", message
            assert error_codes(message) == ["UNAUTHENTICATED"]
    assert hub_of(client).subscriber_count == 0


async def test_the_token_may_come_in_the_upgrade_header(
    client: HelplineClient, base_url: str, agent: TestUser, customer: TestUser
) -> None:
    ticket = await create(client, customer)
    async with LiveConnection.open(base_url, header_token=agent.token) as live:
        operation = await live.subscribe(TICKET_CHANGED, {"id": ticket["id"]})
        await subscribed(client, 1)
        await update(client, agent, ticket["id"], priority="HIGH")
        event = (await live.next_data(operation))["ticketChanged"]
        assert event["changedFields"] == ["priority"]


async def test_reassigning_away_hides_the_ticket_from_the_agent(
    client: HelplineClient, base_url: str, admin: TestUser, agent: TestUser, customer: TestUser
) -> None:
    hardware = await make_team(client, admin, "Hardware", agent)
    billing = await make_team(client, admin, "Billing")
    customer_id = encode_id("User", customer.id)
    ticket = await create(client, admin, requesterId=customer_id, teamId=hardware)
    async with LiveConnection.open(base_url, agent.token) as live:
        one = await live.subscribe(TICKET_CHANGED, {"id": ticket["id"]})
        every = await live.subscribe(VISIBLE_CHANGED)
        await subscribed(client, 2)

        await update(client, admin, ticket["id"], teamId=billing)
        gone = await live.next_message(one)
        assert gone["type"] == "next"
        assert error_codes(gone) == ["NOT_FOUND"]
        assert (await live.next_message(one))["type"] == "complete"
        left = (await live.next_data(every))["visibleTicketsChanged"]
        assert left == {
            "kind": "NO_LONGER_VISIBLE",
            "ticketId": ticket["id"],
            "changedFields": ["teamId"],
            "ticket": None,
            "message": None,
        }

        # Changes while hidden reach nobody; coming back is NOW_VISIBLE.
        await reply(client, admin, ticket["id"], "billing will handle it")
        await create(client, admin, subject="someone else's", requesterId=customer_id, teamId=billing)
        await update(client, admin, ticket["id"], teamId=hardware)
        back = (await live.next_data(every))["visibleTicketsChanged"]
        assert back["kind"] == "NOW_VISIBLE"
        assert back["ticket"]["subject"] == "Printer on fire"

        mine = await create(client, admin, subject="new hardware", requesterId=customer_id, teamId=hardware)
        created = (await live.next_data(every))["visibleTicketsChanged"]
        assert created["kind"] == "CREATED"
        assert created["ticketId"] == mine["id"]


async def test_a_merge_is_announced_for_both_tickets(
    client: HelplineClient, base_url: str, agent: TestUser, customer: TestUser
) -> None:
    source = await create(client, customer, subject="first")
    target = await create(client, customer, subject="second")
    async with LiveConnection.open(base_url, customer.token) as live:
        operation = await live.subscribe(TICKET_CHANGED, {"id": source["id"]})
        every = await live.subscribe(VISIBLE_CHANGED)
        await subscribed(client, 2)
        merged = await client.data(
            "mutation($s: ID!, $t: ID!) { mergeTickets(input: {sourceId: $s, targetId: $t}) { userErrors { code } } }",
            {"s": source["id"], "t": target["id"]},
            agent.token,
        )
        assert merged["mergeTickets"]["userErrors"] == []
        event = (await live.next_data(operation))["ticketChanged"]
        assert event["kind"] == "MERGED"
        assert event["ticket"]["status"] == "MERGED"
        kinds = [(await live.next_data(every))["visibleTicketsChanged"] for _ in range(2)]
        assert [(k["kind"], k["ticket"]["subject"]) for k in kinds] == [("MERGED", "first"), ("UPDATED", "second")]


async def test_a_change_that_rolls_back_is_never_announced(
    client: HelplineClient, base_url: str, agent: TestUser, customer: TestUser
) -> None:
    ticket = await create(client, customer)
    async with LiveConnection.open(base_url, agent.token) as live:
        operation = await live.subscribe(TICKET_CHANGED, {"id": ticket["id"]})
        await subscribed(client, 1)
        stale = await client.post(
            "mutation($i: UpdateTicketInput!) { updateTicket(input: $i) { ticket { id } } }",
            {"i": {"id": ticket["id"], "status": "PENDING", "expectedVersion": ticket["version"] + 5}},
            agent.token,
        )
        assert stale["errors"][0]["extensions"]["code"] == "CONFLICT"
        await update(client, agent, ticket["id"], priority="LOW")
        event = (await live.next_data(operation))["ticketChanged"]
        assert event["changedFields"] == ["priority"], "the refused change produced no event"


@strawberry.type
class StolenSubscription:
    @strawberry.subscription
    async def ticket_changed(self) -> AsyncGenerator[int, None]:
        yield 1


@strawberry.type
class CountdownSubscription:
    @strawberry.subscription
    async def countdown(self, start: int) -> AsyncGenerator[int, None]:
        for number in range(start, 0, -1):
            yield number


class SubscriptionPlugin:
    def __init__(self, name: str, subscription: type) -> None:
        self.helpline_plugin_name = name
        self.subscription = subscription

    @hookimpl
    def helpline_register_schema(self) -> SchemaContribution:
        return SchemaContribution(subscription=self.subscription)


def test_a_plugin_subscription_field_clashing_with_the_core_stops_start_up() -> None:
    with pytest.raises(
        PluginLoadError, match="Subscription field 'ticketChanged' is defined by both 'core' and 'thief'"
    ):
        create_app(
            Settings(),
            plugins=[],
            database_url="sqlite://:memory:",
            extra_plugins=[SubscriptionPlugin("thief", StolenSubscription)],
        )


async def test_plugins_contribute_subscription_fields() -> None:
    async with (
        running_app(extra_plugins=[SubscriptionPlugin("countdown", CountdownSubscription)]) as client,
        serving(client.app) as url,
        LiveConnection.open(url) as live,
    ):
        operation = await live.subscribe("subscription { countdown(start: 2) }")
        assert [(await live.next_data(operation))["countdown"] for _ in range(2)] == [2, 1]
        assert (await live.next_message(operation))["type"] == "complete"


async def test_a_deactivated_subscriber_gets_nothing_more(
    client: HelplineClient, base_url: str, admin: TestUser, agent: TestUser, customer: TestUser
) -> None:
    async with LiveConnection.open(base_url, agent.token) as live:
        operation = await live.subscribe(VISIBLE_CHANGED)
        await subscribed(client, 1)
        await client.data(
            "mutation($u: ID!) { updateUser(input: {id: $u, isActive: false}) { userErrors { code } } }",
            {"u": encode_id("User", agent.id)},
            admin.token,
        )
        await create(client, customer, subject="Sent after the agent left")
        message = await live.next_message(operation)
        # The token is checked again for every event: the socket's old login counts for nothing.
        assert error_codes(message) == ["UNAUTHENTICATED"] and not (message["payload"].get("data") or {})
        assert (await live.next_message(operation))["type"] == "complete"
        assert "Sent after the agent left" not in str(message)


async def test_an_agent_moved_out_of_the_team_hears_nothing_more_of_its_ticket(
    client: HelplineClient, base_url: str, admin: TestUser, agent: TestUser, customer: TestUser
) -> None:
    team_id = await make_team(client, admin, "Tier 1", agent)
    ticket = await create(client, customer)
    await update(client, admin, ticket["id"], teamId=team_id)
    async with LiveConnection.open(base_url, agent.token) as live:
        operation = await live.subscribe(TICKET_CHANGED, {"id": ticket["id"]})
        await subscribed(client, 1)
        await client.data(
            "mutation($t: ID!, $u: ID!) { removeTeamMember(input: {teamId: $t, userId: $u}) { userErrors { code } } }",
            {"t": team_id, "u": encode_id("User", agent.id)},
            admin.token,
        )
        await reply(client, admin, ticket["id"], "Tier 1 only: the customer's account is flagged", internal=True)
        message = await live.next_message(operation)
        assert error_codes(message) == ["NOT_FOUND"] and "flagged" not in str(message)


async def test_queries_and_mutations_go_over_http_not_the_websocket(
    client: HelplineClient, base_url: str, agent: TestUser
) -> None:
    async with LiveConnection.open(base_url, agent.token) as live:
        for document in ('mutation { createApiToken(input: {name: "kept"}) { secret } }', "{ viewer { name } }"):
            message = await live.next_message(await live.subscribe(document))
            assert message["type"] in ("error", "next") and error_codes(message) == ["BAD_REQUEST"], message
    tokens = await client.data("{ apiTokens { name } }", token=agent.token)
    assert "kept" not in str(tokens)


async def test_a_slow_reader_is_judged_on_a_fresh_read_not_the_shared_one(
    client: HelplineClient, admin: TestUser, agent: TestUser, customer: TestUser
) -> None:
    tier_1 = await make_team(client, admin, "Tier 1", agent)
    tier_2 = await make_team(client, admin, "Tier 2")
    ticket = await create(client, customer)
    await update(client, admin, ticket["id"], teamId=tier_1)
    ticket_id = decode_id(ticket["id"], "Ticket")
    hub = LiveHub()
    queue = hub.subscribe(ticket_id)
    hub.deliver(TicketChange(ticket_id, ChangeKind.UPDATED, ("subject",)))
    stale = await anext(queue)
    admin_viewer = await auth.authenticate(f"Bearer {admin.token}")
    agent_viewer = await auth.authenticate(f"Bearer {agent.token}")
    assert admin_viewer is not None and agent_viewer is not None
    assert (await ticket_event(admin_viewer, stale)) is not None  # a fast subscriber: the shared read is made

    await update(client, admin, ticket["id"], teamId=tier_2)  # moved away from the agent's team
    hub.deliver(TicketChange(ticket_id, ChangeKind.UPDATED, ("team_id",), previous={"team_id": None}))
    late = await ticket_event(agent_viewer, stale)  # the agent only now reads the first change
    assert late is not None and late.kind == TicketChangeKind.NO_LONGER_VISIBLE and late.ticket is None
    queue.close()
