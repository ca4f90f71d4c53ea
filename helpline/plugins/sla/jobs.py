"""The SLA plugin's periodic jobs: breaches and warnings on time, and retargeting after admin changes.

``sla.deadlines`` (every 30 s) records breaches at their due time, not when someone next looks, and
calls ``helpline_sla_warning`` / ``helpline_sla_breached`` exactly once per clock: each call is
claimed first with a conditional UPDATE (``warned`` / ``breach_announced`` from false to true) in
the same transaction as the hook, so a second worker, or a rerun after a failure, never repeats
one that went through. The core's scheduler also never runs the job twice at the same time.

``sla.recompute`` (every 30 s) brings open clocks up to the current calendars and policies when an
admin changed them, in batches, each batch one transaction.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from helpline.core.db import transaction
from helpline.core.models import Ticket, TicketTag, User
from helpline.core.runtime import Runtime
from helpline.plugins.sla.clocks import (
    OPEN_PHASES,
    ClockChanges,
    SlaConfig,
    follow_status,
    load_config,
    retarget,
    settings_row,
)
from helpline.plugins.sla.models import ClockPhase, SlaClock, SlaClockEvent, SlaSettings
from helpline.plugins.sla.policies import TicketFacts, select_policy

BATCH = 500
TICKET_COLUMNS = (
    "id",
    "status",
    "priority",
    "team_id",
    "organization_id",
    "type",
    "category",
    "channel",
    "requester_id",
)


async def record_breaches(now: dt.datetime) -> int:
    """Mark running clocks past their due time as breached at that due time; how many."""
    async with transaction():
        overdue = await SlaClock.filter(
            phase=ClockPhase.RUNNING, breached_at__isnull=True, due_at__lte=now
        ).values_list("id", "due_at")
        for clock_id, due_at in overdue:
            await SlaClock.filter(id=clock_id, breached_at__isnull=True).update(breached_at=due_at)
        await SlaClockEvent.bulk_create(
            [
                SlaClockEvent(clock_id=clock_id, kind="breached", at=due_at, due_at=due_at)
                for clock_id, due_at in overdue
            ]
        )
    return len(overdue)


async def _announce(runtime: Runtime, clock_id: int, flag: str, hook: str) -> bool:
    async with transaction():
        if not await SlaClock.filter(id=clock_id, **{flag: False}).update(**{flag: True}):
            return False  # someone else announced it
        clock = await SlaClock.get(id=clock_id)
        ticket = await Ticket.get(id=clock.ticket_id)
        if flag == "warned":
            await SlaClockEvent.create(clock_id=clock.id, kind="warned", at=clock.warn_at, due_at=clock.due_at)
        await runtime.plugins.broadcast(hook, clock=clock, ticket=ticket, runtime=runtime)
    return True


async def deadlines(runtime: Runtime) -> None:
    """Warnings first, then breaches: record them and call the plugin's hooks once per clock."""
    now = runtime.clock.now()
    warnings = await SlaClock.filter(
        phase=ClockPhase.RUNNING, warned=False, warn_at__lte=now, breached_at__isnull=True
    ).values_list("id", flat=True)
    for clock_id in warnings:
        await _announce(runtime, clock_id, "warned", "helpline_sla_warning")  # type: ignore[arg-type]
    await record_breaches(now)
    breached = await SlaClock.filter(breached_at__isnull=False, breach_announced=False).values_list("id", flat=True)
    for clock_id in breached:
        await _announce(runtime, clock_id, "breach_announced", "helpline_sla_breached")  # type: ignore[arg-type]


async def _facts_for(tickets: list[Ticket]) -> dict[int, TicketFacts]:
    tags: defaultdict[int, set[str]] = defaultdict(set)
    for ticket_id, name in await TicketTag.filter(ticket_id__in=[t.id for t in tickets]).values_list(
        "ticket_id", "name"
    ):
        tags[ticket_id].add(name)  # type: ignore[index,arg-type]
    vip = dict(await User.filter(id__in={t.requester_id for t in tickets}).values_list("id", "vip"))
    return {
        ticket.id: TicketFacts(
            priority=ticket.priority,
            team_id=ticket.team_id,
            organization_id=ticket.organization_id,
            type=ticket.type.value if ticket.type is not None else None,
            category=ticket.category,
            channel=ticket.channel.value,
            tags=frozenset(tags[ticket.id]),
            vip=bool(vip.get(ticket.requester_id)),
        )
        for ticket in tickets
    }


async def retarget_batch(ticket_ids: list[int], config: SlaConfig, now: dt.datetime) -> int:
    """Retarget the open clocks of these tickets to the policies that match them now; clocks changed."""
    async with transaction():
        clocks = await SlaClock.filter(ticket_id__in=ticket_ids, phase__in=list(OPEN_PHASES)).select_for_update()
        # Only the columns policies and remeasuring read: a batch loads thousands of rows.
        tickets = {ticket.id: ticket for ticket in await Ticket.filter(id__in=ticket_ids).only(*TICKET_COLUMNS)}
        facts = await _facts_for(list(tickets.values()))
        history: defaultdict[int, list[SlaClockEvent]] = defaultdict(list)
        lines = SlaClockEvent.filter(clock_id__in=[c.id for c in clocks]).only("id", "clock_id", "kind", "at")
        for line in await lines.order_by("id"):
            history[line.clock_id].append(line)
        changes = ClockChanges()
        for clock in clocks:
            ticket = tickets[clock.ticket_id]
            policy = select_policy(config.policies, facts[ticket.id])
            target = policy.target(ticket.priority, clock.kind) if policy is not None else None
            await retarget(clock, policy, target, config, now, changes, history=history[clock.id], remeasure=True)
            follow_status(clock, ticket.status, config, now, changes)  # the pausing statuses may have changed
        await changes.save()
    return len(changes.clocks)


async def recompute(runtime: Runtime) -> int:
    """Bring every open clock up to the current configuration, if it changed; clocks changed."""
    settings = await settings_row()
    wanted = settings.config_version
    if settings.clocks_version >= wanted:
        return 0
    config = await load_config()
    now = runtime.clock.now()
    open_ticket_ids = await SlaClock.filter(phase__in=list(OPEN_PHASES)).values_list("ticket_id", flat=True)
    ticket_ids: list[int] = sorted({int(ticket_id) for ticket_id in open_ticket_ids})  # type: ignore[call-overload]
    changed = 0
    for start in range(0, len(ticket_ids), BATCH):
        changed += await retarget_batch(ticket_ids[start : start + BATCH], config, now)
    await SlaSettings.filter(id=1, clocks_version__lt=wanted).update(clocks_version=wanted)
    return changed
