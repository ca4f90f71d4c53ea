"""Who may hold a ticket: the rules for a ticket's team and assignee, checked one pair or many.

The rules: the team must exist; the assignee must be an active agent or admin; an agent must be a
member of the ticket's team when it has one (admins may hold any team's tickets). A change checks
its pair at once (:func:`check_assignment`); a batch of changes (see :mod:`helpline.core.ticket_writes`)
checks all its distinct pairs with three statements when it flushes (:func:`check_assignments`).
Both give the same error for the same pair.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any

from helpline.core.db import connection, is_postgres, placeholder
from helpline.core.enums import Role
from helpline.core.validation import error

Pair = tuple[int | None, int | None]  # (team id, assignee id)


def _verdict(
    team_id: int | None,
    assignee_id: int | None,
    *,
    team_found: bool,
    active: bool,
    role: str | None,
    member: bool,
    field_prefix: str = "",
) -> None:
    """Raise the userError for a pair whose facts break the rules (see the module docstring)."""
    if team_id is not None and not team_found:
        raise error(f"{field_prefix}teamId", f"no team with id {team_id}", "NOT_FOUND")
    if assignee_id is None:
        return
    if role is None or not active or role == Role.CUSTOMER.value:
        raise error(
            f"{field_prefix}assigneeId",
            "the assignee must be an active agent or admin",
            "INVALID_ASSIGNEE",
        )
    if team_id is not None and role == Role.AGENT.value and not member:
        raise error(
            f"{field_prefix}assigneeId",
            "the assignee is not a member of the ticket's team",
            "ASSIGNEE_NOT_IN_TEAM",
        )


async def check_assignment(team_id: int | None, assignee_id: int | None, field_prefix: str = "") -> None:
    """Check one pair now; raise a :class:`~helpline.core.errors.ValidationFailed` naming the field.

    One statement answers all three questions (assignment changes are frequent: an import makes
    thousands): whether the team exists, the assignee's state and role, and the membership.
    """
    if team_id is None and assignee_id is None:
        return
    # Parameters by position: (team, assignee, assignee, team, assignee) as SQLite's "?" needs them.
    values = [team_id, assignee_id, assignee_id, team_id, assignee_id]
    p = [placeholder(position) for position in (1, 2, 2, 1, 2)] if is_postgres() else ["?"] * 5
    sql = (
        f"SELECT (SELECT count(*) FROM helpline_team WHERE id = {p[0]}) AS team_found, "
        f"(SELECT is_active FROM helpline_user WHERE id = {p[1]}) AS active, "
        f"(SELECT role FROM helpline_user WHERE id = {p[2]}) AS role, "
        f"(SELECT count(*) FROM helpline_team_membership WHERE team_id = {p[3]} AND user_id = {p[4]}) AS member"
    )
    _count, rows = await connection().execute_query(sql, values[:2] if is_postgres() else values)
    found = rows[0]
    _verdict(
        team_id,
        assignee_id,
        team_found=bool(found["team_found"]),
        active=bool(found["active"]),
        role=found["role"],
        member=bool(found["member"]),
        field_prefix=field_prefix,
    )


# SQLite's default limit of host parameters is 32,766; PostgreSQL's protocol allows 32,767.
_CHUNK = 10_000


def _in_list(start: int, count: int) -> str:
    return ", ".join(placeholder(start + offset) for offset in range(count))


async def _rows(sql_for: Any, ids: Sequence[int]) -> list[dict[str, Any]]:
    """Run ``sql_for(in_list)`` over ``ids`` in chunks; all rows together."""
    rows: list[dict[str, Any]] = []
    for start in range(0, len(ids), _CHUNK):
        chunk = list(ids[start : start + _CHUNK])
        rows.extend(await connection().execute_query_dict(sql_for(_in_list(1, len(chunk))), chunk))
    return rows


async def check_assignments(pairs: Collection[Pair]) -> None:
    """Check many pairs with three statements (teams, users, memberships); raise as
    :func:`check_assignment` would for the first pair (in sorted order) that breaks a rule."""
    pairs = {pair for pair in pairs if pair != (None, None)}
    if not pairs:
        return
    team_ids = sorted({team for team, _ in pairs if team is not None})
    user_ids = sorted({user for _, user in pairs if user is not None})
    teams = {
        int(row["id"]) for row in await _rows(lambda ids: f"SELECT id FROM helpline_team WHERE id IN ({ids})", team_ids)
    }
    users = {
        int(row["id"]): (bool(row["is_active"]), str(row["role"]))
        for row in await _rows(
            lambda ids: f"SELECT id, is_active, role FROM helpline_user WHERE id IN ({ids})", user_ids
        )
    }
    members = await _memberships(user_ids)
    for team_id, assignee_id in sorted(pairs, key=_sort_key):
        active, role = users.get(assignee_id, (False, None)) if assignee_id is not None else (False, None)
        _verdict(
            team_id,
            assignee_id,
            team_found=team_id in teams,
            active=active,
            role=role,
            member=(team_id, assignee_id) in members,
        )


async def _memberships(user_ids: Iterable[int]) -> set[Pair]:
    rows = await _rows(
        lambda ids: f"SELECT team_id, user_id FROM helpline_team_membership WHERE user_id IN ({ids})", list(user_ids)
    )
    return {(int(row["team_id"]), int(row["user_id"])) for row in rows}


def _sort_key(pair: Pair) -> tuple[int, int]:
    return (pair[0] if pair[0] is not None else -1, pair[1] if pair[1] is not None else -1)
