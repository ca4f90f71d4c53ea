"""Cursor pagination (``first``/``after``) over querysets, by keyset rather than OFFSET.

A cursor encodes the last row's ordering value and id, so pages stay stable while rows are added,
and the database seeks with an index instead of counting past skipped rows. ``id`` breaks ties.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import enum
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

import strawberry
from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from helpline.core.errors import BadInput
from helpline.core.runtime import Runtime

ModelT = TypeVar("ModelT")


@strawberry.type(description="Where a page is in the whole list.")
class PageInfo:
    has_next_page: bool
    end_cursor: str | None
    start_cursor: str | None
    has_previous_page: bool


@strawberry.type(description="What every list has: where the page is, and how many match in all.")
class CountedConnection:
    page_info: PageInfo
    _total: strawberry.Private[Any]

    @strawberry.field(description="How many match, across all pages (counted only when asked for).")
    async def total_count(self) -> int:
        return await self._total.count()  # type: ignore[no-any-return]


@dataclasses.dataclass
class Page(Generic[ModelT]):
    """One page of rows, their cursors, and the unpaged queryset (for ``totalCount``)."""

    rows: list[ModelT]
    cursors: list[str]
    has_next: bool
    has_previous: bool
    total_queryset: QuerySet[Any]

    def page_info(self) -> PageInfo:
        """The GraphQL ``pageInfo`` of this page."""
        return PageInfo(
            has_next_page=self.has_next,
            has_previous_page=self.has_previous,
            start_cursor=self.cursors[0] if self.cursors else None,
            end_cursor=self.cursors[-1] if self.cursors else None,
        )


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return value


def encode_cursor(order_value: Any, pk: int) -> str:
    """An opaque cursor for the row with ordering value ``order_value`` and id ``pk``."""
    return base64.urlsafe_b64encode(json.dumps([_plain(order_value), pk]).encode()).decode()


MAX_CURSOR_LENGTH = 200
MAX_INT = 2**31 - 1


def _checked_int(value: Any) -> int:
    if type(value) is not int or not -MAX_INT <= value <= MAX_INT:
        raise ValueError("not a 32-bit integer")
    return value


def decode_cursor(cursor: str, is_datetime: bool) -> tuple[Any, int]:
    """Reverse :func:`encode_cursor`; BAD_USER_INPUT for anything else (forged values included:
    the ordering value must have the ordering column's type, the id must be a 32-bit integer)."""
    try:
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise ValueError("too long")
        value, pk = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
        if is_datetime:
            if not isinstance(value, str):
                raise ValueError("not a time")
            value = dt.datetime.fromisoformat(value)
            if value.tzinfo is None or not 1900 <= value.year <= 9000:
                raise ValueError("not a stored time")
        else:
            value = _checked_int(value)
        return value, _checked_int(pk)
    except (binascii.Error, UnicodeError, ValueError, TypeError, RecursionError, OverflowError):
        raise BadInput(f"after: {cursor[:100]!r} is not a cursor from this list") from None


def page_size(runtime: Runtime, first: int | None) -> int:
    """``first`` checked against the configured cap (default when omitted)."""
    if first is None:
        return runtime.settings.default_page_size
    if first < 0 or first > runtime.settings.max_page_size:
        raise BadInput(f"first must be between 0 and {runtime.settings.max_page_size}, not {first}")
    return first


async def paginate(
    runtime: Runtime,
    queryset: QuerySet[Any],
    *,
    first: int | None,
    after: str | None,
    order_field: str = "id",
    descending: bool = False,
    is_datetime: bool = False,
    load: Callable[[QuerySet[Any]], Awaitable[Sequence[Any]]] | None = None,
) -> Page[Any]:
    """Fetch one page of ``queryset`` ordered by ``order_field`` then ``id`` (one SQL statement).

    ``load`` runs the page's query instead of awaiting it (e.g. to join relations in and return
    rows); the total count stays on the plain queryset.
    """
    size = page_size(runtime, first)
    paged = queryset
    if after:
        value, pk = decode_cursor(after, is_datetime)
        op = "lt" if descending else "gt"
        if order_field == "id":
            paged = paged.filter(**{f"id__{op}": pk})
        else:
            paged = paged.filter(Q(**{f"{order_field}__{op}": value}) | Q(**{order_field: value, f"id__{op}": pk}))
    prefix = "-" if descending else ""
    ordering = [f"{prefix}{order_field}"] + ([f"{prefix}id"] if order_field != "id" else [])
    # One row more than asked for tells whether there is a next page (also when 0 rows are asked for).
    paged = paged.order_by(*ordering).limit(size + 1)
    rows = list(await load(paged)) if load is not None else list(await paged)
    has_next = len(rows) > size
    rows = rows[:size]
    cursors = [encode_cursor(getattr(row, order_field), row.id) for row in rows]
    return Page(
        rows=rows,
        cursors=cursors,
        has_next=has_next,
        has_previous=after is not None,
        total_queryset=queryset,
    )


def connection(connection_type: Any, edge_type: Any, page: Page[Any]) -> Any:
    """Wrap a :class:`Page` in a GraphQL connection type (a :class:`CountedConnection` with edges and nodes)."""
    edges = [edge_type(cursor=cursor, node=row) for row, cursor in zip(page.rows, page.cursors, strict=True)]
    return connection_type(edges=edges, nodes=page.rows, page_info=page.page_info(), _total=page.total_queryset)
