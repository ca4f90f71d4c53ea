"""The core's GraphQL types. Resolvers receive the Tortoise model instance as ``self``.

``Ticket`` here is the base: the schema's real ``Ticket`` is built at composition time from this
class plus the fields plugins contribute, so every reference to it is lazy (``TicketRef``).
Relations resolve through the request's DataLoaders, so a page costs the same number of SQL
statements whatever its size.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from helpline.core import auth
from helpline.core.enums import (
    Channel,
    EventKind,
    MessageSource,
    Priority,
    Role,
    Status,
    TicketType,
)
from helpline.core.errors import Forbidden
from helpline.core.models import ApiToken as ApiTokenModel
from helpline.core.models import Message as MessageModel
from helpline.core.models import Organization as OrganizationModel
from helpline.core.models import Team as TeamModel
from helpline.core.models import TeamMembership
from helpline.core.models import Ticket as TicketModel
from helpline.core.models import TicketEvent as TicketEventModel
from helpline.core.models import User as UserModel
from helpline.schema.child_pages import child_page
from helpline.schema.context import context_of, viewer_of
from helpline.schema.event_values import api_field_name, api_value
from helpline.schema.ids import encode_id
from helpline.schema.pagination import CountedConnection, connection
from helpline.schema.ticket_rows import load_ticket_rows, ticket_tags, with_ticket_relations

if TYPE_CHECKING:
    from helpline.schema.composed import Ticket

TicketRef = Annotated["Ticket", strawberry.lazy("helpline.schema.composed")]
ResolverT = TypeVar("ResolverT", bound=Callable[..., Any])


def root_only(resolver: ResolverT) -> ResolverT:
    """Mark a resolver that reads only its root object: no ``info``, no arguments, no awaiting of
    its own, no field extensions. :func:`~helpline.schema.compose.compose_schema` hands such
    resolvers to graphql-core directly: strawberry's wrapping of a resolver call (arguments,
    extensions, ``info`` injection) costs several times the resolver itself, and fields like
    ``id`` and ``tags`` are resolved for every row of every list."""
    resolver.helpline_root_only = True  # type: ignore[attr-defined]
    return resolver


def global_id(type_name: str) -> Any:
    """The ``id`` field of a type whose rows are Tortoise models: the opaque global id of the row."""

    @root_only
    def resolve(root: Any) -> strawberry.ID:
        return strawberry.ID(encode_id(type_name, root.id))

    return strawberry.field(resolver=resolve, description=f"Opaque global id of the {type_name}.")


async def load_organization(info: Info, organization_id: int | None) -> Organization | None:
    """The organization with ``organization_id`` through the request's loader (``None`` passes through)."""
    return None if organization_id is None else await context_of(info).loaders.organizations.load(organization_id)


TicketStatus = strawberry.enum(Status, name="TicketStatus", description="Where a ticket is in its lifecycle.")
TicketPriority = strawberry.enum(Priority, name="TicketPriority")
TicketChannel = strawberry.enum(Channel, name="Channel", description="Where a ticket or message came in.")
TicketKind = strawberry.enum(TicketType, name="TicketType")
UserRole = strawberry.enum(Role, name="Role")
AuthorKind = strawberry.enum(
    MessageSource,
    name="MessageSource",
    description="Whether a person, an automation, a bot or an automatic reply wrote it.",
)
TicketEventKind = strawberry.enum(EventKind, name="TicketEventKind")


@strawberry.type(description="A customer company; members may share tickets.")
class Organization:
    name: str
    shared_tickets: bool = strawberry.field(description="Members see each other's tickets.")
    created_at: dt.datetime

    id: strawberry.ID = global_id("Organization")


