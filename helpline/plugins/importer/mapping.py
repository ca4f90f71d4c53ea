"""What a source's columns and values mean: a mapping file, and reading one row with it.

A mapping (TOML or JSON, the same keys) names the source, the column of each Helpline field, the
date format and time zone, the cells that mean "missing", and value tables for status, priority,
channel and the source's SLA verdict. ``mappings/servicenow_log.toml`` is the one for the
ServiceNow incident log and the documented example for other sources.

:meth:`Mapping.read` turns one row (a dict of column -> text) into a :class:`SourceRow`, or raises
:class:`RowProblem` saying why the row cannot be used (it is then skipped, counted and listed, never
a crash). Checks that need only the row are made here; checks that need the ticket's history
(order, closed tickets) are the replay's.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import re
import tomllib
import zoneinfo
from collections.abc import Mapping as MappingType
from pathlib import Path
from typing import Any, NamedTuple

from helpline.core.enums import Channel, Priority, Status, TicketType
from helpline.core.zones import place_zone

SERVICENOW_LOG = Path(__file__).parent / "mappings" / "servicenow_log.toml"
FIELDS = (
    "key",
    "sequence",
    "updated_at",
    "opened_at",
    "resolved_at",
    "status",
    "priority",
    "channel",
    "team",
    "agent",
    "customer",
    "category",
    "sla_met",
)
REQUIRED = ("key", "updated_at", "status", "customer")
VALUE_TABLES = {
    "status": {status.value for status in Status if status != Status.MERGED},
    "priority": {priority.name.lower() for priority in Priority},
    "channel": {channel.value for channel in Channel},
    "sla_met": {"true", "false"},
}
PRIORITIES = {priority.name.lower(): priority for priority in Priority}


# Dates a help desk's history can hold: what the rest of Helpline (cursors, reports, SLA
# calendars) reads back. A date outside is a typo or a placeholder ("0001-01-01"), and skips its row.
EARLIEST = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(9000, 1, 1, tzinfo=dt.UTC)
# Sequence numbers are stored as 64-bit integers.
MAX_SEQUENCE = 2**62


class MappingError(ValueError):
    """The mapping file itself is wrong (unknown field, missing column, bad value table...)."""


class RowProblem(ValueError):
    """Why a row cannot be used; the message is the reason listed in the import report."""


class SourceRow(NamedTuple):
    """One usable source update, in Helpline's terms. Sorts by time, ticket, then sequence.

    ``kind`` is 0 for the marker that creates the ticket (at ``opened_at``, with the values of the
    ticket's first usable row) and 1 for an update; ``line`` is the row's line in the source.
    """

    at: dt.datetime
    key: str
    kind: int
    seq: int
    line: int
    opened_at: dt.datetime
    status: Status
    priority: Priority | None
    channel: Channel | None
    team: str | None
    agent: str | None
    customer: str
    category: str | None
    sla_met: bool | None


CREATE, UPDATE = 0, 1


def printable(text: str) -> str:
    """``text`` with any lone surrogate (JSON "\\ud800", no text at all: it could be neither stored
    nor printed) replaced by "?"."""
    return text if text.isascii() else text.encode("utf-8", "replace").decode("utf-8")


@functools.lru_cache(maxsize=16_384)
def _utc_instant(text: str, datetime_format: str, zone: dt.tzinfo) -> dt.datetime:
    """``text`` read with ``datetime_format`` in ``zone``, as a UTC instant (ValueError if unreadable).

    Cached: a log repeats its dates (every row of an incident carries its opening time, and an
    incident's rows come together), and ``strptime`` was a tenth of an import's time. Bounded
    (about 3 MB at most); bad texts raise every time (exceptions are not cached).
    """
    local = dt.datetime.strptime(text, datetime_format)
    return local.replace(tzinfo=zone).astimezone(dt.UTC)


@dataclasses.dataclass(frozen=True)
class Mapping:
    """A source's mapping; build it with :func:`load_mapping`."""

    source: str
    columns: dict[str, str]
    datetime_format: str
    timezone: str
    missing: frozenset[str]
    values: dict[str, dict[str, str]]
    email_domain: str = "import.example"
    ticket_type: TicketType | None = None

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        """The time zone the source's dates are read in."""
        return zoneinfo.ZoneInfo(self.timezone)

    def _cell(self, row: MappingType[str, Any], field: str) -> str | None:
        column = self.columns.get(field)
        if column is None:
            return None
        value = row.get(column)
        if value is None:
            return None
        text = printable(str(value).strip())
        return None if text in self.missing else text

    def _date(self, row: MappingType[str, Any], field: str, zone: dt.tzinfo) -> dt.datetime | None:
        text = self._cell(row, field)
        if text is None:
            return None
        try:
            instant = _utc_instant(text, self.datetime_format, zone)
        except (ValueError, OverflowError):
            raise RowProblem(f"invalid date in {self.columns[field]}: {text[:40]!r}") from None
        if not EARLIEST <= instant <= LATEST:
            raise RowProblem(f"impossible date in {self.columns[field]}: {text[:40]!r}")
        return instant

    def _value(self, row: MappingType[str, Any], field: str) -> str | None:
        text = self._cell(row, field)
        if text is None:
            return None
        table = self.values.get(field)
        mapped = text if table is None else table.get(text, table.get("*"))
        # Without a table the cell must already be one of Helpline's names; either way an unknown
        # value skips the row (never a crash of the whole import).
        if mapped is None or (field in VALUE_TABLES and mapped not in VALUE_TABLES[field]):
            raise RowProblem(f"unknown {field} {text[:40]!r}")
        return mapped

    def read(self, row: MappingType[str, Any], line: int, zone: dt.tzinfo | None = None) -> SourceRow:
        """The row as a :class:`SourceRow` update (``kind`` 1), or :class:`RowProblem`."""
        zone = zone or self.zone
        key = self._cell(row, "key")
        if key is None:
            raise RowProblem("missing ticket key")
        updated_at = self._date(row, "updated_at", zone)
        if updated_at is None:
            raise RowProblem("missing update time")
        opened_at = self._date(row, "opened_at", zone) or updated_at
        if updated_at < opened_at:
            raise RowProblem("update before the opening")
        resolved_at = self._date(row, "resolved_at", zone)
        if resolved_at is not None and resolved_at < opened_at:
            raise RowProblem("resolution before the opening")
        status = self._value(row, "status")
        if status is None:
            raise RowProblem("missing status")
        customer = self._cell(row, "customer")
        if customer is None:
            raise RowProblem("missing customer")
        sequence = self._cell(row, "sequence")
        try:
            # Length first: int() of a huge digit string is slow (and refused past 4,300 digits).
            seq = line if sequence is None else int(sequence) if len(sequence) <= 30 else MAX_SEQUENCE
            if abs(seq) >= MAX_SEQUENCE:
                raise ValueError(sequence)
        except ValueError:
            raise RowProblem(f"invalid sequence {str(sequence)[:40]!r}") from None
        priority = self._value(row, "priority")
        channel = self._value(row, "channel")
        sla_met = self._value(row, "sla_met")
        return SourceRow(
            at=updated_at,
            key=key,
            kind=UPDATE,
            seq=seq,
            line=line,
            opened_at=opened_at,
            status=Status(status),
            priority=PRIORITIES[priority] if priority is not None else None,
            channel=Channel(channel) if channel is not None else None,
            team=self._cell(row, "team"),
            agent=self._cell(row, "agent"),
            customer=customer,
            category=self._cell(row, "category"),
            sla_met=None if sla_met is None else sla_met == "true",
        )


def load_mapping(path: str | Path) -> Mapping:
    """Read and check a mapping file (``.toml`` or ``.json``); :class:`MappingError` says what is wrong."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        raw = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (OSError, ValueError) as exc:
        raise MappingError(f"cannot read the mapping {path}: {exc}") from None
    return mapping_from_dict(raw, where=str(path))


def _table(raw: dict[str, Any], name: str, problems: list[str]) -> dict[str, Any]:
    """The sub-table ``name`` of the mapping (empty when absent); a problem when it is no table."""
    value = raw.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append(f"'{name}' must be a table")
        return {}
    return value


# A host name: labels of letters, digits and hyphens, dot-separated (e-mails are built on it).
_DOMAIN = re.compile(r"(?=.{1,200}$)([a-z0-9]([a-z0-9-]*[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+")


def mapping_from_dict(raw: Any, where: str = "mapping") -> Mapping:
    """Build a :class:`Mapping` from a decoded mapping file, checking every part (a wrong type is a
    :class:`MappingError` like any other problem, never an exception of its own)."""
    if not isinstance(raw, dict):
        raise MappingError(f"{where}: a mapping is a table (TOML) or an object (JSON)")
    problems: list[str] = []
    source = raw.get("source")
    if not isinstance(source, str) or not source.strip() or len(source) > 100:
        problems.append("'source' must name the source (1-100 characters)")
    columns = _table(raw, "columns", problems)
    problems += [f"unknown field {name!r} in [columns]" for name in columns if name not in FIELDS]
    problems += [f"[columns] needs {name!r}" for name in REQUIRED if name not in columns]
    problems += [f"column of {name!r} must be text" for name, col in columns.items() if not isinstance(col, str)]
    form = _table(raw, "format", problems)
    datetime_format = form.get("datetime", "%Y-%m-%dT%H:%M:%S")
    if not isinstance(datetime_format, str) or not datetime_format.strip():
        problems.append("[format] datetime must be a strptime format such as '%Y-%m-%d %H:%M'")
    timezone = form.get("timezone", "UTC")
    if place_zone(timezone) is None:
        problems.append(f"unknown time zone {str(timezone)[:80]!r}")
    missing = form.get("missing", ["", "?"])
    if not isinstance(missing, list) or not all(isinstance(item, str) for item in missing):
        problems.append("[format] missing must be a list of texts")
    values = _table(raw, "values", problems)
    for field, table in values.items():
        if field not in VALUE_TABLES:
            problems.append(f"[values.{field}]: only {', '.join(VALUE_TABLES)} take value tables")
            continue
        if not isinstance(table, dict):
            problems.append(f"[values.{field}] must be a table of source value = Helpline value")
            continue
        bad = sorted({str(v) for v in table.values()} - VALUE_TABLES[field])
        if bad:
            problems.append(f"[values.{field}]: {', '.join(bad)} not one of {', '.join(sorted(VALUE_TABLES[field]))}")
    ticket_type = raw.get("ticket_type")
    kinds = {kind.value for kind in TicketType}
    if ticket_type is not None and (not isinstance(ticket_type, str) or ticket_type not in kinds):
        problems.append(f"ticket_type {str(ticket_type)[:40]!r} is not one of {', '.join(sorted(kinds))}")
    email_domain = raw.get("email_domain", "import.example")
    if not isinstance(email_domain, str) or not _DOMAIN.fullmatch(email_domain):
        problems.append(f"email_domain {str(email_domain)[:80]!r} is not a domain name such as import.example")
    if problems:
        raise MappingError(f"{where}: " + "; ".join(problems))
    return Mapping(
        source=source.strip(),  # type: ignore[union-attr]
        columns=dict(columns),
        datetime_format=datetime_format,
        timezone=timezone,
        missing=frozenset(missing),
        values={field: {str(k): str(v) for k, v in table.items()} for field, table in values.items()},
        email_domain=email_domain,
        ticket_type=TicketType(ticket_type) if ticket_type else None,
    )


def servicenow_mapping(timezone: str | None = None) -> Mapping:
    """The ServiceNow incident log's mapping, optionally reading its times in another zone."""
    mapping = load_mapping(SERVICENOW_LOG)
    if timezone is not None:
        if place_zone(timezone) is None:
            raise MappingError(f"unknown time zone {timezone!r}")
        mapping = dataclasses.replace(mapping, timezone=timezone)
    return mapping
