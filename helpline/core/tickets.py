"""The ticket service: every change to a ticket goes through here.

Each public function is one database transaction that

1. checks who may do it (via :mod:`helpline.core.auth`) and cleans the input,
2. writes the change, bumps ``ticket.version`` with a conditional UPDATE (a stale
   ``expected_version``, or a concurrent writer, gives CONFLICT and nothing is written),
3. appends to the ticket's event log,
4. announces it to plugins through the event hooks, inside the transaction, so that a plugin that
   raises rolls the whole change back and the caller learns which plugin it was.

Callers pass the :class:`~helpline.core.auth.Viewer` acting (``None`` for the system, with an
explicit :class:`~helpline.core.actors.Actor`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

from helpline.core import auth, live, workflow
from helpline.core.actors import Actor
from helpline.core.assignment import check_assignment
from helpline.core.db import connection, is_postgres, placeholder, transaction
from helpline.core.enums import (
    Channel,
    EventKind,
    MessageSource,
    Priority,
    Status,
    TicketType,
)
from helpline.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from helpline.core.models import (
    Counter,
    Message,
    Ticket,
    TicketEvent,
    TicketTag,
    User,
)
from helpline.core.runtime import Runtime
from helpline.core.ticket_writes import TicketWrites, batch_writes, flush_ticket_writes
from helpline.core.validation import (
    clean_custom_fields,
    clean_optional_text,
    clean_tags,
    clean_text,
    error,
)

TICKET_NUMBER_COUNTER = "ticket_number"
FIRST_TICKET_NUMBER = 1001
UNSET: Any = object()  # "not given" for optional changes, distinct from an explicit None


@dataclasses.dataclass
class NewTicket:
    """What a ticket is created with. ``requester_id`` defaults to the creating person."""

    subject: str
    description: str
    priority: Priority = Priority.NORMAL
    type: TicketType | None = None
    category: str | None = None
    channel: Channel = Channel.WEB
    tags: list[str] = dataclasses.field(default_factory=list)
    custom_fields: dict[str, Any] = dataclasses.field(default_factory=dict)
    requester_id: int | None = None
    team_id: int | None = None
    assignee_id: int | None = None
    follow_up_of_id: int | None = None


@dataclasses.dataclass
class TicketChanges:
    """Fields to change; :data:`UNSET` leaves a field alone, ``None`` clears a nullable one."""

    subject: Any = UNSET
    status: Any = UNSET
    priority: Any = UNSET
    type: Any = UNSET
    category: Any = UNSET
    tags: Any = UNSET
    custom_fields: Any = UNSET
    team_id: Any = UNSET
    assignee_id: Any = UNSET


def _acting(viewer: auth.Viewer | None, actor: Actor | None) -> Actor:
    if actor is not None:
        return actor
    if viewer is None:
        raise ValueError("a change needs a viewer or an explicit actor")
    return viewer.actor


async def _ticket_for_update(viewer: auth.Viewer | None, ticket_id: int, writes: TicketWrites | None = None) -> Ticket:
    """Read the ticket inside the transaction, locking its row on PostgreSQL.

    In a batch (``writes``) the batch's object is returned, read on first use; a viewer's
    visibility is checked against the rows as the batch left them (its writes go first).
    """
    if writes is not None:
        if viewer is not None:
            await writes.flush()
            if not await auth.visible_tickets(viewer).filter(id=ticket_id).exists():
                raise NotFound(f"no ticket with id {ticket_id}")
        return await writes.ticket(ticket_id)
    queryset = auth.visible_tickets(viewer) if viewer is not None else Ticket.all()
    if is_postgres():
        queryset = queryset.select_for_update()
    ticket = await queryset.get_or_none(id=ticket_id)
    if ticket is None:
        raise NotFound(f"no ticket with id {ticket_id}")
    return ticket


async def prefetch_tickets(rt: Runtime, ticket_ids: Iterable[int]) -> None:
    """Inside a batch (:func:`~helpline.core.db.all_or_nothing`), read and lock the tickets it is
    about to change, a thousand per statement, so that its changes need no read of their own,
    then announce them (``helpline_tickets_prefetched``) so plugins can read their own rows alike.

    A no-op outside a batch. Tickets that do not exist are left out (changing them is NOT_FOUND
    as always).
    """
    writes = batch_writes()
    if writes is None:
        return
    ids = sorted(set(ticket_ids))
    await writes.load(ids)
    found = [ticket_id for ticket_id in ids if ticket_id in writes.tickets]
    if found:
        await rt.plugins.broadcast("helpline_tickets_prefetched", ticket_ids=found, runtime=rt)


async def _next_ticket_number() -> int:
    # The UPDATE takes the counter's row lock until commit, so numbers are unique and gapless;
    # RETURNING (SQLite 3.35+, PostgreSQL) reads the new value in the same statement
    # (execute_query_dict: Tortoise's asyncpg execute_query drops the rows of an UPDATE).
    rows = await connection().execute_query_dict(
        f"UPDATE helpline_counter SET value = value + 1 WHERE name = {placeholder(1)} RETURNING value",
        [TICKET_NUMBER_COUNTER],
    )
    if not rows:
        await Counter.create(name=TICKET_NUMBER_COUNTER, value=FIRST_TICKET_NUMBER)
        return FIRST_TICKET_NUMBER
    return int(rows[0]["value"])


async def ensure_counters() -> None:
    """Create the ticket-number counter if missing (called once when the database opens)."""
    if not await Counter.exists(name=TICKET_NUMBER_COUNTER):
        await Counter.create(name=TICKET_NUMBER_COUNTER, value=FIRST_TICKET_NUMBER - 1)


def _event(ticket: Ticket, actor: Actor, kind: EventKind, now: dt.datetime, **values: Any) -> TicketEvent:
    return TicketEvent(
        ticket_id=ticket.id,
        actor_id=actor.user_id,
        actor_source=actor.source,
        actor_name=actor.name,
        kind=kind,
        created_at=now,
        **values,
    )


def _plain(value: Any) -> Any:
    """The JSON-ready form of a field value: enums by their API value."""
    if isinstance(value, Priority):
        return value.name.lower()
    if isinstance(value, Status | Channel | TicketType | MessageSource):
        return value.value
    return value


def _json_value(value: Any) -> str | None:
    """A value as the event log stores it: JSON text, or ``None`` for no value."""
    return None if value is None else json.dumps(_plain(value), sort_keys=True)


async def _check_assignment(team_id: int | None, assignee_id: int | None, writes: TicketWrites | None = None) -> None:
    """Check a team/assignee pair now, or when the batch flushes (see :mod:`helpline.core.assignment`)."""
    if writes is not None:
        writes.check_assignment_later(team_id, assignee_id)
    else:
        await check_assignment(team_id, assignee_id)


async def _set_tags(ticket: Ticket, tags: list[str]) -> None:
    await TicketTag.filter(ticket_id=ticket.id).delete()
    if tags:
        await TicketTag.bulk_create([TicketTag(ticket_id=ticket.id, name=tag) for tag in tags])


async def tags_of(ticket_id: int) -> list[str]:
    """The ticket's tags, sorted."""
    return sorted(await TicketTag.filter(ticket_id=ticket_id).values_list("name", flat=True))  # type: ignore[arg-type]


