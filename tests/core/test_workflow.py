"""The lifecycle rules, as pure functions."""

import pytest

from helpline.core.enums import Status
from helpline.core.workflow import (
    ALLOWED_TRANSITIONS,
    status_after_agent_reply,
    status_after_customer_reply,
    transition_error,
)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (Status.NEW, Status.OPEN),
        (Status.OPEN, Status.PENDING),
        (Status.OPEN, Status.ON_HOLD),
        (Status.PENDING, Status.OPEN),
        (Status.ON_HOLD, Status.SOLVED),
        (Status.SOLVED, Status.OPEN),
        (Status.SOLVED, Status.CLOSED),
    ],
)
def test_allowed_moves(old: Status, new: Status) -> None:
    assert transition_error(old, new) is None


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (Status.OPEN, Status.NEW),
        (Status.OPEN, Status.CLOSED),
        (Status.PENDING, Status.CLOSED),
        (Status.CLOSED, Status.OPEN),
        (Status.MERGED, Status.OPEN),
        (Status.OPEN, Status.MERGED),
    ],
)
def test_refused_moves(old: Status, new: Status) -> None:
    assert transition_error(old, new) is not None


def test_final_statuses_allow_nothing() -> None:
    assert ALLOWED_TRANSITIONS[Status.CLOSED] == frozenset()
    assert ALLOWED_TRANSITIONS[Status.MERGED] == frozenset()
    for status in Status:
        assert Status.NEW not in ALLOWED_TRANSITIONS[status], "nothing moves back to new"


def test_replies_move_tickets() -> None:
    assert status_after_agent_reply(Status.NEW) == Status.OPEN
    assert status_after_agent_reply(Status.PENDING) == Status.PENDING
    assert status_after_customer_reply(Status.PENDING) == Status.OPEN
    assert status_after_customer_reply(Status.SOLVED) == Status.OPEN
    assert status_after_customer_reply(Status.ON_HOLD) == Status.ON_HOLD
    assert status_after_customer_reply(Status.NEW) == Status.NEW
