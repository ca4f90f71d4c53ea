"""Event and decision hooks through real mutations: a plugin that raises rolls the whole change back.

Event hooks (``helpline_ticket_created``, ``helpline_message_added``,
``helpline_ticket_status_changed``) run inside the change's transaction: when one raises, nothing
of the change is written (no ticket, message, event or status change; not even a ticket number is
used up) and the GraphQL error carries ``extensions.code`` PLUGIN_ERROR and ``extensions.plugin``.
``helpline_validate_transition`` refuses a status change as a userError (TRANSITION_REFUSED).
Every case runs with a plain ``def`` and an ``async def`` implementation.
"""

from __future__ import annotations

from typing import Any

import pytest

from helpline import Veto, hookimpl
from helpline.core.clock import FrozenClock
from helpline.core.enums import Status
from helpline.core.models import Message, Ticket, TicketEvent
from helpline.testing import HelplineClient, TestUser, running_app

CREATE_TICKET = """
mutation($input: CreateTicketInput!) {
  createTicket(input: $input) { ticket { id number status version } userErrors { field message code } }
}"""
UPDATE_TICKET = """
mutation($input: UpdateTicketInput!) {
  updateTicket(input: $input) { ticket { id status version category } userErrors { field message code } }
}"""
ADD_MESSAGE = """
mutation($input: AddMessageInput!) {
  addMessage(input: $input) { message { id } ticket { id status version } userErrors { field message code } }
}"""


async def snapshot() -> dict[str, Any]:
    """Everything a ticket change could write, to compare before and after."""
    return {
        "tickets": await Ticket.all().order_by("id").values_list("id", "status", "version", "category"),
        "messages": await Message.all().count(),
        "events": await TicketEvent.all().count(),
    }


def assert_plugin_error(body: dict[str, Any], plugin: str, hook: str) -> None:
    """The mutation failed as a whole with one error naming ``plugin``: a Veto's reason is shown,
    any other exception's text is not (it goes to the server log)."""
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": "PLUGIN_ERROR", "plugin": plugin}
    if plugin.startswith(("async", "broken")):
        assert error["message"] == f"plugin {plugin!r} failed in {hook}"
    else:
        assert error["message"].startswith(f"plugin {plugin!r} refused the change: ")


async def new_ticket(client: HelplineClient, user: TestUser, subject: str = "Printer") -> dict[str, Any]:
    """Create a ticket through GraphQL and return it."""
    data = await client.data(CREATE_TICKET, {"input": {"subject": subject, "description": "It is broken"}}, user.token)
    assert data["createTicket"]["userErrors"] == []
    return data["createTicket"]["ticket"]  # type: ignore[no-any-return]


# --- event hooks that raise -------------------------------------------------------------------


class CreationVeto:
    """Refuses tickets whose subject says 'forbidden' (the README's example)."""

    helpline_plugin_name = "creation_veto"

    @hookimpl
    def helpline_ticket_created(self, ticket: Ticket) -> None:
        if "forbidden" in ticket.subject.lower():
            raise Veto("subjects may not say 'forbidden'")


class AsyncCreationVeto:
    helpline_plugin_name = "async_creation_veto"

    @hookimpl
    async def helpline_ticket_created(self, ticket: Ticket, actor: Any) -> None:
        await Message.filter(ticket_id=ticket.id).count()  # really async: it queries in the transaction
        if "forbidden" in ticket.subject.lower():
            raise ValueError("subjects may not say 'forbidden'")


@pytest.mark.parametrize("veto", [CreationVeto, AsyncCreationVeto], ids=["sync", "async"])
async def test_a_failing_ticket_created_hook_rolls_the_creation_back(veto: type, clock: FrozenClock) -> None:
    plugin = veto()
    async with running_app(extra_plugins=[plugin], clock=clock) as client:
        customer = await client.make_user("customer")
        body = await client.post(
            CREATE_TICKET, {"input": {"subject": "Something forbidden", "description": "x"}}, customer.token
        )
        assert_plugin_error(body, plugin.helpline_plugin_name, "helpline_ticket_created")
        assert await snapshot() == {"tickets": [], "messages": 0, "events": 0}

        # The ticket number was not used up either: the counter rolled back with the rest.
        ticket = await new_ticket(client, customer, "Something allowed")
        assert ticket["number"] == 1001


class MessageVeto:
    helpline_plugin_name = "message_veto"

    @hookimpl
    def helpline_message_added(self, message: Message) -> None:
        if "forbidden" in message.body:
            raise Veto("no forbidden words in messages")