async def create_ticket(
    rt: Runtime, data: NewTicket, *, viewer: auth.Viewer | None, actor: Actor | None = None
) -> Ticket:
    """Create a ticket with its first message (the description) and announce it.

    Customers create tickets for themselves only and cannot route them (team, assignee).
    Staff may name a requester (default: themselves), a team and an assignee.
    """
    acting = _acting(viewer, actor)
    subject = clean_text("subject", data.subject, max_length=rt.settings.max_subject_length, single_line=True)
    description = clean_text("description", data.description, max_length=rt.settings.max_body_length)
    tags = clean_tags("tags", data.tags)
    custom_fields = clean_custom_fields("customFields", data.custom_fields)
    category = clean_optional_text("category", data.category, max_length=100)
    is_customer = viewer is not None and viewer.is_customer
    if is_customer and (data.team_id is not None or data.assignee_id is not None):
        raise error("teamId", "customers cannot route tickets", "FORBIDDEN_FIELD")
    if is_customer and data.requester_id not in (None, viewer.user.id):  # type: ignore[union-attr]
        raise error("requesterId", "customers create tickets for themselves", "FORBIDDEN_FIELD")
    requester_id = data.requester_id or acting.user_id
    if requester_id is None:
        raise error("requesterId", "a ticket needs a requester", "REQUIRED")
    requester = await User.get_or_none(id=requester_id)
    if requester is None or not requester.is_active:
        raise error("requesterId", f"no active user with id {requester_id}", "NOT_FOUND")
    writes = batch_writes()
    await _check_assignment(data.team_id, data.assignee_id, writes)

    now = rt.clock.now()
    async with transaction():
        ticket = await Ticket.create(
            number=await _next_ticket_number(),
            subject=subject,
            status=Status.NEW,
            priority=data.priority,
            type=data.type,
            category=category,
            channel=data.channel,
            requester_id=requester.id,
            organization_id=requester.organization_id,
            team_id=data.team_id,
            assignee_id=data.assignee_id,
            custom_fields=custom_fields,
            follow_up_of_id=data.follow_up_of_id,
            version=1,
            created_at=now,
            updated_at=now,
        )
        if tags:  # a new ticket has none to replace
            await TicketTag.bulk_create([TicketTag(ticket_id=ticket.id, name=tag) for tag in tags])
        message = await Message.create(
            ticket_id=ticket.id,
            author_id=acting.user_id,
            body=description,
            internal=False,
            source=acting.source,
            channel=data.channel,
            created_at=now,
        )
        snapshot = {
            "number": ticket.number,
            "subject": subject,
            "status": Status.NEW.value,
            "priority": _plain(data.priority),
            "type": _plain(data.type),
            "category": category,
            "channel": data.channel.value,
            "requester_id": requester.id,
            "organization_id": requester.organization_id,
            "team_id": data.team_id,
            "assignee_id": data.assignee_id,
            "tags": tags,
            "follow_up_of_id": data.follow_up_of_id,
        }
        created = _event(
            ticket,
            acting,
            EventKind.CREATED,
            now,
            new_value=_json_value(snapshot),
            message_id=message.id,
        )
        if writes is not None:
            writes.add(ticket)
            writes.changed_ticket(ticket, [created], row_changed=False)
        else:
            await created.save()
        await rt.plugins.broadcast("helpline_ticket_created", ticket=ticket, actor=acting, runtime=rt)
        await live.publish(rt, live.created(ticket))
    return ticket


