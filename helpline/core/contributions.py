"""What plugins hand to the core from ``helpline_register_*`` hooks: small frozen dataclasses.

A registration hook may return one contribution, a list of them, or ``None``. The core records which
plugin each contribution came from, so every conflict and failure can name the plugin.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from typing import Any


@dataclasses.dataclass(frozen=True)
class ModelsContribution:
    """Tortoise models a plugin owns.

    ``app`` is the Tortoise app label (by convention the plugin's name); ``modules`` are the
    importable modules that define the models. Relations to core models use ``"core.Ticket"``.
    ``migrations`` is the importable package holding the app's migrations, inside the plugin's own
    package (``"my_plugin.migrations"``; create it with an empty ``__init__.py``, then run
    ``helpline migrations make --app <app>``). Without it, the app's missing tables are created
    from the models and never upgraded: fine for a throwaway plugin, not for one with users' data.
    """

    app: str
    modules: Sequence[str]
    migrations: str | None = None


@dataclasses.dataclass(frozen=True)
class SchemaContribution:
    """GraphQL pieces a plugin adds.

    - ``query`` / ``mutation`` / ``subscription``: strawberry types whose fields are merged into
      the root types. Their field names must not clash with the core's or another plugin's.
    - ``ticket_fields``: a strawberry type whose fields are added to ``Ticket``. Resolvers receive
      the ticket as ``self``, to read: in queries a read-only row (``helpline.core.rows``) with the
      ``Ticket`` model's attributes (``id``, ``status``, ``requester_id``...), in mutation payloads
      the model itself. Read attributes; change tickets through the core services.
    - ``types``: extra strawberry types the schema must know about (e.g. interface implementations).
    """

    query: type | None = None
    mutation: type | None = None
    subscription: type | None = None
    ticket_fields: type | None = None
    types: Sequence[type] = ()


@dataclasses.dataclass(frozen=True)
class RouteContribution:
    """Starlette routes (``Route``, ``WebSocketRoute``, ``Mount``) a plugin serves."""

    routes: Sequence[Any]


@dataclasses.dataclass(frozen=True)
class CommandContribution:
    """A click command (or group) added under ``helpline``; its name must be unique."""

    command: Any


@dataclasses.dataclass(frozen=True)
class PeriodicJob:
    """A job run every ``interval_seconds``; ``run`` takes the :class:`~helpline.core.runtime.Runtime`
    and may be ``async def``. ``lease_seconds`` bounds one run: a worker that dies mid-run frees
    the job for others once the lease has passed."""

    name: str
    interval_seconds: float
    run: Callable[[Any], Any]
    lease_seconds: float = 300.0


@dataclasses.dataclass(frozen=True)
class DeliveryHandler:
    """Delivers outbox effects of one ``kind`` (see :mod:`helpline.core.outbox`).

    ``deliver(effect)`` is ``async def`` and takes a :class:`~helpline.core.outbox.Effect`; it
    returns when the effect has been handed over (the receiver answered 2xx, the mail server took
    the mail) and raises to signal failure, which is retried with backoff. Delivery is at least
    once: pass ``effect.idempotency_key`` on (e.g. as an ``Idempotency-Key`` header) so the
    receiver can drop duplicates. One plugin owns each kind.
    """

    kind: str
    deliver: Callable[[Any], Awaitable[None]]


@dataclasses.dataclass(frozen=True)
class Contributed:
    """One contribution and the name of the plugin that made it."""

    plugin: str
    value: Any
