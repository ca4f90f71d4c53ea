"""Tokens, roles, the viewer, and the one place where visibility rules live.

Every resolver, every plugin field and every subscription asks this module what a viewer may see:

- admins see everything;
- agents see the tickets of their teams, the tickets assigned to them and the triage queue (tickets
  with no team yet); with ``agents_see_all_tickets`` they see every ticket;
- customers see the tickets they requested and, when their organization shares tickets, their
  organization's; never internal notes (not even how many there are) and never agent-only fields.

A ticket a viewer may not see is reported as NOT_FOUND, exactly like one that does not exist.

Decisions where a help desk could go either way: customers do see their ticket's team and
assignee names (as Zendesk and Freshdesk show "assigned to") and its custom fields (plugins that
need agent-only fields keep them in their own tables); the event log, internal notes, e-mail
addresses of others and the VIP flag are staff-only. The schema itself (introspection) is public:
Helpline is open source, and the schema holds no data.
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from typing import Any

from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet

from helpline.core.actors import Actor
from helpline.core.enums import MessageSource, Role
from helpline.core.errors import Forbidden, NotFound, Unauthenticated
from helpline.core.models import ApiToken, Message, Organization, TeamMembership, Ticket, User
from helpline.core.quick_reads import select

TOKEN_PREFIX = "hl_"


def hash_token(secret: str) -> str:
    """The stored form of a token secret (SHA-256 hex; tokens are long random strings, no salt needed)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_token_secret() -> str:
    """A fresh token secret: ``hl_`` plus 43 URL-safe random characters (256 bits)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


@dataclasses.dataclass(frozen=True)
class Viewer:
    """The authenticated person making a request, with what visibility needs pre-loaded."""

    user: User
    team_ids: frozenset[int]
    organization_shares: bool
    agents_see_all: bool

    @property
    def role(self) -> Role:
        """The viewer's role."""
        return self.user.role

    @property
    def is_admin(self) -> bool:
        """True for admins."""
        return self.user.role == Role.ADMIN

    @property
    def is_staff(self) -> bool:
        """True for agents and admins."""
        return self.user.role in (Role.AGENT, Role.ADMIN)

    @property
    def is_customer(self) -> bool:
        """True for customers."""
        return self.user.role == Role.CUSTOMER

    @property
    def actor(self) -> Actor:
        """The viewer as the actor of a change they make."""
        return Actor(user=self.user, source=MessageSource.HUMAN)


async def load_viewer(user: User, *, agents_see_all: bool = False) -> Viewer:
    """Build the :class:`Viewer` for ``user`` (one query for teams, one for the organization)."""
    team_ids: frozenset[int] = frozenset()
    if user.role == Role.AGENT:
        team_ids = frozenset(
            await TeamMembership.filter(user_id=user.id).values_list("team_id", flat=True)  # type: ignore[arg-type]
        )
    shares = False
    if user.role == Role.CUSTOMER and user.organization_id is not None:
        organization = await Organization.get_or_none(id=user.organization_id)
        shares = bool(organization and organization.shared_tickets)
    return Viewer(user=user, team_ids=team_ids, organization_shares=shares, agents_see_all=agents_see_all)


def _viewer_sql(postgres: bool) -> str:
    """The statement behind :func:`authenticate`: an unrevoked token's user, with what
    :class:`Viewer` needs (the agent's team ids, the organization's sharing flag) in the same row.

    Table and column names come from the models, never from a request; the token hash is the only
    parameter. Built once per dialect (:func:`_viewer_statement`).
    """
    user = User._meta
    columns = ", ".join(f'u."{column}"' for column in user.fields_db_projection.values())
    teams = TeamMembership._meta.db_table
    team_list = "string_agg(m.team_id::text, ',')" if postgres else "group_concat(m.team_id, ',')"
    return (
        f"SELECT {columns}, o.shared_tickets AS viewer_org_shares, "
        f'(SELECT {team_list} FROM "{teams}" m WHERE m.user_id = u.id) AS viewer_team_ids '
        f'FROM "{ApiToken._meta.db_table}" t '
        f'JOIN "{user.db_table}" u ON u.id = t.user_id '
        f'LEFT JOIN "{Organization._meta.db_table}" o ON o.id = u.organization_id '
        f"WHERE t.token_hash = {'$1' if postgres else '?'} AND t.revoked_at IS NULL"
    )


_viewer_statements: dict[str, str] = {}


def _viewer_statement(dialect: str) -> str:
    statement = _viewer_statements.get(dialect)
    if statement is None:
        statement = _viewer_statements[dialect] = _viewer_sql(dialect == "postgres")
    return statement


