"""Batch mode of the ticket service: ticket rows, event log lines and assignment checks written
once per batch instead of once per change.

Inside :func:`helpline.core.db.all_or_nothing` (a batch of many changes that lands whole or not at
all: an import batch) :func:`helpline.core.tickets.update_ticket` and
:func:`~helpline.core.tickets.create_ticket` keep the tickets they read in a :class:`TicketWrites`,
the transaction's identity map. A change applies to the ticket object in memory (version and all)
and announces itself to plugins exactly as outside a batch, in order; the rows of the changed
tickets, their new event log lines and the team/assignee checks are written together when the
transaction flushes its deferred work, before any plugin's deferred work (plugins that read the
event log when they flush, such as the performance plugin, find it written). Outside a batch
nothing here is used: each change writes at once.

Why nothing is lost or overwritten:

- Every ticket enters the map through one read inside the transaction (``SELECT ... FOR UPDATE``
  on PostgreSQL: the row stays locked until commit), or is created in it.
- Each changed ticket's UPDATE carries the version that was read. On SQLite the number of rows
  the UPDATEs changed must equal the number of tickets (a concurrent writer would make it
  smaller, and SQLite refuses to upgrade a stale read transaction to a write anyway): otherwise
  CONFLICT, and the whole batch rolls back.
- An assignment that breaks the rules raises the same userError as outside a batch, at flush; the
  batch then rolls back whole (the importer retries such a batch change by change, which finds the
  row and skips it with that reason).

For plugin authors: hooks receive the ticket object as it is after the change. Inside a batch, a
hook that reads ``helpline_ticket`` or ``helpline_ticket_event`` rows with SQL sees them as of the
last flush: use the objects the hook is given, or ``await flush_ticket_writes()`` first.
"""

from __future__ import annotations

from collections.abc import Iterable

from helpline.core import db
from helpline.core.assignment import Pair, check_assignments
from helpline.core.errors import Conflict, NotFound
from helpline.core.models import Ticket, TicketEvent

WRITES_KEY = "core.ticket_writes"
# Every column update_ticket, add_message and merge_tickets may change (see tickets._apply).
TICKET_COLUMNS = (
    "subject",
    "status",
    "priority",
    "type",
    "category",
    "custom_fields",
    "team_id",
    "assignee_id",
    "merged_into_id",
    "solved_at",
    "closed_at",
    "version",
    "updated_at",
)
_CHUNK = 1000  # tickets per SELECT ... IN (...)


class TicketWrites:
    """The batch's tickets by id, what changed, and what is still to be written (see the module docstring)."""

    flush_order = -100  # before every plugin's deferred work: they may read what this writes

    def __init__(self) -> None:
        self.tickets: dict[int, Ticket] = {}
        self.stored_version: dict[int, int] = {}  # the version each ticket's row has in the database
        self.changed: dict[int, Ticket] = {}
        self.events: list[TicketEvent] = []
        self.assignments: set[Pair] = set()

    def holds(self, ticket: Ticket) -> bool:
        """Whether ``ticket`` is this batch's object for its id (changes to it are written at flush)."""
        return self.tickets.get(ticket.id) is ticket

    def add(self, ticket: Ticket) -> None:
        """Keep a ticket read (locked) or created in this transaction; its row holds ``ticket.version``."""
        self.tickets[ticket.id] = ticket
        self.stored_version[ticket.id] = ticket.version

    async def load(self, ticket_ids: Iterable[int]) -> None:
        """Read the tickets not held yet, in chunks, locking them on PostgreSQL."""
        missing = sorted({ticket_id for ticket_id in ticket_ids if ticket_id not in self.tickets})
        for start in range(0, len(missing), _CHUNK):
            queryset = Ticket.filter(id__in=missing[start : start + _CHUNK]).order_by("id")
            if db.is_postgres():
                queryset = queryset.select_for_update()
            for ticket in await queryset:
                self.add(ticket)

    async def ticket(self, ticket_id: int) -> Ticket:
        """The batch's object for ``ticket_id``, read (and locked) on first use; NOT_FOUND if none."""
        ticket = self.tickets.get(ticket_id)
        if ticket is None:
            await self.load([ticket_id])
            ticket = self.tickets.get(ticket_id)
            if ticket is None:
                raise NotFound(f"no ticket with id {ticket_id}")
        return ticket

    def changed_ticket(self, ticket: Ticket, events: Iterable[TicketEvent], *, row_changed: bool = True) -> None:
        """Note that ``ticket`` (held) changed and append its new event log lines, in order
        (``row_changed=False``: only events, as for a ticket just created)."""
        if row_changed:
            self.changed[ticket.id] = ticket
        self.events.extend(events)

    def check_assignment_later(self, team_id: int | None, assignee_id: int | None) -> None:
        """Check this team/assignee pair when the batch flushes."""
        if team_id is not None or assignee_id is not None:
            self.assignments.add((team_id, assignee_id))

    async def flush(self) -> None:
        """Check the assignments, write the changed tickets (version-checked) and the event log lines."""
        assignments, self.assignments = self.assignments, set()
        await check_assignments(assignments)
        changed, self.changed = self.changed, {}
        await self._write_tickets(list(changed.values()))
        events, self.events = self.events, []
        if events:
            await TicketEvent.bulk_create(events, batch_size=1000)

    async def _write_tickets(self, tickets: list[Ticket]) -> None:
        if not tickets:
            return
        meta = Ticket._meta
        columns = [(name, meta.fields_db_projection[name], meta.fields_map[name]) for name in TICKET_COLUMNS]
        assignments = ", ".join(
            f'"{column}" = {db.placeholder(position)}' for position, (_name, column, _field) in enumerate(columns, 1)
        )
        count = len(columns)
        sql = (
            f'UPDATE "helpline_ticket" SET {assignments} '
            f'WHERE "id" = {db.placeholder(count + 1)} AND "version" = {db.placeholder(count + 2)}'
        )
        rows = [
            [field.to_db_value(getattr(ticket, name), ticket) for name, _column, field in columns]
            + [ticket.id, self.stored_version[ticket.id]]
            for ticket in tickets
        ]
        client = db.connection()
        if db.is_postgres():
            # Every row was read FOR UPDATE in this transaction: nobody else can have moved its version.
            await client.execute_many(sql, rows)
        else:
            # The connection itself, to read its change counter around the statement (Tortoise's
            # execute_many returns nothing; the lock is the transaction's, so not execute_many inside).
            async with client.acquire_connection() as raw:
                client.log.debug("%s: %s", sql, rows)
                before = raw.total_changes
                await raw.executemany(sql, rows)
                written = raw.total_changes - before
            if written != len(rows):
                raise Conflict(
                    f"{len(rows) - written} of {len(rows)} tickets were changed by someone else during the batch; "
                    "nothing was written"
                )
        for ticket in tickets:
            self.stored_version[ticket.id] = ticket.version


def batch_writes() -> TicketWrites | None:
    """The current batch's :class:`TicketWrites`, or ``None`` outside :func:`~helpline.core.db.all_or_nothing`."""
    if not db.in_batch():
        return None
    return db.deferred(WRITES_KEY, TicketWrites)


async def flush_ticket_writes() -> None:
    """Write what the current batch holds back and forget its tickets (a no-op outside a batch).

    For code that reads or writes ticket rows and events with its own statements inside a batch
    (the core's message and merge paths do): afterwards the database is current, and the next
    change reads the ticket again.
    """
    if not db.in_batch():
        return
    writes = db.deferred(WRITES_KEY, TicketWrites)
    if writes is None:
        return
    await writes.flush()
    writes.tickets.clear()
    writes.stored_version.clear()
