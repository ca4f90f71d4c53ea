"""compose_schema(): the core's types plus every enabled plugin's contributions -> one strawberry schema.

Clashes are errors, never silent overrides: a root field or a ``Ticket`` field that two
contributors define stops start-up with a message naming both (strawberry's ``merge_types`` would
only warn and keep one).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from inspect import CO_ITERABLE_COROUTINE
from types import CoroutineType, GeneratorType
from typing import Any

import strawberry
from graphql import GraphQLObjectType
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.base import get_object_definition
from strawberry.utils.str_converters import to_camel_case
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
from helpline.schema.subscription import Subscription as CoreSubscription
from helpline.schema.types import TicketBase

CORE = "core"
# Building a schema sets helpline.schema.composed.Ticket; one composition at a time.
_compose_lock = threading.Lock()


def _field_names(strawberry_type: type) -> dict[str, str]:
    definition = get_object_definition(strawberry_type, strict=True)
    # strawberry camel-cases names it was not given (auto_camel_case is on): compare what clients see,
    # so an explicit name="ticketChanged" clashes with a ticket_changed field.
    return {field.python_name: field.graphql_name or to_camel_case(field.python_name) for field in definition.fields}


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
        subscription=[(CORE, CoreSubscription)],
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
            schema = HelplineSchema(
                query=_merge("Query", parts.query),
                mutation=_merge("Mutation", parts.mutation),
                subscription=_merge("Subscription", parts.subscription),
                types=[ticket_type, *parts.types],
                execution_context_class=HelplineExecutionContext,
                extensions=extensions,
            )
        finally:
            composed.Ticket = None
    install_root_only_resolvers(schema)
    return schema


def _call_with_root(resolver: Callable[[Any], Any]) -> Callable[..., Any]:
    def resolve(root: Any, _info: Any) -> Any:
        return resolver(root)

    return resolve


def install_root_only_resolvers(schema: strawberry.Schema) -> int:
    """Let graphql-core call resolvers marked :func:`~helpline.schema.types.root_only` directly.

    strawberry wraps every resolver call (argument conversion, field extensions, ``info``
    injection); for a resolver that only reads its root that wrapping is most of the cost, and
    ``id`` and ``tags`` are resolved once per row (100 times on a 50-ticket page). A field keeps
    strawberry's wrapper if it has arguments, extensions or permission classes. Returns how many
    fields were switched.
    """
    switched = 0
    for graphql_type in schema._schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType):
            continue
        for graphql_field in graphql_type.fields.values():
            field = (graphql_field.extensions or {}).get("strawberry-definition")
            resolver = getattr(field, "base_resolver", None)
            wrapped = getattr(resolver, "wrapped_func", None)
            if not getattr(wrapped, "helpline_root_only", False):
                continue
            if graphql_field.args or field.extensions or field.permission_classes:  # type: ignore[union-attr]
                continue
            graphql_field.resolve = _call_with_root(wrapped)  # type: ignore[arg-type]
            switched += 1
    return switched


_awaitable_by_type: dict[type, bool] = {
    type(None): False,
    bool: False,
    int: False,
    float: False,
    str: False,
    list: False,
}


def is_awaitable(value: Any) -> bool:
    """graphql-core's ``is_awaitable``, answered once per type and never true for Tortoise rows.

    ``Model`` defines ``__await__`` (awaiting a row returns the row), so graphql-core would send
    every ticket, user and team model through its async path: a coroutine and a future per object.
    graphql-core asks this for every field value (about 2,000 times on a 50-ticket page), so the
    verdict is cached per type: ``await`` looks ``__await__`` up on the type, so the type decides.
    Generators are the exception (a flag on each generator's code) and are checked every time.
    """
    value_type = type(value)
    verdict = _awaitable_by_type.get(value_type)
    if verdict is not None:
        return verdict
    if isinstance(value, GeneratorType):
        return bool(value.gi_code.co_flags & CO_ITERABLE_COROUTINE)
    verdict = not isinstance(value, Model) and (isinstance(value, CoroutineType) or hasattr(value_type, "__await__"))
    _awaitable_by_type[value_type] = verdict
    return verdict


class HelplineExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Execution with :func:`is_awaitable`, which does not take Tortoise models for awaitables."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.is_awaitable = is_awaitable  # type: ignore[method-assign,assignment]


def export_sdl(plugins: HelplinePlugins, settings: Settings | None = None) -> str:
    """The schema in GraphQL SDL, as checked in at ``helpline/schema/schema.graphql``."""
    return str(compose_schema(plugins, settings)).rstrip() + "\n"
