"""The core's mutations. Each takes one ``input``, runs one core service call (one transaction), and
returns a payload with the changed object and ``userErrors`` for expected problems.

Permission and authentication failures, missing objects and stale versions are top-level errors
(FORBIDDEN, UNAUTHENTICATED, NOT_FOUND, CONFLICT); validation problems are ``userErrors`` and
change nothing.
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from helpline.core import people, tickets
from helpline.core.enums import Channel, Priority, Role
from helpline.schema.context import runtime_of, viewer_of
from helpline.schema.errors import UserErrorType, attempt
from helpline.schema.ids import decode_id, decode_optional_id
from helpline.schema.types import (
    ApiToken,
    Message,
    Organization,
    Team,
    TicketChannel,
    TicketKind,
    TicketPriority,
    TicketRef,
    TicketStatus,
    User,
    UserRole,
)


def _given(value: Any) -> Any:
    """strawberry's UNSET (field omitted) -> the services' UNSET; everything else as is."""
    return tickets.UNSET if value is strawberry.UNSET else value


# --- tickets ------------------------------------------------------------------------------------


@strawberry.input
class CreateTicketInput:
    subject: str
    description: str = strawberry.field(description="The first message of the ticket.")
    priority: TicketPriority = Priority.NORMAL
    type: TicketKind | None = None
    category: str | None = None
    channel: TicketChannel = Channel.WEB
    tags: list[str] = strawberry.field(default_factory=list)
    custom_fields: JSON | None = None
    requester_id: strawberry.ID | None = strawberry.field(default=None, description="Staff only; default: yourself.")
    team_id: strawberry.ID | None = strawberry.field(default=None, description="Staff only.")
    assignee_id: strawberry.ID | None = strawberry.field(default=None, description="Staff only.")


@strawberry.input(description="Omitted fields stay as they are; null clears type, category, team and assignee.")
class UpdateTicketInput:
    id: strawberry.ID
    expected_version: int | None = strawberry.field(
        default=None,
        description="The version you read; a stale one gives CONFLICT and changes nothing.",
    )
    subject: str | None = strawberry.UNSET
    status: TicketStatus | None = strawberry.UNSET
    priority: TicketPriority | None = strawberry.UNSET
    type: TicketKind | None = strawberry.UNSET
    category: str | None = strawberry.UNSET
    tags: list[str] | None = strawberry.field(default=strawberry.UNSET, description="Replaces all tags.")
    custom_fields: JSON | None = strawberry.field(default=strawberry.UNSET, description="Replaces all custom fields.")
    team_id: strawberry.ID | None = strawberry.UNSET
    assignee_id: strawberry.ID | None = strawberry.UNSET


@strawberry.type
class TicketPayload:
    ticket: TicketRef | None
    user_errors: list[UserErrorType]


@strawberry.input
class AddMessageInput:
    ticket_id: strawberry.ID
    body: str
    internal: bool = strawberry.field(default=False, description="An internal note (staff only).")
    channel: TicketChannel = Channel.WEB
    status: TicketStatus | None = strawberry.field(
        default=None,
        description="Staff only: the ticket's status after this message (e.g. PENDING).",
    )
    expected_version: int | None = None


@strawberry.type
class MessagePayload:
    message: Message | None
    ticket: TicketRef | None = strawberry.field(
        description="The ticket the message is on (a new follow-up when the original was closed)."
    )
    user_errors: list[UserErrorType]


@strawberry.input
class MergeTicketsInput:
    source_id: strawberry.ID = strawberry.field(description="The ticket that is merged away.")
    target_id: strawberry.ID = strawberry.field(description="The ticket that receives the messages.")


@strawberry.type
class MergeTicketsPayload:
    source: TicketRef | None
    target: TicketRef | None
    user_errors: list[UserErrorType]


# --- people -------------------------------------------------------------------------------------


@strawberry.input
class CreateOrganizationInput:
    name: str
    shared_tickets: bool = False


@strawberry.input
class UpdateOrganizationInput:
    id: strawberry.ID
    name: str | None = None
    shared_tickets: bool | None = None


@strawberry.type
class OrganizationPayload:
    organization: Organization | None
    user_errors: list[UserErrorType]


@strawberry.input
class CreateTeamInput:
    name: str
    description: str = ""


@strawberry.input
class UpdateTeamInput:
    id: strawberry.ID
    name: str | None = None
    description: str | None = None


@strawberry.input
class TeamMembershipInput:
    team_id: strawberry.ID
    user_id: strawberry.ID


@strawberry.type
class TeamPayload:
    team: Team | None
    user_errors: list[UserErrorType]


@strawberry.input
class CreateUserInput:
    email: str
    name: str
    role: UserRole
    organization_id: strawberry.ID | None = None
    vip: bool = False


@strawberry.input
class UpdateUserInput:
    id: strawberry.ID
    email: str | None = None
    name: str | None = None
    role: UserRole | None = None
    organization_id: strawberry.ID | None = strawberry.UNSET
    vip: bool | None = None
    is_active: bool | None = None


@strawberry.type
class UserPayload:
    user: User | None
    user_errors: list[UserErrorType]


@strawberry.input
class CreateApiTokenInput:
    name: str
    user_id: strawberry.ID | None = strawberry.field(default=None, description="Admins only; default: yourself.")


@strawberry.type
class CreateApiTokenPayload:
    token: ApiToken | None
    secret: str | None = strawberry.field(description="The token itself. Shown only now; store it safely.")
    user_errors: list[UserErrorType]


@strawberry.input
class RevokeApiTokenInput:
    id: strawberry.ID


@strawberry.type
class ApiTokenPayload:
    token: ApiToken | None
    user_errors: list[UserErrorType]


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Open a ticket; its description becomes the first message.")
    async def create_ticket(self, info: Info, input: CreateTicketInput) -> TicketPayload:
        viewer = viewer_of(info)
        data = tickets.NewTicket(
            subject=input.subject,
            description=input.description,
            priority=Priority(input.priority),
            type=input.type,
            category=input.category,
            channel=Channel(input.channel),
            tags=list(input.tags),
            custom_fields=input.custom_fields if input.custom_fields is not None else {},
            requester_id=decode_optional_id(input.requester_id, "User", "requesterId"),
            team_id=decode_optional_id(input.team_id, "Team", "teamId"),
            assignee_id=decode_optional_id(input.assignee_id, "User", "assigneeId"),
        )
        ticket, errors = await attempt(tickets.create_ticket(runtime_of(info), data, viewer=viewer))
        return TicketPayload(ticket=ticket, user_errors=errors)

    @strawberry.mutation(description="Change a ticket's fields, status, team or assignee (staff only).")
    async def update_ticket(self, info: Info, input: UpdateTicketInput) -> TicketPayload:
        viewer = viewer_of(info)
        team_id = input.team_id
        assignee_id = input.assignee_id
        changes = tickets.TicketChanges(
            subject=_given(input.subject),
            status=_given(input.status),
            priority=_given(input.priority),
            type=_given(input.type),
            category=_given(input.category),
            tags=_given(input.tags),
            custom_fields=_given(input.custom_fields),
            team_id=tickets.UNSET if team_id is strawberry.UNSET else decode_optional_id(team_id, "Team", "teamId"),
            assignee_id=(
                tickets.UNSET
                if assignee_id is strawberry.UNSET
                else decode_optional_id(assignee_id, "User", "assigneeId")
            ),
        )
        if changes.tags is None:
            changes.tags = []
        ticket, errors = await attempt(
            tickets.update_ticket(
                runtime_of(info),
                decode_id(input.id, "Ticket"),
                changes,
                viewer=viewer,
                expected_version=input.expected_version,
            )
        )
        return TicketPayload(ticket=ticket, user_errors=errors)

    @strawberry.mutation(description="Reply publicly or add an internal note; moves the ticket's status.")
    async def add_message(self, info: Info, input: AddMessageInput) -> MessagePayload:
        viewer = viewer_of(info)
        result, errors = await attempt(
            tickets.add_message(
                runtime_of(info),
                decode_id(input.ticket_id, "Ticket", "ticketId"),
                input.body,
                viewer=viewer,
                internal=input.internal,
                channel=Channel(input.channel),
                status=input.status,
                expected_version=input.expected_version,
            )
        )
        message, ticket = result if result is not None else (None, None)
        return MessagePayload(message=message, ticket=ticket, user_errors=errors)

    @strawberry.mutation(description="Merge one ticket into another (staff only).")
    async def merge_tickets(self, info: Info, input: MergeTicketsInput) -> MergeTicketsPayload:
        viewer = viewer_of(info)
        result, errors = await attempt(
            tickets.merge_tickets(
                runtime_of(info),
                decode_id(input.source_id, "Ticket", "sourceId"),
                decode_id(input.target_id, "Ticket", "targetId"),
                viewer=viewer,
            )
        )
        source, target = result if result is not None else (None, None)
        return MergeTicketsPayload(source=source, target=target, user_errors=errors)

    @strawberry.mutation(description="Create an organization (admins).")
    async def create_organization(self, info: Info, input: CreateOrganizationInput) -> OrganizationPayload:
        organization, errors = await attempt(
            people.create_organization(runtime_of(info), viewer_of(info), input.name, input.shared_tickets)
        )
        return OrganizationPayload(organization=organization, user_errors=errors)

    @strawberry.mutation(description="Rename an organization or switch ticket sharing (admins).")
    async def update_organization(self, info: Info, input: UpdateOrganizationInput) -> OrganizationPayload:
        organization, errors = await attempt(
            people.update_organization(
                runtime_of(info),
                viewer_of(info),
                decode_id(input.id, "Organization"),
                name=input.name,
                shared_tickets=input.shared_tickets,
            )
        )
        return OrganizationPayload(organization=organization, user_errors=errors)

    @strawberry.mutation(description="Create a team (admins).")
    async def create_team(self, info: Info, input: CreateTeamInput) -> TeamPayload:
        team, errors = await attempt(
            people.create_team(runtime_of(info), viewer_of(info), input.name, input.description)
        )
        return TeamPayload(team=team, user_errors=errors)

    @strawberry.mutation(description="Rename a team or change its description (admins).")
    async def update_team(self, info: Info, input: UpdateTeamInput) -> TeamPayload:
        team, errors = await attempt(
            people.update_team(
                runtime_of(info),
                viewer_of(info),
                decode_id(input.id, "Team"),
                name=input.name,
                description=input.description,
            )
        )
        return TeamPayload(team=team, user_errors=errors)

    @strawberry.mutation(description="Add an agent or admin to a team (admins; idempotent).")
    async def add_team_member(self, info: Info, input: TeamMembershipInput) -> TeamPayload:
        return await _membership(info, input, member=True)

    @strawberry.mutation(description="Remove someone from a team (admins; idempotent).")
    async def remove_team_member(self, info: Info, input: TeamMembershipInput) -> TeamPayload:
        return await _membership(info, input, member=False)

    @strawberry.mutation(description="Create an admin, agent or customer (admins).")
    async def create_user(self, info: Info, input: CreateUserInput) -> UserPayload:
        data = people.NewUser(
            email=input.email,
            name=input.name,
            role=Role(input.role),
            organization_id=decode_optional_id(input.organization_id, "Organization", "organizationId"),
            vip=input.vip,
        )
        user, errors = await attempt(people.create_user(runtime_of(info), viewer_of(info), data))
        return UserPayload(user=user, user_errors=errors)

    @strawberry.mutation(description="Edit a person (admins). Deactivated people keep their history.")
    async def update_user(self, info: Info, input: UpdateUserInput) -> UserPayload:
        organization_id = (
            people.UNSET
            if input.organization_id is strawberry.UNSET
            else decode_optional_id(input.organization_id, "Organization", "organizationId")
        )
        user, errors = await attempt(
            people.update_user(
                runtime_of(info),
                viewer_of(info),
                decode_id(input.id, "User"),
                name=input.name,
                email=input.email,
                role=Role(input.role) if input.role is not None else people.UNSET,
                organization_id=organization_id,
                vip=input.vip,
                is_active=input.is_active,
            )
        )
        return UserPayload(user=user, user_errors=errors)

    @strawberry.mutation(description="Create an API token; the secret is in the payload, once.")
    async def create_api_token(self, info: Info, input: CreateApiTokenInput) -> CreateApiTokenPayload:
        result, errors = await attempt(
            people.create_api_token(
                runtime_of(info),
                viewer_of(info),
                input.name,
                decode_optional_id(input.user_id, "User", "userId"),
            )
        )
        token, secret = result if result is not None else (None, None)
        return CreateApiTokenPayload(token=token, secret=secret, user_errors=errors)

    @strawberry.mutation(description="Revoke an API token (yours, or anyone's for admins).")
    async def revoke_api_token(self, info: Info, input: RevokeApiTokenInput) -> ApiTokenPayload:
        token, errors = await attempt(
            people.revoke_api_token(runtime_of(info), viewer_of(info), decode_id(input.id, "ApiToken"))
        )
        return ApiTokenPayload(token=token, user_errors=errors)


async def _membership(info: Info, input: TeamMembershipInput, *, member: bool) -> TeamPayload:
    team, errors = await attempt(
        people.set_team_membership(
            runtime_of(info),
            viewer_of(info),
            decode_id(input.team_id, "Team", "teamId"),
            decode_id(input.user_id, "User", "userId"),
            member,
        )
    )
    return TeamPayload(team=team, user_errors=errors)
