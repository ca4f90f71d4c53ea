"""Ticket filters and orderings, as querysets on top of what the viewer may see.

Plugins reuse :func:`filtered_tickets` and add their own conditions to the queryset it returns.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from typing import Any

from tortoise.expressions import Subquery
from tortoise.queryset import QuerySet

from helpline.core import auth
from helpline.core.enums import Channel, Priority, Status
from helpline.core.models import Ticket, TicketTag


class TicketOrderField(enum.StrEnum):
    """Columns tickets can be ordered by; ``id`` always breaks ties, so cursors are stable."""

    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"
    PRIORITY = "priority"
    NUMBER = "number"


@dataclasses.dataclass
class TicketFilter:
    """Every condition is optional; lists mean "any of"; all given conditions must hold."""

    status: list[Status] | None = None
    priority: list[Priority] | None = None
    channel: list[Channel] | None = None
    team_ids: list[int] | None = None
    assignee_ids: list[int] | None = None
    requester_ids: list[int] | None = None
    organization_ids: list[int] | None = None
    unassigned: bool | None = None
    tag: str | None = None
    created_after: dt.datetime | None = None
    created_before: dt.datetime | None = None
    updated_after: dt.datetime | None = None
    updated_before: dt.datetime | None = None
    subject_contains: str | None = None


def filtered_tickets(viewer: auth.Viewer, criteria: TicketFilter | None) -> QuerySet[Ticket]:
    """The viewer's visible tickets narrowed by ``criteria`` (``after`` bounds are inclusive)."""
    queryset = auth.visible_tickets(viewer)
    if criteria is None:
        return queryset
    lists = {
        "status__in": criteria.status,
        "priority__in": criteria.priority,
        "channel__in": criteria.channel,
        "team_id__in": criteria.team_ids,
        "assignee_id__in": criteria.assignee_ids,
        "requester_id__in": criteria.requester_ids,
        "organization_id__in": criteria.organization_ids,
    }
    conditions: dict[str, Any] = {name: values for name, values in lists.items() if values is not None}
    bounds = {
        "created_at__gte": criteria.created_after,
        "created_at__lt": criteria.created_before,
        "updated_at__gte": criteria.updated_after,
        "updated_at__lt": criteria.updated_before,
    }
    conditions.update({name: value for name, value in bounds.items() if value is not None})
    if criteria.unassigned is not None:
        conditions["assignee_id__isnull"] = criteria.unassigned
    if criteria.subject_contains:
        conditions["subject__icontains"] = criteria.subject_contains
    if conditions:
        queryset = queryset.filter(**conditions)
    if criteria.tag:
        tagged = TicketTag.filter(name=criteria.tag.strip().lower()).values("ticket_id")
        queryset = queryset.filter(id__in=Subquery(tagged))
    return queryset
