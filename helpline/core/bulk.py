"""Writing many rows of one model with one prepared statement.

Tortoise's ``bulk_update`` builds a CASE expression per batch; a help desk's batch writes (an
import batch's metrics, a recompute's clocks) are better served by one prepared ``UPDATE ... WHERE
pk = ?`` run with ``executemany``: the cost per row is a parameter row, not a statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tortoise.models import Model

from helpline.core.db import placeholder


async def update_many(objects: Sequence[Model], fields: Sequence[str]) -> None:
    """Write ``fields`` of existing ``objects`` (all of one model), keyed by primary key.

    Runs on the model's connection (the current transaction's, if any) with the SQL and value
    conversions of Tortoise's own executor, so values are stored exactly as ``save()`` would.
    """
    if not objects:
        return
    model = type(objects[0])
    client = model._choose_db(True)
    executor = client.executor_class(model=model, db=client)
    sql = executor.get_update_sql(list(fields), None)
    columns = [(name, model._meta.fields_map[name]) for name in fields]
    pk_field = model._meta.fields_map[model._meta.pk_attr]
    rows = [
        [field.to_db_value(getattr(obj, name), obj) for name, field in columns] + [pk_field.to_db_value(obj.pk, obj)]
        for obj in objects
    ]
    await client.execute_many(sql, rows)


async def update_by_key(
    model: type[Model], fields: Sequence[str], keys: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Write ``fields`` of the rows of ``model`` found by ``keys``: each of ``rows`` holds the
    fields' new values, then the keys' values (Python values, converted as ``save()`` would).

    For tables whose rows the caller knows by a natural key rather than by primary key (the
    importer's state, by source and key): one prepared UPDATE run for all rows.
    """
    if not rows:
        return
    client = model._choose_db(True)
    meta = model._meta
    names = [*fields, *keys]
    columns = [meta.fields_map[name] for name in names]
    marks = [placeholder(position) for position in range(1, len(names) + 1)]
    assignments = ", ".join(
        f'"{meta.fields_db_projection[name]}" = {mark}' for name, mark in zip(fields, marks, strict=False)
    )
    conditions = " AND ".join(
        f'"{meta.fields_db_projection[name]}" = {mark}' for name, mark in zip(keys, marks[len(fields) :], strict=True)
    )
    sql = f'UPDATE "{meta.db_table}" SET {assignments} WHERE {conditions}'
    values = [[field.to_db_value(value, model) for field, value in zip(columns, row, strict=True)] for row in rows]
    await client.execute_many(sql, values)


async def insert_many(objects: Sequence[Model], chunk_size: int = 500) -> None:
    """Insert new ``objects`` (all of one model, with a generated primary key) and set their ids.

    One multi-row ``INSERT ... RETURNING`` per ``chunk_size`` rows. Tortoise's ``bulk_create``
    leaves the ids unset on SQLite, and a batch's new rows (SLA clocks) are referenced by rows
    written after them (their history). Both databases number the rows of one such statement in
    the order they are listed (SQLite's rowid is the largest plus one, row after row; PostgreSQL
    takes the sequence's values row after row), so the returned ids, sorted, are the objects' in
    order (RETURNING itself promises no order).
    """
    if not objects:
        return
    model = type(objects[0])
    client = model._choose_db(True)
    meta = model._meta
    names = [name for name in meta.fields_db_projection if not meta.fields_map[name].generated]
    columns = ", ".join(f'"{meta.fields_db_projection[name]}"' for name in names)
    pk_column = meta.db_pk_column
    fields = [(name, meta.fields_map[name]) for name in names]
    # The markers are numbered on PostgreSQL: one placeholder() per value cost more than the values.
    numbered = placeholder(1) != "?"
    width = len(names)
    plain_row = "(" + ", ".join("?" * width) + ")"  # SQLite's markers are the same for every row
    for start in range(0, len(objects), chunk_size):
        chunk = objects[start : start + chunk_size]
        values: list[Any] = []
        rows = []
        for index, obj in enumerate(chunk):
            if numbered:
                rows.append("(" + ", ".join(f"${index * width + offset}" for offset in range(1, width + 1)) + ")")
            else:
                rows.append(plain_row)
            values.extend(field.to_db_value(getattr(obj, name), obj) for name, field in fields)
        sql = f'INSERT INTO "{meta.db_table}" ({columns}) VALUES {", ".join(rows)} RETURNING "{pk_column}"'
        returned = await client.execute_query_dict(sql, values)
        ids = sorted(int(row[pk_column]) for row in returned)
        if len(ids) != len(chunk):
            raise RuntimeError(f"inserted {len(chunk)} rows into {meta.db_table} but got {len(ids)} ids back")
        for obj, new_id in zip(chunk, ids, strict=True):
            obj.pk = new_id
            obj._saved_in_db = True