async def authenticate(authorization: str | None, *, agents_see_all: bool = False) -> Viewer | None:
    """Resolve an ``Authorization`` header to a viewer.

    No header gives ``None`` (anonymous); a header that is not a valid, unrevoked Bearer token of an
    active user raises :class:`Unauthenticated` (never guess, never fall back to anonymous).

    Every request runs this, so it is one prepared SQL statement (:func:`_viewer_sql`) instead of
    a Tortoise query with ``select_related`` plus up to two more for :func:`load_viewer` (building
    those queries cost more than running them). The user becomes a ``User`` model as Tortoise would
    build it, because services take ``viewer.user`` as the actor of a change. Nothing is cached
    between requests: a revoked token, a deactivated user or a changed team membership takes effect
    with the next request, in every process.
    """
    if not authorization:
        return None
    scheme, _, secret = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthenticated("use the header 'Authorization: Bearer <token>'")
    db = ApiToken._meta.db
    rows = await select(db, _viewer_statement(db.capabilities.dialect), [hash_token(secret.strip())])
    if not rows:
        raise Unauthenticated("the API token is invalid or has been revoked")
    if not rows[0]["is_active"]:
        # Saying so tells the holder of a valid token only about its own account.
        raise Unauthenticated("the API token's user is deactivated")
    row = dict(rows[0])
    user = User._init_from_db(**row)
    team_ids: frozenset[int] = frozenset()
    if user.role == Role.AGENT and row["viewer_team_ids"]:
        team_ids = frozenset(int(team_id) for team_id in str(row["viewer_team_ids"]).split(","))
    shares = user.role == Role.CUSTOMER and user.organization_id is not None and bool(row["viewer_org_shares"])
    return Viewer(user=user, team_ids=team_ids, organization_shares=shares, agents_see_all=agents_see_all)


def require_viewer(viewer: Viewer | None) -> Viewer:
    """Return the viewer, or raise UNAUTHENTICATED for anonymous requests."""
    if viewer is None:
        raise Unauthenticated("this needs an API token: send 'Authorization: Bearer <token>'")
    return viewer


def require_staff(viewer: Viewer | None) -> Viewer:
    """Return the viewer if they are an agent or admin, else raise."""
    viewer = require_viewer(viewer)
    if not viewer.is_staff:
        raise Forbidden("only agents and admins may do this")
    return viewer


def require_admin(viewer: Viewer | None) -> Viewer:
    """Return the viewer if they are an admin, else raise."""
    viewer = require_viewer(viewer)
    if not viewer.is_admin:
        raise Forbidden("only admins may do this")
    return viewer


def ticket_visibility(viewer: Viewer) -> Q | None:
    """The condition on ``Ticket`` rows the viewer may see; ``None`` means every ticket."""
    if viewer.is_admin or (viewer.is_staff and viewer.agents_see_all):
        return None
    if viewer.is_staff:
        return Q(team_id__in=list(viewer.team_ids)) | Q(team_id__isnull=True) | Q(assignee_id=viewer.user.id)
    condition = Q(requester_id=viewer.user.id)
    if viewer.organization_shares and viewer.user.organization_id is not None:
        condition = condition | Q(organization_id=viewer.user.organization_id)
    return condition


def visible_tickets(viewer: Viewer) -> QuerySet[Ticket]:
    """Every ticket the viewer may see, as a queryset to filter further."""
    condition = ticket_visibility(viewer)
    queryset = Ticket.all()
    return queryset if condition is None else queryset.filter(condition)


def can_see_ticket(viewer: Viewer, ticket: Ticket) -> bool:
    """The same rule as :func:`ticket_visibility`, for a ticket already in memory."""
    if viewer.is_admin or (viewer.is_staff and viewer.agents_see_all):
        return True
    if viewer.is_staff:
        return ticket.team_id is None or ticket.team_id in viewer.team_ids or ticket.assignee_id == viewer.user.id
    if ticket.requester_id == viewer.user.id:
        return True
    return (
        viewer.organization_shares
        and ticket.organization_id is not None
        and ticket.organization_id == viewer.user.organization_id
    )


async def get_visible_ticket(viewer: Viewer, ticket_id: int) -> Ticket:
    """The ticket with ``ticket_id`` if the viewer may see it; otherwise NOT_FOUND (never FORBIDDEN)."""
    ticket = await visible_tickets(viewer).get_or_none(id=ticket_id)
    if ticket is None:
        raise NotFound(f"no ticket with id {ticket_id}")
    return ticket


def message_conditions(viewer: Viewer) -> dict[str, Any]:
    """Column equalities ``Message`` rows (of visible tickets) must meet for the viewer: none for
    staff, ``internal = false`` for customers. (A dict, so batched raw queries can use it too.)"""
    return {} if viewer.is_staff else {"internal": False}


def message_visibility(viewer: Viewer) -> Q | None:
    """:func:`message_conditions` as a queryset condition; ``None`` means every message."""
    conditions = message_conditions(viewer)
    return Q(**conditions) if conditions else None


def visible_messages(viewer: Viewer) -> QuerySet[Message]:
    """Messages the viewer may see, on tickets the viewer may see."""
    queryset = Message.filter(ticket_id__in=Subquery(visible_tickets(viewer).values("id")))
    condition = message_visibility(viewer)
    return queryset if condition is None else queryset.filter(condition)


def can_see_message(viewer: Viewer, message: Message) -> bool:
    """Whether a message (of a ticket already known to be visible) may be shown to the viewer."""
    return viewer.is_staff or not message.internal


def can_see_user(viewer: Viewer, user: User) -> bool:
    """Staff see everyone; customers see themselves and staff (as authors on their tickets).

    Customers never see other customers' profiles, except members of their own sharing organization.
    """
    if viewer.is_staff or user.id == viewer.user.id or user.role != Role.CUSTOMER:
        return True
    return (
        viewer.organization_shares
        and user.organization_id is not None
        and user.organization_id == viewer.user.organization_id
    )


def can_see_staff_fields(viewer: Viewer) -> bool:
    """Agent-only fields (internal notes, the event log, tokens of others) are for staff only."""
    return viewer.is_staff
