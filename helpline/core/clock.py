"""The one source of "now". Everything time-based asks a :class:`Clock`, so tests move time.

Times are always timezone-aware UTC datetimes.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol


class Clock(Protocol):
    """Anything with a ``now()`` returning an aware UTC datetime."""

    def now(self) -> dt.datetime:
        """Return the current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> dt.datetime:
        """Return the wall-clock instant in UTC."""
        return dt.datetime.now(dt.UTC)


class FrozenClock:
    """A clock that stands still until moved: ``set()`` and ``advance()`` it in tests or replays."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self._now = ensure_utc(start or dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC))

    def now(self) -> dt.datetime:
        """Return the instant the clock was last set to."""
        return self._now

    def set(self, instant: dt.datetime) -> None:
        """Move to ``instant`` (aware; converted to UTC)."""
        self._now = ensure_utc(instant)

    def advance(self, **delta: float) -> dt.datetime:
        """Move forward by ``timedelta(**delta)`` and return the new instant."""
        self._now = self._now + dt.timedelta(**delta)
        return self._now


_process_clock: Clock = SystemClock()


def process_clock() -> Clock:
    """The clock of the Helpline running in this process (the app or worker installed it), for code
    that has no runtime at hand, such as :func:`helpline.core.outbox.enqueue` called from an event hook."""
    return _process_clock


def install_process_clock(clock: Clock) -> Clock:
    """Make ``clock`` the process's clock; return the one it replaces (to put back on shutdown)."""
    global _process_clock
    previous, _process_clock = _process_clock, clock
    return previous


def ensure_utc(instant: dt.datetime) -> dt.datetime:
    """Return ``instant`` in UTC; refuse naive datetimes, whose meaning is a guess."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("naive datetime: give a timezone-aware instant")
    return instant.astimezone(dt.UTC)
