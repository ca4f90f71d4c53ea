"""How lists of tickets are loaded so that ``Ticket``'s relation fields cost no query per row."""

from __future__ import annotations

from tortoise.queryset import QuerySet

from helpline.core.models import Ticket

TICKET_JOINS = ("requester", "assignee", "team")
TICKET_PREFETCHES = ("tag_rows",)


def with_ticket_relations(queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
    """``queryset`` loading what ``Ticket``'s relation fields read: requester, assignee and team
    joined in, tags in one more query for the whole list. Use it for every list of tickets,
    plugins' included; a ticket loaded without it costs one query per relation field asked for."""
    return queryset.select_related(*TICKET_JOINS).prefetch_related(*TICKET_PREFETCHES)
