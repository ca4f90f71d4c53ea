"""Report periods and their day, week and month buckets in an IANA time zone.

A report covers whole local days, ``first`` to ``last`` inclusive, in the requested zone. Buckets
start at local midnight (weeks on Monday, months on the 1st), clipped to the period.

How bucketing works without time zone support in the database (SQLite has none): every bucket
boundary is a local midnight, turned into a UTC instant here with ``zoneinfo`` (so a daylight-saving
change moves the boundary by exactly the offset change; a day may last 23 or 25 hours). The SQL then
only compares integer instants (microseconds, as stored) with those boundaries (:func:`bucket_sql`:
a balanced ``CASE`` tree on SQLite, ``width_bucket`` on PostgreSQL): about log2(buckets) integer
comparisons per row, exact across every clock change.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from zoneinfo import ZoneInfo

from helpline.core.errors import BadInput
from helpline.core.zones import place_zone

# A report covers at most three years of local days, so at most that many intervals (DAY). The
# size of its result (intervals x groups) is bounded where it is known, in report.MAX_ROWS.
MAX_DAYS = 3 * 366 + 1
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
# Report dates stay well inside what ``datetime`` can shift by a zone offset and a month: the first
# and last years Python knows (1 and 9999) overflow while a boundary is computed. No help desk has
# tickets outside these years; a date outside them is BAD_USER_INPUT.
EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_DATE = dt.date(9998, 12, 31)


class Interval(enum.StrEnum):
    """How a report splits its period."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@dataclasses.dataclass(frozen=True)
class Bucket:
    """One slice of the period: ``start`` (the local date it begins) and ``[start_us, end_us)`` in UTC."""

    key: int
    start: dt.date
    start_us: int
    end_us: int


def zone_named(name: str) -> ZoneInfo:
    """The IANA zone ``name``; an unknown name is BAD_USER_INPUT."""
    zone = place_zone(name)
    if zone is None:
        raise BadInput(f"unknown time zone {name[:80]!r} (use an IANA name such as Europe/Paris)")
    return zone


def local_midnight_us(day: dt.date, zone: ZoneInfo) -> int:
    """Local midnight starting ``day`` in ``zone`` as UTC microseconds since the epoch."""
    instant = dt.datetime.combine(day, dt.time(0, 0), tzinfo=zone)
    delta = instant.astimezone(dt.UTC) - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _next_start(day: dt.date, interval: Interval) -> dt.date:
    if interval == Interval.DAY:
        return day + dt.timedelta(days=1)
    if interval == Interval.WEEK:
        return day + dt.timedelta(days=7 - day.weekday())
    return dt.date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def buckets(first: dt.date, last: dt.date, zone: ZoneInfo, interval: Interval | None) -> list[Bucket]:
    """The period's buckets in order; without ``interval``, one bucket: the whole period."""
    for day in (first, last):
        if not EARLIEST_DATE <= day <= LATEST_DATE:
            raise BadInput(f"report dates lie between {EARLIEST_DATE} and {LATEST_DATE}; got {day}")
    if last < first:
        raise BadInput("the period ends before it starts")
    if (last - first).days + 1 > MAX_DAYS:
        raise BadInput(f"a report covers at most {MAX_DAYS} days")
    end = last + dt.timedelta(days=1)
    if interval is None:
        return [Bucket(0, first, local_midnight_us(first, zone), local_midnight_us(end, zone))]
    result: list[Bucket] = []
    start = first
    while start < end:
        following = min(_next_start(start, interval), end)
        result.append(Bucket(len(result), start, local_midnight_us(start, zone), local_midnight_us(following, zone)))
        start = following
    return result


def bucket_sql(column: str, slices: list[Bucket], postgres: bool = False) -> str:
    """A SQL expression giving the key of the bucket ``column`` (an integer instant) falls in.

    Meant for rows within the period; outside it, PostgreSQL's form gives -1 before and
    ``len(slices)`` after, SQLite's the first or last key. Boundaries are integers computed here,
    inlined (no user text reaches the SQL). PostgreSQL has ``width_bucket`` over a sorted array (a
    binary search in one function call). SQLite has nothing like it: a balanced ``CASE`` tree
    does the same search. (PostgreSQL could run the tree too, but its planner prices every node,
    and a three-year DAY report's tree of 1,096 leaves pushed the cost over ``jit_above_cost``:
    compiling it took 1.2 s of a 1.4 s statement.)
    """
    if len(slices) == 1:
        return str(slices[0].key)
    if postgres:
        bounds = ", ".join(str(int(bucket.start_us)) for bucket in slices)
        return f"(width_bucket({column}, ARRAY[{bounds}, {int(slices[-1].end_us)}]::bigint[]) - 1)"
    middle = len(slices) // 2
    return (
        f"(CASE WHEN {column} < {int(slices[middle].start_us)} "
        f"THEN {bucket_sql(column, slices[:middle])} ELSE {bucket_sql(column, slices[middle:])} END)"
    )
