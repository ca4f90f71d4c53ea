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
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any, Generic, TypeVar, overload

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


class KnownTotal:
    """Stands in for a queryset in :class:`Page` when the page's own statement counted the list."""

    def __init__(self, total: int) -> None:
        self.total = total

    async def count(self) -> int:
        """The total counted with the page."""
        return self.total


def selects_total(info: Any) -> bool:
    """Whether the connection field being resolved selects ``totalCount`` (fragments included),
    so that a list counts only when a client asks, and counts with its page when it does."""
    raw = info._raw_info

    def selects(selection_set: Any) -> bool:
        for node in selection_set.selections if selection_set is not None else ():
            kind = node.kind
            if kind == "field":
                if node.name.value == "totalCount":
                    return True
            elif kind == "inline_fragment":
                if selects(node.selection_set):
                    return True
            elif kind == "fragment_spread":
                fragment = raw.fragments.get(node.name.value)
                if fragment is not None and selects(fragment.selection_set):
                    return True
        return False

    return any(selects(node.selection_set) for node in raw.field_nodes)


@dataclasses.dataclass
class Page(Generic[ModelT]):
    """One page of rows, their cursors, and the unpaged queryset (for ``totalCount``)."""

    rows: list[ModelT]
    cursors: Sequence[str]
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


def encode_cursor(order_value: Any, pk: int, ordering: str = "id") -> str:
    """An opaque cursor for the row with ordering value ``order_value`` and id ``pk`` in a list
    ordered by ``ordering`` (the field, ``-`` first when descending): a cursor continues only a
    list in the same order; in another, "after this row" would skip or repeat rows."""
    return base64.urlsafe_b64encode(json.dumps([_plain(order_value), pk, ordering]).encode()).decode()


MAX_CURSOR_LENGTH = 200
MAX_INT = 2**31 - 1


def _checked_int(value: Any) -> int:
    if type(value) is not int or not -MAX_INT <= value <= MAX_INT:
        raise ValueError("not a 32-bit integer")
    return value


def decode_cursor(cursor: str, is_datetime: bool, ordering: str = "id") -> tuple[Any, int]:
    """Reverse :func:`encode_cursor`; BAD_USER_INPUT for anything else (forged values included:
    the ordering value must have the ordering column's type, the id must be a 32-bit integer),
    and for a cursor of a list in another order than ``ordering``."""
    try:
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise ValueError("too long")
        value, pk, cursor_ordering = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
        if cursor_ordering != ordering:
            raise ValueError("another ordering")
        if is_datetime:
            if not isinstance(value, str):
                raise ValueError("not a time")
            value = dt.datetime.fromisoformat(value)
            if value.tzinfo is None or not 1900 <= value.year <= 9000:
                raise ValueError("not a stored time")
            # In UTC, as stored: SQLite compares the stored text, and the same instant written
            # with another offset would sort elsewhere.
            value = value.astimezone(dt.UTC)
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
    load: Callable[..., Awaitable[Sequence[Any]]] | None = None,
    total_with_page: bool = False,
) -> Page[Any]:
    """Fetch one page of ``queryset`` ordered by ``order_field`` then ``id`` (one SQL statement).

    ``load`` runs the page's query instead of awaiting it (e.g. to join relations in and return
    rows); the total count stays on the plain queryset. ``total_with_page`` (for a ``load`` that
    takes ``with_total=True`` and answers rows with ``page_total``, like
    :func:`~helpline.schema.ticket_rows.load_ticket_rows`): on a first page the same statement
    counts the list too, and an empty first page means none at all; later pages (``after``) count
    with a statement of their own, since their rows are filtered by the cursor.
    """
    size = page_size(runtime, first)
    paged = queryset
    prefix = "-" if descending else ""
    if after:
        value, pk = decode_cursor(after, is_datetime, prefix + order_field)
        # An enum column (priority) takes only its members: a forged number is bad input, not a
        # conversion error deep in the query builder.
        enum_type = getattr(queryset.model._meta.fields_map.get(order_field), "enum_type", None)
        if enum_type is not None and value not in enum_type._value2member_map_:
            raise BadInput(f"after: {after[:100]!r} is not a cursor from this list")
        op = "lt" if descending else "gt"
        if order_field == "id":
            paged = paged.filter(**{f"id__{op}": pk})
        else:
            paged = paged.filter(Q(**{f"{order_field}__{op}": value}) | Q(**{order_field: value, f"id__{op}": pk}))
    ordering = [f"{prefix}{order_field}"] + ([f"{prefix}id"] if order_field != "id" else [])
    # One row more than asked for tells whether there is a next page (also when 0 rows are asked for).
    paged = paged.order_by(*ordering).limit(size + 1)
    total: Any = queryset
    if load is None:
        rows = list(await paged)
    elif total_with_page and after is None:
        rows = list(await load(paged, with_total=True))
        total = KnownTotal(int(rows[0].page_total) if rows else 0)
    else:
        rows = list(await load(paged))
    has_next = len(rows) > size
    rows = rows[:size]
    cursors = Cursors(rows, order_field, prefix + order_field)
    return Page(
        rows=rows,
        cursors=cursors,
        has_next=has_next,
        has_previous=after is not None,
        total_queryset=total,
    )


class Cursors(Sequence[str]):
    """The cursors of a page's rows, each encoded when first read.

    Encoding is a JSON dump and a base64 per row: on a 50-ticket page about as much as the page's
    SQL, for clients that mostly read ``nodes`` and ``pageInfo`` (two cursors).
    """

    def __init__(self, rows: Sequence[Any], order_field: str, ordering: str) -> None:
        self.rows = rows
        self.order_field = order_field
        self.ordering = ordering
        self.encoded: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [self[position] for position in range(*index.indices(len(self.rows)))]
        position = index + len(self.rows) if index < 0 else index
        cursor = self.encoded.get(position)
        if cursor is None:
            row = self.rows[position]
            cursor = self.encoded[position] = encode_cursor(getattr(row, self.order_field), row.id, self.ordering)
        return cursor


class Edges(Sequence[Any]):
    """A connection's ``edges``, built when GraphQL reads them (most clients select ``nodes``)."""

    def __init__(self, edge_type: Any, page: Page[Any]) -> None:
        self.edge_type = edge_type
        self.page = page
        self.built: list[Any] | None = None

    def _edges(self) -> list[Any]:
        if self.built is None:
            page = self.page
            self.built = [
                self.edge_type(cursor=cursor, node=row) for row, cursor in zip(page.rows, page.cursors, strict=True)
            ]
        return self.built

    def __len__(self) -> int:
        return len(self.page.rows)

    @overload
    def __getitem__(self, index: int) -> Any: ...

    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...

    def __getitem__(self, index: int | slice) -> Any:
        return self._edges()[index]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._edges())


def connection(connection_type: Any, edge_type: Any, page: Page[Any]) -> Any:
    """Wrap a :class:`Page` in a GraphQL connection type (a :class:`CountedConnection` with edges and nodes).

    ``edges`` is an :class:`Edges` sequence, built only if the query reads it.
    """
    return connection_type(
        edges=Edges(edge_type, page), nodes=page.rows, page_info=page.page_info(), _total=page.total_queryset
    )
