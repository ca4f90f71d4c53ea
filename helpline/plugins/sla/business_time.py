"""Business-time arithmetic on a working calendar: pure functions, no database, no clock.

A :class:`BusinessCalendar` has an IANA time zone, working intervals per weekday and holidays.
Two questions are answered on it:

- :func:`business_time_between`: how much working time lies between two instants;
- :func:`add_business_time`: the instant at which a given amount of working time has passed.

How it works (and why it is exact and fast):

1. The calendar is turned, one year at a time and only when needed, into a *timeline*: its working
   periods as UTC instants (integer microseconds since the epoch), sorted and merged, with the
   working time accumulated before each period. Local wall-clock times become UTC instants through
   ``zoneinfo`` one period at a time, so a daylight-saving change is handled where it happens: all
   arithmetic is then on UTC instants, never on local times.
2. Measuring is two binary searches; adding is one more. The cost does not depend on the amount of
   time asked for (a 3-week target costs what a 1-hour one does): no minute-by-minute stepping.

Decisions (a help desk user would expect these; the tests hold them):

- An interval is ``(weekday, start, end)`` in minutes from local midnight, ``0 <= start < 1440`` and
  ``0 < end <= 1440``. ``end <= start`` means the shift runs past midnight into the next day
  (22:00-06:00); ``0-1440`` on every day is 24/7. Intervals may not overlap, including across
  midnight and from Sunday into Monday (:func:`validate_calendar` says which ones do).
- A holiday is a local date; it cancels the intervals that *start* on that date (a night shift that
  starts the evening before a holiday runs to its end).
- Local times that do not exist (the hour skipped when clocks go forward) are read with the offset
  before the change, as ``zoneinfo`` does (fold=0): a shift starting at 02:30 on that day starts at
  03:30 new time; a repeated hour (clocks go back) is counted once per real hour worked, because
  durations are measured between UTC instants.
- Adding working time lands inside working time, except that a target reached exactly at the end
  of a period answers that end (closing time), not the next opening. Adding zero answers the start.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import re
import threading
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from helpline.core.zones import place_zone

MINUTES_PER_DAY = 1440
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
MICROSECONDS_PER_MINUTE = 60_000_000
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
FIRST_YEAR, LAST_YEAR = 1971, 9998
SEARCH_YEARS = 12  # how far add_business_time looks ahead for working time before giving up
MAX_SPAN_YEARS = 10  # a wider question would build a timeline of decades on one request: refused
MAX_CACHED_YEARS = 16  # the widest timeline kept per calendar (see timeline())
MAX_INTERVALS = 56  # working intervals per calendar: eight a day is plenty, and bounds a timeline's size
CACHED_CALENDARS = 256


class CalendarError(ValueError):
    """A calendar that cannot be used, or a question it cannot answer; the message says why."""


@dataclasses.dataclass(frozen=True, order=True)
class WorkingInterval:
    """Working time on one weekday (0 = Monday), in minutes from local midnight; see the module docstring."""

    weekday: int
    start_minute: int
    end_minute: int

    @property
    def length_minutes(self) -> int:
        """How long the interval lasts on an ordinary day (no clock change)."""
        end = self.end_minute if self.end_minute > self.start_minute else self.end_minute + MINUTES_PER_DAY
        return end - self.start_minute

    def week_span(self) -> tuple[int, int]:
        """The interval as minutes from Monday 00:00 (the end may pass the end of the week)."""
        start = self.weekday * MINUTES_PER_DAY + self.start_minute
        return start, start + self.length_minutes


@dataclasses.dataclass(frozen=True)
class BusinessCalendar:
    """Working hours in a time zone, with holidays. Immutable and hashable (timelines are cached by it)."""

    timezone: str
    intervals: tuple[WorkingInterval, ...]
    holidays: frozenset[dt.date] = frozenset()
    _hash: int = dataclasses.field(init=False, repr=False, compare=False, default=0)

    def __post_init__(self) -> None:
        # Hashed once: every question looks its timeline up by the calendar.
        object.__setattr__(self, "_hash", hash((self.timezone, self.intervals, self.holidays)))

    def __hash__(self) -> int:
        return self._hash

    @classmethod
    def weekly(
        cls,
        timezone: str,
        hours: dict[int, Iterable[tuple[str, str]]],
        holidays: Iterable[dt.date] = (),
    ) -> BusinessCalendar:
        """A calendar from ``{weekday: [("08:00", "18:00"), ...]}`` (an end of "00:00" or "24:00" is midnight)."""
        intervals = tuple(
            sorted(
                WorkingInterval(weekday, minute_of_day(start), minute_of_day(end) or MINUTES_PER_DAY)
                for weekday, spans in hours.items()
                for start, end in spans
            )
        )
        return cls(timezone=timezone, intervals=intervals, holidays=frozenset(holidays))


TIME_OF_DAY = re.compile(r"([01][0-9]|2[0-4]):([0-5][0-9])", re.ASCII)


def minute_of_day(text: str) -> int:
    """Minutes from midnight of "HH:MM" (ASCII digits, "24:00" is 1440); :class:`CalendarError` otherwise."""
    match = TIME_OF_DAY.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise CalendarError(f"{str(text)[:20]!r} is not a time of day like 08:30 (HH:MM, 00:00 to 24:00)")
    value = int(match.group(1)) * 60 + int(match.group(2))
    if value > MINUTES_PER_DAY:
        raise CalendarError(f"{text!r} is not a time of day between 00:00 and 24:00")
    return value


def validate_calendar(calendar: BusinessCalendar) -> list[str]:
    """Every problem with ``calendar``, as sentences for an admin (an empty list: it is usable)."""
    problems: list[str] = []
    if place_zone(calendar.timezone) is None:
        problems.append(f"unknown time zone {calendar.timezone!r} (use an IANA name such as Europe/Berlin)")
    if len(calendar.intervals) > MAX_INTERVALS:
        problems.append(f"at most {MAX_INTERVALS} working intervals per calendar")
    for interval in calendar.intervals:
        if not 0 <= interval.weekday <= 6:
            problems.append(f"weekday {interval.weekday} is not between 0 (Monday) and 6 (Sunday)")
        if not 0 <= interval.start_minute < MINUTES_PER_DAY or not 0 < interval.end_minute <= MINUTES_PER_DAY:
            problems.append(f"interval {describe(interval)} is outside 00:00-24:00")
    if problems:
        return problems
    spans = sorted((interval.week_span(), interval) for interval in calendar.intervals)
    # Compare each interval with the next one, and the last with the first one a week later.
    for index, ((start, end), interval) in enumerate(spans):
        (next_start, _), following = spans[(index + 1) % len(spans)]
        if index + 1 == len(spans):
            next_start += MINUTES_PER_WEEK
            if following is interval:
                if end - start > MINUTES_PER_WEEK:
                    problems.append(f"interval {describe(interval)} overlaps itself")
                continue
        if end > next_start:
            problems.append(f"intervals {describe(interval)} and {describe(following)} overlap")
    if not calendar.intervals:
        problems.append("a calendar needs at least one working interval")
    return problems


WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def describe(interval: WorkingInterval) -> str:
    """``Mon 08:00-18:00``: an interval as an admin wrote it."""

    def clock(minute: int) -> str:
        return f"{minute // 60:02d}:{minute % 60:02d}"

    day = WEEKDAY_NAMES[interval.weekday] if 0 <= interval.weekday <= 6 else f"weekday {interval.weekday}"
    return f"{day} {clock(interval.start_minute)}-{clock(interval.end_minute)}"


# -- timelines ------------------------------------------------------------------------------------


def _microseconds(instant: dt.datetime) -> int:
    if instant.tzinfo is None:
        raise CalendarError("business time needs aware datetimes (UTC), not naive ones")
    return (instant - EPOCH) // dt.timedelta(microseconds=1)


def _instant(microseconds: int) -> dt.datetime:
    return EPOCH + dt.timedelta(microseconds=microseconds)


class Timeline:
    """A calendar's working periods between two local years, as UTC microseconds, with running totals."""

    def __init__(self, calendar: BusinessCalendar, first_year: int, last_year: int) -> None:
        self.calendar = calendar
        self.first_year = first_year
        self.last_year = last_year
        zone = ZoneInfo(calendar.timezone)
        by_weekday: dict[int, list[WorkingInterval]] = {}
        for interval in calendar.intervals:
            by_weekday.setdefault(interval.weekday, []).append(interval)
        periods: list[tuple[int, int]] = []
        # Start a day early so that a shift from 31 December into the first year is included.
        day = dt.date(first_year, 1, 1) - dt.timedelta(days=1)
        last_day = dt.date(last_year, 12, 31)
        one_day = dt.timedelta(days=1)
        while day <= last_day:
            if day not in calendar.holidays:
                for interval in by_weekday.get(day.weekday(), ()):
                    end_day = day if interval.end_minute > interval.start_minute else day + one_day
                    periods.append(
                        (
                            _microseconds(_local(day, interval.start_minute, zone)),
                            _microseconds(_local(end_day, interval.end_minute, zone)),
                        )
                    )
            day += one_day
        periods.sort()
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.before: list[int] = []  # working microseconds before each period
        total = 0
        for start, end in periods:
            if self.ends and start <= self.ends[-1]:  # touching or overlapping after a clock change
                if end > self.ends[-1]:
                    total += end - self.ends[-1]
                    self.ends[-1] = end
                continue
            if end <= start:
                continue  # a period that a clock change reduced to nothing
            self.starts.append(start)
            self.ends.append(end)
            self.before.append(total)
            total += end - start
        self.total = total
        self.cumulative_ends = [
            before + end - start for before, start, end in zip(self.before, self.starts, self.ends, strict=True)
        ]

    def worked_before(self, instant: int) -> int:
        """Working microseconds from the timeline's start up to ``instant``."""
        index = bisect.bisect_right(self.starts, instant) - 1
        if index < 0:
            return 0
        return self.before[index] + min(instant, self.ends[index]) - self.starts[index]

    def instant_after(self, worked: int) -> int | None:
        """The instant at which ``worked`` working microseconds have passed (> 0), or None beyond the timeline."""
        index = bisect.bisect_left(self.cumulative_ends, worked)
        if index == len(self.cumulative_ends):
            return None
        return self.starts[index] + worked - self.before[index]


