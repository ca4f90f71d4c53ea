"""Short reads on SQLite straight from the event loop's thread, without aiosqlite's worker thread.

Tortoise runs every SQLite statement on aiosqlite's worker thread: the loop hands the statement
over, the worker wakes, takes the GIL, runs it, and hands the rows back. For a list page whose
statement runs in a quarter of a millisecond, those hand-overs cost more than the statement: the
worker waits for the GIL while the loop executes other requests' GraphQL, and the loop then idles
waiting for the worker. Measured with ``benchmarks/bench_api.py`` (10,000 tickets, 50-ticket
page, one uvicorn worker): the server used 5.3 ms of CPU per request and stayed 10% idle with the
thread; 4.2 ms and no idle time with :func:`select`, and 40% more requests per second.

:func:`select` runs a read on a second, read-only connection to the same database file, opened
on the loop's thread and kept per Tortoise client. Where it does not apply, the statement goes the
usual way (``execute_query``), so callers need not care:

- not SQLite, an in-memory database (a second connection would open another, empty database), or
  another thread than the one the connection was opened on;
- inside a transaction (``connection()`` is then a transaction's client, which is not the plain
  ``SqliteClient``): a transaction's reads must see its own uncommitted writes, which only its own
  connection does;
- any SQLite error, including ``SQLITE_BUSY`` (the busy timeout is 0, so the loop never waits for a
  lock): the usual path then runs the statement again, and waits or raises Tortoise's own error.

What a read sees: the database as last committed, like any reader of a WAL database (Tortoise
opens SQLite in WAL mode, where readers never block writers nor wait for them), and like a
PostgreSQL read from the pool. Each statement is its own read transaction: it ends when its rows
are fetched, so the next read sees the next commit.

Use it for short statements only (a page bounded by its LIMIT, a lookup by key): while it runs,
the loop serves nothing else. A page's ``totalCount`` is part of its statement; counting 1,000,000
matching tickets takes about 20 ms on SQLite.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import weakref
from collections.abc import Sequence
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.sqlite.client import SqliteClient
from tortoise.log import db_client_logger

_readers: weakref.WeakKeyDictionary[SqliteClient, tuple[int, sqlite3.Connection]] = weakref.WeakKeyDictionary()


def _reader(db: BaseDBAsyncClient) -> sqlite3.Connection | None:
    """The read connection for ``db`` on this thread, opened on first use; ``None`` where it does not apply."""
    if type(db) is not SqliteClient or db._connection is None or db.filename in ("", ":memory:"):
        return None
    thread = threading.get_ident()
    known = _readers.get(db)
    if known is not None:
        return known[1] if known[0] == thread else None
    reader = sqlite3.connect(db.filename, isolation_level=None)
    reader.row_factory = sqlite3.Row
    reader.execute("PRAGMA query_only = ON")  # a write sent here by mistake fails, then takes the usual path
    reader.execute("PRAGMA busy_timeout = 0")
    _readers[db] = (thread, reader)
    return reader


async def select(db: BaseDBAsyncClient, sql: str, params: Sequence[Any]) -> Sequence[Any]:
    """The rows of the read ``sql`` with ``params`` on ``db``: on SQLite outside a transaction from the
    read connection (see the module docstring), else through ``db.execute_query``.

    Rows read like Tortoise's raw rows: by column name (``row["id"]``), by position, and ``keys()``.
    The statement is logged to ``tortoise.db_client`` as Tortoise logs its own (statement counts in
    tests see it).
    """
    reader = _reader(db)
    if reader is not None:
        db_client_logger.debug("%s: %s", sql, params)
        try:
            return reader.execute(sql, params).fetchall()
        except sqlite3.Error:
            pass  # busy, or a real error: the usual path runs it again and raises Tortoise's error
    _count, rows = await db.execute_query(sql, list(params))
    return rows


def close_readers() -> None:
    """Close the read connections of clients whose own connection is closed (``open_database`` calls
    this when it closes the database)."""
    for db, (_thread, reader) in list(_readers.items()):
        if db._connection is None:
            del _readers[db]
            with contextlib.suppress(sqlite3.ProgrammingError):  # opened on another thread: freed when collected
                reader.close()
