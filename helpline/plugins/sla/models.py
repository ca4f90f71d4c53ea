"""The SLA plugin's tables, in its own Tortoise app ``sla``, pointing at core rows.

Relations to core models use ``related_name=False``: the core's models stay the same whether or not
the plugin is on. ``__models__`` lists this module's models, so Tortoise never takes an imported
core model for one of ours.

Time is stored as UTC instants; business time as integer microseconds, so that measuring and adding
never round.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from helpline.core.models import Ticket


class ClockKind(enum.StrEnum):
    """The three targets a policy sets."""

    FIRST_RESPONSE = "first_response"
    NEXT_RESPONSE = "next_response"
    RESOLUTION = "resolution"


class ClockPhase(enum.StrEnum):
    """Where a clock is in its life. Whether it breached is recorded separately (``breached_at``)."""

    RUNNING = "running"
    PAUSED = "paused"
    MET = "met"
    CANCELLED = "cancelled"


class SlaCalendar(Model):
    """Working hours in an IANA time zone, with holidays.

    ``intervals`` is a list of ``[weekday, start_minute, end_minute]`` (0 = Monday; minutes from
    local midnight; ``end <= start`` runs past midnight), ``holidays`` a list of ISO dates.
    """

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100, unique=True)
    timezone = fields.CharField(max_length=64)
    intervals: list[list[int]] = fields.JSONField(default=list)  # type: ignore[assignment]
    holidays: list[str] = fields.JSONField(default=list)  # type: ignore[assignment]
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "sla_calendar"


class SlaPolicy(Model):
    """Conditions on tickets and targets per priority; the first matching policy by ``position`` applies.

    ``conditions``: ``{"priorities": [...], "team_ids": [...], "organization_ids": [...],
    "types": [...], "categories": [...], "channels": [...], "tags": [...], "vip": bool}``; a missing
    key matches anything, ``tags`` matches a ticket carrying any of them. ``targets``:
    ``{"urgent": {"first_response": 30, "next_response": 60, "resolution": 240}, ...}`` in business
    minutes; a missing priority or kind sets no target.
    """

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100, unique=True)
    position = fields.IntField(db_index=True)
    calendar: fields.ForeignKeyRelation[SlaCalendar] = fields.ForeignKeyField(
        "sla.SlaCalendar", on_delete=fields.RESTRICT, related_name="policies"
    )
    calendar_id: int
    conditions: dict = fields.JSONField(default=dict)  # type: ignore[assignment]
    targets: dict = fields.JSONField(default=dict)  # type: ignore[assignment]
    warning_minutes = fields.IntField(default=0)
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "sla_policy"


class SlaClock(Model):
    """One target's clock on one ticket.

    Business time used so far is ``elapsed_us`` plus, while ``running_since`` is set, the business
    time since then on the clock's calendar. ``due_at`` and ``warn_at`` are set while the clock
    runs with a target and kept when it is met (for the record); a paused clock has neither, since
    its due time depends on when it resumes. ``breached_at`` is the due time it passed (set by
    the breach job, or when it is met late); ``breach_announced`` and ``warned`` record that the
    plugin's hooks were called, once.
    """

    id = fields.IntField(primary_key=True)
    ticket: fields.ForeignKeyRelation[Ticket] = fields.ForeignKeyField(
        "core.Ticket", on_delete=fields.CASCADE, related_name=False
    )
    ticket_id: int
    kind = fields.CharEnumField(ClockKind, max_length=16)
    phase = fields.CharEnumField(ClockPhase, max_length=16, default=ClockPhase.RUNNING)
    policy: fields.ForeignKeyNullableRelation[SlaPolicy] = fields.ForeignKeyField(
        "sla.SlaPolicy", null=True, on_delete=fields.SET_NULL, related_name=False
    )
    policy_id: int | None
    calendar: fields.ForeignKeyNullableRelation[SlaCalendar] = fields.ForeignKeyField(
        "sla.SlaCalendar", null=True, on_delete=fields.SET_NULL, related_name=False
    )
    calendar_id: int | None
    target_minutes = fields.IntField(null=True)
    elapsed_us = fields.BigIntField(default=0)
    running_since = fields.DatetimeField(null=True)
    started_at = fields.DatetimeField()
    due_at = fields.DatetimeField(null=True, db_index=True)
    warn_at = fields.DatetimeField(null=True, db_index=True)
    met_at = fields.DatetimeField(null=True)
    breached_at = fields.DatetimeField(null=True, db_index=True)
    breach_announced = fields.BooleanField(default=False)
    warned = fields.BooleanField(default=False)

    class Meta:
        table = "sla_clock"
        # (phase, breached_at, due_at): the at-risk list (running, not breached, due within N minutes).
        indexes = (("ticket_id", "kind"), ("phase", "due_at"), ("phase", "breached_at", "due_at"))


class SlaClockEvent(Model):
    """One line of a clock's history: started, paused, resumed, retargeted, met, reopened, breached,
    warned, cancelled; with the due time after it and a note saying why."""

    id = fields.IntField(primary_key=True)
    clock: fields.ForeignKeyRelation[SlaClock] = fields.ForeignKeyField(
        "sla.SlaClock", on_delete=fields.CASCADE, related_name="history"
    )
    clock_id: int
    kind = fields.CharField(max_length=16)
    at = fields.DatetimeField()
    due_at = fields.DatetimeField(null=True)
    note = fields.CharField(max_length=255, default="")

    class Meta:
        table = "sla_clock_event"
        indexes = (("clock_id", "id"),)


class SlaSettings(Model):
    """The plugin's settings, one row, edited by admins through GraphQL.

    ``pausing_statuses``: ticket statuses in which clocks pause (default pending and on_hold).
    ``customers_see_sla``: whether customers may read their tickets' SLA data (default no).
    ``config_version`` grows with every calendar or policy change; the recompute job brings open
    clocks up to it (``clocks_version``).
    """

    id = fields.IntField(primary_key=True)
    pausing_statuses: list[str] = fields.JSONField(default=list)  # type: ignore[assignment]
    customers_see_sla = fields.BooleanField(default=False)
    config_version = fields.IntField(default=0)
    clocks_version = fields.IntField(default=0)

    class Meta:
        table = "sla_settings"


__models__ = [SlaCalendar, SlaPolicy, SlaClock, SlaClockEvent, SlaSettings]
