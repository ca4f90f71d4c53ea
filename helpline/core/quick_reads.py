"""Short reads on SQLite straight from the event loop's thread, without aiosqlite's worker thread.

Tortoise runs every SQLite statement on aiosqlite's worker thread: the loop hands the statement
over, the worker wakes, takes the GIL, runs it, and hands the rows back. For a list page whose
statement runs in a quarter of a millisecond, those hand-overs cost more than the statement, and
the loop idles while every request waits for the one worker. Measured with
``benchmarks/bench_api.py`` (10,000 tickets, 50-ticket page, one uvicorn worker; see
benchmarks/README.md): about 5.3 ms of server CPU per request and 10% idle through the worker,
about 4.3 ms and none with :func:`select`, and the share of the bare schema's throughput from
0.56 to 0.72.

:func:`select` runs a read on a second, read-only connection to the same database file, opened on
the loop's thread and kept per Tortoise client. Where it does not apply, the statement goes the
usual way (``execute_query``), so callers need not care:

- not SQLite, an in-memory database (a second connection would open another, empty database), or
  another thread than the one the connection was opened on;
- inside a transaction (``connection()`` is then a transaction's client, which is not the plain
  ``SqliteClient``): a transaction's reads must see its own uncommitted writes, which only its own
  connection does;
- a statement that runs past :data:`STEP_BUDGET` (about 2 ms): SQLite interrupts it, it runs
  again on the worker thread, and that statement text goes there directly from then on. While a
  read runs here the loop serves nothing else; a customer's list over a million tickets must not
  stall every other request (``/healthz`` included) for a quarter of a second. Counting a whole
  table is a single step, which no budget interrupts: a statement that took longer than
  :data:`SLOW_SECONDS` three times goes to the worker thread as well;
- any other SQLite error, including ``SQLITE_BUSY`` (the busy timeout is 0, so the loop never
  waits for a lock): the usual path runs the statement again, and waits or raises Tortoise's error.

Writers keep their turn: while the worker's connection is busy (a write transaction holds the
client's lock), a read waits for it, as every read did before; and each read first yields one
turn of the loop, as the worker's round trip did. So what a read sees is what it saw before: the
database as last committed once this process's write under way has ended, each statement its own
read transaction (Tortoise opens SQLite in WAL mode). A write by another process (an import, a
second server) does not make it wait: WAL readers never wait for writers.

Read connections are closed by :func:`close_readers` before the database itself, so that the last
connection to close is Tortoise's, and SQLite folds the WAL file back into the database file: a
copy of the file alone, after the server stopped, holds everything.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
import threading
import time
import weakref
from collections.abc import Sequence
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.sqlite.client import SqliteClient
from tortoise.log import db_client_logger

# A read may take this many SQLite VM steps on the loop's thread (about 2 ms: SQLite runs 40 to 60
# million steps a second here); past it, it is interrupted and runs on the worker thread instead.
# (Counting a whole table is one step whatever its size, about 10-20 ms per million rows: see
# SLOW_SECONDS for those.)
STEP_BUDGET = 100_000
_STEPS_PER_CHECK = 1_000
# Statements once interrupted go straight to the worker thread (bounded: the oldest go first).
MAX_SLOW_STATEMENTS = 512


@dataclasses.dataclass
class _Reader:
    """A read connection, the thread it belongs to, and the steps its current statement has taken."""

    connection: sqlite3.Connection
    thread: int
    writer_lock: asyncio.Lock  # the Tortoise client's: held by a statement or transaction on its connection
    checks: int = 0

    def over_budget(self) -> bool:
        """SQLite's progress handler: a true answer interrupts the statement."""
        self.checks += 1
        return self.checks * _STEPS_PER_CHECK > STEP_BUDGET

    def run(self, sql: str, params: Sequence[Any]) -> list[Any]:
        self.checks = 0
        return self.connection.execute(sql, params).fetchall()