class AsyncMessageVeto:
    helpline_plugin_name = "async_message_veto"

    @hookimpl
    async def helpline_message_added(self, ticket: Ticket, message: Message, actor: Any) -> None:
        if "forbidden" in message.body:
            raise RuntimeError("no forbidden words in messages")


@pytest.mark.parametrize("veto", [MessageVeto, AsyncMessageVeto], ids=["sync", "async"])
async def test_a_failing_message_added_hook_rolls_the_message_and_its_status_change_back(
    veto: type, clock: FrozenClock
) -> None:
    plugin = veto()
    async with running_app(extra_plugins=[plugin], clock=clock) as client:
        customer = await client.make_user("customer")
        agent = await client.make_user("agent")
        ticket = await new_ticket(client, customer)
        before = await snapshot()

        # An agent's first public reply would also open the ticket (new -> open): neither happens.
        body = await client.post(ADD_MESSAGE, {"input": {"ticketId": ticket["id"], "body": "forbidden"}}, agent.token)
        assert_plugin_error(body, plugin.helpline_plugin_name, "helpline_message_added")
        assert await snapshot() == before
        [(_id, status, version, _category)] = before["tickets"]
        assert (status, version) == (Status.NEW, 1)

        data = await client.data(ADD_MESSAGE, {"input": {"ticketId": ticket["id"], "body": "fine"}}, agent.token)
        assert data["addMessage"]["ticket"]["status"] == "OPEN"


class StatusVeto:
    helpline_plugin_name = "status_veto"

    @hookimpl
    def helpline_ticket_status_changed(self, new: Status) -> None:
        if new == Status.PENDING:
            raise Veto("pending is switched off here")


class AsyncStatusVeto:
    helpline_plugin_name = "async_status_veto"

    @hookimpl
    async def helpline_ticket_status_changed(self, ticket: Ticket, old: Status, new: Status, actor: Any) -> None:
        if new == Status.PENDING:
            raise RuntimeError("pending is switched off here")


@pytest.mark.parametrize("veto", [StatusVeto, AsyncStatusVeto], ids=["sync", "async"])
async def test_a_failing_status_changed_hook_rolls_the_change_back(veto: type, clock: FrozenClock) -> None:
    plugin = veto()
    async with running_app(extra_plugins=[plugin], clock=clock) as client:
        customer = await client.make_user("customer")
        agent = await client.make_user("agent")
        ticket = await new_ticket(client, customer)
        before = await snapshot()

        body = await client.post(UPDATE_TICKET, {"input": {"id": ticket["id"], "status": "PENDING"}}, agent.token)
        assert_plugin_error(body, plugin.helpline_plugin_name, "helpline_ticket_status_changed")
        assert await snapshot() == before

        # Through a reply that sets the status, the message goes too.
        body = await client.post(
            ADD_MESSAGE,
            {"input": {"ticketId": ticket["id"], "body": "Waiting on you", "status": "PENDING"}},
            agent.token,
        )
        assert_plugin_error(body, plugin.helpline_plugin_name, "helpline_ticket_status_changed")
        assert await snapshot() == before

        # Other status changes go through.
        data = await client.data(UPDATE_TICKET, {"input": {"id": ticket["id"], "status": "ON_HOLD"}}, agent.token)
        assert data["updateTicket"]["ticket"]["status"] == "ON_HOLD"


# --- helpline_validate_transition -------------------------------------------------------------

REASON = "set a category before solving"


class Recorder:
    """Remembers which transitions it was asked about."""

    def __init__(self) -> None:
        self.asked: list[tuple[Status, Status]] = []


class NeedsCategory(Recorder):
    """Refuses to solve a ticket without a category."""

    helpline_plugin_name = "needs_category"

    @hookimpl
    def helpline_validate_transition(self, ticket: Ticket, old: Status, new: Status) -> str | None:
        self.asked.append((old, new))
        return REASON if new == Status.SOLVED and not ticket.category else None


class AsyncNeedsCategory(Recorder):
    """The same rule, as an ``async def`` that queries the database."""

    helpline_plugin_name = "async_needs_category"

    @hookimpl
    async def helpline_validate_transition(self, ticket: Ticket, old: Status, new: Status) -> str | None:
        self.asked.append((old, new))
        await Message.filter(ticket_id=ticket.id).count()
        return REASON if new == Status.SOLVED and not ticket.category else None


