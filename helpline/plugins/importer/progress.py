"""A progress bar on stderr: rows done, rate and time left. Redrawn at most a few times a second.

Wall-clock time is right here (it measures the import itself, not the desk's business time).
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class ProgressBar:
    """Call it with ``(done, total)``; :meth:`finish` ends the line."""

    def __init__(self, label: str, stream: TextIO | None = None, width: int = 30, every: float = 0.2) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.width = width
        self.every = every
        self.started = time.monotonic()
        self._drawn = 0.0
        self._last: tuple[int, int] = (0, 0)

    def line(self, done: int, total: int, now: float) -> str:
        """The text of the bar for ``done`` of ``total`` at monotonic time ``now``."""
        elapsed = max(now - self.started, 1e-9)
        rate = done / elapsed
        share = done / total if total else 1.0
        filled = int(self.width * min(share, 1.0))
        left = (total - done) / rate if rate > 0 and total else 0.0
        return (
            f"{self.label} [{'#' * filled}{'.' * (self.width - filled)}] {done:,}/{total:,} rows "
            f"{rate:,.0f} rows/s ETA {_duration(left)}"
        )

    def __call__(self, done: int, total: int) -> None:
        self._last = (done, total)
        now = time.monotonic()
        if now - self._drawn >= self.every:
            self._drawn = now
            self.stream.write("\r" + self.line(done, total, now))
            self.stream.flush()

    def finish(self) -> None:
        """Draw the final state and end the line."""
        self.stream.write("\r" + self.line(*self._last, time.monotonic()) + "\n")
        self.stream.flush()
