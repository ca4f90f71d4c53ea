"""Read-only row snapshots: a query's rows without building a Tortoise model per row.

Building a Tortoise model converts every column of every row up front (timestamps, enums, JSON)
and, with ``select_related``, also every column of every joined row. On a 50-ticket page with its
requester, assignee and team that is about 200 models and most of the page's cost, although GraphQL
reads only a handful of columns. A :class:`Row` keeps the database's raw row and converts a column
only when it is read, with the model's own field converters, so it reads exactly like the model:
``row.status`` is a ``Status``, ``row.created_at`` an aware UTC ``datetime``, ``row.requester`` a
row of the requester (or ``None``).

Rows are snapshots for reading. They have no ``save()``; every change goes through the core
services, which load the model they change. Use :func:`fetch_rows` for lists that are only read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from tortoise.expressions import RawSQL, Subquery
from tortoise.models import Model
from tortoise.queryset import QuerySet

from helpline.core.quick_reads import select

Converter = Callable[[Any], Any]


class Row:
    """One database row of ``model``, its columns converted on access (see the module docstring).

    ``model`` is the Tortoise model the row belongs to; attributes are the model's field names
    (``id``, ``status``, ``requester_id``...) and, where the query joined them, its relations.
    """

    __slots__ = ("__dict__", "_values")
    model: ClassVar[type[Model]]

    def __init__(self, values: Any) -> None:
        self._values = values

    def __repr__(self) -> str:
        return f"<{type(self).__name__} id={getattr(self, 'id', None)!r}>"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.id == self.id  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self), self.id))  # type: ignore[attr-defined]


def _converter(model: type[Model], field_name: str) -> Converter | None:
    """How Tortoise turns this column's raw value into the model's attribute (None: as it is, which
    is also how annotations the query added come)."""
    meta = model._meta
    for _key, model_field, _field in meta.db_native_fields:
        if model_field == field_name:
            return None
    for _key, model_field, field in meta.db_default_fields:
        if model_field == field_name:
            return _enum_converter(field.field_type) or _typed(field.field_type)
    for _key, model_field, field in meta.db_complex_fields:
        if model_field == field_name:
            # Tortoise's enum fields (CharEnumField, IntEnumField) are "complex": their converter
            # is ``enum_type(value)``, the same lookup done the slow way.
            enum_type = getattr(field, "enum_type", None)
            return (_enum_converter(enum_type) if enum_type is not None else None) or field.to_python_value
    return None


def _typed(field_type: Callable[[Any], Any]) -> Converter:
    return lambda value: value if value is None else field_type(value)


def _enum_converter(field_type: Any) -> Converter | None:
    """For an enum type, a dict lookup of the stored value (``Enum(value)``, a metaclass call, costs
    several times more, and a page converts a few hundred); unknown values still raise there."""
    members = getattr(field_type, "_value2member_map_", None)
    if members is None:
        return None
    return lambda value: value if value is None else (members.get(value) or field_type(value))


def _column(index: int, convert: Converter | None) -> property:
    if convert is None:
        return property(lambda row: row._values[index])
    return property(lambda row: convert(row._values[index]))


def _relation(row_class: type[Row], key_index: int) -> property:
    def related(row: Row) -> Row | None:
        values = row._values
        return None if values[key_index] is None else row_class(values)

    return property(related)


_row_classes: dict[tuple[Any, ...], type[Row]] = {}


def _row_class(
    model: type[Model], columns: dict[str, int], relations: dict[str, tuple[type[Row], int]], name_suffix: str = ""
) -> type[Row]:
    """The row class reading ``model``'s fields at ``columns`` (field name -> index in the raw row)."""
    cache_key = (
        model,
        tuple(sorted(columns.items())),
        tuple(sorted((k, v[1], id(v[0])) for k, v in relations.items())),
    )
    cached = _row_classes.get(cache_key)
    if cached is not None:
        return cached
    namespace: dict[str, Any] = {"__slots__": (), "model": model}
    for field_name, index in columns.items():
        namespace[field_name] = _column(index, _converter(model, field_name))
    for relation, (related_class, key_index) in relations.items():
        namespace[relation] = _relation(related_class, key_index)
    row_class = type(f"{model.__name__}Row{name_suffix}", (Row,), namespace)
    _row_classes[cache_key] = row_class
    return row_class


def _column_names(model: type[Model]) -> dict[str, str]:
    """Database column -> field name, for the model's stored columns."""
    return {column: name for name, column in model._meta.fields_db_projection.items()}


def _layout(model: type[Model], keys: Sequence[str], joins: Sequence[str]) -> type[Row]:
    """Row classes for a result whose column names are ``keys`` (as Tortoise's select_related names them).

    The model's own columns come by their names; a joined model's as ``"<table>__<relation>.<column>"``.
    """
    own: dict[str, int] = {}
    joined: dict[str, dict[str, int]] = {relation: {} for relation in joins}
    column_to_field = _column_names(model)
    for index, key in enumerate(keys):
        if "." in key:
            prefix, column = key.rsplit(".", 1)
            relation = prefix.rsplit("__", 1)[-1]
            related_model = model._meta.fields_map[relation].related_model  # type: ignore[attr-defined]
            related_columns = _column_names(related_model)
            joined[relation][related_columns.get(column, column)] = index
        else:
            own[column_to_field.get(key, key)] = index
    relations: dict[str, tuple[type[Row], int]] = {}
    for relation, columns in joined.items():
        related_model = model._meta.fields_map[relation].related_model  # type: ignore[attr-defined]
        related_class = _row_class(related_model, columns, {})
        relations[relation] = (related_class, columns["id"])
    return _row_class(model, own, relations)


