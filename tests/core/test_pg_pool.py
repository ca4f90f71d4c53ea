"""PostgreSQL's pooled connections go back to the pool without a reset query (helpline.core.pg_pool)."""

from __future__ import annotations

import pytest

from helpline.core.db import connection, is_postgres, transaction
from helpline.core.models import Ticket
from helpline.core.pg_pool import PooledConnection
from helpline.testing import HelplineClient, TestUser
from tests.core.test_tickets import create


async def test_pooled_connections_skip_the_reset_and_still_end_what_was_left_open(
    client: HelplineClient, customer: TestUser
) -> None:
    if not is_postgres():
        pytest.skip("PostgreSQL's pool (set HELPLINE_TEST_DATABASE_URL)")
    number = (await create(client, customer, subject="kept"))["number"]
    pool = connection()._pool  # type: ignore[attr-defined]
    async with pool.acquire() as raw:
        assert isinstance(raw, PooledConnection) and raw.get_reset_query() == ""
        # A transaction left open is still rolled back when the connection goes back (asyncpg's own
        # reset, which runs without a query of ours).
        await raw.execute("BEGIN")
        assert await raw.execute("UPDATE helpline_ticket SET subject = 'never committed'") == "UPDATE 1"
    for _reuse in range(5):  # whichever pooled connection serves these reads
        assert (await Ticket.get(number=number)).subject == "kept"
    async with transaction():
        assert await Ticket.filter(subject="never committed").count() == 0
