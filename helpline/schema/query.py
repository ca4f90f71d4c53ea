"""The core's root query fields. Every one asks :mod:`helpline.core.auth` what the viewer may see."""

from __future__ import annotations

import datetime as dt
import enum

import strawberry
from strawberry.types import Info

from helpline.core import auth
from helpline.core.enums import Role
from helpline.core.errors import BadInput, NotFound
from helpline.core.models import ApiToken as ApiTokenModel
from helpline.core.models import Message as MessageModel
from helpline.core.models import Organization as OrganizationModel
from helpline.core.models import Team as TeamModel
from helpline.core.models import User as UserModel
from helpline.core.ticket_queries import TicketFilter, TicketOrderField, filtered_tickets
from helpline.schema.context import runtime_of, viewer_of
from helpline.schema.ids import decode_id
from helpline.schema.inputs import filter_ids, filter_instant, filter_text
from helpline.schema.pagination import connection, paginate, selects_total
from helpline.schema.types import (
    ApiToken,
    Message,
    Organization,
    Team,
    TicketChannel,
    TicketConnection,
    TicketEdge,
    TicketPriority,
    TicketRef,
    TicketStatus,
    User,
    UserConnection,
    UserEdge,
    UserRole,
    load_ticket_rows,
)

OrderField = strawberry.enum(TicketOrderField, name="TicketOrderField")


@strawberry.enum(description="Ascending or descending.")
class OrderDirection(enum.Enum):
    ASC = "asc"
    DESC = "desc"


@strawberry.input(description="How to order tickets; ties are broken by id.")
class TicketOrder:
    field: OrderField = TicketOrderField.CREATED_AT
    direction: OrderDirection = OrderDirection.DESC


@strawberry.input(description="All given conditions must hold; a list matches any of its values.")
class TicketFilterInput:
    status: list[TicketStatus] | None = None
    priority: list[TicketPriority] | None = None
    channel: list[TicketChannel] | None = None
    team_ids: list[strawberry.ID] | None = None
    assignee_ids: list[strawberry.ID] | None = None
    requester_ids: list[strawberry.ID] | None = None
    organization_ids: list[strawberry.ID] | None = None
    unassigned: bool | None = strawberry.field(default=None, description="true: no assignee; false: has one.")
    tag: str | None = None
    created_after: dt.datetime | None = strawberry.field(default=None, description="Inclusive. Naive times are UTC.")
    created_before: dt.datetime | None = strawberry.field(default=None, description="Exclusive.")
    updated_after: dt.datetime | None = None
    updated_before: dt.datetime | None = None
    subject_contains: str | None = strawberry.field(default=None, description="Case-insensitive text in the subject.")

    def to_core(self) -> TicketFilter:
        """Decode and check ids, texts and times into the core's :class:`TicketFilter`."""
        return TicketFilter(
            status=self.status,
            priority=self.priority,
            channel=self.channel,
            team_ids=filter_ids(self.team_ids, "Team", "filter.teamIds"),
            assignee_ids=filter_ids(self.assignee_ids, "User", "filter.assigneeIds"),
            requester_ids=filter_ids(self.requester_ids, "User", "filter.requesterIds"),
            organization_ids=filter_ids(self.organization_ids, "Organization", "filter.organizationIds"),
            unassigned=self.unassigned,
            tag=filter_text(self.tag, "filter.tag", 50),
            created_after=filter_instant(self.created_after, "filter.createdAfter"),
            created_before=filter_instant(self.created_before, "filter.createdBefore"),
            updated_after=filter_instant(self.updated_after, "filter.updatedAfter"),
            updated_before=filter_instant(self.updated_before, "filter.updatedBefore"),
            subject_contains=filter_text(self.subject_contains, "filter.subjectContains"),
        )


