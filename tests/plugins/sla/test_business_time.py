"""Business-time arithmetic: the issue's cases, calendar validation, and properties against a
minute-by-minute reference (hypothesis)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from helpline.plugins.sla import business_time
from helpline.plugins.sla.business_time import (
    BusinessCalendar,
    CalendarError,
    WorkingInterval,
    add_business_minutes,
    add_business_time,
    business_minutes_between,
    calendar_minutes_between,
    is_working_time,
    validate_calendar,
)

WEEKDAYS = range(5)
NEW_YORK = ZoneInfo("America/New_York")


def local(zone: str, *parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=ZoneInfo(zone))  # type: ignore[misc]


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)  # type: ignore[misc]


def weekdays(zone: str, *spans: tuple[str, str], holidays: tuple[dt.date, ...] = ()) -> BusinessCalendar:
    return BusinessCalendar.weekly(zone, {day: spans for day in WEEKDAYS}, holidays)


# -- the cases ----------------------------------------------------------------------------


def test_friday_evening_target_ends_at_closing_or_rolls_over_the_dst_weekend() -> None:
    calendar = weekdays("America/New_York", ("08:00", "18:00"))
    created = local("America/New_York", 2026, 3, 6, 17, 30)
    assert add_business_minutes(calendar, created, 30) == utc(2026, 3, 6, 23, 0)  # Fri 18:00 local: closing
    assert add_business_minutes(calendar, created, 60) == utc(2026, 3, 9, 12, 30)  # Mon 08:30 EDT


def test_pending_pause_consumes_business_hours_not_calendar_hours() -> None:
    calendar = weekdays("Asia/Riyadh", ("09:00", "17:00"))
    created = local("Asia/Riyadh", 2026, 6, 8, 9, 0)
    paused = local("Asia/Riyadh", 2026, 6, 8, 16, 0)
    resumed = local("Asia/Riyadh", 2026, 6, 9, 10, 0)
    used = business_minutes_between(calendar, created, paused)
    due = add_business_minutes(calendar, resumed, 8 * 60 - used)
    assert due == utc(2026, 6, 9, 8, 0)  # Tue 11:00 local
    assert business_minutes_between(calendar, paused, resumed) == 2 * 60  # the pause spanned 2 business hours


def test_split_day_skips_the_lunch_break() -> None:
    calendar = weekdays("Europe/Berlin", ("09:00", "13:00"), ("14:00", "18:00"))
    due = add_business_minutes(calendar, local("Europe/Berlin", 2026, 6, 8, 12, 30), 120)
    assert due == local("Europe/Berlin", 2026, 6, 8, 15, 30)


def test_business_and_calendar_minutes_across_the_spring_forward_weekend() -> None:
    calendar = weekdays("America/New_York", ("09:00", "17:00"))
    created, solved = local("America/New_York", 2026, 3, 6, 16, 0), local("America/New_York", 2026, 3, 9, 10, 0)
    assert business_minutes_between(calendar, created, solved) == 120
    assert calendar_minutes_between(created, solved) == 3900
    assert (solved - created) / dt.timedelta(minutes=1) == 3960  # what naive wall-clock subtraction says


# -- shapes of calendars --------------------------------------------------------------------------


def test_night_shift_past_midnight_and_holidays() -> None:
    calendar = weekdays("Europe/Berlin", ("22:00", "06:00"), holidays=(dt.date(2026, 6, 9),))
    monday_night = local("Europe/Berlin", 2026, 6, 8, 22, 0)
    # Monday's shift runs into Tuesday 06:00; Tuesday is a holiday, so no shift starts Tuesday night.
    assert add_business_minutes(calendar, monday_night, 8 * 60) == local("Europe/Berlin", 2026, 6, 9, 6, 0)
    assert add_business_minutes(calendar, monday_night, 8 * 60 + 1) == local("Europe/Berlin", 2026, 6, 10, 22, 1)
    assert is_working_time(calendar, local("Europe/Berlin", 2026, 6, 9, 5, 59))
    assert not is_working_time(calendar, local("Europe/Berlin", 2026, 6, 9, 23, 0))


def test_around_the_clock_counts_real_hours_on_clock_change_days() -> None:
    calendar = BusinessCalendar.weekly("Europe/Berlin", {day: [("00:00", "24:00")] for day in range(7)})
    spring_sunday = local("Europe/Berlin", 2026, 3, 29, 0, 0)
    autumn_sunday = local("Europe/Berlin", 2026, 10, 25, 0, 0)
    assert business_minutes_between(calendar, spring_sunday, spring_sunday + dt.timedelta(days=1)) == 23 * 60
    next_midnight = local("Europe/Berlin", 2026, 10, 26, 0, 0)
    assert business_minutes_between(calendar, autumn_sunday, next_midnight) == 25 * 60
    assert add_business_minutes(calendar, utc(2026, 1, 1), 3 * 7 * 24 * 60) == utc(2026, 1, 22)


def test_adding_zero_and_measuring_backwards() -> None:
    calendar = weekdays("UTC", ("09:00", "17:00"))
    saturday = utc(2026, 6, 13, 12)
    assert add_business_minutes(calendar, saturday, 0) == saturday
    assert add_business_minutes(calendar, saturday, 1) == utc(2026, 6, 15, 9, 1)
    assert business_minutes_between(calendar, utc(2026, 6, 9, 10), utc(2026, 6, 8, 10)) == -8 * 60


def test_questions_it_refuses() -> None:
    calendar = weekdays("UTC", ("09:00", "17:00"))
    with pytest.raises(CalendarError, match="negative"):
        add_business_minutes(calendar, utc(2026, 1, 1), -5)
    with pytest.raises(CalendarError, match="naive"):
        add_business_minutes(calendar, dt.datetime(2026, 1, 1), 5)
    with pytest.raises(CalendarError, match="at most"):
        business_minutes_between(calendar, utc(1980, 1, 1), utc(2100, 1, 1))
    every_day_off = weekdays(
        "UTC", ("09:00", "17:00"), holidays=tuple(dt.date(2026, 1, 1) + dt.timedelta(days=n) for n in range(6000))
    )
    with pytest.raises(CalendarError, match="working time within"):
        add_business_minutes(every_day_off, utc(2026, 1, 1), 60)
    with pytest.raises(CalendarError, match="unknown time zone"):
        add_business_minutes(weekdays("Mars/Olympus", ("09:00", "17:00")), utc(2026, 1, 1), 60)


# -- validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hours", "problem"),
    [
        ({0: [("08:00", "12:00"), ("11:00", "13:00")]}, "Mon 08:00-12:00 and Mon 11:00-13:00 overlap"),
        ({0: [("22:00", "06:00")], 1: [("05:00", "09:00")]}, "Mon 22:00-06:00 and Tue 05:00-09:00 overlap"),
        ({6: [("20:00", "04:00")], 0: [("03:00", "09:00")]}, "Sun 20:00-04:00 and Mon 03:00-09:00 overlap"),
        ({0: [("08:00", "08:00")]}, None),  # a 24-hour shift from Monday 08:00 to Tuesday 08:00 is fine
        ({}, "at least one working interval"),
    ],
)
def test_validation_names_overlaps(hours: dict[int, list[tuple[str, str]]], problem: str | None) -> None:
    problems = validate_calendar(BusinessCalendar.weekly("UTC", hours))
    if problem is None:
        assert problems == []
    else:
        assert any(problem in text for text in problems), problems


def test_validation_of_zones_weekdays_and_times() -> None:
    assert "unknown time zone" in validate_calendar(BusinessCalendar("Nowhere/City", (WorkingInterval(0, 60, 120),)))[0]
    assert "weekday 7" in validate_calendar(BusinessCalendar("UTC", (WorkingInterval(7, 60, 120),)))[0]
    assert "outside 00:00-24:00" in validate_calendar(BusinessCalendar("UTC", (WorkingInterval(0, 60, 2000),)))[0]
    for bad in ("8am", "25:00", "12:60", "24:30"):
        with pytest.raises(CalendarError):
            BusinessCalendar.weekly("UTC", {0: [(bad, "18:00")]})


# -- properties against a minute-by-minute reference ----------------------------------------------

ZONES = ["UTC", "America/New_York", "Europe/Berlin", "Asia/Riyadh", "Asia/Kolkata", "Australia/Sydney"]
# Interval bounds avoid 00:30-03:30, where these zones change their clocks, so the reference's
# "is this local wall time inside an interval" and the UTC timeline agree by construction.
BOUNDS = [0, *range(240, 1441, 30)]


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    zone = draw(st.sampled_from(ZONES))
    intervals: list[WorkingInterval] = []
    for weekday in range(7):
        if draw(st.booleans()):
            start, end = draw(st.lists(st.sampled_from(BOUNDS), min_size=2, max_size=2, unique=True))
            if start < 1440 and end > 0:  # end < start: a night shift into the next day
                intervals.append(WorkingInterval(weekday, start, end))
    if not intervals:
        intervals.append(WorkingInterval(0, 540, 1020))
    calendar_without_holidays = BusinessCalendar(zone, tuple(intervals))
    assume(validate_calendar(calendar_without_holidays) == [])
    holidays = draw(st.frozensets(st.dates(dt.date(2026, 2, 20), dt.date(2026, 4, 20)), max_size=6))
    return BusinessCalendar(zone, tuple(intervals), holidays)


def reference_minutes(calendar: BusinessCalendar, start: dt.datetime, end: dt.datetime) -> int:
    """Working minutes by looking at every minute's local wall-clock time (slow, obviously right)."""
    zone = ZoneInfo(calendar.timezone)
    count = 0
    minute = start
    while minute < end:
        wall = minute.astimezone(zone)
        day, minute_of_day = wall.date(), wall.hour * 60 + wall.minute
        yesterday = day - dt.timedelta(days=1)
        count += any(
            (
                day not in calendar.holidays
                and i.weekday == day.weekday()
                and i.start_minute <= minute_of_day < (i.end_minute if i.end_minute > i.start_minute else 1440)
            )
            or (
                yesterday not in calendar.holidays
                and i.end_minute <= i.start_minute
                and i.weekday == yesterday.weekday()
                and minute_of_day < i.end_minute
            )
            for i in calendar.intervals
        )
        minute += dt.timedelta(minutes=1)
    return count


