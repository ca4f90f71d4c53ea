"""How tickets are loaded for reading, so that ``Ticket``'s fields cost no query per row.

Queries answer with read-only :class:`~helpline.core.rows.Row` snapshots of tickets rather than
Tortoise models (building a model per ticket, requester, assignee and team was most of a page's
cost): one SQL statement per list whatever its length, the tickets with their requester, assignee
and team joined in and their tags aggregated. A ticket row reads like the model (``status``,
``requester_id``, ``created_at``...) plus ``requester``, ``assignee`` and ``team`` rows and
``tag_names``. Mutation payloads return the model they changed; fields on ``Ticket`` read attributes
only, so they work with both.
"""

from __future__ import annotations

from typing import Any

from tortoise.expressions import RawSQL
from tortoise.queryset import QuerySet

from helpline.core.db import is_postgres
from helpline.core.models import Ticket, TicketTag
from helpline.core.rows import Row, fetch_rows
from helpline.core.tickets import tags_of

TICKET_JOINS = ("requester", "assignee", "team")
TICKET_PREFETCHES = ("tag_rows",)


def _tag_list() -> RawSQL:
    """The ticket's tags as one space-separated string (tags never contain spaces), per row."""
    aggregate = "string_agg(name, ' ')" if is_postgres() else "group_concat(name, ' ')"
    table = TicketTag._meta.db_table
    return RawSQL(f'(SELECT {aggregate} FROM "{table}" WHERE "{table}"."ticket_id" = "{Ticket._meta.db_table}"."id")')


async def load_ticket_rows(queryset: QuerySet[Ticket], *, with_total: bool = False) -> list[Row]:
    """The tickets of ``queryset`` (as filtered, ordered and limited) as rows with their relations
    and tags, in one SQL statement. Use it for every list of tickets that is only read, plugins'
    included. ``with_total``: each row also carries ``page_total``, the number of tickets the
    queryset matches without its limit (see :func:`~helpline.core.rows.fetch_rows`)."""
    rows = await fetch_rows(queryset, TICKET_JOINS, {"tag_list": _tag_list()}, with_total=with_total)
    for row in rows:
        listed = row.tag_list  # type: ignore[attr-defined]
        row.tag_names = sorted(listed.split(" ")) if listed else []  # type: ignore[attr-defined]
    return rows


def with_ticket_relations(queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
    """``queryset`` loading what ``Ticket``'s fields read, for when models are needed (to change
    them): requester, assignee and team joined in, tags in one more query for the whole list."""
    return queryset.select_related(*TICKET_JOINS).prefetch_related(*TICKET_PREFETCHES)


def ticket_tags(ticket: Any) -> Any:
    """The sorted tag names of a ticket row or model: from what was loaded with it, else one query
    (an awaitable, which GraphQL awaits)."""
    names = getattr(ticket, "tag_names", None)
    if names is not None:
        return names
    if isinstance(ticket, Ticket) and ticket.tag_rows._fetched:
        return sorted(row.name for row in ticket.tag_rows)
    return tags_of(ticket.id)
