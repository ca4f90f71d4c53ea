"""The performance plugin's hook implementations (the logic lives in :mod:`.service` and :mod:`.report`).

Event hooks fold the change's new events into the ticket's metrics inside the change's
transaction, so the metrics commit (or roll back) with the change.

Why a module-level plugin manager: event hooks receive the ticket and the actor, not the runtime,
and the plugin must call its own ``helpline_performance_business_minutes`` hook. It keeps the
manager that registered it (``helpline_add_hookspecs`` is called once per manager). A process runs
one Helpline (one manager) at a time; where several are built (the CLI builds its own), they are
built from the same settings and give the same answers. Commands use their runtime's manager.
"""

from __future__ import annotations

import pluggy

from helpline.core.actors import Actor
from helpline.core.contributions import CommandContribution, ModelsContribution, SchemaContribution
from helpline.core.hookspecs import hookimpl
from helpline.core.models import Message, Ticket
from helpline.plugins.performance import hookspecs, service

_manager: pluggy.PluginManager | None = None


def _current_manager() -> pluggy.PluginManager:
    """The manager that registered this plugin (see the module docstring)."""
    if _manager is None:
        raise RuntimeError("the performance plugin is not registered with a plugin manager")
    return _manager


@hookimpl
def helpline_add_hookspecs(plugin_manager: pluggy.PluginManager) -> None:
    """Declare :mod:`.hookspecs` and remember the manager (see the module docstring)."""
    global _manager
    plugin_manager.add_hookspecs(hookspecs)
    _manager = plugin_manager


@hookimpl
def helpline_register_models() -> ModelsContribution:
    """The plugin's tables, in the Tortoise app ``performance``, with its migrations."""
    return ModelsContribution(
        app="performance",
        modules=["helpline.plugins.performance.models"],
        migrations="helpline.plugins.performance.migrations",
    )


@hookimpl
def helpline_register_schema() -> SchemaContribution:
    """``performanceReport``, ``agentPerformance``, ``teamPerformance``, ``performanceLeaderboard``."""
    from helpline.plugins.performance.schema import PerformanceQuery

    return SchemaContribution(query=PerformanceQuery)


@hookimpl
def helpline_register_commands() -> CommandContribution:
    """``helpline performance report`` and ``helpline performance rebuild``."""
    from helpline.plugins.performance.cli import performance

    return CommandContribution(command=performance)


@hookimpl
async def helpline_ticket_created(ticket: Ticket, actor: Actor) -> None:
    """Start the ticket's metrics."""
    await service.catch_up(_current_manager(), ticket)


@hookimpl
async def helpline_ticket_updated(ticket: Ticket, actor: Actor) -> None:
    """Fold in status, assignment and field changes (every change that writes events ends here)."""
    await service.catch_up(_current_manager(), ticket)


@hookimpl
async def helpline_message_added(ticket: Ticket, message: Message, actor: Actor) -> None:
    """Fold in the message (an internal note alone announces no update)."""
    await service.catch_up(_current_manager(), ticket)


@hookimpl
async def helpline_ticket_merged(source: Ticket, target: Ticket, actor: Actor) -> None:
    """Fold in both sides of a merge (the target's ``merged_from`` event announces no update)."""
    await service.catch_up(_current_manager(), source)
    await service.catch_up(_current_manager(), target)
