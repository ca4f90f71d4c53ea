"""Hooks the SLA plugin declares, so that other plugins (automation, notifications) can react.

Mark implementations ``@hookimpl(optionalhook=True)``: your plugin then also loads when the SLA
plugin is off (the hooks are simply never called).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from helpline.core.hookspecs import hookspec

if TYPE_CHECKING:
    from helpline.core.models import Ticket
    from helpline.core.runtime import Runtime
    from helpline.plugins.sla.models import SlaClock


@hookspec
def helpline_sla_warning(clock: SlaClock, ticket: Ticket, runtime: Runtime) -> None:
    """Called once per clock when it reaches its policy's warning point (minutes before due).

    Called by the SLA plugin's periodic job, inside a transaction that also records the warning:
    raise and both roll back, and the job tries again at its next run. Exactly once per clock,
    also with several workers (the warning is claimed with a conditional update first).
    ``clock.kind`` says which target (first_response, next_response, resolution); ``clock.due_at``
    when it is due. Enqueue effects outside the database (mail, chat) through the outbox.
    The return value is ignored.
    """


@hookspec
def helpline_sla_breached(clock: SlaClock, ticket: Ticket, runtime: Runtime) -> None:
    """Called once per clock that passed its due time without being met (``clock.breached_at``).

    Called by the SLA plugin's periodic job, within about a minute of the breach (or of a late
    response, which records the breach at the due time), inside a transaction that also records
    the announcement: raise and both roll back, to be retried at the next run. Exactly once per
    clock, also with several workers. The return value is ignored.
    """