def _local(day: dt.date, minute: int, zone: ZoneInfo) -> dt.datetime:
    """Local ``day`` + ``minute`` minutes of wall-clock time (1440 is the next midnight), as an aware datetime."""
    if minute == MINUTES_PER_DAY:
        return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), zone)
    return dt.datetime.combine(day, dt.time(minute // 60, minute % 60), zone)


_timelines: dict[BusinessCalendar, Timeline] = {}
_timelines_lock = threading.Lock()


def timeline(calendar: BusinessCalendar, first_year: int, last_year: int) -> Timeline:
    """A cached timeline of ``calendar`` covering at least ``first_year``..``last_year`` (local years).

    The cache keeps one timeline per calendar and widens it to cover both the old and the new range
    only while that stays within ``MAX_CACHED_YEARS``; a question far from it gets a timeline of
    just its own years. So no sequence of questions builds centuries of working periods.
    """
    first_year, last_year = max(first_year, FIRST_YEAR), min(last_year, LAST_YEAR)
    current = _timelines.get(calendar)
    if current is not None and current.first_year <= first_year and last_year <= current.last_year:
        return current
    with _timelines_lock:
        if len(_timelines) >= CACHED_CALENDARS:
            _timelines.clear()  # calendars are few; a deployment that edits many just rebuilds
        current = _timelines.get(calendar)
        if current is not None:
            wider = min(first_year, current.first_year), max(last_year, current.last_year)
            if wider[1] - wider[0] <= MAX_CACHED_YEARS:
                first_year, last_year = wider
        elif problems := validate_calendar(calendar):
            raise CalendarError("; ".join(problems))
        built = Timeline(calendar, first_year, last_year)
        _timelines[calendar] = built
        return built


def _covering(calendar: BusinessCalendar, *instants: dt.datetime) -> Timeline:
    years = [instant.year for instant in instants]
    if min(years) < FIRST_YEAR or max(years) > LAST_YEAR:
        raise CalendarError(f"business time is computed between the years {FIRST_YEAR} and {LAST_YEAR}")
    if max(years) - min(years) > MAX_SPAN_YEARS:
        raise CalendarError(f"business time is computed over at most {MAX_SPAN_YEARS} years at once")
    # A year of margin on each side: a UTC instant near New Year may be in the next local year.
    return timeline(calendar, min(years) - 1, max(years) + 1)


# -- the two questions ----------------------------------------------------------------------------


def business_time_between(calendar: BusinessCalendar, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
    """Working time from ``start`` to ``end`` (aware datetimes); negative when ``end`` is earlier."""
    line = _covering(calendar, start, end)
    worked = line.worked_before(_microseconds(end)) - line.worked_before(_microseconds(start))
    return dt.timedelta(microseconds=worked)


def calendar_minutes_between(start: dt.datetime, end: dt.datetime) -> float:
    """Elapsed minutes between two aware instants, measured in UTC.

    Subtracting two datetimes that share a ``ZoneInfo`` compares wall clocks in Python, so across a
    daylight-saving change it is an hour off; this never is.
    """
    return (_microseconds(end) - _microseconds(start)) / MICROSECONDS_PER_MINUTE


def business_minutes_between(calendar: BusinessCalendar, start: dt.datetime, end: dt.datetime) -> float:
    """:func:`business_time_between` in minutes."""
    return business_time_between(calendar, start, end) / dt.timedelta(minutes=1)


def add_business_time(calendar: BusinessCalendar, start: dt.datetime, amount: dt.timedelta) -> dt.datetime:
    """The UTC instant at which ``amount`` of working time has passed since ``start``.

    ``amount`` must not be negative; zero answers ``start``. Raises :class:`CalendarError` when
    the calendar has no working time for that long (e.g. a year of holidays).
    """
    if amount < dt.timedelta(0):
        raise CalendarError("business time to add must not be negative")
    if amount == dt.timedelta(0):
        return start.astimezone(dt.UTC)
    start_us = _microseconds(start)
    amount_us = amount // dt.timedelta(microseconds=1)
    line = _covering(calendar, start)
    while True:
        due = line.instant_after(line.worked_before(start_us) + amount_us)
        if due is not None:
            return _instant(due)
        if line.last_year >= min(start.year + SEARCH_YEARS, LAST_YEAR):
            raise CalendarError(f"the calendar has not that much working time within {SEARCH_YEARS} years")
        line = timeline(calendar, line.first_year, min(line.last_year + 2, LAST_YEAR))


def add_business_minutes(calendar: BusinessCalendar, start: dt.datetime, minutes: float) -> dt.datetime:
    """:func:`add_business_time` with the amount in minutes."""
    return add_business_time(calendar, start, dt.timedelta(minutes=minutes))


def is_working_time(calendar: BusinessCalendar, instant: dt.datetime) -> bool:
    """Whether ``instant`` falls inside a working period (a period's end is not inside it)."""
    line = _covering(calendar, instant)
    point = _microseconds(instant)
    index = bisect.bisect_right(line.starts, point) - 1
    return index >= 0 and point < line.ends[index]
