"""Every hook the core calls, grouped by phase. These docstrings are the reference for plugin authors.

Naming says how a hook is called:

- ``helpline_register_*``: every plugin may contribute; the core collects all results, remembering
  which plugin made each. Return one contribution, a list of them, or ``None``.
- past-tense events (``helpline_ticket_created``...): broadcast to every plugin; results ignored.
  They run *inside* the database transaction of the change: raise to veto the whole change (the
  caller sees an error naming your plugin). Implementations may be ``async def``. Each also gets
  ``runtime`` (settings, plugins, clock: the change's "now" is ``runtime.clock.now()``), so a
  plugin can call hooks of its own without keeping any global state. For effects
  outside the database (webhooks, mail), call :func:`helpline.core.outbox.enqueue` there: the
  effect commits with the change and is delivered after commit (see ``helpline_register_delivery``).
- decisions (``helpline_validate_transition``): the core asks plugins one at a time and stops at
  the first non-``None`` answer.

An implementation may accept fewer arguments than the spec lists (pluggy passes only the ones it
names), so hooks grow by adding arguments and old plugins keep working.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from helpline.core.actors import Actor
    from helpline.core.contributions import (
        CommandContribution,
        DeliveryHandler,
        ModelsContribution,
        PeriodicJob,
        RouteContribution,
        SchemaContribution,
    )
    from helpline.core.models import Message, Ticket
    from helpline.core.runtime import Runtime
    from helpline.core.workflow import Status

PROJECT_NAME = "helpline"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


# ---------------------------------------------------------------------------------------------
# Start-up: declaring hooks and contributing models, schema, routes and commands
# ---------------------------------------------------------------------------------------------


@hookspec(historic=True)
def helpline_add_hookspecs(plugin_manager: pluggy.PluginManager) -> None:
    """Declare hooks of your own, so other plugins can implement them.

    Called once, when your plugin is registered. Call
    ``plugin_manager.add_hookspecs(your_hookspec_module)``, and call your hooks like the core calls
    its own (``runtime.plugins.broadcast(...)`` / ``first_answer(...)``). Other plugins may then
    implement your hooks, whichever plugin loads first. An implementation of a hook that no enabled
    plugin declares stops start-up like a misspelt hook, unless it is marked
    ``@hookimpl(optionalhook=True)``: mark implementations of another plugin's hooks that way, so
    your plugin also loads when that plugin is absent or disabled (they are then never called).
    The return value is ignored.
    """


@hookspec
def helpline_register_models() -> ModelsContribution | list[ModelsContribution] | None:
    """Contribute the Tortoise models your plugin owns.

    Called once while the database configuration is assembled. Return a
    :class:`~helpline.core.contributions.ModelsContribution` whose ``app`` label is unique (by
    convention your plugin's name). A disabled plugin is never asked, so it adds no tables.
    Name your migrations package in ``migrations`` (inside your own package): ``helpline migrate``
    and start-up apply its pending migrations, in order with the core's (see
    :mod:`helpline.core.migrate`).
    """


@hookspec
def helpline_register_schema() -> SchemaContribution | list[SchemaContribution] | None:
    """Contribute GraphQL root fields, fields on ``Ticket``, and extra types.

    Called once per schema composition. Return a
    :class:`~helpline.core.contributions.SchemaContribution`. Field names must be unique across
    the core and every enabled plugin: a clash stops start-up with an error naming both plugins.
    Root fields should carry your plugin's noun (``slaPolicies``, ``articles``).
    """


@hookspec
def helpline_register_routes() -> RouteContribution | list[RouteContribution] | None:
    """Contribute Starlette routes served next to ``/graphql`` (webhooks, exports, pages).

    Called once when the app is created. Return a
    :class:`~helpline.core.contributions.RouteContribution`. Paths must not clash with the core's
    (``/graphql``, ``/healthz``).
    """


@hookspec
def helpline_register_commands() -> CommandContribution | list[CommandContribution] | None:
    """Contribute subcommands to the ``helpline`` CLI (``helpline sla check``...).

    Called once when the CLI starts. Return a
    :class:`~helpline.core.contributions.CommandContribution` wrapping a click command or group.
    A name already taken stops the CLI with an error naming both owners.
    """


@hookspec
def helpline_register_periodic() -> PeriodicJob | list[PeriodicJob] | None:
    """Contribute jobs that run every ``interval_seconds`` (breach checks, survey sends, cleanups).

    Called once when jobs are collected. Return a :class:`~helpline.core.contributions.PeriodicJob`
    whose ``run(runtime)`` may be ``async def``; its name must be unique among your plugin's jobs
    (it is stored as ``<plugin>.<name>``). ``helpline worker`` runs due jobs, and so does
    ``helpline serve`` unless ``run_jobs_in_process`` is off. Each run is claimed in the database,
    so two workers never run the same job at the same time; a job that raises is logged with your
    plugin's name and tried again at its next interval. Take "now" from ``runtime.clock``.
    """


@hookspec
def helpline_register_delivery() -> DeliveryHandler | list[DeliveryHandler] | None:
    """Contribute the handlers that deliver outbox effects (webhooks, mail, pushes) after commit.

    Called once when the app or ``helpline worker`` starts. Return a
    :class:`~helpline.core.contributions.DeliveryHandler` per effect ``kind`` you deliver; by
    convention a kind starts with your plugin's name (``"csat.invitation"``). Two plugins claiming
    the same kind stop start-up naming both.

    Write effects with :func:`helpline.core.outbox.enqueue` from your event hooks
    (``helpline_ticket_created``...), which run inside the change's transaction: the effect
    commits with the change or rolls back with it, so nothing is sent for a change that did not
    happen and nothing is lost for one that did. The dispatcher in ``helpline serve`` (unless
    ``run_jobs_in_process`` is off) and in ``helpline worker`` then calls ``deliver(effect)`` at
    least once; raise to fail, and it is retried with exponential backoff until it is dead after
    ``outbox_max_attempts`` failures (admins see and retry dead effects through GraphQL). Effects
    whose kind has no handler (its plugin is disabled) stay pending, with a warning in the log.
    """


# ---------------------------------------------------------------------------------------------
# Ticket lifecycle events: inside the change's transaction; raise to roll the change back
# ---------------------------------------------------------------------------------------------


@hookspec
def helpline_ticket_created(ticket: Ticket, actor: Actor, runtime: Runtime) -> None:
    """Called inside the transaction that created ``ticket`` (its first message already saved).

    ``actor`` says who created it (a person, an automation or the system). Raise to veto the whole
    creation; the caller sees an error naming your plugin. The return value is ignored.
    """


@hookspec
def helpline_ticket_updated(
    ticket: Ticket, changes: dict[str, tuple[Any, Any]], actor: Actor, runtime: Runtime
) -> None:
    """Called inside the transaction that changed one or more of ``ticket``'s fields.

    ``changes`` maps each changed field name (``status``, ``priority``, ``team_id``,
    ``assignee_id``, ``tags``, ``subject``, ``type``, ``category``, ``custom_fields``...) to its
    ``(old, new)`` values; ``ticket`` already holds the new values and its new ``version``.
    Called once per change, after the more specific events below. Raise to veto; return ignored.
    """


@hookspec
def helpline_ticket_status_changed(
    ticket: Ticket, old: Status, new: Status, actor: Actor, runtime: Runtime, message: Message | None
) -> None:
    """Called inside the transaction that changed ``ticket.status`` from ``old`` to ``new``.

    Also called for automatic changes (an agent's reply opening a new ticket, a customer's reply
    reopening a pending one); ``actor`` is whoever caused it. ``message`` is the message whose
    addition made the change (already saved; ``helpline_message_added`` follows), or ``None`` for
    a change without one. Raise to veto the whole change; the caller sees an error naming your
    plugin. The return value is ignored.
    """


@hookspec
def helpline_ticket_assigned(
    ticket: Ticket,
    old_team_id: int | None,
    new_team_id: int | None,
    old_assignee_id: int | None,
    new_assignee_id: int | None,
    actor: Actor,
    runtime: Runtime,
) -> None:
    """Called inside the transaction that changed ``ticket``'s team and/or assignee.

    Ids are ``None`` for "nobody". Raise to veto; the return value is ignored.
    """


@hookspec
def helpline_message_added(ticket: Ticket, message: Message, actor: Actor, runtime: Runtime) -> None:
    """Called inside the transaction that added ``message`` to ``ticket``.

    ``message.internal`` tells a note from a public reply and ``message.source`` a human from an
    automation, a bot or an automatic reply; ``message.author_id`` is ``None`` for non-human
    sources. Status changes the message caused have already been announced. Not called for the
    ticket's first message (see ``helpline_ticket_created``) nor for messages moved by a merge.
    Raise to veto; the return value is ignored.
    """


@hookspec
def helpline_ticket_merged(
    source: Ticket, target: Ticket, moved_message_ids: list[int], actor: Actor, runtime: Runtime
) -> None:
    """Called inside the transaction that merged ``source`` into ``target``.

    ``moved_message_ids`` are the messages now on ``target`` that came from ``source``;
    ``source.status`` is ``merged``. Raise to veto; the return value is ignored.
    """


@hookspec
def helpline_tickets_prefetched(ticket_ids: list[int], runtime: Runtime) -> None:
    """Called inside a batch (:func:`helpline.core.db.all_or_nothing`: an import batch) when the
    core has read, and on PostgreSQL locked, the tickets ``ticket_ids`` that the batch is about to
    change (:func:`helpline.core.tickets.prefetch_tickets`).

    Read what your plugin keeps per ticket for all of them at once (one statement rather than one
    per ticket); the change events follow one by one as usual. Optional: a plugin that ignores it
    reads per ticket and stays correct. Raise to veto the batch; the return value is ignored.
    """


# ---------------------------------------------------------------------------------------------
# Decisions: the first non-None answer wins
# ---------------------------------------------------------------------------------------------


@hookspec
def helpline_validate_transition(ticket: Ticket, old: Status, new: Status, actor: Actor) -> str | None:
    """Decide whether ``ticket`` may move from ``old`` to ``new``; the core's own rules passed already.

    ``ticket`` shows the other field changes of the same update already applied (a rule such as
    "solving needs a category" sees the category set in that update); ``ticket.status`` is ``old``.
    Return a human-readable reason to refuse (the caller gets it as a userError with code
    ``TRANSITION_REFUSED`` and nothing changes), or ``None`` to let other plugins decide. Stops at
    the first non-``None`` result. May be ``async def``.
    """