async def _apply(
    rt: Runtime,
    ticket: Ticket,
    values: dict[str, Any],
    changes: dict[str, tuple[Any, Any]],
    acting: Actor,
    now: dt.datetime,
    message: Message | None = None,
) -> None:
    """Write ``values`` with a version check, log ``changes`` and announce them."""
    read_version = ticket.version
    values = {**values, "version": read_version + 1, "updated_at": now}
    writes = batch_writes()
    if writes is None or not writes.holds(ticket):
        writes = None
        updated = await Ticket.filter(id=ticket.id, version=read_version).update(**values)
        if not updated:
            raise Conflict(f"ticket #{ticket.number} was changed by someone else; reload it and try again")
    for name, value in values.items():
        setattr(ticket, name, value)

    events = []
    for name, (old, new) in changes.items():
        if name == "status":
            kind = EventKind.STATUS_CHANGED
        elif name in ("team_id", "assignee_id"):
            kind = EventKind.ASSIGNED
        else:
            kind = EventKind.FIELD_CHANGED
        events.append(
            _event(
                ticket,
                acting,
                kind,
                now,
                field=name,
                old_value=_json_value(old),
                new_value=_json_value(new),
                message_id=message.id if message is not None else None,
            )
        )
    if writes is not None:
        writes.changed_ticket(ticket, events)  # the row and the events are written when the batch flushes
    elif events:
        await TicketEvent.bulk_create(events)

    if "status" in changes:
        old_status, new_status = changes["status"]
        await rt.plugins.broadcast(
            "helpline_ticket_status_changed",
            ticket=ticket,
            old=old_status,
            new=new_status,
            actor=acting,
            runtime=rt,
            message=message,
        )
    if "team_id" in changes or "assignee_id" in changes:
        old_team, new_team = changes.get("team_id", (ticket.team_id, ticket.team_id))
        old_assignee, new_assignee = changes.get("assignee_id", (ticket.assignee_id, ticket.assignee_id))
        await rt.plugins.broadcast(
            "helpline_ticket_assigned",
            ticket=ticket,
            old_team_id=old_team,
            new_team_id=new_team,
            old_assignee_id=old_assignee,
            new_assignee_id=new_assignee,
            actor=acting,
            runtime=rt,
        )
    if changes:
        await rt.plugins.broadcast("helpline_ticket_updated", ticket=ticket, changes=changes, actor=acting, runtime=rt)


async def _check_transition(rt: Runtime, ticket: Ticket, new: Status, acting: Actor, field: str = "status") -> None:
    reason = workflow.transition_error(ticket.status, new)
    if reason is None and ticket.status != new:
        reason = await rt.plugins.first_answer(
            "helpline_validate_transition", ticket=ticket, old=ticket.status, new=new, actor=acting
        )
        if reason is not None:
            raise error(field, str(reason), "TRANSITION_REFUSED")
    elif reason is not None:
        raise error(field, reason, "INVALID_TRANSITION")


