"""The replay engine: a source's history played through the core services, in time order.

Every update goes through :mod:`helpline.core.tickets` (and people through
:mod:`helpline.core.people`) with the runtime's clock set to the update's time, so the event log,
the SLA clocks and the performance metrics come out as if the desk had run on Helpline: nothing is
written behind the services' back.

Decisions (the README's "Importing history" section says the same):

- Each source row is the ticket's full state after the update (ServiceNow's audit log is):
  a missing team or agent unassigns, a missing priority keeps the current one.
- The ticket is created at its opening (``opened_at``) with its first usable row's values, by its
  customer (the requester's own request); updates are made by the system actor ``import``, since
  the log does not say reliably which agent clicked. People and teams are created on first sight
  as ``<name-slug>@<email_domain>``; an agent becomes a member of each team they are assigned in.
- A status move Helpline's lifecycle does not allow directly is bridged through the shortest
  allowed path at the same instant (solved -> pending goes through open; new -> closed through
  solved). Back to ``new`` is taken as ``open``. Closed is final in Helpline: later rows of a
  closed ticket are skipped and listed ("ticket already closed").
- Rows that cannot be used are skipped, counted by reason and listed (never a crash): unusable
  values or dates (see :mod:`.mapping`), a sequence number not above the last applied one, rows of
  a closed ticket, and any row the services refuse (with the service's reason).
- Writes are batched: ``batch_size`` rows per transaction. A batch is first tried all or nothing
  (:func:`~helpline.core.db.all_or_nothing`: no savepoints, and the plugins' deferred work, such as
  SLA clocks and performance metrics, written once per batch). If any service refuses a row, that
  attempt rolls back whole and the batch is replayed carefully: each row its own savepoint, so a
  refused row rolls back alone and is skipped with the service's reason. Both ways give the same
  result; the careful one is slower, and only batches with a refused row pay for it. The import
  state (:class:`~.models.ImportState`) is written in the batch's transaction, so an interrupted
  import resumes on the next run exactly after the last committed batch, and a re-run is a no-op.
"""

from __future__ import annotations

import collections
import copy
import dataclasses
import datetime as dt
import hashlib
import itertools
import re
import time
from collections.abc import Callable, Iterable

from helpline.core import auth, workflow
from helpline.core.actors import Actor
from helpline.core.bulk import update_by_key
from helpline.core.clock import FrozenClock, install_process_clock
from helpline.core.db import all_or_nothing, transaction
from helpline.core.enums import MessageSource, Priority, Role, Status
from helpline.core.errors import HelplineError, ValidationFailed
from helpline.core.models import Team, TeamMembership, Ticket, User
from helpline.core.people import NewUser, create_team, create_user, set_team_membership
from helpline.core.runtime import Runtime
from helpline.core.tickets import UNSET, NewTicket, TicketChanges, create_ticket, prefetch_tickets, update_ticket
from helpline.plugins.importer import lock
from helpline.plugins.importer.mapping import CREATE, Mapping, SourceRow, printable
from helpline.plugins.importer.models import ImportState

DEFAULT_BATCH_SIZE = 500
MAX_LISTED = 1000  # skipped rows kept in the report object; the CSV report lists all of them
IMPORT_ACTOR = Actor(user=None, source=MessageSource.AUTOMATION, name="import")
Progress = Callable[[int, int], None]


@dataclasses.dataclass(frozen=True)
class SkippedRow:
    """A source row the import could not use, and why."""

    line: int
    key: str | None
    reason: str


@dataclasses.dataclass
class ImportReport:
    """What an import run did."""

    source: str
    rows: int = 0  # usable update rows read (create markers not counted)
    tickets_created: int = 0
    updates_applied: int = 0  # rows that changed the ticket
    unchanged: int = 0  # rows that changed nothing Helpline keeps (ServiceNow logs many)
    already_imported: int = 0  # rows committed by an earlier run
    skipped: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    skipped_rows: list[SkippedRow] = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    batches: int = 0  # transactions committed
    # Batches whose all-or-nothing attempt was refused and that were replayed row by row (slow):
    # only batches with a row a service refuses should be here; any other is a bug to look at.
    batches_row_by_row: int = 0

    @property
    def skipped_total(self) -> int:
        """Rows skipped, all reasons together."""
        return sum(self.skipped.values())

    def skip(self, line: int, key: str | None, reason: str) -> SkippedRow:
        """Count and list a skipped row."""
        # Keys and reasons quote the source: printable, for the screen and the CSV report.
        key, reason = (printable(key) if key is not None else None), printable(reason)
        self.skipped[_reason_class(reason)] += 1
        row = SkippedRow(line, key, reason)
        if len(self.skipped_rows) < MAX_LISTED:
            self.skipped_rows.append(row)
        return row


