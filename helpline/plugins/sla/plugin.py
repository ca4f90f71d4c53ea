"""The SLA plugin's hook implementations: thin calls into :mod:`clocks`, :mod:`jobs` and :mod:`schema`."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pluggy

from helpline.core.actors import Actor
from helpline.core.contributions import ModelsContribution, PeriodicJob, SchemaContribution
from helpline.core.enums import Status
from helpline.core.hookspecs import hookimpl
from helpline.core.models import Message, Ticket
from helpline.plugins.sla import __version__, clocks, hookspecs, jobs, reporting
from helpline.plugins.sla.schema import SlaMutation, SlaQuery, SlaTicketFields

__all__ = ["__version__"]


@hookimpl
def helpline_add_hookspecs(plugin_manager: pluggy.PluginManager) -> None:
    """Declare ``helpline_sla_warning`` and ``helpline_sla_breached``."""
    plugin_manager.add_hookspecs(hookspecs)


@hookimpl
def helpline_register_models() -> ModelsContribution:
    """Calendars, policies, clocks and their history, settings: the Tortoise app ``sla``."""
    return ModelsContribution(
        app="sla", modules=["helpline.plugins.sla.models"], migrations="helpline.plugins.sla.migrations"
    )


@hookimpl
def helpline_register_schema() -> SchemaContribution:
    """``Ticket.sla``, the admin queries and mutations."""
    return SchemaContribution(query=SlaQuery, mutation=SlaMutation, ticket_fields=SlaTicketFields)


@hookimpl
def helpline_register_periodic() -> list[PeriodicJob]:
    """Breaches and warnings every 30 s; retargeting after admin changes every 30 s."""
    return [
        PeriodicJob(name="deadlines", interval_seconds=30, run=jobs.deadlines),
        PeriodicJob(name="recompute", interval_seconds=30, run=jobs.recompute, lease_seconds=600),
    ]


@hookimpl
async def helpline_ticket_created(ticket: Ticket, actor: Actor) -> None:
    """Start the new ticket's clocks."""
    await clocks.ticket_created(ticket, actor)


@hookimpl
async def helpline_tickets_prefetched(ticket_ids: list[int]) -> None:
    """Read the clocks of a batch's tickets at once."""
    await clocks.prefetch_clocks(ticket_ids)


@hookimpl
async def helpline_message_added(ticket: Ticket, message: Message, actor: Actor) -> None:
    """Meet response clocks, or start a next-response clock."""
    await clocks.message_added(ticket, message, actor.user)


@hookimpl
async def helpline_ticket_status_changed(
    ticket: Ticket, old: Status, new: Status, actor: Actor, message: Message | None
) -> None:
    """Pause, resume, meet, reopen or cancel clocks."""
    await clocks.status_changed(ticket, old, new, message)


@hookimpl
def helpline_ticket_merged(target: Ticket) -> None:
    """The source's messages reached the target: forget what was known of the target's replies."""
    clocks.message_arrived(target.id)


@hookimpl(optionalhook=True)
async def helpline_performance_business_minutes(ticket: Ticket, start: dt.datetime, end: dt.datetime) -> float | None:
    """Business minutes on the ticket's SLA calendar, for the performance plugin."""
    return await reporting.ticket_business_minutes(ticket, start, end)


@hookimpl(optionalhook=True)
def helpline_performance_report_columns() -> Any:
    """SLA attainment as a column of performance reports."""
    return reporting.attainment_column()


@hookimpl
async def helpline_ticket_updated(ticket: Ticket, changes: dict[str, tuple[Any, Any]], actor: Actor) -> None:
    """Re-select the policy when something it matches on changed."""
    await clocks.ticket_changed(ticket, changes.keys())
