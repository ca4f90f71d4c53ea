"""The per-request context: the runtime, the viewer, and a fresh set of DataLoaders.

Resolvers reach everything through ``info.context``; plugins use :func:`viewer_of` and
:func:`runtime_of` rather than reading the context's attributes directly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from strawberry.dataloader import DataLoader
from strawberry.types import Info

from helpline.core import auth
from helpline.core.auth import Viewer, require_viewer
from helpline.core.errors import Unauthenticated
from helpline.core.models import Organization, Ticket, User
from helpline.core.runtime import Runtime
from helpline.schema.ticket_rows import load_ticket_rows


def _by_id_loader(model: Any) -> DataLoader[int, Any]:
    async def load(ids: Sequence[int]) -> list[Any]:
        rows = {row.id: row for row in await model.filter(id__in=list(set(ids)))}
        return [rows.get(pk) for pk in ids]

    return DataLoader(load_fn=load)


@dataclasses.dataclass
class Loaders:
    """One DataLoader per lookup, created per request so nothing leaks between viewers."""

    users: DataLoader[int, User | None] = dataclasses.field(default_factory=lambda: _by_id_loader(User))
    organizations: DataLoader[int, Organization | None] = dataclasses.field(
        default_factory=lambda: _by_id_loader(Organization)
    )
    extra: dict[str, DataLoader[Any, Any]] = dataclasses.field(default_factory=dict)

    def plugin_loader(self, key: str, load_fn: Any) -> DataLoader[Any, Any]:
        """A per-request loader owned by a plugin, created on first use under ``key``."""
        if key not in self.extra:
            self.extra[key] = DataLoader(load_fn=load_fn)
        return self.extra[key]


@dataclasses.dataclass
class HelplineContext:
    """What every resolver gets as ``info.context``."""

    runtime: Runtime
    request: Any = None
    response: Any = None
    current_viewer: Viewer | None = None
    auth_error: Unauthenticated | None = None
    loaders: Loaders = dataclasses.field(default_factory=Loaders)
    # Websockets: the graphql-transport-ws ``connection_init`` payload (strawberry sets it), and the
    # Authorization value the connection was authenticated with.
    connection_params: dict[str, Any] | None = None
    authorization: str | None = None
    # Per-request state of plugins (their own keys, prefixed with the plugin's name): what a plugin
    # must remember across the fields of one request, such as a cost budget.
    plugin_state: dict[str, Any] = dataclasses.field(default_factory=dict)

    _visible_tickets: DataLoader[int, Ticket | None] | None = None

    @property
    def viewer(self) -> Viewer | None:
        """The authenticated viewer, ``None`` when anonymous; re-raises a bad token's error."""
        if self.auth_error is not None:
            raise self.auth_error
        return self.current_viewer

    @property
    def visible_tickets(self) -> DataLoader[int, Ticket | None]:
        """Tickets by id, as the viewer may see them (``None`` when missing or hidden), batched."""
        if self._visible_tickets is None:
            viewer = require_viewer(self.viewer)

            async def load(ids: Sequence[int]) -> list[Ticket | None]:
                rows = {
                    ticket.id: ticket
                    for ticket in await load_ticket_rows(auth.visible_tickets(viewer).filter(id__in=list(set(ids))))
                }
                return [rows.get(pk) for pk in ids]

            self._visible_tickets = DataLoader(load_fn=load)
        return self._visible_tickets

    def fresh_loaders(self) -> None:
        """Forget everything loaded so far. A websocket's context lives as long as the connection:
        subscriptions call this before each event so that no event is resolved from stale rows."""
        self.loaders = Loaders()
        self._visible_tickets = None


def context_of(info: Info[Any, Any]) -> HelplineContext:
    """The request's :class:`HelplineContext`."""
    return info.context


def viewer_of(info: Info[Any, Any]) -> Viewer:
    """The authenticated viewer, or UNAUTHENTICATED."""
    return require_viewer(context_of(info).viewer)


def runtime_of(info: Info[Any, Any]) -> Runtime:
    """The running Helpline (settings, plugins, clock)."""
    return context_of(info).runtime


def loader_of(info: Info[Any, Any], key: str, load_fn: Any) -> DataLoader[Any, Any]:
    """A per-request DataLoader for a plugin, created on first use under ``key`` (prefix it with your
    plugin's name). ``load_fn`` takes a list of keys and returns the values in the same order."""
    return context_of(info).loaders.plugin_loader(key, load_fn)