def _reason_class(reason: str) -> str:
    # "invalid date in opened_at: 'x'" -> "invalid date in opened_at": values vary, reasons do not.
    return reason.split(":", 1)[0]


def status_path(old: Status, new: Status) -> list[Status] | None:
    """The statuses to pass through, in order, to get from ``old`` to ``new`` (``[]``: none).

    ``None`` when Helpline cannot get there (a closed or merged ticket). Back to ``new`` means
    ``open`` (nothing moves back to new in Helpline).
    """
    if new == Status.NEW and old != Status.NEW:
        new = Status.OPEN
    if new == old:
        return []
    queue: collections.deque[list[Status]] = collections.deque([[old]])
    seen = {old}
    while queue:
        path = queue.popleft()
        for following in sorted(workflow.ALLOWED_TRANSITIONS[path[-1]]):
            if following in seen:
                continue
            if following == new:
                return [*path[1:], following]
            seen.add(following)
            queue.append([*path, following])
    return None


_SLUG = re.compile(r"[^a-z0-9]+")


_PLAIN_NAME = re.compile(r"[A-Za-z0-9]+( [A-Za-z0-9]+)*")


def email_for(name: str, domain: str) -> str:
    """The e-mail an imported person gets: ``Caller 2403`` -> ``caller-2403@<domain>``.

    One person per name: a plain name (ASCII letters and digits, single spaces, at most 60
    characters) becomes its slug, which no other plain name gives (up to letter case, as e-mail
    addresses go). Any other name (accents, other scripts, punctuation, long) would lose letters in
    the slug, and two people could become one account that sees both's tickets: it gets the slug
    plus 10 hex digits of the name's SHA-256 (``José Díaz`` -> ``jos-d-az-<hash>@<domain>``).
    """
    slug = _SLUG.sub("-", name.lower()).strip("-")
    if len(name) <= 60 and _PLAIN_NAME.fullmatch(name):
        return f"{slug}@{domain}"
    digest = hashlib.sha256(name.encode("utf-8", "replace")).hexdigest()[:10]
    return f"{(slug[:40] or 'someone')}-{digest}@{domain}"


@dataclasses.dataclass(slots=True)
class TicketState:
    """What the replay knows about one imported ticket (kept for tickets not yet closed)."""

    ticket_id: int
    status: Status
    priority: Priority
    team_id: int | None
    assignee_id: int | None
    category: str | None
    last_seq: int
    done_seq: int  # last sequence committed before this run: rows up to it are already imported
    last_at: dt.datetime
    sla_met: bool | None
    stored: bool  # an ImportState row exists
    dirty: bool = False


