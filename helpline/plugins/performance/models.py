"""The performance plugin's tables (Tortoise app ``performance``): derived data, rebuildable.

``performance_ticket`` holds one row per ticket: the metrics of :mod:`.metrics`, the dimensions
reports group by, and the fold's own state. ``performance_episode`` holds one row per episode
(creation or reopening until resolution): its first response and when it ended, for first
response per episode and for the backlog at any instant.

Instants are stored as integer microseconds since the Unix epoch (UTC), not as timestamps: the
fold's state survives a round trip exactly (so incremental and rebuilt metrics are equal to the
microsecond), and reports bucket and compare plain integers the same way on SQLite (which has no
time zone support) and PostgreSQL. An episode still open ends at :data:`OPEN_END`, so "open at
instant T" is one indexed range condition (``ended_us >= T``) rather than an ``OR ... IS NULL``.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

OPEN_END = 2**62  # "not ended yet": later than any real instant in microseconds

# What reports read, by population (the covering indexes below list them; :mod:`.report` uses them).
REPORT_DIMENSIONS = ("team_id", "assignee_id", "organization_id", "channel", "priority", "category")
CREATED_DURATION_COLUMNS = ("first_response_minutes", "first_response_business")
SOLVED_DURATION_COLUMNS = tuple(
    f"{name}_{kind}"
    for name in ("first_resolution", "full_resolution", "requester_wait", "agent_work", "on_hold")
    for kind in ("minutes", "business")
)
SOLVED_COUNTERS = ("reopens", "one_touch", "agent_replies", "reassignments")


class PerformanceTicket(Model):
    """Performance metrics of one ticket, maintained from its event log."""

    ticket: fields.OneToOneRelation = fields.OneToOneField(
        "core.Ticket", primary_key=True, on_delete=fields.CASCADE, related_name="performance"
    )
    ticket_id: int
    status = fields.CharField(max_length=16)
    team_id = fields.IntField(null=True)
    assignee_id = fields.IntField(null=True)
    organization_id = fields.IntField(null=True)
    requester_id = fields.IntField(null=True)
    channel = fields.CharField(max_length=16)
    priority = fields.SmallIntField()
    category = fields.CharField(max_length=100, null=True)
    created_us = fields.BigIntField(db_index=True)
    first_solved_us = fields.BigIntField(null=True)
    last_solved_us = fields.BigIntField(null=True, db_index=True)
    reopens = fields.IntField(default=0)
    assignments = fields.IntField(default=0)
    reassignments = fields.IntField(default=0)
    agent_replies = fields.IntField(default=0)
    one_touch = fields.BooleanField(default=False)
    first_response_minutes = fields.FloatField(null=True)
    first_resolution_minutes = fields.FloatField(null=True)
    full_resolution_minutes = fields.FloatField(null=True)
    requester_wait_minutes = fields.FloatField(default=0.0)
    agent_work_minutes = fields.FloatField(default=0.0)
    on_hold_minutes = fields.FloatField(default=0.0)
    first_response_business = fields.FloatField(null=True)
    first_resolution_business = fields.FloatField(null=True)
    full_resolution_business = fields.FloatField(null=True)
    requester_wait_business = fields.FloatField(null=True)
    agent_work_business = fields.FloatField(null=True)
    on_hold_business = fields.FloatField(null=True)
    segment_started_us = fields.BigIntField(null=True)
    last_event_id = fields.BigIntField(default=0)

    class Meta:
        table = "performance_ticket"
        # Agents' own figures filter by assignee. The two report indexes cover everything a
        # report reads of its population (the period, every dimension it may group or filter by,
        # the durations and the counters): the population is read from the index alone, in
        # period order, never from the table (on SQLite this halves the read, see
        # benchmarks/README.md). (The plain indexes on created_us and last_solved_us stay:
        # dropping a field's db_index makes Tortoise rebuild the SQLite table, which loses the
        # two indexes above.)
        indexes = (
            ("assignee_id", "created_us"),
            ("team_id", "created_us"),
            ("created_us", *REPORT_DIMENSIONS, *CREATED_DURATION_COLUMNS),
            ("last_solved_us", *REPORT_DIMENSIONS, *SOLVED_DURATION_COLUMNS, *SOLVED_COUNTERS),
        )


class PerformanceEpisode(Model):
    """One episode of a ticket: from creation or a reopening until it was resolved."""

    id = fields.BigIntField(primary_key=True)
    ticket: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "core.Ticket", on_delete=fields.CASCADE, related_name="performance_episodes"
    )
    ticket_id: int
    seq = fields.IntField()
    started_us = fields.BigIntField()
    ended_us = fields.BigIntField(db_index=True)
    first_response_us = fields.BigIntField(null=True)
    first_response_minutes = fields.FloatField(null=True)
    first_response_business = fields.FloatField(null=True)

    class Meta:
        table = "performance_episode"
        unique_together = (("ticket", "seq"),)
