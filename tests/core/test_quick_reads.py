"""Short reads (helpline.core.quick_reads): what they see, where they apply, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sqlite3
import tempfile
from pathlib import Path

import pytest
from tortoise.exceptions import OperationalError

from helpline.core import quick_reads
from helpline.core.db import connection, is_postgres, open_database, transaction
from helpline.core.models import Ticket
from helpline.core.plugins import load_plugins
from helpline.testing import HelplineClient, TestUser, count_statements
from tests.core.test_tickets import create

SUBJECT = 'SELECT subject FROM "helpline_ticket" WHERE number = ?'


def subject_sql() -> str:
    return SUBJECT.replace("?", "$1") if is_postgres() else SUBJECT


async def read_subject(number: int) -> str:
    rows = await quick_reads.select(connection(), subject_sql(), [number])
    return str(rows[0]["subject"])


async def test_each_read_sees_the_last_commit(client: HelplineClient, customer: TestUser) -> None:
    number = (await create(client, customer, subject="first"))["number"]
    for subject in ("second", "third", "fourth"):
        assert await read_subject(number) != subject
        await Ticket.filter(number=number).update(subject=subject)
        assert await read_subject(number) == subject  # no read transaction is left open between reads


async def test_a_transaction_reads_its_own_writes_and_no_one_else_reads_them_before_the_commit(
    client: HelplineClient, customer: TestUser
) -> None:
    number = (await create(client, customer, subject="before"))["number"]
    go = asyncio.Event()

    async def outside_reader() -> str:  # created before the transaction: its context has none
        await go.wait()
        return await read_subject(number)

    reader = asyncio.create_task(outside_reader())
    async with transaction():
        await Ticket.filter(number=number).update(subject="uncommitted")
        assert await read_subject(number) == "uncommitted"  # the transaction's own connection
        go.set()
        if is_postgres():  # a snapshot of the last commit, at once
            done, _pending = await asyncio.wait({reader}, timeout=30)  # a guard against a deadlock only
            assert reader in done and reader.result() == "before"
        else:  # SQLite: a read waits for this process's write under way (writers are not starved by reads)
            for _turn in range(20):
                await asyncio.sleep(0)
            assert not reader.done()
    assert await reader == ("before" if is_postgres() else "uncommitted")  # SQLite's: read after the commit
    assert await read_subject(number) == "uncommitted"


async def test_a_long_read_leaves_the_loop_for_the_worker_thread_and_stays_there(client: HelplineClient) -> None:
    counting = (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000) SELECT COUNT(*) AS n FROM c"
    )
    short = "SELECT 41 + 1 AS n"
    assert (await quick_reads.select(connection(), counting, []))[0]["n"] == 200_000
    assert (await quick_reads.select(connection(), short, []))[0]["n"] == 42
    if not is_postgres():  # far past the step budget: interrupted, run again on the worker, remembered
        assert counting in quick_reads._slow and short not in quick_reads._slow


async def test_statements_are_counted_and_errors_are_tortoise_errors(
    client: HelplineClient, customer: TestUser
) -> None:
    number = (await create(client, customer, subject="counted"))["number"]
    with count_statements() as statements:
        assert await read_subject(number) == "counted"
    assert len(statements) == 1 and "helpline_ticket" in statements[0]
    with pytest.raises(OperationalError):
        await quick_reads.select(connection(), 'SELECT nope FROM "helpline_ticket"', [])


async def test_sqlite_reads_on_their_own_connection_closed_with_the_database(
    client: HelplineClient, customer: TestUser
) -> None:
    if is_postgres():
        pytest.skip("the read connection is SQLite's; PostgreSQL reads from its pool")
    number = (await create(client, customer))["number"]
    db = connection()
    await read_subject(number)
    assert db in quick_reads._readers
    reader = quick_reads._readers[db].connection
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        reader.execute('DELETE FROM "helpline_ticket"')  # the read connection cannot write


async def test_sqlite_readers_close_with_the_database_and_memory_databases_have_none() -> None:
    plugins = load_plugins(("core",))
    with tempfile.TemporaryDirectory(prefix="helpline-quick-") as folder:
        path = Path(folder) / "quick.db"
        async with open_database(plugins, f"sqlite://{path}", global_fallback=False):
            db = connection()
            await db.execute_script("CREATE TABLE kept (id INTEGER PRIMARY KEY); INSERT INTO kept VALUES (7)")
            assert (await quick_reads.select(db, "SELECT id FROM kept", []))[0]["id"] == 7
            assert db in quick_reads._readers
        assert not quick_reads._readers
        # Closed before Tortoise's connection, so that one folded the WAL file into the database:
        # a copy of the file alone (a backup of a stopped server) has everything.
        assert not path.with_name("quick.db-wal").exists()
        copy = Path(folder) / "copy.db"
        shutil.copy(path, copy)
        with contextlib.closing(sqlite3.connect(copy)) as copied:
            assert copied.execute("SELECT id FROM kept").fetchall() == [(7,)]
    async with open_database(plugins, "sqlite://:memory:", global_fallback=False):
        db = connection()
        assert (await quick_reads.select(db, "SELECT 2 AS two", []))[0]["two"] == 2
        assert db not in quick_reads._readers  # a second connection would open another, empty database


async def test_a_read_slow_three_times_goes_to_the_worker_thread(
    client: HelplineClient, customer: TestUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    if is_postgres():
        pytest.skip("the read connection is SQLite's")
    number = (await create(client, customer, subject="slow"))["number"]
    monkeypatch.setattr(quick_reads, "_slow", {})
    monkeypatch.setattr(quick_reads, "_strikes", {})
    monkeypatch.setattr(quick_reads, "SLOW_SECONDS", -1.0)  # every run counts as slow: what a huge COUNT(*) is
    for strike in (1, 2, 3):
        assert await read_subject(number) == "slow"
        assert quick_reads._strikes[SUBJECT] == strike
    assert SUBJECT in quick_reads._slow
    assert await read_subject(number) == "slow"  # on the worker thread now, same answer
    assert quick_reads._strikes[SUBJECT] == 3
