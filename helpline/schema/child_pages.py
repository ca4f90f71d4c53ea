"""Pages of each ticket's children (messages, events) for many tickets at once.

A list of 100 tickets asking for ``messages(first: 20)`` must not run 100 queries. Per request,
one DataLoader per (child type, conditions, page size, cursor) collects the ticket ids, then one
windowed query (``ROW_NUMBER() OVER (PARTITION BY ticket_id ORDER BY id)``, on SQLite and
PostgreSQL alike) picks each ticket's page, one query loads those rows, and ``totalCount`` is one
grouped count, asked only when a client selects it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from strawberry.dataloader import DataLoader
from strawberry.types import Info
from tortoise.functions import Count
from tortoise.models import Model

from helpline.core.db import connection, placeholder
from helpline.schema.context import context_of, runtime_of
from helpline.schema.pagination import Page, decode_cursor, encode_cursor, page_size


async def _page_ids(
    model: type[Model], conditions: Mapping[str, Any], ticket_ids: Sequence[int], size: int, after_id: int | None
) -> list[int]:
    """Ids of the first ``size + 1`` children of each ticket, one statement for all tickets."""
    table = model._meta.db_table
    values: list[Any] = list(ticket_ids)
    where = [f"ticket_id IN ({', '.join(placeholder(i + 1) for i in range(len(values)))})"]
    for column, value in conditions.items():
        values.append(value)
        where.append(f"{column} = {placeholder(len(values))}")
    if after_id is not None:
        values.append(after_id)
        where.append(f"id > {placeholder(len(values))}")
    values.append(size + 1)
    # Table and column names come from our models and conditions, never from a request.
    sql = (
        f"SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY ticket_id ORDER BY id) AS position "
        f'FROM "{table}" WHERE {" AND ".join(where)}) AS ranked WHERE position <= {placeholder(len(values))}'
    )
    rows = await connection().execute_query_dict(sql, values)
    return [int(row["id"]) for row in rows]


def _pages_loader(model: type[Model], conditions: Mapping[str, Any], size: int, after_id: int | None) -> Any:
    async def load(ticket_ids: Sequence[int]) -> list[Page[Any]]:
        unique = list(dict.fromkeys(ticket_ids))
        ids = await _page_ids(model, conditions, unique, size, after_id)
        by_ticket: dict[int, list[Any]] = defaultdict(list)
        for row in await model.filter(id__in=ids).order_by("id") if ids else []:
            by_ticket[row.ticket_id].append(row)  # type: ignore[attr-defined]
        pages = {}
        for ticket_id in unique:
            rows = by_ticket[ticket_id]
            total = _TotalCount(model, conditions, ticket_id)
            pages[ticket_id] = Page(
                rows=rows[:size],
                cursors=[encode_cursor(row.id, row.id) for row in rows[:size]],
                has_next=len(rows) > size,
                has_previous=after_id is not None,
                total_queryset=total,
            )
        return [pages[ticket_id] for ticket_id in ticket_ids]

    return load


class _TotalCount:
    """Stands in for a queryset in :class:`Page`: ``count()`` goes through a batched grouped count."""

    def __init__(self, model: type[Model], conditions: Mapping[str, Any], ticket_id: int) -> None:
        self.model, self.conditions, self.ticket_id = model, conditions, ticket_id
        self.loader: DataLoader[int, int] | None = None

    async def count(self) -> int:
        assert self.loader is not None, "bound by child_page()"
        return await self.loader.load(self.ticket_id)


def _counts_loader(model: type[Model], conditions: Mapping[str, Any]) -> Any:
    async def load(ticket_ids: Sequence[int]) -> list[int]:
        rows = (
            await model.filter(ticket_id__in=list(set(ticket_ids)), **conditions)
            .annotate(total=Count("id"))
            .group_by("ticket_id")
            .values_list("ticket_id", "total")
        )
        counts = {int(ticket_id): int(total) for ticket_id, total in rows}
        return [counts.get(ticket_id, 0) for ticket_id in ticket_ids]

    return load


async def child_page(
    info: Info,
    model: type[Model],
    ticket_id: int,
    *,
    conditions: Mapping[str, Any],
    first: int | None,
    after: str | None,
) -> Page[Any]:
    """The page of ``model`` rows of ``ticket_id`` (oldest first) matching ``conditions`` (column
    equalities, e.g. ``{"internal": False}``), batched with every other ticket in the request."""
    size = page_size(runtime_of(info), first)
    after_id = decode_cursor(after, False)[1] if after else None
    key = f"{model.__name__}:{sorted(conditions.items())}"
    loaders = context_of(info).loaders
    pages = loaders.plugin_loader(
        f"core.pages:{key}:{size}:{after_id}", _pages_loader(model, conditions, size, after_id)
    )
    counts = loaders.plugin_loader(f"core.counts:{key}", _counts_loader(model, conditions))
    page: Page[Any] = await pages.load(ticket_id)
    page.total_queryset.loader = counts
    return page