def _status_timestamps(new: Status, now: dt.datetime) -> dict[str, Any]:
    if new == Status.SOLVED:
        return {"solved_at": now}
    if new == Status.CLOSED:
        return {"closed_at": now}
    if new == Status.OPEN:
        return {"solved_at": None}
    return {}


def _refuse_if_merged(ticket: Ticket) -> None:
    if ticket.status == Status.MERGED:
        raise error(
            "id",
            f"ticket #{ticket.number} was merged into another ticket and cannot change",
            "TICKET_MERGED",
        )


async def update_ticket(
    rt: Runtime,
    ticket_id: int,
    changes: TicketChanges,
    *,
    viewer: auth.Viewer | None,
    actor: Actor | None = None,
    expected_version: int | None = None,
) -> Ticket:
    """Change a ticket's fields, status and assignment (staff only) in one transaction.

    Unchanged values are ignored; a call that changes nothing returns the ticket untouched.
    ``expected_version``, when given, must equal the stored version or CONFLICT is raised.
    """
    acting = _acting(viewer, actor)
    if viewer is not None and not viewer.is_staff:
        # Customers learn nothing about tickets they cannot see: check visibility first.
        await auth.get_visible_ticket(viewer, ticket_id)
        raise Forbidden("only agents and admins may edit tickets")
    cleaned: dict[str, Any] = {}
    if changes.subject is not UNSET:
        if changes.subject is None:
            raise error("subject", "subject must not be empty", "REQUIRED")
        cleaned["subject"] = clean_text(
            "subject", changes.subject, max_length=rt.settings.max_subject_length, single_line=True
        )
    if changes.category is not UNSET:
        cleaned["category"] = clean_optional_text("category", changes.category, max_length=100)
    if changes.custom_fields is not UNSET:
        cleaned["custom_fields"] = clean_custom_fields("customFields", changes.custom_fields)
    for name in ("status", "priority"):
        value = getattr(changes, name)
        if value is not UNSET:
            if value is None:
                raise error(name, f"{name} cannot be cleared", "REQUIRED")
            cleaned[name] = value
    for name in ("type", "team_id", "assignee_id"):
        value = getattr(changes, name)
        if value is not UNSET:
            cleaned[name] = value
    new_tags = clean_tags("tags", changes.tags or []) if changes.tags is not UNSET else None

    writes = batch_writes()
    async with transaction():
        ticket = await _ticket_for_update(viewer, ticket_id, writes)
        # "Now" once the row is ours: a change that waited for the lock is later than the one it waited for.
        now = rt.clock.now()
        if expected_version is not None and ticket.version != expected_version:
            raise Conflict(
                f"ticket #{ticket.number} is at version {ticket.version}, not {expected_version}; "
                "reload it and try again"
            )
        _refuse_if_merged(ticket)
        if ticket.status == Status.CLOSED:
            raise error("id", f"ticket #{ticket.number} is closed and cannot change", "TICKET_CLOSED")
        diff = {
            name: (getattr(ticket, name), value) for name, value in cleaned.items() if getattr(ticket, name) != value
        }
        if "team_id" in diff or "assignee_id" in diff:
            team_id = diff.get("team_id", (None, ticket.team_id))[1]
            assignee_id = diff.get("assignee_id", (None, ticket.assignee_id))[1]
            await _check_assignment(team_id, assignee_id, writes)
        values = {name: new for name, (_old, new) in diff.items()}
        if "status" in diff:
            # Plugins judge the ticket as it would be: the update's other changes already applied.
            for name, value in values.items():
                if name != "status":
                    setattr(ticket, name, value)
            await _check_transition(rt, ticket, diff["status"][1], acting)
            values.update(_status_timestamps(diff["status"][1], now))
        old_tags = await tags_of(ticket.id) if new_tags is not None else None
        if new_tags is not None and old_tags != new_tags:
            await _set_tags(ticket, new_tags)
            diff["tags"] = (old_tags, new_tags)
        if diff:
            await _apply(rt, ticket, values, diff, acting, now)
            await live.publish(rt, live.updated(ticket, diff))
    return ticket


