"""The core's subscriptions (graphql-transport-ws at ``/graphql``): live changes to tickets.

- ``ticketChanged(id)``: the changes of one ticket (a new message, status, assignment, fields,
  tags, a merge). A ticket the subscriber may not see is NOT_FOUND at subscribe time, exactly like
  a missing one; if it becomes hidden later (reassigned away from the agent's teams), the
  subscription ends with NOT_FOUND and nothing more is sent.
- ``visibleTicketsChanged``: any ticket the subscriber may see was created or changed, or entered
  (NOW_VISIBLE) or left (NO_LONGER_VISIBLE, with ``ticket`` null) what the subscriber may see.

Every change is judged for *this* subscriber when it is delivered, by :mod:`helpline.core.auth`:
the subscriber's token is checked again (a revoked token, a deactivated, demoted or moved user ends
or narrows the subscription at the next event; once per token and change), the ticket is judged
with ``can_see_ticket`` on the row read once per change, or re-read for this viewer when a later
change has arrived meanwhile, and the message checked with ``can_see_message``. A customer therefore never receives an
event for an internal note: a note alone produces nothing at all (it does not bump the ticket's
version either); a note that also changed the status arrives as UPDATED without the message.

Plugins add subscription fields through ``SchemaContribution(subscription=...)``; they may reuse
:func:`ticket_event` and :func:`live_hub` to filter the same changes the same way.
"""

from __future__ import annotations

import copy
import enum
from collections.abc import AsyncGenerator
from typing import Any

import strawberry
from strawberry.types import Info

from helpline.core import auth, live
from helpline.core.errors import HelplineError, NotFound
from helpline.core.models import Message as MessageModel
from helpline.core.models import Ticket as TicketModel
from helpline.schema.context import context_of, runtime_of
from helpline.schema.event_values import api_field_name
from helpline.schema.ids import decode_id, encode_id
from helpline.schema.ticket_rows import with_ticket_relations
from helpline.schema.types import Message, TicketRef


@strawberry.enum(description="What happened to a ticket, as a live event.")
class TicketChangeKind(enum.Enum):
    CREATED = "created"
    UPDATED = "updated"
    MESSAGE_ADDED = "message_added"
    MERGED = "merged"
    NOW_VISIBLE = "now_visible"
    NO_LONGER_VISIBLE = "no_longer_visible"


@strawberry.type(description="A committed change to a ticket the subscriber may see.")
class TicketChangeEvent:
    kind: TicketChangeKind
    ticket_id: strawberry.ID = strawberry.field(description="The ticket's global id.")
    ticket: TicketRef | None = strawberry.field(
        description="The ticket as it is now; null when it is NO_LONGER_VISIBLE to the subscriber."
    )
    message: Message | None = strawberry.field(description="The message added (MESSAGE_ADDED only).")
    changed_fields: list[str] = strawberry.field(
        description="The ticket fields that changed, in the API's spelling (status, assigneeId, tags...)."
    )


class LiveUnavailable(HelplineError):
    """Subscriptions need a running server (the app's lifespan starts the live hub)."""

    code = "SERVICE_UNAVAILABLE"


def live_hub(info: Info[Any, Any]) -> live.LiveHub:
    """This process's live hub; SERVICE_UNAVAILABLE when the app is not serving."""
    hub = runtime_of(info).live
    if hub is None:
        raise LiveUnavailable("live updates are not running")
    return hub


async def _current_ticket(delivery: live.Delivery) -> TicketModel | None:
    async def load() -> TicketModel | None:
        return await with_ticket_relations(TicketModel.filter(id=delivery.change.ticket_id)).first()

    return await delivery.shared("ticket", load)  # type: ignore[no-any-return]


async def _added_message(delivery: live.Delivery) -> MessageModel | None:
    message_id = delivery.change.message_id
    if message_id is None:
        return None

    async def load() -> MessageModel | None:
        return await MessageModel.get_or_none(id=message_id)

    return await delivery.shared("message", load)  # type: ignore[no-any-return]


def _visible_before(viewer: auth.Viewer, change: live.TicketChange, ticket: TicketModel | None) -> bool:
    """Whether the viewer could see the ticket before the change (auth's rule on the old values)."""
    if change.kind == live.ChangeKind.CREATED or ticket is None:
        return False
    if not change.previous:
        return auth.can_see_ticket(viewer, ticket)
    before = copy.copy(ticket)
    for name, value in change.previous.items():
        setattr(before, name, value)
    return auth.can_see_ticket(viewer, before)