class Replay:
    """One import run of one source into the open database (see the module docstring)."""

    def __init__(
        self,
        rt: Runtime,
        mapping: Mapping,
        viewer: auth.Viewer,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        on_skip: Callable[[SkippedRow], None] | None = None,
        progress: Progress | None = None,
        all_or_nothing: bool = True,
        lock_holder: str | None = None,
    ) -> None:
        self.real_clock = rt.clock  # the import lock's lease runs on real time
        self.lock_holder = lock_holder  # renewed in every batch's transaction (see .lock)
        self.clock = FrozenClock()
        self.rt = dataclasses.replace(rt, clock=self.clock)
        self.mapping = mapping
        self.viewer = viewer
        self.batch_size = batch_size
        self.on_skip = on_skip
        self.progress = progress
        self.report = ImportReport(source=mapping.source)
        self.users: dict[str, User] = {}
        self.teams: dict[str, int] = {}
        self.members: set[tuple[int, int]] = set()
        self.open: dict[str, TicketState] = {}
        self.closed: dict[str, int] = {}  # closed tickets' keys -> last sequence committed before this run
        self.fresh = False  # nothing of this source imported before this run: no look-ups needed
        self.all_or_nothing = all_or_nothing  # False: every batch row by row (slower; the tests' reference)
        self.careful = True  # False while a batch is tried all or nothing: refusals then abort it
        self.held_skips: list[SkippedRow] | None = None  # skips of a batch not committed yet

    def skip(self, line: int, key: str | None, reason: str) -> None:
        """Count, list and pass on a skipped row (once its batch commits, when inside one)."""
        row = self.report.skip(line, key, reason)
        if self.held_skips is not None:
            self.held_skips.append(row)
        elif self.on_skip is not None:
            self.on_skip(row)

    def refused(self, line: int, key: str | None, reason: str) -> None:
        """A service refused the row: skip it when careful; otherwise abort the all-or-nothing attempt."""
        if not self.careful:
            raise BatchRefused(reason)
        self.skip(line, key, reason)

    # -- people ------------------------------------------------------------------------------

    async def _load_people(self) -> None:
        domain = "@" + self.mapping.email_domain
        for user in await User.filter(email__endswith=domain):
            self.users[user.email] = user
        self.teams = {name: pk for pk, name in await Team.all().values_list("id", "name")}  # type: ignore[misc]
        self.members = set(await TeamMembership.all().values_list("team_id", "user_id"))  # type: ignore[arg-type]

    async def _person(self, name: str, role: Role) -> User:
        email = email_for(name, self.mapping.email_domain)
        user = self.users.get(email)
        if user is None:
            # Everyone of the mapping's domain was read when the run began: a fresh import need not ask again.
            user = None if self.fresh else await User.get_or_none(email=email)
            if user is None:
                try:
                    user = await create_user(self.rt, self.viewer, NewUser(email=email, name=name[:200], role=role))
                except ValidationFailed as exc:
                    # Created since this run read the people (another tool, the API): use it.
                    user = await User.get_or_none(email=email)
                    if user is None:
                        raise HelplineError(str(exc)) from None
            self.users[email] = user
        if role != Role.CUSTOMER and user.role == Role.CUSTOMER:
            raise HelplineError(f"{name!r} is a customer and cannot be assigned tickets")
        if role == Role.CUSTOMER and user.role != Role.CUSTOMER:
            # The mapping's email_domain is the desk's own and the name is a staff member's (an
            # imported customer "Admin" would otherwise file tickets as the admin): refuse.
            raise HelplineError(f"{name!r} is {user.email}, a {user.role.value} account, not a customer")
        return user

    async def _team(self, name: str | None) -> int | None:
        if name is None:
            return None
        team_id = self.teams.get(name)
        if team_id is None:
            team_id = (await create_team(self.rt, self.viewer, name[:200])).id
            self.teams[name] = team_id
        return team_id

    async def _agent(self, name: str | None, team_id: int | None) -> int | None:
        if name is None:
            return None
        agent = await self._person(name, Role.AGENT)
        if team_id is not None and (team_id, agent.id) not in self.members:
            await set_team_membership(self.rt, self.viewer, team_id, agent.id, True)
            self.members.add((team_id, agent.id))
        return agent.id

    # -- tickets -----------------------------------------------------------------------------

    async def _state(self, key: str) -> TicketState | None:
        """The open ticket's state (``None`` for closed or never imported tickets; see ``closed``)."""
        state = self.open.get(key)
        if state is not None or self.fresh or key in self.closed:
            return state
        row = await ImportState.get_or_none(source=self.mapping.source, key=key)
        if row is None:
            return None
        if row.closed:
            self.closed[key] = row.last_seq
            return None
        ticket = await Ticket.get(id=row.ticket_id)
        state = TicketState(
            ticket_id=ticket.id,
            status=ticket.status,
            priority=ticket.priority,
            team_id=ticket.team_id,
            assignee_id=ticket.assignee_id,
            category=ticket.category,
            last_seq=row.last_seq,
            done_seq=row.last_seq,
            last_at=row.last_at,
            sla_met=row.source_sla_met,
            stored=True,
        )
        self.open[key] = state
        return state

    async def _create(self, row: SourceRow) -> None:
        if await self._state(row.key) is not None or row.key in self.closed:
            return  # created by an earlier run
        self.clock.set(row.opened_at)
        priority = row.priority or Priority.NORMAL
        try:
            # People first, each in its own service transaction: they stay even if the ticket is refused.
            customer = await self._person(row.customer, Role.CUSTOMER)
            team_id = await self._team(row.team)
            assignee_id = await self._agent(row.agent, team_id)
            ticket = await self._create_ticket(row, customer, team_id, assignee_id, priority)
        except HelplineError as exc:
            self.refused(row.line, row.key, f"ticket refused: {exc}")
            return
        self.open[row.key] = TicketState(
            ticket_id=ticket.id,
            status=Status.NEW,
            priority=priority,
            team_id=team_id,
            assignee_id=assignee_id,
            category=ticket.category,
            last_seq=-(2**62),
            done_seq=-(2**62),
            last_at=row.opened_at,
            sla_met=row.sla_met,
            stored=False,
            dirty=True,
        )
        self.report.tickets_created += 1

    async def _create_ticket(
        self, row: SourceRow, customer: User, team_id: int | None, assignee_id: int | None, priority: Priority
    ) -> Ticket:
        return await create_ticket(
            self.rt,
            NewTicket(
                subject=f"{row.key}: {row.category}" if row.category else row.key,
                description=f"Imported from {self.mapping.source}, {row.key}.",
                priority=priority,
                type=self.mapping.ticket_type,
                category=row.category[:100] if row.category else None,
                channel=row.channel or NewTicket.channel,
                requester_id=customer.id,
                team_id=team_id,
                assignee_id=assignee_id,
                custom_fields={"import_source": self.mapping.source, "import_key": row.key},
            ),
            viewer=None,
            actor=Actor(user=customer),
        )

    async def _update(self, row: SourceRow) -> None:
        self.report.rows += 1
        state = await self._state(row.key)
        done_seq = self.closed.get(row.key, state.done_seq if state is not None else None)
        if done_seq is not None and row.seq <= done_seq:
            self.report.already_imported += 1
            return
        if row.key in self.closed or (state is not None and state.status == Status.CLOSED):
            self.skip(row.line, row.key, "ticket already closed (closed is final in Helpline)")
            return
        if state is None:
            self.skip(row.line, row.key, "ticket could not be created")
            return
        if row.seq <= state.last_seq:
            self.skip(row.line, row.key, f"sequence {row.seq} not after {state.last_seq}")
            return
        path = status_path(state.status, row.status)
        if path is None:
            self.skip(row.line, row.key, f"cannot move from {state.status.value} to {row.status.value}")
            return
        self.clock.set(max(row.at, state.last_at))
        try:
            team_id = await self._team(row.team)
            assignee_id = await self._agent(row.agent, team_id)
        except HelplineError as exc:
            self.refused(row.line, row.key, f"refused: {exc}")
            return
        category = row.category[:100] if row.category else None
        changes = TicketChanges()
        if row.priority is not None and row.priority != state.priority:
            changes.priority = row.priority
        if category != state.category:
            changes.category = category
        if team_id != state.team_id:
            changes.team_id = team_id
        if assignee_id != state.assignee_id:
            changes.assignee_id = assignee_id
        if path:
            changes.status = path[0]
        changed = any(getattr(changes, field.name) is not UNSET for field in dataclasses.fields(changes))
        if changed:
            steps = [changes] + [TicketChanges(status=status) for status in path[1:]]
            try:
                await self._apply(state.ticket_id, steps)
            except HelplineError as exc:
                self.refused(row.line, row.key, f"refused: {exc}")
                return
            self.report.updates_applied += 1
        else:
            # Nothing Helpline keeps changed (ServiceNow logs many such updates): no service call,
            # exactly as the service itself would write nothing.
            self.report.unchanged += 1
        if row.priority is not None:
            state.priority = row.priority
        state.category, state.team_id, state.assignee_id = category, team_id, assignee_id
        if path:
            state.status = path[-1]
        state.last_seq, state.last_at, state.dirty = row.seq, max(row.at, state.last_at), True
        if row.sla_met is not None:
            state.sla_met = row.sla_met

    async def _apply(self, ticket_id: int, steps: list[TicketChanges]) -> None:
        """Apply one row's changes; several steps (a bridged status move) roll back together."""
        if len(steps) == 1:  # the service's own transaction is the row's savepoint
            await update_ticket(self.rt, ticket_id, steps[0], viewer=None, actor=IMPORT_ACTOR)
            return
        async with transaction():
            for step in steps:
                await update_ticket(self.rt, ticket_id, step, viewer=None, actor=IMPORT_ACTOR)

    async def _flush(self) -> None:
        """Write the import state of the tickets this batch touched (inside the batch's transaction)."""
        source = self.mapping.source
        fresh = [(key, s) for key, s in self.open.items() if s.dirty and not s.stored]
        if fresh:
            await ImportState.bulk_create(
                [
                    ImportState(
                        source=source,
                        key=key,
                        ticket_id=s.ticket_id,
                        last_seq=s.last_seq,
                        last_at=s.last_at,
                        closed=s.status == Status.CLOSED,
                        source_sla_met=s.sla_met,
                    )
                    for key, s in fresh
                ]
            )
        await update_by_key(
            ImportState,
            ("last_seq", "last_at", "closed", "source_sla_met"),
            ("source", "key"),
            [
                (s.last_seq, s.last_at, s.status == Status.CLOSED, s.sla_met, source, key)
                for key, s in self.open.items()
                if s.dirty and s.stored
            ],
        )

    def _committed(self) -> None:
        """After a batch commits: states are stored; closed tickets leave memory."""
        for key in [key for key, s in self.open.items() if s.dirty]:
            state = self.open[key]
            state.stored, state.dirty = True, False
            if state.status == Status.CLOSED:
                del self.open[key]
                self.closed[key] = state.done_seq

    def _snapshot(self, rows: list[SourceRow]) -> tuple[object, ...]:
        """What a batch of ``rows`` may change in memory, to put back if its all-or-nothing attempt
        aborts. Only the states of the batch's own tickets can change: those are copied, the
        others shared (copying every open ticket's state per batch cost more as the log grew)."""
        touched = {row.key for row in rows}
        return (
            {key: dataclasses.replace(state) if key in touched else state for key, state in self.open.items()},
            dict(self.closed),
            dict(self.users),
            dict(self.teams),
            set(self.members),
            copy.deepcopy(self.report),
        )

    def _restore(self, snapshot: tuple[object, ...]) -> None:
        self.open, self.closed, self.users, self.teams, self.members, self.report = snapshot  # type: ignore[assignment]

    async def _replay_batch(self, rows: list[SourceRow]) -> None:
        # One read for the batch's known tickets (a no-op when replayed row by row).
        await prefetch_tickets(
            self.rt, {state.ticket_id for row in rows if (state := self.open.get(row.key)) is not None}
        )
        for row in rows:
            if row.kind == CREATE:
                await self._create(row)
            else:
                await self._update(row)
        await self._flush()
        if self.lock_holder is not None:
            await lock.renew(self.lock_holder, self.real_clock)

    async def _batch(self, rows: list[SourceRow]) -> None:
        """Replay one batch in one transaction: all or nothing first, carefully if a row is refused."""
        snapshot = self._snapshot(rows)
        self.held_skips = []
        try:
            refused = not self.all_or_nothing
            if not refused:
                self.careful = False
                try:
                    async with all_or_nothing():
                        await self._replay_batch(rows)
                except (BatchRefused, HelplineError):
                    # A refusal during the batch, or when it flushed (a batch checks some rules,
                    # such as assignments, when it writes): replay it row by row to find the row.
                    refused = True
                    self._restore(snapshot)
                    snapshot = self._snapshot(rows)
                    self.held_skips = []
            if refused:
                self.careful = True
                async with transaction():
                    await self._replay_batch(rows)
                self.report.batches_row_by_row += 1
        except BaseException:
            self._restore(snapshot)
            raise
        finally:
            self.careful = True
            skips, self.held_skips = self.held_skips, None
        self._committed()
        self.report.batches += 1
        if self.on_skip is not None:
            for skipped in skips:
                self.on_skip(skipped)

    async def run(self, updates: Iterable[SourceRow], total: int = 0) -> ImportReport:
        """Replay ``updates`` (time-ordered, with create markers); return the report."""
        started = time.monotonic()
        self.fresh = not await ImportState.exists(source=self.mapping.source)
        await self._load_people()
        previous_clock = install_process_clock(self.clock)  # outbox and others read the process clock
        done = 0
        try:
            iterator = iter(updates)
            while rows := list(itertools.islice(iterator, self.batch_size)):
                await self._batch(rows)
                done += len(rows)
                if self.progress is not None:
                    self.progress(done, total)
        finally:
            install_process_clock(previous_clock)
            self.report.seconds = time.monotonic() - started
        return self.report


class BatchRefused(Exception):
    """A service refused a row while its batch was tried all or nothing (see :meth:`Replay._batch`)."""
