"""The plugin's logic, kept out of hooks and resolvers so both stay thin.

Visibility is never decided here: callers pass the core's :class:`~helpline.core.auth.Viewer` and
the core's :func:`~helpline.core.auth.get_visible_ticket` decides what they may see.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from helpline.core import auth
from helpline.core.db import transaction
from helpline.core.enums import Status
from helpline.core.models import Ticket, User
from helpline.core.runtime import Runtime
from helpline.core.validation import error
from helpline_example_plugin.models import Watcher


async def add_watcher(ticket_id: int, user_id: int, now: dt.datetime) -> None:
    """Make ``user_id`` watch ``ticket_id``; nothing happens if they watch it already."""
    await Watcher.get_or_create(ticket_id=ticket_id, user_id=user_id, defaults={"created_at": now})


async def watch(rt: Runtime, viewer: auth.Viewer, ticket_id: int) -> Ticket:
    """The viewer starts watching a ticket they can see (idempotent); return the ticket.

    A ticket the viewer cannot see is NOT_FOUND, like one that does not exist. A merged ticket is
    refused as a userError (``TICKET_MERGED``): watch the ticket it was merged into instead.
    """
    async with transaction():
        ticket = await auth.get_visible_ticket(viewer, ticket_id)
        if ticket.status == Status.MERGED:
            raise error(
                "ticketId", f"ticket #{ticket.number} was merged; watch the ticket it went into", "TICKET_MERGED"
            )
        await add_watcher(ticket.id, viewer.user.id, rt.clock.now())
    return ticket


async def watchers_of(ticket_ids: Sequence[int]) -> list[list[User]]:
    """Each ticket's watchers, earliest first, in two queries whatever the number of tickets."""
    pairs = (
        await Watcher.filter(ticket_id__in=list(set(ticket_ids)))
        .order_by("created_at", "id")
        .values_list("ticket_id", "user_id")
    )
    users = {user.id: user for user in await User.filter(id__in=list({user_id for _, user_id in pairs}))}
    found: dict[int, list[User]] = {ticket_id: [] for ticket_id in ticket_ids}
    for ticket_id, user_id in pairs:
        found[ticket_id].append(users[user_id])
    return [found[ticket_id] for ticket_id in ticket_ids]