async def add_message(
    rt: Runtime,
    ticket_id: int,
    body: str,
    *,
    viewer: auth.Viewer | None,
    actor: Actor | None = None,
    internal: bool = False,
    channel: Channel = Channel.WEB,
    status: Status | None = None,
    expected_version: int | None = None,
) -> tuple[Message, Ticket]:
    """Add a public reply or an internal note, moving the ticket through its lifecycle.

    - Staff replies: ``status`` sets the resulting status (validated like any transition);
      without it, a public reply opens a new ticket.
    - Customers reply publicly only, never set a status, and reopen pending or solved tickets.
      A customer's reply to a closed ticket creates a follow-up ticket linked to it, and the
      message and ticket returned are the follow-up's.
    - Merged tickets refuse messages (the error names the ticket they were merged into); staff
      cannot write on closed tickets.
    """
    acting = _acting(viewer, actor)
    is_customer = viewer is not None and viewer.is_customer
    body = clean_text("body", body, max_length=rt.settings.max_body_length)
    if is_customer and internal:
        raise error("internal", "customers cannot write internal notes", "FORBIDDEN_FIELD")
    if is_customer and status is not None:
        raise error("status", "customers cannot set a ticket's status", "FORBIDDEN_FIELD")

    async with transaction():
        await flush_ticket_writes()  # this path writes its own statements: the batch's rows go first
        ticket = await _ticket_for_update(viewer, ticket_id)
        # "Now" once the row is ours: a change that waited for the lock is later than the one it waited for.
        now = rt.clock.now()
        if expected_version is not None and ticket.version != expected_version:
            raise Conflict(f"ticket #{ticket.number} is at version {ticket.version}, not {expected_version}")
        if ticket.status == Status.MERGED:
            target = await merge_destination(ticket, viewer)
            where = f"#{target.number}; reply there" if target else "another ticket"
            raise error("ticketId", f"ticket #{ticket.number} was merged into {where}", "TICKET_MERGED")
        if ticket.status == Status.CLOSED:
            if not is_customer:
                raise error(
                    "ticketId",
                    f"ticket #{ticket.number} is closed; it cannot take new messages",
                    "TICKET_CLOSED",
                )
            return await _follow_up(rt, ticket, body, channel, acting, now)

        message = await Message.create(
            ticket_id=ticket.id,
            author_id=acting.user_id,
            body=body,
            internal=internal,
            source=acting.source,
            channel=channel,
            created_at=now,
        )
        if is_customer:
            new_status = workflow.status_after_customer_reply(ticket.status)
        elif status is not None:
            new_status = status
        elif not internal and acting.source == MessageSource.HUMAN:
            new_status = workflow.status_after_agent_reply(ticket.status)
        else:
            new_status = ticket.status
        diff: dict[str, tuple[Any, Any]] = {}
        values: dict[str, Any] = {}
        if new_status != ticket.status:
            await _check_transition(rt, ticket, new_status, acting)
            diff["status"] = (ticket.status, new_status)
            values = {"status": new_status, **_status_timestamps(new_status, now)}
        await _event(
            ticket,
            acting,
            EventKind.MESSAGE_ADDED,
            now,
            new_value=_json_value({"internal": internal, "source": acting.source.value}),
            message_id=message.id,
        ).save()
        if diff or not internal:
            # An internal note alone leaves version and updated_at alone: customers see both, and
            # must not learn from them that notes exist.
            await _apply(rt, ticket, values, diff, acting, now, message)
        await rt.plugins.broadcast("helpline_message_added", ticket=ticket, message=message, actor=acting, runtime=rt)
        await live.publish(rt, live.message_added(ticket, message, diff))
    return message, ticket


async def _follow_up(
    rt: Runtime,
    closed: Ticket,
    body: str,
    channel: Channel,
    acting: Actor,
    now: dt.datetime,
) -> tuple[Message, Ticket]:
    """A customer wrote to a closed ticket: open a follow-up that links back to it.

    The follow-up keeps the closed ticket's subject, priority, type, category, tags, team and
    (while they may still hold it) assignee, so it lands with the people who know the history.
    """
    assignee_id = closed.assignee_id
    try:
        await _check_assignment(closed.team_id, assignee_id)
    except ValidationFailed:
        assignee_id = None  # left, deactivated or moved teams: route to the team instead
    data = NewTicket(
        subject=closed.subject,
        description=body,
        priority=closed.priority,
        type=closed.type,
        category=closed.category,
        channel=channel,
        tags=await tags_of(closed.id),
        requester_id=acting.user_id,
        team_id=closed.team_id,
        assignee_id=assignee_id,
        follow_up_of_id=closed.id,
    )
    follow_up = await create_ticket(rt, data, viewer=None, actor=acting)
    await _event(
        closed, acting, EventKind.FOLLOW_UP_CREATED, now, field="follow_up", new_value=_json_value(follow_up.number)
    ).save()
    message = await Message.filter(ticket_id=follow_up.id).order_by("id").first()
    assert message is not None  # created with the ticket, in this transaction
    return message, follow_up


