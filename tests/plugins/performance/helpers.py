"""Shared set-up for the performance plugin's tests: an app with the plugin, people, ticket moves."""

from __future__ import annotations

import datetime as dt
from typing import Any

from helpline.core import auth
from helpline.core.actors import Actor
from helpline.core.enums import MessageSource, Status
from helpline.core.models import User
from helpline.core.runtime import Runtime
from helpline.core.tickets import NewTicket, TicketChanges, add_message, create_ticket, update_ticket
from helpline.plugins.performance.models import PerformanceEpisode, PerformanceTicket


async def viewer(user: User) -> auth.Viewer:
    """The viewer for ``user`` (what a request by them would carry)."""
    return await auth.load_viewer(user)


async def open_ticket(rt: Runtime, requester: User, **fields: Any) -> int:
    """A customer's new ticket; returns its id."""
    ticket = await create_ticket(
        rt, NewTicket(subject="Help", description="It broke", **fields), viewer=await viewer(requester)
    )
    return ticket.id


async def reply(
    rt: Runtime, ticket_id: int, user: User, *, internal: bool = False, status: Status | None = None
) -> None:
    """A person's message on a ticket."""
    await add_message(rt, ticket_id, "Reply", viewer=await viewer(user), internal=internal, status=status)


async def automatic(rt: Runtime, ticket_id: int, source: MessageSource) -> None:
    """A message written by an automation, a bot or an automatic reply."""
    await add_message(rt, ticket_id, "Automatic", viewer=None, actor=Actor(user=None, source=source, name=source.value))


async def change(rt: Runtime, ticket_id: int, user: User, **changes: Any) -> None:
    """A staff member's update of a ticket's fields."""
    await update_ticket(rt, ticket_id, TicketChanges(**changes), viewer=await viewer(user))


async def row(ticket_id: int) -> PerformanceTicket:
    """The ticket's stored metrics."""
    return await PerformanceTicket.get(ticket_id=ticket_id)


async def episodes(ticket_id: int) -> list[PerformanceEpisode]:
    """The ticket's stored episodes, in order."""
    return await PerformanceEpisode.filter(ticket_id=ticket_id).order_by("seq")


def utc(*parts: int) -> dt.datetime:
    """A UTC instant."""
    return dt.datetime(*parts, tzinfo=dt.UTC)


async def generated_history(client: Any, clock: Any, *, seed: int, tickets: int) -> None:
    """A realistic, reproducible history: tickets created, answered, moved, reassigned, solved,
    reopened, closed and merged, by agents, customers and automations, minutes to days apart.

    Actions the workflow refuses (an invalid transition, a closed ticket) are skipped, as the UI
    would not offer them.
    """
    import random

    from helpline.core.enums import Channel, Priority
    from helpline.core.errors import HelplineError
    from helpline.core.people import create_team, set_team_membership
    from helpline.core.tickets import merge_tickets

    rng = random.Random(seed)
    rt = client.runtime
    admin = (await client.make_user("admin")).user
    agents = [(await client.make_user("agent")).user for _ in range(3)]
    customers = [(await client.make_user("customer")).user for _ in range(4)]
    admin_viewer = await viewer(admin)
    teams = [await create_team(rt, admin_viewer, f"Team {index}") for index in range(2)]
    for index, agent in enumerate(agents):
        await set_team_membership(rt, admin_viewer, teams[index % 2].id, agent.id, True)
    open_ids: list[tuple[int, Any]] = []
    for _ in range(tickets):
        requester = rng.choice(customers)
        team = rng.choice([None, *teams])
        ticket_id = await open_ticket(
            rt,
            requester,
            channel=rng.choice(list(Channel)),
            priority=rng.choice(list(Priority)),
        )
        if team is not None:
            await change(rt, ticket_id, admin, team_id=team.id)
        open_ids.append((ticket_id, requester))
        for _step in range(rng.randint(0, 9)):
            clock.advance(minutes=rng.choice([1, 7, 20, 45, 180, 900, 3000]))
            staff = rng.choice([admin, *agents])
            action = rng.random()
            try:
                if action < 0.25:
                    await reply(rt, ticket_id, staff, status=rng.choice([None, Status.PENDING, Status.SOLVED]))
                elif action < 0.35:
                    await reply(rt, ticket_id, requester)
                elif action < 0.45:
                    await reply(rt, ticket_id, staff, internal=True)
                elif action < 0.52:
                    await automatic(rt, ticket_id, rng.choice([MessageSource.AUTO_REPLY, MessageSource.BOT]))
                elif action < 0.67:
                    await change(rt, ticket_id, admin, assignee_id=rng.choice([None, admin.id]))
                elif action < 0.85:
                    status = rng.choice([Status.OPEN, Status.PENDING, Status.ON_HOLD, Status.SOLVED, Status.CLOSED])
                    await change(rt, ticket_id, admin, status=status, priority=rng.choice(list(Priority)))
                elif action < 0.93:
                    await change(rt, ticket_id, admin, category=rng.choice(["billing", "bug", None]))
                else:
                    same = [other for other, person in open_ids if person.id == requester.id and other != ticket_id]
                    if same:
                        await merge_tickets(rt, rng.choice(same), ticket_id, viewer=await viewer(admin))
            except HelplineError:
                continue
        clock.advance(minutes=rng.choice([3, 30, 240]))
