"""Due-time throughput of the SLA plugin's business-time arithmetic (in-process, no database).

Computes due times for N ticket creation instants spread over a year, on calendars with holidays,
for a 1-hour and a 3-week target, at N = 10,000 and 100,000; side by side with a baseline in the
same run: plain ``start + timedelta`` (calendar time, what a naive implementation costs at best).
The issue's target: at least 100,000 due times per second, the same for both targets.

    .venv/bin/python benchmarks/bench_business_time.py
"""

from __future__ import annotations

import datetime as dt
import time

from helpline.plugins.sla.business_time import BusinessCalendar, add_business_minutes

WEEKDAYS = range(5)
HOLIDAYS = [dt.date(2026, 1, 1), dt.date(2026, 5, 25), dt.date(2026, 7, 3), dt.date(2026, 9, 7), dt.date(2026, 11, 26)]
CALENDARS = [
    BusinessCalendar.weekly("America/New_York", {d: [("08:00", "18:00")] for d in WEEKDAYS}, HOLIDAYS),
    BusinessCalendar.weekly("Europe/Berlin", {d: [("09:00", "13:00"), ("14:00", "18:00")] for d in WEEKDAYS}, HOLIDAYS),
    BusinessCalendar.weekly("Asia/Riyadh", {d: [("09:00", "17:00")] for d in (6, 0, 1, 2, 3)}, HOLIDAYS),
    BusinessCalendar.weekly("Australia/Sydney", {d: [("22:00", "06:00")] for d in WEEKDAYS}, HOLIDAYS),
]
TARGETS = {"1 hour": 60, "3 weeks": 3 * 7 * 24 * 60}


def starts(count: int) -> list[dt.datetime]:
    """Creation instants spread over 2026 (every ~5 minutes for 100k)."""
    step = dt.timedelta(seconds=365 * 86400 // count)
    first = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    return [first + step * index for index in range(count)]


def business_rate(instants: list[dt.datetime], minutes: int) -> float:
    """Due times per second on the calendars, round-robin."""
    began = time.perf_counter()
    for index, start in enumerate(instants):
        add_business_minutes(CALENDARS[index % len(CALENDARS)], start, minutes)
    return len(instants) / (time.perf_counter() - began)


def naive_rate(instants: list[dt.datetime], minutes: int) -> float:
    """``start + timedelta`` per second: calendar time, the floor."""
    amount = dt.timedelta(minutes=minutes)
    began = time.perf_counter()
    for start in instants:
        _ = start + amount
    return len(instants) / (time.perf_counter() - began)


def main() -> None:
    for calendar in CALENDARS:  # build the timelines once, as a running server would have them
        add_business_minutes(calendar, dt.datetime(2026, 6, 1, tzinfo=dt.UTC), 1)
    print(f"{'tickets':>8} {'target':>8} {'business time/s':>17} {'timedelta/s':>13} {'ratio':>6}")
    for count in (10_000, 100_000):
        instants = starts(count)
        for label, minutes in TARGETS.items():
            ours, baseline = business_rate(instants, minutes), naive_rate(instants, minutes)
            print(f"{count:>8} {label:>8} {ours:>17,.0f} {baseline:>13,.0f} {ours / baseline:>6.2f}")


if __name__ == "__main__":
    main()