@pytest.mark.parametrize("decider", [NeedsCategory, AsyncNeedsCategory], ids=["sync", "async"])
async def test_validate_transition_refuses_as_a_user_error_and_changes_nothing(
    decider: type, clock: FrozenClock
) -> None:
    plugin = decider()
    async with running_app(extra_plugins=[plugin], clock=clock) as client:
        customer = await client.make_user("customer")
        agent = await client.make_user("agent")
        ticket = await new_ticket(client, customer)
        before = await snapshot()

        data = await client.data(UPDATE_TICKET, {"input": {"id": ticket["id"], "status": "SOLVED"}}, agent.token)
        assert data["updateTicket"] == {
            "ticket": None,
            "userErrors": [{"field": ["input", "status"], "message": REASON, "code": "TRANSITION_REFUSED"}],
        }
        assert await snapshot() == before
        assert plugin.asked == [(Status.NEW, Status.SOLVED)]

        # A reply that would solve the ticket is refused whole: no message either.
        data = await client.data(
            ADD_MESSAGE, {"input": {"ticketId": ticket["id"], "body": "Done", "status": "SOLVED"}}, agent.token
        )
        assert data["addMessage"]["userErrors"] == [
            {"field": ["input", "status"], "message": REASON, "code": "TRANSITION_REFUSED"}
        ]
        assert await snapshot() == before

        # The plugin judges the ticket as the update would leave it: a category set in the same
        # call satisfies the rule, and the change goes through.
        data = await client.data(
            UPDATE_TICKET, {"input": {"id": ticket["id"], "category": "billing", "status": "SOLVED"}}, agent.token
        )
        assert data["updateTicket"]["userErrors"] == []
        assert data["updateTicket"]["ticket"]["status"] == "SOLVED"
        assert data["updateTicket"]["ticket"]["category"] == "billing"


async def test_the_core_rules_come_first_and_plugins_are_not_asked_about_no_change(clock: FrozenClock) -> None:
    plugin = NeedsCategory()
    async with running_app(extra_plugins=[plugin], clock=clock) as client:
        customer = await client.make_user("customer")
        agent = await client.make_user("agent")
        ticket = await new_ticket(client, customer)

        data = await client.data(UPDATE_TICKET, {"input": {"id": ticket["id"], "status": "CLOSED"}}, agent.token)
        assert [error["code"] for error in data["updateTicket"]["userErrors"]] == ["INVALID_TRANSITION"]
        data = await client.data(UPDATE_TICKET, {"input": {"id": ticket["id"], "status": "NEW"}}, agent.token)
        assert data["updateTicket"]["userErrors"] == []
        assert plugin.asked == []


class Abstains:
    helpline_plugin_name = "abstains"

    def __init__(self) -> None:
        self.asked = 0

    @hookimpl
    async def helpline_validate_transition(self) -> None:
        self.asked += 1


class RefusesEverything:
    helpline_plugin_name = "refuses_everything"

    @hookimpl
    def helpline_validate_transition(self) -> str:
        return "nothing moves today"


async def test_the_first_answer_wins_and_none_lets_the_change_through(clock: FrozenClock) -> None:
    abstains = Abstains()
    # The most recently registered plugin is asked first (pluggy's order): `abstains` first here.
    async with running_app(extra_plugins=[RefusesEverything(), abstains], clock=clock) as client:
        customer = await client.make_user("customer")
        agent = await client.make_user("agent")
        ticket = await new_ticket(client, customer)
        data = await client.data(UPDATE_TICKET, {"input": {"id": ticket["id"], "status": "OPEN"}}, agent.token)
        assert data["updateTicket"]["userErrors"][0]["message"] == "nothing moves today"
        assert abstains.asked == 1

    abstains = Abstains()
    async with running_app(extra_plugins=[abstains], clock=clock) as client:
        customer = await client.make_user("customer")
        agent = await client.make_user("agent")
        ticket = await new_ticket(client, customer)
        # An agent's reply moves new -> open by itself; the plugin is asked and lets it through.
        data = await client.data(ADD_MESSAGE, {"input": {"ticketId": ticket["id"], "body": "On it"}}, agent.token)
        assert data["addMessage"]["ticket"]["status"] == "OPEN"
        assert abstains.asked == 1


class BrokenDecider:
    helpline_plugin_name = "broken_decider"

    @hookimpl
    def helpline_validate_transition(self) -> str:
        raise KeyError("oops")


async def test_a_decision_hook_that_raises_is_a_plugin_error(clock: FrozenClock) -> None:
    async with running_app(extra_plugins=[BrokenDecider()], clock=clock) as client:
        customer = await client.make_user("customer")
        agent = await client.make_user("agent")
        ticket = await new_ticket(client, customer)
        before = await snapshot()
        body = await client.post(UPDATE_TICKET, {"input": {"id": ticket["id"], "status": "OPEN"}}, agent.token)
        assert_plugin_error(body, "broken_decider", "helpline_validate_transition")
        assert "oops" not in str(body), "an unexpected exception's text stays in the server log"
        assert await snapshot() == before
