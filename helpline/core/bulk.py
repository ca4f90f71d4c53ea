"""Writing many rows of one model with one prepared statement.

Tortoise's ``bulk_update`` builds a CASE expression per batch; a help desk's batch writes (an
import batch's metrics, a recompute's clocks) are better served by one prepared ``UPDATE ... WHERE
pk = ?`` run with ``executemany``: the cost per row is a parameter row, not a statement.
"""

from __future__ import annotations

from collections.abc import Sequence

from tortoise.models import Model


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
