"""Hooks the performance plugin declares, for other plugins to implement.

Implement them with ``@helpline.hookimpl(optionalhook=True)`` so that your plugin also loads when
the performance plugin is off (the hooks are then never called).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from helpline.core.hookspecs import hookspec

if TYPE_CHECKING:
    from helpline.core.models import Ticket


@dataclasses.dataclass(frozen=True)
class ColumnQuery:
    """What an extra report column is computed over.

    ``tickets_sql`` is a SQL subquery (for the database in use, with ``params`` bound in order as
    ``$1...`` on PostgreSQL and ``?`` on SQLite) yielding one row per ticket counted as *solved*
    in the report, with the columns ``ticket_id`` and ``row_key`` (a text that identifies the
    report row). Join it to your own table and ``GROUP BY row_key``.
    """

    tickets_sql: str
    params: Sequence[Any]


@dataclasses.dataclass(frozen=True)
class ReportColumn:
    """An extra column of performance reports contributed by another plugin.

    ``name`` is a short snake_case name (``sla_attainment``, ``csat_score``); ``compute`` takes a
    :class:`ColumnQuery` and returns ``{row_key: value}`` (rows it leaves out show ``null``).
    """

    name: str
    description: str
    compute: Callable[[ColumnQuery], Awaitable[Mapping[str, float | None]]]


@hookspec
def helpline_performance_business_minutes(ticket: Ticket, start: dt.datetime, end: dt.datetime) -> float | None:
    """How many business minutes of ``ticket``'s working calendar lie between ``start`` and ``end``.

    Called by the performance plugin while it measures a ticket (inside the change's transaction,
    and by ``helpline performance rebuild``) for each stretch it measures: time to first response,
    to first and to last solve, and each status segment of requester wait, agent work and on-hold
    time. ``start`` and ``end`` are aware UTC datetimes, ``start <= end``; ``ticket`` is the core
    ``Ticket`` model. Return the working minutes (a float, e.g. 120.0), or ``None`` if you cannot
    tell (no calendar applies): the next plugin is asked, and when none answers the business-minute
    columns stay ``null``. The first non-``None`` answer wins. May be ``async def``; answer the same
    for the same question, or rebuilt metrics will differ from the incremental ones.
    """


@hookspec
def helpline_performance_report_columns() -> ReportColumn | list[ReportColumn] | None:
    """Contribute extra columns to performance reports (SLA attainment, CSAT score...).

    Called each time a report is computed. Return one :class:`ReportColumn`, a list of them or
    ``None``. Each report row then carries your value under ``extra`` (GraphQL) or as a column named
    after ``name`` (CLI). Column names must be unique across plugins.
    """
