"""People and their groupings: users, organizations, teams, memberships and API tokens.

Admins manage everything here. Any user may create and revoke their own API tokens; admins may do
so for anyone. A token's secret is returned once, at creation, and only its hash is stored.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from tortoise.exceptions import IntegrityError

from helpline.core import auth
from helpline.core.db import is_postgres, transaction
from helpline.core.enums import Role
from helpline.core.errors import Forbidden, NotFound
from helpline.core.models import ApiToken, Organization, Team, TeamMembership, User
from helpline.core.runtime import Runtime
from helpline.core.validation import clean_email, clean_optional_long_text, clean_text, error

UNSET: Any = object()


async def _unique(model: Any, field: str, value: str, input_field: str, exclude_id: int | None = None) -> None:
    queryset = model.filter(**{field: value})
    if exclude_id is not None:
        queryset = queryset.exclude(id=exclude_id)
    if await queryset.exists():
        raise error(input_field, f"{value!r} is already taken", "TAKEN")


async def _create_unique(model: Any, input_field: str, value: str, **fields: Any) -> Any:
    """Create a row whose ``input_field`` must be unique; a concurrent duplicate is TAKEN too.

    The check before the insert gives the friendly error; the unique index decides races.
    """
    try:
        async with transaction():
            return await model.create(**fields)
    except IntegrityError:
        raise error(input_field, f"{value!r} is already taken", "TAKEN") from None


async def _organization_id(value: int | None) -> int | None:
    if value is not None and not await Organization.exists(id=value):
        raise error("organizationId", f"no organization with id {value}", "NOT_FOUND")
    return value


async def create_organization(
    rt: Runtime, viewer: auth.Viewer | None, name: str, shared_tickets: bool = False
) -> Organization:
    """Create an organization (admins)."""
    auth.require_admin(viewer)
    name = clean_text("name", name, max_length=200, single_line=True)
    await _unique(Organization, "name", name, "name")
    now = rt.clock.now()
    return await _create_unique(
        Organization, "name", name, name=name, shared_tickets=shared_tickets, created_at=now, updated_at=now
    )


async def update_organization(
    rt: Runtime,
    viewer: auth.Viewer | None,
    organization_id: int,
    name: Any = UNSET,
    shared_tickets: Any = UNSET,
) -> Organization:
    """Rename an organization or switch ticket sharing (admins)."""
    auth.require_admin(viewer)
    organization = await Organization.get_or_none(id=organization_id)
    if organization is None:
        raise NotFound(f"no organization with id {organization_id}")
    if name is not UNSET and name is not None:
        organization.name = clean_text("name", name, max_length=200, single_line=True)
        await _unique(Organization, "name", organization.name, "name", exclude_id=organization.id)
    if shared_tickets is not UNSET and shared_tickets is not None:
        organization.shared_tickets = bool(shared_tickets)
    organization.updated_at = rt.clock.now()
    await organization.save()
    return organization


async def create_team(rt: Runtime, viewer: auth.Viewer | None, name: str, description: str = "") -> Team:
    """Create a team (admins)."""
    auth.require_admin(viewer)
    name = clean_text("name", name, max_length=200, single_line=True)
    await _unique(Team, "name", name, "name")
    now = rt.clock.now()
    return await _create_unique(
        Team, "name", name, name=name, description=_description(description), created_at=now, updated_at=now
    )


async def update_team(
    rt: Runtime,
    viewer: auth.Viewer | None,
    team_id: int,
    name: Any = UNSET,
    description: Any = UNSET,
) -> Team:
    """Rename a team or change its description (admins)."""
    auth.require_admin(viewer)
    team = await Team.get_or_none(id=team_id)
    if team is None:
        raise NotFound(f"no team with id {team_id}")
    if name is not UNSET and name is not None:
        team.name = clean_text("name", name, max_length=200, single_line=True)
        await _unique(Team, "name", team.name, "name", exclude_id=team.id)
    if description is not UNSET and description is not None:
        team.description = _description(description)
    team.updated_at = rt.clock.now()
    await team.save()
    return team


async def set_team_membership(
    rt: Runtime, viewer: auth.Viewer | None, team_id: int, user_id: int, member: bool
) -> Team:
    """Add an agent or admin to a team, or remove them (admins). Idempotent."""
    auth.require_admin(viewer)
    team = await Team.get_or_none(id=team_id)
    if team is None:
        raise NotFound(f"no team with id {team_id}")
    user = await User.get_or_none(id=user_id)
    if user is None:
        raise NotFound(f"no user with id {user_id}")
    if member and user.role == Role.CUSTOMER:
        raise error("userId", "customers cannot join teams", "INVALID_ROLE")
    if not member:
        await TeamMembership.filter(team_id=team_id, user_id=user_id).delete()
    elif not await TeamMembership.exists(team_id=team_id, user_id=user_id):
        try:
            async with transaction():
                await TeamMembership.create(team_id=team_id, user_id=user_id, created_at=rt.clock.now())
        except IntegrityError:
            pass  # a concurrent call added the same membership: the outcome is the one asked for
    return team


@dataclasses.dataclass
class NewUser:
    """A person to create. Customers may belong to an organization; staff may not."""

    email: str
    name: str
    role: Role
    organization_id: int | None = None
    vip: bool = False


async def create_user(rt: Runtime, viewer: auth.Viewer | None, data: NewUser, *, bootstrap: bool = False) -> User:
    """Create an admin, agent or customer (admins; ``bootstrap`` skips the check for the first admin)."""
    if not bootstrap:
        auth.require_admin(viewer)
    email = clean_email("email", data.email)
    name = clean_text("name", data.name, max_length=200, single_line=True)
    await _unique(User, "email", email, "email")
    if data.organization_id is not None and data.role != Role.CUSTOMER:
        raise error("organizationId", "only customers belong to organizations", "INVALID_ROLE")
    organization_id = await _organization_id(data.organization_id)
    now = rt.clock.now()
    return await _create_unique(
        User,
        "email",
        email,
        email=email,
        name=name,
        role=data.role,
        organization_id=organization_id,
        vip=data.vip,
        is_active=True,
        created_at=now,
        updated_at=now,
    )


async def update_user(
    rt: Runtime,
    viewer: auth.Viewer | None,
    user_id: int,
    *,
    name: Any = UNSET,
    email: Any = UNSET,
    role: Any = UNSET,
    organization_id: Any = UNSET,
    vip: Any = UNSET,
    is_active: Any = UNSET,
) -> User:
    """Edit a person (admins). Deactivating keeps their history but stops their tokens working.

    An admin cannot demote or deactivate themselves, and no change may leave the deployment
    without an active admin (checked under a lock on PostgreSQL, so two admins demoting each
    other at once cannot both succeed).
    """
    acting = auth.require_admin(viewer)
    user = await User.get_or_none(id=user_id)
    if user is None:
        raise NotFound(f"no user with id {user_id}")
    if user.id == acting.user.id and ((role is not UNSET and role != Role.ADMIN) or is_active is False):
        raise error("role", "admins cannot demote or deactivate themselves", "SELF_LOCKOUT")
    if name is not UNSET and name is not None:
        user.name = clean_text("name", name, max_length=200, single_line=True)
    if email is not UNSET and email is not None:
        user.email = clean_email("email", email)
        await _unique(User, "email", user.email, "email", exclude_id=user.id)
    if role is not UNSET and role is not None:
        user.role = role
    if organization_id is not UNSET:
        user.organization_id = await _organization_id(organization_id)
    if user.organization_id is not None and user.role != Role.CUSTOMER:
        raise error("organizationId", "only customers belong to organizations", "INVALID_ROLE")
    if vip is not UNSET and vip is not None:
        user.vip = bool(vip)
    if is_active is not UNSET and is_active is not None:
        user.is_active = bool(is_active)
    user.updated_at = rt.clock.now()
    try:
        async with transaction():
            if not (user.role == Role.ADMIN and user.is_active):
                await _keep_an_admin(user.id)
            await user.save()
            if user.role == Role.CUSTOMER:
                await TeamMembership.filter(user_id=user.id).delete()
    except IntegrityError:
        raise error("email", f"{user.email!r} is already taken", "TAKEN") from None
    return user


async def _keep_an_admin(losing_id: int) -> None:
    """Refuse a change that would leave no active admin besides ``losing_id``."""
    admins = User.filter(role=Role.ADMIN, is_active=True)
    if is_postgres():
        # Lock every active admin row, the losing one included: two admins demoting each other at
        # once then queue on the same rows, and the second sees the first's change.
        admins = admins.select_for_update()
    if not [pk for pk in await admins.values_list("id", flat=True) if pk != losing_id]:
        raise error("role", "the deployment needs at least one active admin", "LAST_ADMIN")


def _description(value: str | None) -> str:
    return clean_optional_long_text("description", value, max_length=2000)


async def create_api_token(
    rt: Runtime, viewer: auth.Viewer | None, name: str, user_id: int | None = None
) -> tuple[ApiToken, str]:
    """Create a token for yourself, or (admins) for anyone; returns the row and the secret, once."""
    acting = auth.require_viewer(viewer)
    owner_id = user_id if user_id is not None else acting.user.id
    if owner_id != acting.user.id and not acting.is_admin:
        raise Forbidden("only admins may create tokens for other people")
    owner = await User.get_or_none(id=owner_id)
    if owner is None:
        raise NotFound(f"no user with id {owner_id}")
    return await issue_token(rt, owner, clean_text("name", name, max_length=200, single_line=True))


async def issue_token(rt: Runtime, owner: User, name: str) -> tuple[ApiToken, str]:
    """Mint a token for ``owner`` without permission checks (CLI bootstrap and recovery)."""
    secret = auth.new_token_secret()
    token = await ApiToken.create(
        user_id=owner.id,
        name=name,
        token_hash=auth.hash_token(secret),
        prefix=secret[:10],
        created_at=rt.clock.now(),
    )
    return token, secret


async def revoke_api_token(rt: Runtime, viewer: auth.Viewer | None, token_id: int) -> ApiToken:
    """Revoke a token (your own, or anyone's for admins). Revoking twice keeps the first time."""
    acting = auth.require_viewer(viewer)
    token = await ApiToken.get_or_none(id=token_id)
    if token is None or (token.user_id != acting.user.id and not acting.is_admin):
        raise NotFound("no such API token")
    if token.revoked_at is None:
        token.revoked_at = rt.clock.now()
        await token.save(update_fields=["revoked_at"])
    return token
