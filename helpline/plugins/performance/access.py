"""Who may see which performance figures (the rule the GraphQL fields and nothing else apply).

- Admins see every figure: any agent, team, organization, and the whole leaderboard.
- Agents see their own figures: every report, per-agent, per-team and leaderboard query is
  restricted to the tickets assigned to them (a per-team query shows their own tickets by team;
  the leaderboard shows their own entry). Team leads are not a role in the core yet, so team-wide
  and other agents' figures are for admins; when leads arrive, this is the one place to widen.
- Customers are FORBIDDEN, anonymous callers UNAUTHENTICATED (the core's helpers say so).
"""

from __future__ import annotations

from helpline.core.auth import Viewer, require_staff


def scope_for(viewer: Viewer | None) -> int | None:
    """The assignee a viewer's reports are restricted to (``None``: everything); raises for others."""
    staff = require_staff(viewer)
    return None if staff.is_admin else staff.user.id
