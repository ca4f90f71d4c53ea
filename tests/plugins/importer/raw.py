"""An independent reading of the ServiceNow sample, straight from its rows (no importer code).

What the tests expect the import and the reports to show, computed the plain way: each incident's
rows in ``sys_mod_count`` order, ``-100`` rows dropped, nothing after the first ``Closed``.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import gzip
from pathlib import Path

from helpline.plugins.importer.service import SAMPLE

RESOLVED = {"Resolved", "Closed"}
PRIORITIES = {"1 - Critical": "URGENT", "2 - High": "HIGH", "3 - Moderate": "NORMAL", "4 - Low": "LOW"}


def when(text: str) -> dt.datetime:
    """``d/m/yyyy HH:MM`` as UTC (the import's documented zone)."""
    day, month, rest = text.split("/")
    year, clock = rest.split(" ")
    hour, minute = clock.split(":")
    return dt.datetime(int(year), int(month), int(day), int(hour), int(minute), tzinfo=dt.UTC)


@dataclasses.dataclass
class Incident:
    """What the sample says about one incident."""

    number: str
    opened: dt.datetime
    team: str | None = None
    priority: str = "NORMAL"
    latest_solve: dt.datetime | None = None
    closed: bool = False
    usable_rows: int = 0
    rows_after_close: int = 0

    @property
    def full_resolution_minutes(self) -> float | None:
        """Opening to latest solve, in minutes."""
        if self.latest_solve is None:
            return None
        return (self.latest_solve - self.opened).total_seconds() / 60


def raw_rows(path: Path = SAMPLE) -> list[dict[str, str]]:
    """Every row of the sample, as text."""
    with gzip.open(path, "rt", newline="") as handle:
        return list(csv.DictReader(handle))


def incidents(rows: list[dict[str, str]]) -> dict[str, Incident]:
    """Each incident's final team and priority, latest solve and closing, from its rows."""
    grouped: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        grouped.setdefault(row["number"], []).append(row)
    found: dict[str, Incident] = {}
    for number, updates in grouped.items():
        usable = [
            row for row in sorted(updates, key=lambda r: int(r["sys_mod_count"])) if row["incident_state"] != "-100"
        ]
        if not usable:
            continue
        incident = Incident(number, when(usable[0]["opened_at"]))
        previous = None
        for row in usable:
            if incident.closed:
                incident.rows_after_close += 1
                continue
            incident.usable_rows += 1
            state = row["incident_state"]
            incident.team = None if row["assignment_group"] == "?" else row["assignment_group"]
            incident.priority = PRIORITIES[row["priority"]]
            if state in RESOLVED and previous not in RESOLVED:
                incident.latest_solve = when(row["sys_updated_at"])
            incident.closed = state == "Closed"
            previous = state
        found[number] = incident
    return found