async def ticket_event(viewer: auth.Viewer, delivery: live.Delivery) -> TicketChangeEvent | None:
    """The event ``viewer`` may receive for ``delivery``, or ``None`` when it may receive nothing.

    Whether the viewer may see the ticket is decided for this viewer when the event is delivered,
    on the row read once for all subscribers while no later change of the ticket has arrived, and
    on a fresh read for this viewer otherwise (a subscriber that reads slowly gets events late, and
    must not get them as they were). NO_LONGER_VISIBLE carries no ticket; a message
    the viewer may not see (an internal note, for a customer) is never included, and a change that
    was only that message yields ``None``.
    """
    change = delivery.change
    shared = await _current_ticket(delivery)
    if delivery.is_latest:
        # The shared read is as current as this process knows: judge it for this viewer in memory.
        ticket = shared if shared is not None and auth.can_see_ticket(viewer, shared) else None
    else:
        # A later change has arrived since: read afresh, as this viewer may see it now.
        ticket = await with_ticket_relations(auth.visible_tickets(viewer).filter(id=change.ticket_id)).first()
    visible_now = ticket is not None
    # Whether the viewer saw it before the change: the change's old values on the shared read.
    visible_before = _visible_before(viewer, change, shared)
    fields = [api_field_name(name) for name in change.fields]
    ticket_id = strawberry.ID(encode_id("Ticket", change.ticket_id))
    if not visible_now:
        if not visible_before:
            return None
        return TicketChangeEvent(
            kind=TicketChangeKind.NO_LONGER_VISIBLE,
            ticket_id=ticket_id,
            ticket=None,
            message=None,
            changed_fields=fields,
        )
    kind = TicketChangeKind(change.kind.value)
    message = None
    if change.kind == live.ChangeKind.MESSAGE_ADDED:
        message = await _added_message(delivery)
        if message is None or message.ticket_id != change.ticket_id or not auth.can_see_message(viewer, message):
            if not fields:
                return None  # nothing this viewer may know about happened
            kind, message = TicketChangeKind.UPDATED, None
    if not visible_before and change.kind != live.ChangeKind.CREATED:
        kind = TicketChangeKind.NOW_VISIBLE
    return TicketChangeEvent(kind=kind, ticket_id=ticket_id, ticket=ticket, message=message, changed_fields=fields)


async def current_viewer(info: Info[Any, Any], delivery: live.Delivery | None = None) -> auth.Viewer:
    """The subscriber as they are now: the connection's token is checked again (it may have been
    revoked, its user deactivated, demoted or moved between teams since the socket connected).
    UNAUTHENTICATED ends the subscription. For an event, the check is made once per token and change
    for all the subscriptions that share the token."""
    context = context_of(info)
    authorization = context.authorization
    agents_see_all = runtime_of(info).settings.agents_see_all_tickets

    async def check() -> auth.Viewer | None:
        return await auth.authenticate(authorization, agents_see_all=agents_see_all)

    if delivery is None:
        viewer = await check()
    else:
        viewer = await delivery.shared(f"viewer:{authorization}", check)
    context.current_viewer = auth.require_viewer(viewer)
    return context.current_viewer


async def _events(
    info: Info[Any, Any], subscription: live.Subscription, *, one_ticket: bool
) -> AsyncGenerator[TicketChangeEvent, None]:
    context = context_of(info)
    try:
        async for delivery in subscription:
            context.fresh_loaders()
            viewer = await current_viewer(info, delivery)
            event = await ticket_event(viewer, delivery)
            if event is None:
                if one_ticket and not await auth.visible_tickets(viewer).filter(id=delivery.change.ticket_id).exists():
                    # Hidden since (the viewer moved teams, say): what asking for a missing ticket says.
                    raise NotFound(f"no ticket with id {encode_id('Ticket', delivery.change.ticket_id)}")
                continue
            if one_ticket and event.kind == TicketChangeKind.NO_LONGER_VISIBLE:
                # Exactly what asking for a missing ticket says; nothing follows.
                raise NotFound(f"no ticket with id {event.ticket_id}")
            yield event
    finally:
        subscription.close()


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Changes to one ticket: messages, status, assignment, fields, merges. NOT_FOUND when "
        "the ticket is missing or not yours to see, at subscribe time or when it becomes hidden."
    )
    async def ticket_changed(self, info: Info, id: strawberry.ID) -> AsyncGenerator[TicketChangeEvent, None]:
        viewer = await current_viewer(info)
        ticket_id = decode_id(id, "Ticket")
        # Subscribe before checking, so that a change committed in between is not missed.
        subscription = live_hub(info).subscribe(ticket_id)
        try:
            await auth.get_visible_ticket(viewer, ticket_id)
        except BaseException:
            subscription.close()
            raise
        return _events(info, subscription, one_ticket=True)

    @strawberry.subscription(
        description="Tickets you may see were created or changed, or entered or left what you may see."
    )
    async def visible_tickets_changed(self, info: Info) -> AsyncGenerator[TicketChangeEvent, None]:
        await current_viewer(info)
        return _events(info, live_hub(info).subscribe(), one_ticket=False)
