"""The SLA policy set for an imported year, and how often the source's own SLA verdict agrees.

The policy set (created through the SLA plugin's admin service, once; re-runs reuse it):

- calendar "Import: Mon-Fri 08:00-18:00" in the import's time zone (UTC for the ServiceNow log),
  no holidays (the source's country is unknown);
- policy "Import: resolution" matching every ticket, with resolution targets in business time:
  urgent (critical) 1 h, high 4 h, normal (moderate) 8 h, low 24 h. The log holds no replies, so
  no first or next response targets.

ServiceNow's ``made_sla`` comes from a policy nobody published, so :func:`agreement` is a sanity
figure, not a test: the share of imported, resolved tickets where "Helpline's resolution clock
never breached" equals the source's verdict.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from helpline.core import auth
from helpline.core.db import connection

CALENDAR_NAME = "Import: Mon-Fri 08:00-18:00"
POLICY_NAME = "Import: resolution"
WORKDAY = (8 * 60, 18 * 60)  # minutes from local midnight
RESOLUTION_MINUTES = {"urgent": 60, "high": 4 * 60, "normal": 8 * 60, "low": 24 * 60}


async def ensure_import_policy(viewer: auth.Viewer, now: dt.datetime, timezone: str) -> bool:
    """Create the import's calendar and policy unless they exist; return True when created.

    Call it before the replay, so clocks start with their targets (no retargeting needed).
    """
    from helpline.plugins.sla import admin  # only when the SLA plugin is on (see the package docstring)
    from helpline.plugins.sla.business_time import WorkingInterval
    from helpline.plugins.sla.models import SlaCalendar, SlaPolicy

    if await SlaPolicy.exists(name=POLICY_NAME):
        return False
    calendar = await SlaCalendar.get_or_none(name=CALENDAR_NAME)
    if calendar is None:
        calendar = await admin.create_calendar(
            viewer,
            now,
            name=CALENDAR_NAME,
            timezone=timezone,
            intervals=[WorkingInterval(day, *WORKDAY) for day in range(5)],
        )
    await admin.create_policy(
        viewer,
        now,
        admin.PolicyFields(
            name=POLICY_NAME,
            calendar_id=calendar.id,
            conditions={},
            targets={priority: {"resolution": minutes} for priority, minutes in RESOLUTION_MINUTES.items()},
        ),
    )
    return True


@dataclasses.dataclass(frozen=True)
class Agreement:
    """Imported tickets with both verdicts, by (source says met, Helpline says met)."""

    both_met: int
    both_missed: int
    only_source_met: int
    only_helpline_met: int

    @property
    def compared(self) -> int:
        """Tickets with both verdicts."""
        return self.both_met + self.both_missed + self.only_source_met + self.only_helpline_met

    @property
    def rate(self) -> float | None:
        """Share of compared tickets where the verdicts agree."""
        return (self.both_met + self.both_missed) / self.compared if self.compared else None

    def describe(self) -> str:
        """One line for the import's summary."""
        if self.rate is None:
            return "SLA agreement with the source: no resolved ticket carries both verdicts"
        return (
            f"SLA agreement with the source's own verdict: {self.rate:.1%} of {self.compared:,} resolved tickets "
            f"(both met {self.both_met:,}, both missed {self.both_missed:,}, only the source met "
            f"{self.only_source_met:,}, only Helpline met {self.only_helpline_met:,})"
        )


async def agreement(source: str) -> Agreement:
    """Compare the source's verdicts with Helpline's resolution clocks (met clocks only)."""
    rows = await connection().execute_query_dict(
        "SELECT s.source_sla_met AS source_met, c.breached_at IS NULL AS helpline_met "
        "FROM importer_state s JOIN sla_clock c ON c.ticket_id = s.ticket_id "
        "WHERE s.source = %s AND s.source_sla_met IS NOT NULL AND c.kind = 'resolution' AND c.phase = 'met' "
        "AND c.target_minutes IS NOT NULL" % _placeholder(),
        [source],
    )
    counts = {(True, True): 0, (False, False): 0, (True, False): 0, (False, True): 0}
    for row in rows:
        counts[(bool(row["source_met"]), bool(row["helpline_met"]))] += 1
    return Agreement(counts[(True, True)], counts[(False, False)], counts[(True, False)], counts[(False, True)])


def _placeholder() -> str:
    return "$1" if connection().capabilities.dialect == "postgres" else "?"
