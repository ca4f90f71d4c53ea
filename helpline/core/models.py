"""The core's tables (Tortoise app ``core``): people, organizations, teams, tickets, messages, events.

Nothing about SLAs, surveys or articles lives here: plugins own their tables and point at these
with relations such as ``fields.ForeignKeyField("core.Ticket")``. Timestamps are set by the
services from the injectable clock, never by the database, so that replays and tests control time.
"""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

from helpline.core.enums import (
    Channel,
    EffectStatus,
    EventKind,
    MessageSource,
    Priority,
    Role,
    Status,
    TicketType,
)


class Organization(Model):
    """A customer company. ``shared_tickets``: its members see each other's tickets."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200, unique=True)
    shared_tickets = fields.BooleanField(default=False)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "helpline_organization"


class User(Model):
    """A person: admin, agent or customer. Customers may belong to one organization."""

    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=254, unique=True)
    name = fields.CharField(max_length=200)
    role = fields.CharEnumField(Role, max_length=16)
    organization: fields.ForeignKeyNullableRelation[Organization] = fields.ForeignKeyField(
        "core.Organization", null=True, on_delete=fields.RESTRICT, related_name="members"
    )
    organization_id: int | None
    vip = fields.BooleanField(default=False)
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "helpline_user"


class Team(Model):
    """A group of agents that tickets are routed to."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200, unique=True)
    description = fields.TextField(default="")
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "helpline_team"


class TeamMembership(Model):
    """An agent's membership of a team."""

    id = fields.IntField(primary_key=True)
    team: fields.ForeignKeyRelation[Team] = fields.ForeignKeyField(
        "core.Team", on_delete=fields.CASCADE, related_name="memberships"
    )
    team_id: int
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "core.User", on_delete=fields.CASCADE, related_name="memberships"
    )
    user_id: int
    created_at = fields.DatetimeField()

    class Meta:
        table = "helpline_team_membership"
        unique_together = (("team", "user"),)
        # Every agent's request reads their teams (auth): by user, which the unique index (team
        # first) cannot answer without a scan of every membership.
        indexes = (("user_id", "team_id"),)  # column names: "user" would index the SQL keyword