@strawberry.type
class Query:
    @strawberry.field(description="The person the API token belongs to.")
    def viewer(self, info: Info) -> User:
        return viewer_of(info).user

    @strawberry.field(description="One ticket by id or by number; NOT_FOUND when missing or not yours to see.")
    async def ticket(self, info: Info, id: strawberry.ID | None = None, number: int | None = None) -> TicketRef:
        viewer = viewer_of(info)
        if (id is None) == (number is None):
            raise BadInput("give exactly one of id and number")
        visible = auth.visible_tickets(viewer)
        found = await load_ticket_rows(
            visible.filter(id=decode_id(id, "Ticket")) if id is not None else visible.filter(number=number)
        )
        if not found:
            raise NotFound("no such ticket")
        return found[0]

    @strawberry.field(description="Tickets the viewer may see, filtered, ordered and paged.")
    async def tickets(
        self,
        info: Info,
        filter: TicketFilterInput | None = None,
        order_by: TicketOrder | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> TicketConnection:
        viewer = viewer_of(info)
        queryset = filtered_tickets(viewer, filter.to_core() if filter is not None else None)
        order = order_by or TicketOrder()
        field = TicketOrderField(order.field)
        page = await paginate(
            runtime_of(info),
            queryset,
            first=first,
            after=after,
            order_field=field.value,
            descending=order.direction == OrderDirection.DESC,
            is_datetime=field in (TicketOrderField.CREATED_AT, TicketOrderField.UPDATED_AT),
            load=load_ticket_rows,
            total_with_page=selects_total(info),
        )
        return connection(TicketConnection, TicketEdge, page)

    @strawberry.field(description="One message; NOT_FOUND when its ticket or the message is not visible.")
    async def message(self, info: Info, id: strawberry.ID) -> Message:
        viewer = viewer_of(info)
        message = await auth.visible_messages(viewer).get_or_none(id=decode_id(id, "Message"))
        if message is None:
            raise NotFound("no such message")
        return message

    @strawberry.field(description="One person; customers may see themselves and staff.")
    async def user(self, info: Info, id: strawberry.ID) -> User:
        viewer = viewer_of(info)
        user = await UserModel.get_or_none(id=decode_id(id, "User"))
        if user is None or not auth.can_see_user(viewer, user):
            raise NotFound("no such user")
        return user

    @strawberry.field(description="People (staff only), optionally by role or e-mail fragment.")
    async def users(
        self,
        info: Info,
        role: UserRole | None = None,
        email_contains: str | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> UserConnection:
        auth.require_staff(viewer_of(info))
        queryset = UserModel.all()
        if role is not None:
            queryset = queryset.filter(role=Role(role))
        if email_contains:
            queryset = queryset.filter(email__icontains=filter_text(email_contains, "emailContains", 254))
        page = await paginate(runtime_of(info), queryset, first=first, after=after)
        return connection(UserConnection, UserEdge, page)

    @strawberry.field(description="Organizations (staff see all; customers their own).")
    async def organizations(self, info: Info) -> list[Organization]:
        viewer = viewer_of(info)
        if viewer.is_staff:
            return list(await OrganizationModel.all().order_by("name"))
        if viewer.user.organization_id is None:
            return []
        return list(await OrganizationModel.filter(id=viewer.user.organization_id))

    @strawberry.field(description="Teams (staff only).")
    async def teams(self, info: Info) -> list[Team]:
        auth.require_staff(viewer_of(info))
        return list(await TeamModel.all().order_by("name"))

    @strawberry.field(description="Your API tokens; admins may ask for another person's.")
    async def api_tokens(self, info: Info, user_id: strawberry.ID | None = None) -> list[ApiToken]:
        viewer = viewer_of(info)
        owner_id = viewer.user.id if user_id is None else decode_id(user_id, "User", "userId")
        if owner_id != viewer.user.id:
            auth.require_admin(viewer)
        return list(await ApiTokenModel.filter(user_id=owner_id).order_by("id"))


__all__ = ["MessageModel", "Query", "TicketFilterInput", "TicketOrder"]
