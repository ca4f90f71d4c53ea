"""The core's enumerations. Stored as their string values (priority as its rank, for ordering)."""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    """What a person may do: admins configure, agents work tickets, customers ask."""

    ADMIN = "admin"
    AGENT = "agent"
    CUSTOMER = "customer"


class Status(enum.StrEnum):
    """The ticket lifecycle; see :mod:`helpline.core.workflow` for the allowed moves."""

    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    ON_HOLD = "on_hold"
    SOLVED = "solved"
    CLOSED = "closed"
    MERGED = "merged"


class Priority(enum.IntEnum):
    """Ticket priority, stored as its rank so that ordering by priority is meaningful."""

    LOW = 1
    NORMAL = 2
    HIGH = 3
    URGENT = 4


class Channel(enum.StrEnum):
    """Where a ticket or message came in."""

    EMAIL = "email"
    WEB = "web"
    PHONE = "phone"
    CHAT = "chat"
    API = "api"


class TicketType(enum.StrEnum):
    """The usual help desk ticket types."""

    QUESTION = "question"
    INCIDENT = "incident"
    PROBLEM = "problem"
    TASK = "task"


class MessageSource(enum.StrEnum):
    """Who wrote a message: a person, an automation rule, a bot, or an automatic reply."""

    HUMAN = "human"
    AUTOMATION = "automation"
    BOT = "bot"
    AUTO_REPLY = "auto_reply"


class EventKind(enum.StrEnum):
    """What a ticket event records."""

    CREATED = "created"
    FIELD_CHANGED = "field_changed"
    STATUS_CHANGED = "status_changed"
    ASSIGNED = "assigned"
    MESSAGE_ADDED = "message_added"
    MERGED_INTO = "merged_into"
    MERGED_FROM = "merged_from"
    FOLLOW_UP_CREATED = "follow_up_created"


class EffectStatus(enum.StrEnum):
    """Where an outbox effect is: waiting (or retrying), delivered, or given up on after too many failures."""

    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"
