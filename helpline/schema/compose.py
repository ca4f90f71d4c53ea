"""compose_schema(): the core's types plus every enabled plugin's contributions -> one strawberry schema.

Clashes are errors, never silent overrides: a root field or a ``Ticket`` field that two
contributors define stops start-up with a message naming both (strawberry's ``merge_types`` would
only warn and keep one).
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

import strawberry
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.base import get_object_definition
from tortoise.models import Model

from helpline.config import Settings
from helpline.core.contributions import Contributed, SchemaContribution
from helpline.core.errors import PluginLoadError
from helpline.core.plugins import HelplinePlugins
from helpline.schema import composed
from helpline.schema.errors import HelplineSchema
from helpline.schema.limits import default_extensions
from helpline.schema.mutation import Mutation as CoreMutation
from helpline.schema.outbox import OutboxMutation, OutboxQuery
from helpline.schema.query import Query as CoreQuery
from helpline.schema.types import TicketBase

CORE = "core"
# Building a schema sets helpline.schema.composed.Ticket; one composition at a time.
_compose_lock = threading.Lock()


def _field_names(strawberry_type: type) -> dict[str, str]:
    definition = get_object_definition(strawberry_type, strict=True)
    return {field.python_name: field.graphql_name or field.python_name for field in definition.fields}


def _check_clashes(kind: str, parts: list[tuple[str, type]]) -> None:
    """Raise naming both owners when two parts define the same GraphQL field."""
    owners: dict[str, str] = {}
    for owner, part in parts:
        for graphql_name in _field_names(part).values():
            if graphql_name in owners:
                raise PluginLoadError(
                    f"schema clash: {kind} field {graphql_name!r} is defined by both "
                    f"{owners[graphql_name]!r} and {owner!r}"
                )
            owners[graphql_name] = owner


def _merge(name: str, parts: list[tuple[str, type]]) -> type | None:
    """A new strawberry type named ``name`` inheriting every part's fields."""
    if not parts:
        return None
    _check_clashes(name, parts)
    bases = tuple(part for _owner, part in parts)
    return strawberry.type(type(name, bases, {}), name=name)


@dataclasses.dataclass(frozen=True)
class SchemaParts:
    """The contributions, grouped by where they go, each with its owner's name."""

    query: list[tuple[str, type]]
    mutation: list[tuple[str, type]]
    subscription: list[tuple[str, type]]
    ticket: list[tuple[str, type]]
    types: list[type]


def collect_parts(plugins: HelplinePlugins) -> SchemaParts:
    """Group the ``helpline_register_schema`` contributions, core first."""
    parts = SchemaParts(
        query=[(CORE, CoreQuery), (CORE, OutboxQuery)],
        mutation=[(CORE, CoreMutation), (CORE, OutboxMutation)],
        subscription=[],
        ticket=[(CORE, TicketBase)],
        types=[],
    )
    contributed: list[Contributed] = plugins.collect("helpline_register_schema")
    for item in contributed:
        contribution = item.value
        if not isinstance(contribution, SchemaContribution):
            raise PluginLoadError(
                f"plugin {item.plugin!r}: helpline_register_schema must return SchemaContribution, "
                f"not {type(contribution).__name__}"
            )
        for target, piece in (
            (parts.query, contribution.query),
            (parts.mutation, contribution.mutation),
            (parts.subscription, contribution.subscription),
            (parts.ticket, contribution.ticket_fields),
        ):
            if piece is not None:
                if get_object_definition(piece) is None:
                    raise PluginLoadError(f"plugin {item.plugin!r}: {piece!r} is not a strawberry type")
                target.append((item.plugin, piece))
        parts.types.extend(contribution.types)
    return parts


def compose_schema(plugins: HelplinePlugins, settings: Settings | None = None) -> strawberry.Schema:
    """Build the GraphQL schema for the enabled plugins, with limits and error codes on."""
    settings = settings or Settings()
    parts = collect_parts(plugins)
    extensions: list[Any] = default_extensions(settings)
    with _compose_lock:
        ticket_type = _merge("Ticket", parts.ticket)
        composed.Ticket = ticket_type
        try:
            return HelplineSchema(
                query=_merge("Query", parts.query),
                mutation=_merge("Mutation", parts.mutation),
                subscription=_merge("Subscription", parts.subscription),
                types=[ticket_type, *parts.types],
                execution_context_class=HelplineExecutionContext,
                extensions=extensions,
            )
        finally:
            composed.Ticket = None


class HelplineExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Execution that does not take Tortoise rows for awaitables.

    ``Model`` defines ``__await__`` (awaiting a row returns the row), so graphql-core would send
    every ticket, user and team through its async path: a coroutine and a future per object.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        awaitable = self.is_awaitable
        self.is_awaitable = lambda value: not isinstance(value, Model) and awaitable(value)  # type: ignore[method-assign,assignment]


def export_sdl(plugins: HelplinePlugins, settings: Settings | None = None) -> str:
    """The schema in GraphQL SDL, as checked in at ``helpline/schema/schema.graphql``."""
    return str(compose_schema(plugins, settings)).rstrip() + "\n"
