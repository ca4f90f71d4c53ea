"""Short reads (helpline.core.quick_reads): what they see, where they apply, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import tempfile

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


async def test_a_transaction_reads_its_own_writes_and_others_read_the_commit_without_waiting(
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
        # Before the short reads, SQLite's reader waited for this transaction's lock: a deadlock here.
        done, _pending = await asyncio.wait({reader}, timeout=30)
        assert reader in done, "a read outside the transaction waited for the transaction"
        assert reader.result() == "before"
    assert await read_subject(number) == "uncommitted"


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
    _thread, reader = quick_reads._readers[db]
    with pytest.raises(Exception, match="readonly"):
        reader.execute('DELETE FROM "helpline_ticket"')  # the read connection cannot write


async def test_sqlite_readers_close_with_the_database_and_memory_databases_have_none() -> None:
    plugins = load_plugins(("core",))
    with tempfile.TemporaryDirectory(prefix="helpline-quick-") as folder:
        async with open_database(plugins, f"sqlite://{folder}/quick.db", global_fallback=False):
            db = connection()
            assert (await quick_reads.select(db, "SELECT 1 AS one", []))[0]["one"] == 1
            assert db in quick_reads._readers
        assert db not in quick_reads._readers
    async with open_database(plugins, "sqlite://:memory:", global_fallback=False):
        db = connection()
        assert (await quick_reads.select(db, "SELECT 2 AS two", []))[0]["two"] == 2
        assert db not in quick_reads._readers  # a second connection would open another, empty database