@strawberry.type(description="A group of agents tickets are routed to.")
class Team:
    name: str
    description: str
    created_at: dt.datetime

    id: strawberry.ID = global_id("Team")

    @strawberry.field(description="Agents and admins in the team (staff only).")
    async def members(self, info: Info) -> list[User]:
        auth.require_staff(context_of(info).viewer)
        user_ids = await TeamMembership.filter(team_id=self.id).values_list("user_id", flat=True)
        return list(await UserModel.filter(id__in=list(user_ids)).order_by("name"))


@strawberry.type(description="A person: admin, agent or customer.")
class User:
    name: str
    role: UserRole
    created_at: dt.datetime

    id: strawberry.ID = global_id("User")

    @strawberry.field(description="Visible to staff and to the person themselves.")
    def email(self, info: Info) -> str | None:
        viewer = viewer_of(info)
        return self.email if viewer.is_staff or viewer.user.id == self.id else None

    @strawberry.field(description="Whether the account can sign in (staff only).")
    def is_active(self, info: Info) -> bool | None:
        return self.is_active if viewer_of(info).is_staff else None

    @strawberry.field(description="VIP customers may get stricter service targets (staff only).")
    def vip(self, info: Info) -> bool | None:
        return self.vip if viewer_of(info).is_staff else None

    @strawberry.field
    async def organization(self, info: Info) -> Organization | None:
        return await load_organization(info, self.organization_id)


@strawberry.type(description="A public reply or an internal note.")
class Message:
    body: str
    internal: bool = strawberry.field(description="Internal notes are never shown to customers.")
    source: AuthorKind
    channel: TicketChannel
    created_at: dt.datetime

    id: strawberry.ID = global_id("Message")

    @strawberry.field(description="The person who wrote it; null for automations, bots and automatic replies.")
    async def author(self, info: Info) -> User | None:
        author_id = self.author_id
        if author_id is None:
            return None
        author = await context_of(info).loaders.users.load(author_id)
        # Defence in depth: an author the viewer may not see as a person shows as null.
        return author if author is not None and auth.can_see_user(viewer_of(info), author) else None

    @strawberry.field
    async def ticket(self, info: Info) -> TicketRef | None:
        return await context_of(info).visible_tickets.load(self.ticket_id)


@strawberry.type(description="One entry of a ticket's history: who changed what, when, old -> new.")
class TicketEvent:
    kind: TicketEventKind
    actor_source: AuthorKind
    actor_name: str = strawberry.field(description="Label of a non-human actor (rule or plugin); empty for people.")
    created_at: dt.datetime

    id: strawberry.ID = global_id("TicketEvent")

    @strawberry.field(description="The ticket field that changed, as the API names it (e.g. assigneeId).")
    def field(self) -> str | None:
        return None if self.field is None else api_field_name(self.field)

    @strawberry.field(description="The value before the change, in the API's spelling (ids are global ids).")
    def old_value(self) -> JSON | None:
        return None if self.old_value is None else api_value(self.field, json.loads(self.old_value))

    @strawberry.field(description="The value after the change, in the API's spelling (ids are global ids).")
    def new_value(self) -> JSON | None:
        return None if self.new_value is None else api_value(self.field, json.loads(self.new_value))

    @strawberry.field
    async def actor(self, info: Info) -> User | None:
        actor_id = self.actor_id
        return None if actor_id is None else await context_of(info).loaders.users.load(actor_id)

    @strawberry.field(description="The message this event is about, if any.")
    def message_id(self) -> strawberry.ID | None:
        message_id = self.message_id
        return None if message_id is None else strawberry.ID(encode_id("Message", message_id))


@strawberry.type(description="An API token; the secret itself is shown only once, at creation.")
class ApiToken:
    name: str
    prefix: str = strawberry.field(description="The first characters of the secret, to recognise it.")
    created_at: dt.datetime
    revoked_at: dt.datetime | None

    id: strawberry.ID = global_id("ApiToken")

    @strawberry.field
    async def user(self, info: Info) -> User | None:
        return await context_of(info).loaders.users.load(self.user_id)


