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
