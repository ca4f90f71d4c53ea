"""People administration under concurrency: unique names, idempotent membership, the last admin."""

import asyncio

from helpline.core.enums import Role
from helpline.core.models import TeamMembership, User
from helpline.testing import HelplineClient, TestUser

DEMOTE = "mutation($id: ID!) { updateUser(input: {id: $id, role: AGENT}) { user { role } userErrors { code } } }"


async def viewer_id(client: HelplineClient, user: TestUser) -> str:
    return (await client.data("{ viewer { id } }", token=user.token))["viewer"]["id"]  # type: ignore[no-any-return]


async def test_two_admins_demoting_each_other_at_once_leave_one_admin(client: HelplineClient, admin: TestUser) -> None:
    other = await client.make_user("admin")
    first, second = await asyncio.gather(
        client.post(DEMOTE, {"id": await viewer_id(client, other)}, admin.token),
        client.post(DEMOTE, {"id": await viewer_id(client, admin)}, other.token),
    )
    assert await User.filter(role=Role.ADMIN, is_active=True).count() == 1
    outcomes = sorted(
        "ok" if result.get("data") and not result["data"]["updateUser"]["userErrors"] else "refused"
        for result in (first, second)
    )
    assert outcomes == ["ok", "refused"]


async def test_the_last_admin_cannot_be_deactivated_by_demoting(client: HelplineClient, admin: TestUser) -> None:
    result = await client.data(DEMOTE, {"id": await viewer_id(client, admin)}, admin.token)
    assert result["updateUser"]["userErrors"][0]["code"] == "SELF_LOCKOUT"


async def test_concurrent_duplicates_are_taken_not_crashes(client: HelplineClient, admin: TestUser) -> None:
    create = 'mutation { createUser(input: {email: "twin@example.com", name: "Twin", role: AGENT}) { user { id } userErrors { code } } }'
    results = await asyncio.gather(*(client.post(create, token=admin.token) for _ in range(5)))
    assert all("errors" not in result for result in results), results
    codes = sorted(
        r["data"]["createUser"]["userErrors"][0]["code"] if r["data"]["createUser"]["userErrors"] else "ok"
        for r in results
    )
    assert codes == ["TAKEN"] * 4 + ["ok"]
    assert await User.filter(email="twin@example.com").count() == 1


async def test_concurrent_team_membership_is_idempotent(
    client: HelplineClient, admin: TestUser, agent: TestUser
) -> None:
    team = await client.data('mutation { createTeam(input: {name: "Ops"}) { team { id } } }', token=admin.token)
    variables = {"t": team["createTeam"]["team"]["id"], "u": await viewer_id(client, agent)}
    add = "mutation($t: ID!, $u: ID!) { addTeamMember(input: {teamId: $t, userId: $u}) { team { name } userErrors { code } } }"
    results = await asyncio.gather(*(client.post(add, variables, admin.token) for _ in range(5)))
    assert all(r["data"]["addTeamMember"]["team"]["name"] == "Ops" for r in results), results
    assert await TeamMembership.all().count() == 1
