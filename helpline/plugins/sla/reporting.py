"""What the SLA plugin tells the performance plugin, through the hooks that plugin declares.

- business minutes of a ticket: on the calendar of the policy timing the ticket (the calendar of
  its latest clock that has one). If an admin later edits calendars or policies,
  ``helpline performance rebuild`` measures everything again on the calendars as they are then.
- the ``sla_attainment`` report column: of the report row's solved tickets' clocks that had a
  target, the share never breached (first, next response and resolution alike; cancelled clocks
  do not count). ``null`` where no clock had a target.

The SLA plugin never imports the performance plugin: the column is described with duck-typed
objects the performance plugin reads by attribute (``name``, ``description``, ``compute``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from helpline.core.db import connection, is_postgres
from helpline.core.models import Ticket
from helpline.plugins.sla.business_time import business_minutes_between
from helpline.plugins.sla.clocks import load_config, ticket_clocks


async def ticket_business_minutes(ticket: Ticket, start: dt.datetime, end: dt.datetime) -> float | None:
    """Business minutes between ``start`` and ``end`` on the calendar timing ``ticket`` (None: no calendar)."""
    timed = [clock for clock in await ticket_clocks(ticket.id) if clock.calendar_id is not None]
    if not timed:
        return None
    calendar = (await load_config()).calendar(timed[-1].calendar_id)
    if calendar is None:
        return None
    return business_minutes_between(calendar, start, end)


@dataclasses.dataclass(frozen=True)
class AttainmentColumn:
    """A report column in the shape the performance plugin's ``ReportColumn`` has."""

    name: str
    description: str
    compute: Callable[[Any], Awaitable[Mapping[str, float | None]]]


async def _attainment(query: Any) -> Mapping[str, float | None]:
    """``{row_key: share of targeted clocks never breached}`` over the report's solved tickets."""
    cancelled = "$%d" % (len(query.params) + 1) if is_postgres() else "?"
    sql = (
        "SELECT t.row_key AS row_key, "
        "AVG(CASE WHEN c.breached_at IS NULL THEN 1.0 ELSE 0.0 END) AS attainment "
        f"FROM ({query.tickets_sql}) t JOIN sla_clock c ON c.ticket_id = t.ticket_id "
        f"WHERE c.target_minutes IS NOT NULL AND c.phase <> {cancelled} GROUP BY t.row_key"
    )
    _count, rows = await connection().execute_query(sql, [*query.params, "cancelled"])
    return {str(row["row_key"]): float(row["attainment"]) for row in rows}


def attainment_column() -> AttainmentColumn:
    """The ``sla_attainment`` column."""
    return AttainmentColumn(
        name="sla_attainment",
        description="Share of targeted SLA clocks of the solved tickets that were never breached.",
        compute=_attainment,
    )
