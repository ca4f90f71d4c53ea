"""Who may see which performance figures (the rule the GraphQL fields and nothing else apply).

- Admins see every figure: any agent, team, organization, and the whole leaderboard.
- Agents see their own figures: every report, per-agent, per-team and leaderboard query is
  restricted to the tickets assigned to them (a per-team query shows their own tickets by team;
  the leaderboard shows their own entry).
- Customers are FORBIDDEN, anonymous callers UNAUTHENTICATED (the core's helpers say so).

Team leads (issue 5: "admins and team leads see all"). The core has no such concept: roles are
admin, agent and customer, and a team membership (``core.models.TeamMembership``) carries no role.
What the help desks our users know do: Zendesk's *Team lead* role and Freshdesk's *Supervisor* see
the reports of the groups they lead, not of the whole desk, and nothing else of admin's powers.
Decision, until the core records leads: figures beyond one's own are for admins, and no agent
sees a colleague's numbers (the safe default; a deployment that wants a lead to see everything
today makes them an admin). When the core gains a lead flag on team membership (a core change with
its migration, its API and its own issue), a lead's scope becomes "assigned to them *or* in a team
they lead" (``ReportRequest`` then takes those team ids next to ``scope_assignee``) and the
leaderboard covers those teams' agents; this module is the one place that changes, since every
performance field asks it.
"""

from __future__ import annotations

from helpline.core.auth import Viewer, require_staff


def scope_for(viewer: Viewer | None) -> int | None:
    """The assignee a viewer's reports are restricted to (``None``: everything); raises for others."""
    staff = require_staff(viewer)
    return None if staff.is_admin else staff.user.id