@dataclasses.dataclass
class _Compiled:
    """The full SQL of one query shape, how many leading parameters it repeats, and its row class."""

    sql: str
    repeated: int = 0
    row_class: type[Row] | None = None


# Keyed by (model, joins, annotations, total or not, dialect, the plain query's SQL); bounded,
# the oldest shapes go first.
_compiled: dict[tuple[Any, ...], _Compiled] = {}
MAX_COMPILED_SHAPES = 512
TOTAL_COLUMN = "page_total"


def _built_sql(queryset: QuerySet[Any]) -> tuple[str, list[Any]]:
    """Tortoise's parameterized SQL for ``queryset`` (built on a clone: the caller's stays as it is)."""
    query = queryset._clone()
    query._choose_db_if_not_chosen()
    query._make_query()
    sql, params = query.query.get_parameterized_sql()
    return sql, list(params)


def _total_subquery(queryset: QuerySet[Any]) -> Subquery:
    """``SELECT COUNT(*)`` of ``queryset`` without its ordering, limit and offset."""
    unpaged = queryset._clone()
    unpaged._limit = None
    unpaged._offset = None
    unpaged._orderings = []
    # COUNT(*), not COUNT(id): SQLite counts index entries without reading each id (3x faster on
    # 10,000 tickets), and PostgreSQL skips the null test.
    return Subquery(unpaged.annotate(**{TOTAL_COLUMN: RawSQL("COUNT(*)")}).values(TOTAL_COLUMN))


async def fetch_rows(
    queryset: QuerySet[Any],
    joins: Sequence[str] = (),
    annotations: Mapping[str, RawSQL] | None = None,
    *,
    with_total: bool = False,
) -> list[Row]:
    """Run ``queryset`` (filters, ordering and limit as built) and return its rows as :class:`Row`\\ s.

    ``joins`` names foreign keys to join in, as ``select_related`` would: ``row.requester`` is then
    a row of the user. ``annotations`` adds parameterless SQL columns (``row.<name>``). With
    ``with_total``, every row also carries ``page_total``: how many rows the queryset matches
    without its limit (a scalar subquery, which both databases evaluate once; a list's
    ``totalCount`` then costs no statement of its own). One SQL statement, whatever the number of
    rows. Prefetches are not run.

    The statement is compiled once per query shape. Building a select_related query with pypika
    costs more than running it (measured 2.0 ms for a ticket page with three joins, 0.35 ms
    without them, against 0.6 ms to run it), and the joins and annotations are the same for every
    request: only the conditions, ordering and limit vary. So the query is built *without* them (the cheap part, which also yields this
    request's parameters), and that SQL text is the cache key: the same text means the same
    conditions in the same order, hence the same full statement with the parameters in the same
    places. The full statement is built the first time a key is seen and cached only if its
    parameters are the plain query's, preceded (with ``with_total``) by the total's, which must be
    the plain query's leading ones (the same conditions, without the limit); this is checked then.
    Otherwise the full statement is built for every request, as before the cache.
    (``COUNT(*) OVER ()`` was measured too: it makes both databases join every matching row before
    the limit, 100 times slower on a 10,000-ticket list.)
    """
    extra: dict[str, Any] = dict(annotations or {})
    plain_sql, params = _built_sql(queryset)
    db = queryset._db or queryset._choose_db()
    key = (
        queryset.model,
        tuple(joins),
        tuple((name, annotation.sql) for name, annotation in extra.items()),
        with_total,
        db.capabilities.dialect,
        plain_sql,
    )
    compiled = _compiled.get(key)
    if compiled is None:
        if with_total:
            extra[TOTAL_COLUMN] = _total_subquery(queryset)
        full = queryset.annotate(**extra) if extra else queryset
        sql, full_params = _built_sql(full.select_related(*joins) if joins else full)
        repeated = len(full_params) - len(params)
        if repeated < 0 or full_params != params[:repeated] + params or (repeated and not with_total):
            raw_rows = await select(db, sql, full_params)
            return _as_rows(queryset.model, joins, raw_rows)
        if len(_compiled) >= MAX_COMPILED_SHAPES:
            del _compiled[next(iter(_compiled))]
        compiled = _compiled[key] = _Compiled(sql, repeated)
    repeated = compiled.repeated
    raw_rows = await select(db, compiled.sql, params[:repeated] + params if repeated else params)
    if not raw_rows:
        return []
    if compiled.row_class is None:
        compiled.row_class = _layout(queryset.model, list(raw_rows[0].keys()), joins)
    row_class = compiled.row_class
    return [row_class(values) for values in raw_rows]


def _as_rows(model: type[Model], joins: Sequence[str], raw_rows: Sequence[Any]) -> list[Row]:
    if not raw_rows:
        return []
    row_class = _layout(model, list(raw_rows[0].keys()), joins)
    return [row_class(values) for values in raw_rows]
