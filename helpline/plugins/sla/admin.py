"""Admins' changes to calendars, policies and settings: validated whole, saved in one transaction.

Any problem answers every userError at once and saves nothing. Every calendar or policy change
raises ``SlaSettings.config_version``; the recompute job then retargets open clocks (a change that
touches many tickets must not make an admin's request wait).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

import holidays as holiday_data
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from helpline.core import auth
from helpline.core.db import transaction
from helpline.core.enums import Status
from helpline.core.errors import NotFound, UserError, ValidationFailed
from helpline.core.validation import text_problem
from helpline.plugins.sla.business_time import WorkingInterval
from helpline.plugins.sla.clocks import config_changed, settings_row
from helpline.plugins.sla.models import SlaCalendar, SlaPolicy, SlaSettings
from helpline.plugins.sla.policies import calendar_problems, conditions_problems, targets_problems

MAX_HOLIDAY_YEARS = 10


@dataclasses.dataclass(frozen=True)
class HolidaySource:
    """Public holidays to generate with the ``holidays`` package: ISO country, optional region, years."""

    country: str
    subdivision: str | None
    years: Sequence[int]


def _problem_code(field: str, message: str) -> str:
    if field == "timezone":
        return "UNKNOWN_TIMEZONE"
    if "overlap" in message:
        return "OVERLAPPING_INTERVALS"
    if field == "holidays":
        return "INVALID_DATE"
    return "INVALID"


def _fail(problems: list[tuple[str, str]], code: str | None = None) -> None:
    if problems:
        raise ValidationFailed(
            [UserError(("input", field), message, code or _problem_code(field, message)) for field, message in problems]
        )


def _name_problem(name: str) -> list[tuple[str, str]]:
    problem = text_problem(name, single_line=True)
    if problem is None and not name.strip():
        problem = "must not be empty"
    if problem is None and len(name) > 100:
        problem = "at most 100 characters"
    return [("name", f"name {problem}")] if problem else []


def generated_holidays(source: HolidaySource) -> list[str]:
    """The public holidays of ``source`` as ISO dates (userErrors for an unknown country or region)."""
    years = sorted(set(source.years))
    if not years or len(years) > MAX_HOLIDAY_YEARS or not all(1971 <= year <= 2200 for year in years):
        _fail([("generatedHolidays", f"give 1 to {MAX_HOLIDAY_YEARS} years between 1971 and 2200")], "INVALID")
    try:
        found = holiday_data.country_holidays(source.country.upper(), subdiv=source.subdivision, years=years)
    except NotImplementedError as exc:
        _fail([("generatedHolidays", str(exc))], "UNKNOWN_REGION")
    return sorted(day.isoformat() for day in found)


def _calendar_values(
    timezone: str, intervals: Sequence[WorkingInterval], holidays: Sequence[str], source: HolidaySource | None
) -> dict[str, Any]:
    dates = list(holidays) + (generated_holidays(source) if source is not None else [])
    _fail(calendar_problems(timezone, intervals, dates))
    return {
        "timezone": timezone,
        "intervals": [[i.weekday, i.start_minute, i.end_minute] for i in sorted(intervals)],
        "holidays": sorted({dt.date.fromisoformat(day).isoformat() for day in dates}),
    }


async def _config_changed() -> None:
    config_changed()  # this transaction reads the configuration afresh
    await settings_row()
    await SlaSettings.filter(id=1).update(config_version=F("config_version") + 1)


async def _unique(action: Any, what: str) -> Any:
    try:
        return await action
    except IntegrityError:
        raise ValidationFailed([UserError(("input", "name"), f"a {what} with this name exists", "TAKEN")]) from None


async def create_calendar(
    viewer: auth.Viewer | None,
    now: dt.datetime,
    *,
    name: str,
    timezone: str,
    intervals: Sequence[WorkingInterval],
    holidays: Sequence[str] = (),
    generated: HolidaySource | None = None,
) -> SlaCalendar:
    """Create a business calendar (admins)."""
    auth.require_admin(viewer)
    _fail(_name_problem(name))
    values = _calendar_values(timezone, intervals, holidays, generated)
    async with transaction():
        calendar = await _unique(
            SlaCalendar.create(name=name.strip(), created_at=now, updated_at=now, **values), "calendar"
        )
        await _config_changed()
    return calendar  # type: ignore[no-any-return]


async def update_calendar(
    viewer: auth.Viewer | None,
    now: dt.datetime,
    calendar_id: int,
    *,
    name: str | None = None,
    timezone: str | None = None,
    intervals: Sequence[WorkingInterval] | None = None,
    holidays: Sequence[str] | None = None,
    generated: HolidaySource | None = None,
) -> SlaCalendar:
    """Change a calendar; fields left out keep their values (``generated`` adds to the holidays)."""
    auth.require_admin(viewer)
    async with transaction():
        calendar = await SlaCalendar.filter(id=calendar_id).select_for_update().first()
        if calendar is None:
            raise NotFound("no such calendar")
        if name is not None:
            _fail(_name_problem(name))
            calendar.name = name.strip()
        current = [WorkingInterval(*interval) for interval in calendar.intervals]
        values = _calendar_values(
            timezone if timezone is not None else calendar.timezone,
            intervals if intervals is not None else current,
            holidays if holidays is not None else calendar.holidays,
            generated,
        )
        for key, value in values.items():
            setattr(calendar, key, value)
        calendar.updated_at = now
        await _unique(calendar.save(), "calendar")
        await _config_changed()
    return calendar


@dataclasses.dataclass
class PolicyFields:
    """What an admin may set on a policy; ``None`` leaves a field as it is (on update)."""

    name: str | None = None
    calendar_id: int | None = None
    position: int | None = None
    conditions: dict[str, Any] | None = None
    targets: dict[str, dict[str, Any]] | None = None
    warning_minutes: int | None = None
    active: bool | None = None


async def _policy_problems(fields: PolicyFields) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if fields.name is not None:
        problems += _name_problem(fields.name)
    if fields.conditions is not None:
        problems += conditions_problems(fields.conditions)
    if fields.targets is not None:
        problems += targets_problems(fields.targets)
    if fields.warning_minutes is not None and not 0 <= fields.warning_minutes <= 366 * 24 * 60:
        problems.append(("warningMinutes", "must be between 0 and a year of minutes"))
    if fields.calendar_id is not None and not await SlaCalendar.exists(id=fields.calendar_id):
        problems.append(("calendarId", "no such calendar"))
    return problems


def _policy_code(field: str, message: str) -> str:
    return {"targets": "INVALID_TARGET", "conditions": "INVALID_CONDITION", "calendarId": "NOT_FOUND"}.get(
        field, "INVALID"
    )


async def create_policy(viewer: auth.Viewer | None, now: dt.datetime, fields: PolicyFields) -> SlaPolicy:
    """Create a policy (admins); without a position it goes last."""
    auth.require_admin(viewer)
    problems = await _policy_problems(fields)
    if fields.name is None:
        problems.append(("name", "name is required"))
    if fields.calendar_id is None:
        problems.append(("calendarId", "calendarId is required"))
    if problems:
        raise ValidationFailed([UserError(("input", f), m, _policy_code(f, m)) for f, m in problems])
    async with transaction():
        position = fields.position
        if position is None:
            last = await SlaPolicy.all().order_by("-position").first()
            position = (last.position + 1) if last is not None else 1
        policy = await _unique(
            SlaPolicy.create(
                name=(fields.name or "").strip(),
                calendar_id=fields.calendar_id,
                position=position,
                conditions=fields.conditions or {},
                targets=fields.targets or {},
                warning_minutes=fields.warning_minutes or 0,
                active=True if fields.active is None else fields.active,
                created_at=now,
                updated_at=now,
            ),
            "policy",
        )
        await _config_changed()
    return policy  # type: ignore[no-any-return]


async def update_policy(
    viewer: auth.Viewer | None, now: dt.datetime, policy_id: int, fields: PolicyFields
) -> SlaPolicy:
    """Change a policy; fields left out keep their values."""
    auth.require_admin(viewer)
    problems = await _policy_problems(fields)
    if problems:
        raise ValidationFailed([UserError(("input", f), m, _policy_code(f, m)) for f, m in problems])
    async with transaction():
        policy = await SlaPolicy.filter(id=policy_id).select_for_update().first()
        if policy is None:
            raise NotFound("no such policy")
        for key, value in dataclasses.asdict(fields).items():
            if value is not None:
                setattr(policy, key, value.strip() if key == "name" else value)
        policy.updated_at = now
        await _unique(policy.save(), "policy")
        await _config_changed()
    return policy


async def delete_policy(viewer: auth.Viewer | None, policy_id: int) -> None:
    """Delete a policy; clocks it timed are retargeted by the recompute job (history is kept)."""
    auth.require_admin(viewer)
    async with transaction():
        if not await SlaPolicy.filter(id=policy_id).delete():
            raise NotFound("no such policy")
        await _config_changed()


PAUSABLE = (Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD)


async def update_settings(
    viewer: auth.Viewer | None,
    *,
    pausing_statuses: Sequence[Status] | None = None,
    customers_see_sla: bool | None = None,
) -> SlaSettings:
    """Change which statuses pause clocks and whether customers see SLA data (admins)."""
    auth.require_admin(viewer)
    if pausing_statuses is not None and any(status not in PAUSABLE for status in pausing_statuses):
        _fail([("pausingStatuses", "only new, open, pending and on_hold can pause clocks")], "INVALID")
    async with transaction():
        settings = await settings_row()
        if pausing_statuses is not None:
            settings.pausing_statuses = sorted({status.value for status in pausing_statuses})
        if customers_see_sla is not None:
            settings.customers_see_sla = customers_see_sla
        await settings.save()
        if pausing_statuses is not None:
            await _config_changed()  # open clocks pause or resume to match (the recompute job)
    return settings
