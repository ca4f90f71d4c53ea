"""PostgreSQL connections as Helpline pools them: no reset query when a connection goes back.

asyncpg's pool resets every connection it takes back with ``SELECT pg_advisory_unlock_all();
CLOSE ALL; UNLISTEN *; RESET ALL``: a round trip to the server after every statement Tortoise runs
outside a transaction (Tortoise takes a connection from the pool per statement). A list page is
two statements, so two of its four round trips were resets: measured with
``benchmarks/bench_api.py`` on PostgreSQL, the page's share of the bare schema's throughput went
from 0.59-0.64 to 0.67 without them (server CPU per request alike; the resets cost the database
server's time on the same machine and the request's wait).

Nothing Helpline does leaves session state on a pooled connection: its advisory lock
(migrations) is ``pg_advisory_xact_lock``, released with the transaction; ``LISTEN`` has a
connection of its own (:mod:`helpline.core.live`); it never ``SET``\\ s a session setting (the
schema comes with the connection's start-up settings, which ``RESET ALL`` keeps anyway) nor
declares a cursor ``WITH HOLD``. That is the rule PgBouncer's transaction pooling sets too, and it
binds plugins: keep session state inside a transaction (``SET LOCAL``, transaction-level advisory
locks), or on a connection of your own. asyncpg still rolls back a transaction left open and
drops listeners when a connection comes back (its ``_reset``, which runs before the query).
"""

from __future__ import annotations

import asyncpg


class PooledConnection(asyncpg.Connection):  # type: ignore[misc]
    """An asyncpg connection whose return to the pool sends nothing to the server."""

    def get_reset_query(self) -> str:
        """No reset query (see the module docstring): asyncpg runs none when this is empty."""
        return ""
