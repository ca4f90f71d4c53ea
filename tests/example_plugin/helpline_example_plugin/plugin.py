"""The hook implementations of the ``example_watchers`` plugin, and nothing else.

Helpline finds this module through the ``helpline.plugins`` entry point in pyproject.toml.
"""

from __future__ import annotations

from starlette.routing import Route

from helpline import ModelsContribution, RouteContribution, SchemaContribution, hookimpl
from helpline.core.models import Ticket
from helpline_example_plugin import PLUGIN_NAME, routes, service
from helpline_example_plugin.schema import WatcherMutation, WatcherTicketFields


@hookimpl
def helpline_register_models() -> ModelsContribution:
    """The ``Watcher`` table, in a Tortoise app named after the plugin, with its migrations in our package."""
    return ModelsContribution(
        app=PLUGIN_NAME, modules=["helpline_example_plugin.models"], migrations="helpline_example_plugin.migrations"
    )


@hookimpl
def helpline_register_schema() -> SchemaContribution:
    """``Ticket.watchers``, ``Ticket.watcherCount`` and ``Mutation.watchTicket``."""
    return SchemaContribution(mutation=WatcherMutation, ticket_fields=WatcherTicketFields)


@hookimpl
def helpline_register_routes() -> RouteContribution:
    """``GET /example-watchers``."""
    return RouteContribution(routes=[Route("/example-watchers", routes.about, methods=["GET"])])


@hookimpl
async def helpline_ticket_created(ticket: Ticket) -> None:
    """The requester watches a new ticket; this runs in the creation's transaction.

    Like any implementation, it takes only the hook arguments it needs (here not ``actor``).
    """
    await service.add_watcher(ticket.id, ticket.requester_id, ticket.created_at)