@strawberry.type
class MessageEdge:
    cursor: str
    node: Message


@strawberry.type
class MessageConnection(CountedConnection):
    edges: list[MessageEdge]
    nodes: list[Message]


@strawberry.type
class TicketEventEdge:
    cursor: str
    node: TicketEvent


@strawberry.type
class TicketEventConnection(CountedConnection):
    edges: list[TicketEventEdge]
    nodes: list[TicketEvent]


@strawberry.type
class UserEdge:
    cursor: str
    node: User


@strawberry.type
class UserConnection(CountedConnection):
    edges: list[UserEdge]
    nodes: list[User]


@strawberry.type
class TicketEdge:
    cursor: str
    node: TicketRef


@strawberry.type
class TicketConnection(CountedConnection):
    edges: list[TicketEdge]
    nodes: list[TicketRef]


@strawberry.type(name="Ticket", description="A customer's request and everything about its handling.")
class TicketBase:
    number: int = strawberry.field(description="The human number, shown as #1001.")
    subject: str
    status: TicketStatus
    priority: TicketPriority
    type: TicketKind | None
    category: str | None
    channel: TicketChannel
    version: int = strawberry.field(
        description="Grows with every change; pass it as expectedVersion to avoid overwriting."
    )
    created_at: dt.datetime
    updated_at: dt.datetime
    solved_at: dt.datetime | None
    closed_at: dt.datetime | None
    custom_fields: JSON
    # requester, assignee and team are plain attributes: load_ticket_rows() joins them in, and for
    # a model loaded without with_ticket_relations() Tortoise's attribute is an awaitable that
    # fetches the row (one query), which GraphQL awaits. No resolver functions: on a 50-ticket page,
    # per-field resolver calls and Info objects cost more than the queries.
    requester: User
    assignee: User | None
    team: Team | None

    id: strawberry.ID = global_id("Ticket")

    @strawberry.field
    @root_only
    def tags(self) -> list[str]:
        return ticket_tags(self)  # type: ignore[no-any-return]

    @strawberry.field
    async def organization(self, info: Info) -> Organization | None:
        return await load_organization(info, self.organization_id)

    @strawberry.field(description="The ticket this one was merged into, if it was merged.")
    async def merged_into(self, info: Info) -> TicketRef | None:
        target_id = self.merged_into_id
        return None if target_id is None else await context_of(info).visible_tickets.load(target_id)

    @strawberry.field(description="The closed ticket this one follows up, if any.")
    async def follow_up_of(self, info: Info) -> TicketRef | None:
        previous_id = self.follow_up_of_id
        return None if previous_id is None else await context_of(info).visible_tickets.load(previous_id)

    @strawberry.field(description="Messages the viewer may see, oldest first (customers never see internal notes).")
    async def messages(self, info: Info, first: int | None = None, after: str | None = None) -> MessageConnection:
        conditions = auth.message_conditions(viewer_of(info))
        page = await child_page(info, MessageModel, self.id, conditions=conditions, first=first, after=after)
        return connection(MessageConnection, MessageEdge, page)

    @strawberry.field(description="The ticket's history, oldest first (staff only).")
    async def events(self, info: Info, first: int | None = None, after: str | None = None) -> TicketEventConnection:
        viewer = viewer_of(info)
        if not auth.can_see_staff_fields(viewer):
            raise Forbidden("the event log is for agents and admins")
        page = await child_page(info, TicketEventModel, self.id, conditions={}, first=first, after=after)
        return connection(TicketEventConnection, TicketEventEdge, page)


# Re-exported for plugin authors who annotate with the core models.
__all__ = [
    "ApiToken",
    "ApiTokenModel",
    "Message",
    "Organization",
    "OrganizationModel",
    "TeamModel",
    "TicketBase",
    "TicketConnection",
    "TicketModel",
    "TicketRef",
    "User",
    "load_ticket_rows",
    "with_ticket_relations",
]
