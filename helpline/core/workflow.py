"""Ticket states and the moves between them. Pure functions: no database, no hooks.

The lifecycle is ``new -> open -> pending | on_hold -> solved -> closed``:

- ``pending`` waits on the customer, ``on_hold`` on a third party; both go back to ``open``.
- ``solved`` may be reopened (to ``open``) or closed; ``closed`` is final: a customer's follow-up
  to a closed ticket becomes a new ticket linked to it.
- ``merged`` is final too and reached only by merging, never by setting the status.
- Nothing moves back to ``new``: it means "nobody has answered yet".

Messages move tickets by themselves: an agent's public reply opens a ``new`` ticket, and a
customer's reply reopens a ``pending`` or ``solved`` one (``on_hold`` stays on hold: the team is
still waiting on the third party).
"""

from __future__ import annotations

from helpline.core.enums import Status

ALLOWED_TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.NEW: frozenset({Status.OPEN, Status.PENDING, Status.ON_HOLD, Status.SOLVED}),
    Status.OPEN: frozenset({Status.PENDING, Status.ON_HOLD, Status.SOLVED}),
    Status.PENDING: frozenset({Status.OPEN, Status.ON_HOLD, Status.SOLVED}),
    Status.ON_HOLD: frozenset({Status.OPEN, Status.PENDING, Status.SOLVED}),
    Status.SOLVED: frozenset({Status.OPEN, Status.CLOSED}),
    Status.CLOSED: frozenset(),
    Status.MERGED: frozenset(),
}

FINAL_STATUSES = frozenset({Status.CLOSED, Status.MERGED})


def transition_error(old: Status, new: Status) -> str | None:
    """Return why ``old -> new`` is not allowed, or ``None`` when it is (or nothing changes)."""
    if old == new:
        return None
    if old in FINAL_STATUSES:
        return f"a {old.value} ticket cannot change status"
    if new == Status.MERGED:
        return "a ticket becomes merged only by merging it into another"
    if new not in ALLOWED_TRANSITIONS[old]:
        return f"a ticket cannot go from {old.value} to {new.value}"
    return None


def status_after_agent_reply(current: Status) -> Status:
    """The status after an agent's public reply when the agent did not choose one: new -> open."""
    return Status.OPEN if current == Status.NEW else current


def status_after_customer_reply(current: Status) -> Status:
    """The status after the requester's reply: pending and solved reopen; others stay."""
    return Status.OPEN if current in (Status.PENDING, Status.SOLVED) else current