instants = st.builds(
    lambda minutes: utc(2026, 3, 1) + dt.timedelta(minutes=minutes), st.integers(0, 45 * 24 * 60)
)  # March and mid-April 2026: both DST changes in New York and Berlin, one in Sydney


@settings(max_examples=40, deadline=None, derandomize=True)
@given(calendars(), instants, st.integers(0, 3 * 24 * 60))
def test_measuring_matches_the_minute_by_minute_reference(
    calendar: BusinessCalendar, start: dt.datetime, length: int
) -> None:
    end = start + dt.timedelta(minutes=length)
    assert business_minutes_between(calendar, start, end) == reference_minutes(calendar, start, end)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(calendars(), instants, st.integers(0, 30 * 24 * 60), st.integers(0, 30 * 24 * 60))
def test_adding_then_measuring_gives_back_the_amount(
    calendar: BusinessCalendar, start: dt.datetime, minutes: int, more: int
) -> None:
    # Within what the calendar offers in ten years (a 30-minute week holds 30 days of work in 28).
    weekly = sum(interval.length_minutes for interval in calendar.intervals)
    assume(minutes + more <= weekly * 52 * 10)
    due = add_business_minutes(calendar, start, minutes)
    assert business_minutes_between(calendar, start, due) == minutes
    assert due.tzinfo == dt.UTC
    if minutes > 0:
        # Inside working time, or exactly at a closing; never a moment later than needed.
        just_before = due - dt.timedelta(microseconds=1)
        assert is_working_time(calendar, just_before)
        assert business_minutes_between(calendar, start, just_before) < minutes
    assert add_business_minutes(calendar, start, minutes + more) >= due


def test_time_amounts_with_seconds_are_exact() -> None:
    calendar = weekdays("UTC", ("09:00", "17:00"))
    due = add_business_time(calendar, utc(2026, 6, 8, 16, 59, 59, 500000), dt.timedelta(seconds=1))
    assert due == utc(2026, 6, 9, 9, 0, 0, 500000)


def test_far_apart_questions_never_build_centuries() -> None:
    calendar = weekdays("America/New_York", ("08:00", "18:00"))
    business_minutes_between(calendar, utc(1972, 1, 3), utc(1972, 1, 10))
    business_minutes_between(calendar, utc(9997, 1, 3), utc(9997, 1, 10))
    cached = business_time._timelines[calendar]
    assert cached.last_year - cached.first_year <= business_time.MAX_CACHED_YEARS
    business_minutes_between(calendar, utc(9998, 6, 1), utc(9998, 6, 8))
    again = business_time._timelines[calendar]
    business_minutes_between(calendar, utc(9998, 6, 1), utc(9998, 6, 8))
    assert business_time._timelines[calendar] is again, "a question at the edge of the years is answered from cache"
    with pytest.raises(CalendarError, match="at most 10 years"):
        business_minutes_between(calendar, utc(2026, 1, 1), utc(2040, 1, 1))
