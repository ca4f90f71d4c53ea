"""Count the SQL statements Tortoise sends, by listening to its ``tortoise.db_client`` logger.

Every Tortoise 1.1 client logs each statement it executes at DEBUG on ``tortoise.db_client`` just
before running it: ``execute_insert``, ``execute_many``, ``execute_query`` and
``execute_query_dict`` log ``"%s: %s"`` with ``(sql, values)``, and ``execute_script`` logs the
SQL itself. Connection set-up and tear-down are logged there too ("Created connection ...",
"Closed connection ..."); those are not statements and are skipped. Transaction control
(BEGIN/COMMIT/ROLLBACK/SAVEPOINT) goes straight to the driver without a log line, so it is not
counted.

No method is patched: the helper adds a handler and lowers the logger's level for the duration of
the ``with`` block, then puts both back. It counts what the whole process executes, so measure one
request at a time.

::

    with count_sql() as statements:
        await client.post("/graphql", json={"query": QUERY})
    print(statements.count, statements.sql)
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

DB_CLIENT_LOGGER = "tortoise.db_client"
_NOT_STATEMENTS = ("Created connection", "Closed connection")


class StatementLog(logging.Handler):
    """A logging handler that keeps the SQL text of every statement Tortoise executes."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.sql: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the statement of ``record``; ignore connection messages."""
        if record.msg == "%s: %s" and isinstance(record.args, tuple) and record.args:
            self.sql.append(str(record.args[0]))
            return
        message = record.getMessage()
        if not message.startswith(_NOT_STATEMENTS):
            self.sql.append(message)

    @property
    def count(self) -> int:
        """How many statements were executed."""
        return len(self.sql)

    def clear(self) -> None:
        """Forget the statements seen so far."""
        self.sql.clear()


@contextlib.contextmanager
def count_sql(logger_name: str = DB_CLIENT_LOGGER) -> Iterator[StatementLog]:
    """Record every SQL statement executed inside the block (``.count``, ``.sql``).

    The logger stops propagating meanwhile, so the DEBUG lines do not reach the root handlers.
    """
    logger = logging.getLogger(logger_name)
    handler = StatementLog()
    previous_level, previous_propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous_level)
        logger.propagate = previous_propagate