# A statement that ran longer than this on the loop's thread STRIKES times goes to the thread too.
SLOW_SECONDS = 0.01
STRIKES = 3

_readers: weakref.WeakKeyDictionary[SqliteClient, _Reader] = weakref.WeakKeyDictionary()
_slow: dict[str, None] = {}
_strikes: dict[str, int] = {}


def _remember(known: dict[str, Any], sql: str, value: Any = None) -> None:
    """Put ``sql`` in a bounded map of statements: the oldest go first."""
    if sql not in known and len(known) >= MAX_SLOW_STATEMENTS:
        del known[next(iter(known))]
    known[sql] = value


def _reader(db: BaseDBAsyncClient) -> _Reader | None:
    """The read connection for ``db`` on this thread, opened on first use; ``None`` where it does not apply."""
    if type(db) is not SqliteClient or db._connection is None or db.filename in ("", ":memory:"):
        return None
    thread = threading.get_ident()
    known = _readers.get(db)
    if known is not None:
        return known if known.thread == thread else None
    # check_same_thread off only so that close_readers() and the finalizer may close it from anywhere:
    # statements run on the thread that opened it (checked above).
    connection = sqlite3.connect(db.filename, isolation_level=None, check_same_thread=False)
    connection.row_factory = sqlite3.Row
    connection.execute("PRAGMA query_only = ON")  # a write sent here by mistake fails, then takes the usual path
    connection.execute("PRAGMA busy_timeout = 0")
    reader = _readers[db] = _Reader(connection, thread, db._lock)
    connection.set_progress_handler(reader.over_budget, _STEPS_PER_CHECK)
    # Closed with the database by close_readers(); this is for a client dropped without that.
    weakref.finalize(db, connection.close)
    return reader


async def select(db: BaseDBAsyncClient, sql: str, params: Sequence[Any]) -> Sequence[Any]:
    """The rows of the read ``sql`` with ``params`` on ``db``: on SQLite outside a transaction from the
    read connection (see the module docstring), else through ``db.execute_query``.

    Rows read like Tortoise's raw rows: by column name (``row["id"]``), by position, and ``keys()``.
    The statement is logged to ``tortoise.db_client`` as Tortoise logs its own (statement counts in
    tests see it).
    """
    reader = None if sql in _slow else _reader(db)
    if reader is not None:
        # Writers first: while the worker's connection is busy (a write transaction holds its lock),
        # reads wait for it as they did when they went through that connection, and each read yields
        # one turn of the loop as the worker's round trip did. Without both, reads that never wait
        # took the loop from a write's statements: measured with 1 client creating tickets and 4
        # listing, 3x fewer writes than before the read connection; with both, more of both.
        await asyncio.sleep(0)
        if reader.writer_lock.locked():
            async with reader.writer_lock:
                pass
        db_client_logger.debug("%s: %s", sql, params)
        started = time.perf_counter()
        try:
            rows = reader.run(sql, params)
        except sqlite3.OperationalError as exc:
            if str(exc) == "interrupted":  # over the step budget: this statement runs on the thread from now on
                _remember(_slow, sql)
        except sqlite3.Error:
            pass  # busy, or a real error: the usual path runs it again and raises Tortoise's error
        else:
            # Counting a whole table is one step (no budget check); a statement that took long
            # anyway, three times (one slow run may be the machine's doing), goes to the thread too.
            if time.perf_counter() - started > SLOW_SECONDS:
                strikes = _strikes.get(sql, 0) + 1
                _remember(_strikes, sql, strikes)
                if strikes >= STRIKES:
                    _remember(_slow, sql)
            return rows
    _count, thread_rows = await db.execute_query(sql, list(params))
    return thread_rows


def close_readers() -> None:
    """Close every read connection (``open_database`` calls this before closing the database, so that
    SQLite's last connection to close is Tortoise's own, which folds the WAL file back into the
    database file). Readers are a cache: one still needed is opened again on its next read."""
    for db, reader in list(_readers.items()):
        del _readers[db]
        reader.connection.close()