async def merge_destination(ticket: Ticket, viewer: auth.Viewer | None, max_hops: int = 20) -> Ticket | None:
    """Where a merged ticket's conversation went: the end of its merge chain, if the viewer may see it."""
    current = ticket
    for _ in range(max_hops):
        if current.merged_into_id is None:
            break
        following = await Ticket.get_or_none(id=current.merged_into_id)
        if following is None:
            break
        current = following
    if current is ticket or (viewer is not None and not auth.can_see_ticket(viewer, current)):
        return None
    return current


async def merge_tickets(
    rt: Runtime,
    source_id: int,
    target_id: int,
    *,
    viewer: auth.Viewer | None,
    actor: Actor | None = None,
) -> tuple[Ticket, Ticket]:
    """Merge ticket ``source`` into ``target`` (staff only); return ``(source, target)``.

    The source's messages move to the target with their authors and times; the source becomes
    ``merged`` (final) and points at the target. Merging a ticket into itself, a closed ticket, or
    tickets of different requesters (one would read the other's conversation) is a userError. A
    source or target that is already merged gives CONFLICT: with two opposite merges started at
    once, exactly one wins (both rows are locked in id order on PostgreSQL; the versions are
    checked on both databases). So no loop can form; a chain can (X into Y, later Y into Z), and
    :func:`merge_destination` follows it to where the conversation is now.
    """
    acting = _acting(viewer, actor)
    if viewer is not None and not viewer.is_staff:
        await auth.get_visible_ticket(viewer, source_id)
        raise Forbidden("only agents and admins may merge tickets")
    if source_id == target_id:
        raise error("sourceId", "a ticket cannot be merged into itself", "MERGE_INTO_SELF")
    async with transaction():
        await flush_ticket_writes()  # this path writes its own statements: the batch's rows go first
        queryset = auth.visible_tickets(viewer) if viewer is not None else Ticket.all()
        if is_postgres():
            queryset = queryset.select_for_update()
        found = {ticket.id: ticket for ticket in await queryset.filter(id__in=[source_id, target_id]).order_by("id")}
        now = rt.clock.now()  # after the locks, like every other change
        if source_id not in found:
            raise NotFound(f"no ticket with id {source_id}")
        if target_id not in found:
            raise NotFound(f"no ticket with id {target_id}")
        source, target = found[source_id], found[target_id]
        for ticket in (source, target):
            if ticket.status == Status.MERGED:
                raise Conflict(f"ticket #{ticket.number} has already been merged into another ticket")
        for field, ticket in (("sourceId", source), ("targetId", target)):
            if ticket.status == Status.CLOSED:
                raise error(
                    field,
                    f"ticket #{ticket.number} is closed and cannot be merged",
                    "TICKET_CLOSED",
                )
        if source.requester_id != target.requester_id:
            # The target's requester would read the source requester's conversation, and the source
            # requester would lose it: merge only one person's requests.
            raise error(
                "sourceId",
                f"tickets #{source.number} and #{target.number} have different requesters",
                "REQUESTERS_DIFFER",
            )
        moved = await Message.filter(ticket_id=source.id).order_by("id").values_list("id", flat=True)
        await Message.filter(ticket_id=source.id).update(ticket_id=target.id, merged_from_id=source.id)
        await TicketEvent.bulk_create(
            [
                _event(
                    source,
                    acting,
                    EventKind.MERGED_INTO,
                    now,
                    field="merged_into",
                    new_value=_json_value(target.number),
                ),
                _event(
                    target,
                    acting,
                    EventKind.MERGED_FROM,
                    now,
                    field="merged_from",
                    new_value=_json_value(source.number),
                ),
            ]
        )
        await _apply(
            rt,
            source,
            {"status": Status.MERGED, "merged_into_id": target.id, "closed_at": now},
            {"status": (source.status, Status.MERGED)},
            acting,
            now,
        )
        await _apply(rt, target, {}, {}, acting, now)
        await rt.plugins.broadcast(
            "helpline_ticket_merged",
            source=source,
            target=target,
            moved_message_ids=list(moved),
            actor=acting,
            runtime=rt,
        )
        await live.publish(rt, live.merged(source, target))
    return source, target
