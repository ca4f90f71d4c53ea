"""The performance plugin's hook implementations (the logic lives in :mod:`.service` and :mod:`.report`).

Event hooks fold the change's new events into the ticket's metrics inside the change's
transaction, so the metrics commit (or roll back) with the change.

The plugin asks its own ``helpline_performance_business_minutes`` hook through the manager of the
runtime the event hook receives, so several Helplines in one process never mix their plugins.
"""

from __future__ import annotations

import pluggy

from helpline.core.contributions import CommandContribution, ModelsContribution, SchemaContribution
from helpline.core.hookspecs import hookimpl
from helpline.core.models import Ticket
from helpline.core.runtime import Runtime
from helpline.plugins.performance import hookspecs, service


@hookimpl
def helpline_add_hookspecs(plugin_manager: pluggy.PluginManager) -> None:
    """Declare :mod:`.hookspecs`."""
    plugin_manager.add_hookspecs(hookspecs)


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
async def helpline_ticket_created(ticket: Ticket, runtime: Runtime) -> None:
    """Start the ticket's metrics."""
    await service.catch_up(runtime.plugins.pm, ticket)


@hookimpl
async def helpline_ticket_updated(ticket: Ticket, runtime: Runtime) -> None:
    """Fold in status, assignment and field changes (every change that writes events ends here)."""
    await service.catch_up(runtime.plugins.pm, ticket)


@hookimpl
async def helpline_message_added(ticket: Ticket, runtime: Runtime) -> None:
    """Fold in the message (an internal note alone announces no update)."""
    await service.catch_up(runtime.plugins.pm, ticket)


@hookimpl
async def helpline_ticket_merged(source: Ticket, target: Ticket, runtime: Runtime) -> None:
    """Fold in both sides of a merge (the target's ``merged_from`` event announces no update)."""
    await service.catch_up(runtime.plugins.pm, source)
    await service.catch_up(runtime.plugins.pm, target)
