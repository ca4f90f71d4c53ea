"""Which policy applies to a ticket, and what admins may write into calendars and policies (pure).

A policy's ``conditions`` are checked against :class:`TicketFacts`; the first active policy by
position whose conditions all hold applies. Validation returns ``(field, message)`` problems so the
GraphQL layer can answer userErrors and save nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from helpline.core.enums import Channel, Priority, TicketType
from helpline.plugins.sla.business_time import BusinessCalendar, WorkingInterval, describe, validate_calendar
from helpline.plugins.sla.models import ClockKind

CONDITION_KEYS = ("priorities", "team_ids", "organization_ids", "types", "categories", "channels", "tags", "vip")
PRIORITY_NAMES = {priority.name.lower(): priority for priority in Priority}
MAX_TARGET_MINUTES = 366 * 24 * 60


@dataclasses.dataclass(frozen=True)
class TicketFacts:
    """What policies may look at: the ticket's attributes, its tags and its requester's VIP flag."""

    priority: Priority
    team_id: int | None
    organization_id: int | None
    type: str | None
    category: str | None
    channel: str
    tags: frozenset[str]
    vip: bool


@dataclasses.dataclass(frozen=True)
class PolicyRule:
    """A policy as matching needs it (built from the ``SlaPolicy`` row)."""

    id: int
    name: str
    calendar_id: int
    conditions: dict[str, Any]
    targets: dict[str, dict[str, int]]
    warning_minutes: int

    def target(self, priority: Priority, kind: ClockKind) -> int | None:
        """The target in business minutes for this priority and kind, or None when the policy sets none."""
        return self.targets.get(priority.name.lower(), {}).get(kind.value)


def matches(conditions: dict[str, Any], facts: TicketFacts) -> bool:
    """Whether every condition holds for ``facts`` (an absent or empty condition holds)."""
    if (wanted := conditions.get("priorities")) and facts.priority.name.lower() not in wanted:
        return False
    if (wanted := conditions.get("team_ids")) and facts.team_id not in wanted:
        return False
    if (wanted := conditions.get("organization_ids")) and facts.organization_id not in wanted:
        return False
    if (wanted := conditions.get("types")) and facts.type not in wanted:
        return False
    if (wanted := conditions.get("categories")) and (facts.category or "").lower() not in {
        category.lower() for category in wanted
    }:
        return False
    if (wanted := conditions.get("channels")) and facts.channel not in wanted:
        return False
    if (wanted := conditions.get("tags")) and not facts.tags.intersection(wanted):
        return False
    vip = conditions.get("vip")
    return vip is None or vip == facts.vip


def select_policy(policies: Sequence[PolicyRule], facts: TicketFacts) -> PolicyRule | None:
    """The first policy (``policies`` are in position order) whose conditions hold, or None."""
    for policy in policies:
        if matches(policy.conditions, facts):
            return policy
    return None


# -- what admins write --------------------------------------------------------------------------


def calendar_from_rows(timezone: str, intervals: Iterable[Sequence[int]], holidays: Iterable[str]) -> BusinessCalendar:
    """The :class:`BusinessCalendar` of stored columns (already validated when saved)."""
    return BusinessCalendar(
        timezone=timezone,
        intervals=tuple(sorted(WorkingInterval(*interval) for interval in intervals)),
        holidays=frozenset(dt.date.fromisoformat(day) for day in holidays),
    )


def calendar_problems(
    timezone: str, intervals: Sequence[WorkingInterval], holidays: Sequence[str]
) -> list[tuple[str, str]]:
    """Everything wrong with a calendar as entered: unknown zone, overlaps, bad times, bad dates."""
    problems: list[tuple[str, str]] = []
    for day in holidays:
        try:
            dt.date.fromisoformat(day)
        except ValueError:
            problems.append(("holidays", f"{day[:40]!r} is not a date like 2026-12-25"))
    if len(holidays) > 5000:
        problems.append(("holidays", "at most 5,000 holidays per calendar"))
    for text in validate_calendar(BusinessCalendar(timezone, tuple(intervals))):
        problems.append(("timezone" if "time zone" in text else "intervals", text))
    seen: set[WorkingInterval] = set()
    for interval in intervals:
        if interval in seen:
            problems.append(("intervals", f"interval {describe(interval)} is listed twice"))
        seen.add(interval)
    return problems


def conditions_problems(conditions: dict[str, Any]) -> list[tuple[str, str]]:
    """Unknown keys or values in a policy's conditions."""
    problems = [("conditions", f"unknown condition {key!r}") for key in conditions if key not in CONDITION_KEYS]
    allowed = {
        "priorities": set(PRIORITY_NAMES),
        "types": {kind.value for kind in TicketType},
        "channels": {channel.value for channel in Channel},
    }
    for key, values in allowed.items():
        for value in conditions.get(key) or ():
            if value not in values:
                problems.append(("conditions", f"{key}: {value!r} is not one of {', '.join(sorted(values))}"))
    return problems


def targets_problems(targets: dict[str, dict[str, Any]]) -> list[tuple[str, str]]:
    """Targets must be whole, positive business minutes, per known priority and kind."""
    problems: list[tuple[str, str]] = []
    kinds = {kind.value for kind in ClockKind}
    for priority, per_kind in targets.items():
        if priority not in PRIORITY_NAMES:
            problems.append(("targets", f"{priority!r} is not a priority ({', '.join(PRIORITY_NAMES)})"))
            continue
        for kind, minutes in per_kind.items():
            if kind not in kinds:
                problems.append(("targets", f"{kind!r} is not a target ({', '.join(sorted(kinds))})"))
            elif type(minutes) is not int or not 0 < minutes <= MAX_TARGET_MINUTES:
                problems.append(
                    ("targets", f"{priority} {kind}: {minutes!r} must be a whole number of minutes above 0")
                )
    return problems
