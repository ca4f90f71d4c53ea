"""GraphQL: ``Ticket.watchers`` / ``Ticket.watcherCount`` and the ``watchTicket`` mutation.

Resolvers on ``Ticket`` receive the core's ticket row as ``self``; the core has already checked
that the viewer may see it. Which people the viewer may see is the core's rule too
(:func:`~helpline.core.auth.can_see_user`).
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from helpline.core import auth
from helpline.core.models import User as UserModel
from helpline.schema.context import loader_of, runtime_of, viewer_of
from helpline.schema.errors import UserErrorType, attempt
from helpline.schema.ids import decode_id
from helpline.schema.types import TicketRef, User
from helpline_example_plugin import service

LOADER_KEY = "example_watchers.watchers"


async def visible_watchers(ticket: Any, info: Info) -> list[UserModel]:
    """The ticket's watchers the viewer may see, batched per request through a DataLoader."""
    viewer = viewer_of(info)
    loader = loader_of(info, LOADER_KEY, service.watchers_of)
    return [user for user in await loader.load(ticket.id) if auth.can_see_user(viewer, user)]


@strawberry.type
class WatcherTicketFields:
    """Fields this plugin adds to ``Ticket``."""

    @strawberry.field(description="People watching this ticket (those you may see), earliest first.")
    async def watchers(self, info: Info) -> list[User]:
        return await visible_watchers(self, info)

    @strawberry.field(description="How many people watch this ticket (those you may see).")
    async def watcher_count(self, info: Info) -> int:
        return len(await visible_watchers(self, info))


@strawberry.input(description="The ticket to watch.")
class WatchTicketInput:
    ticket_id: strawberry.ID


@strawberry.type
class WatchTicketPayload:
    ticket: TicketRef | None
    user_errors: list[UserErrorType]


@strawberry.type
class WatcherMutation:
    """Root mutations this plugin adds."""

    @strawberry.mutation(description="Watch a ticket you can see (doing it twice is harmless).")
    async def watch_ticket(self, info: Info, input: WatchTicketInput) -> WatchTicketPayload:
        viewer = viewer_of(info)
        ticket_id = decode_id(input.ticket_id, "Ticket", "ticketId")
        ticket, errors = await attempt(service.watch(runtime_of(info), viewer, ticket_id))
        return WatchTicketPayload(ticket=ticket, user_errors=errors)