class ApiToken(Model):
    """A Bearer token. Only its SHA-256 is stored; the secret is shown once, at creation."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "core.User", on_delete=fields.CASCADE, related_name="api_tokens"
    )
    user_id: int
    name = fields.CharField(max_length=200)
    token_hash = fields.CharField(max_length=64, unique=True)
    prefix = fields.CharField(max_length=16)
    created_at = fields.DatetimeField()
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "helpline_api_token"


class Counter(Model):
    """Named gapless counters (ticket numbers). Incremented with an UPDATE, which locks the row."""

    name = fields.CharField(max_length=64, primary_key=True)
    value = fields.BigIntField()

    class Meta:
        table = "helpline_counter"


class Ticket(Model):
    """A customer's request and everything about its handling.

    ``version`` grows by one with every change (optimistic concurrency: an update may pass the
    version it read and gets CONFLICT when it is stale). ``merged_into`` is set when this ticket
    was merged; ``follow_up_of`` links a follow-up to the closed ticket it continues.
    """

    id = fields.IntField(primary_key=True)
    number = fields.IntField(unique=True)
    subject = fields.CharField(max_length=255)
    status = fields.CharEnumField(Status, max_length=16, default=Status.NEW, db_index=True)
    priority = fields.IntEnumField(Priority, default=Priority.NORMAL)
    type = fields.CharEnumField(TicketType, max_length=16, null=True)
    category = fields.CharField(max_length=100, null=True)
    channel = fields.CharEnumField(Channel, max_length=16, default=Channel.WEB)
    requester: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "core.User", on_delete=fields.RESTRICT, related_name="requested_tickets"
    )
    requester_id: int
    organization: fields.ForeignKeyNullableRelation[Organization] = fields.ForeignKeyField(
        "core.Organization", null=True, on_delete=fields.RESTRICT, related_name="tickets"
    )
    organization_id: int | None
    team: fields.ForeignKeyNullableRelation[Team] = fields.ForeignKeyField(
        "core.Team", null=True, on_delete=fields.RESTRICT, related_name="tickets"
    )
    team_id: int | None
    assignee: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "core.User", null=True, on_delete=fields.RESTRICT, related_name="assigned_tickets"
    )
    assignee_id: int | None
    custom_fields: dict = fields.JSONField(default=dict)  # type: ignore[assignment]
    version = fields.IntField(default=1)
    merged_into: fields.ForeignKeyNullableRelation[Ticket] = fields.ForeignKeyField(
        "core.Ticket", null=True, on_delete=fields.RESTRICT, related_name="merged_tickets"
    )
    merged_into_id: int | None
    follow_up_of: fields.ForeignKeyNullableRelation[Ticket] = fields.ForeignKeyField(
        "core.Ticket", null=True, on_delete=fields.RESTRICT, related_name="follow_ups"
    )
    follow_up_of_id: int | None
    created_at = fields.DatetimeField(db_index=True)
    updated_at = fields.DatetimeField(db_index=True)
    solved_at = fields.DatetimeField(null=True)
    closed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "helpline_ticket"
        # Who may see a ticket decides most lists: a customer's by requester (and organization, when
        # members share), an agent's by team and assignee. Each with the default order (newest
        # created first), so a page is read from the index in order and its total counts index
        # entries, not the whole table (a customer's list over 600,000 tickets took 840 ms without).
        # Column names: "requester" would be taken for an expression.
        indexes = (
            ("requester_id", "created_at"),
            ("organization_id", "created_at"),
            ("team_id", "created_at"),
            ("assignee_id", "created_at"),
        )


class TicketTag(Model):
    """One tag on one ticket (a table rather than a JSON list, so that tag filters use an index)."""

    id = fields.IntField(primary_key=True)
    ticket: fields.ForeignKeyRelation[Ticket] = fields.ForeignKeyField(
        "core.Ticket", on_delete=fields.CASCADE, related_name="tag_rows"
    )
    ticket_id: int
    name = fields.CharField(max_length=50, db_index=True)

    class Meta:
        table = "helpline_ticket_tag"
        unique_together = (("ticket", "name"),)


class Message(Model):
    """A public reply or an internal note on a ticket.

    ``author`` is the person who wrote it (``None`` for automations, bots and automatic replies);
    ``source`` says which. ``merged_from`` remembers the ticket a message came from in a merge.
    """

    id = fields.IntField(primary_key=True)
    ticket: fields.ForeignKeyRelation[Ticket] = fields.ForeignKeyField(
        "core.Ticket", on_delete=fields.CASCADE, related_name="messages"
    )
    ticket_id: int
    author: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "core.User", null=True, on_delete=fields.RESTRICT, related_name="messages"
    )
    author_id: int | None
    body = fields.TextField()
    internal = fields.BooleanField(default=False)
    source = fields.CharEnumField(MessageSource, max_length=16, default=MessageSource.HUMAN)
    channel = fields.CharEnumField(Channel, max_length=16, default=Channel.WEB)
    merged_from: fields.ForeignKeyNullableRelation[Ticket] = fields.ForeignKeyField(
        "core.Ticket", null=True, on_delete=fields.RESTRICT, related_name="moved_messages"
    )
    merged_from_id: int | None
    created_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "helpline_message"
        # A ticket's conversation, in order: PostgreSQL does not index foreign keys by itself.
        indexes = (("ticket_id", "created_at"),)


class TicketEvent(Model):
    """One entry of a ticket's append-only history: who did what, when, old -> new.

    ``old_value``/``new_value`` hold JSON text (enum values, ids, lists, strings); a text column
    rather than Tortoise's JSONField, which cannot hold a bare JSON string. Never updated.
    """

    id = fields.BigIntField(primary_key=True)
    ticket: fields.ForeignKeyRelation[Ticket] = fields.ForeignKeyField(
        "core.Ticket", on_delete=fields.CASCADE, related_name="events"
    )
    ticket_id: int
    actor: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "core.User", null=True, on_delete=fields.RESTRICT, related_name="ticket_events"
    )
    actor_id: int | None
    actor_source = fields.CharEnumField(MessageSource, max_length=16)
    actor_name = fields.CharField(max_length=200, default="")
    kind = fields.CharEnumField(EventKind, max_length=32)
    field = fields.CharField(max_length=64, null=True)
    old_value = fields.TextField(null=True)
    new_value = fields.TextField(null=True)
    message: fields.ForeignKeyNullableRelation[Message] = fields.ForeignKeyField(
        "core.Message", null=True, on_delete=fields.SET_NULL, related_name="events"
    )
    message_id: int | None
    created_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "helpline_ticket_event"
        # A ticket's history, in order (see Message).
        indexes = (("ticket_id", "created_at"),)


class JobState(Model):
    """When a periodic job next runs, who holds it now, and how its last runs went.

    ``locked_until`` is a lease: a worker claims a due job by setting it with a conditional
    UPDATE (atomic on SQLite and PostgreSQL alike), and a crashed worker's claim simply expires.
    """

    name = fields.CharField(max_length=200, primary_key=True)
    next_run_at = fields.DatetimeField()
    locked_until = fields.DatetimeField(null=True)
    locked_by = fields.CharField(max_length=200, default="")
    last_started_at = fields.DatetimeField(null=True)
    last_finished_at = fields.DatetimeField(null=True)
    last_error = fields.TextField(null=True)
    runs = fields.IntField(default=0)
    failures = fields.IntField(default=0)

    class Meta:
        table = "helpline_job_state"


class OutboxEffect(Model):
    """An effect outside the database (a webhook, a mail, a push), written in the transaction of the
    change that caused it and delivered after commit by :mod:`helpline.core.outbox`.

    ``idempotency_key`` is unique: enqueueing the same key again is a no-op, and handlers pass it on
    so receivers can drop the duplicates that at-least-once delivery may produce. ``locked_until``
    is the lease of the dispatcher delivering it; a dispatcher that dies frees it when that passes.
    """

    id = fields.IntField(primary_key=True)
    kind = fields.CharField(max_length=200)
    payload: fields.JSONField[Any] = fields.JSONField()
    idempotency_key = fields.CharField(max_length=200, unique=True)
    status = fields.CharEnumField(EffectStatus, max_length=16, default=EffectStatus.PENDING)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    locked_until = fields.DatetimeField(null=True)
    locked_by = fields.CharField(max_length=200, default="")
    last_error = fields.TextField(null=True)
    created_at = fields.DatetimeField()
    delivered_at = fields.DatetimeField(null=True)

    class Meta:
        table = "helpline_outbox_effect"
        # The dispatcher's question: pending effects of these kinds due by now, oldest first.
        indexes = (("status", "next_attempt_at"),)
