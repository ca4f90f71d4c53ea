"""Per-ticket metrics, maintained incrementally by the event hooks (real database, real services)."""

from __future__ import annotations

import pytest

from helpline.core.clock import FrozenClock
from helpline.core.enums import MessageSource, Status
from helpline.testing import HelplineClient, TestUser
from tests.plugins.performance.helpers import automatic, change, episodes, open_ticket, reply, row


async def test_first_response_ignores_acknowledgements_bots_and_internal_notes(
    client: HelplineClient, clock: FrozenClock, agent: TestUser, customer: TestUser
) -> None:
    rt = client.runtime
    ticket_id = await open_ticket(rt, customer.user)
    clock.advance(minutes=1)
    await automatic(rt, ticket_id, MessageSource.AUTO_REPLY)
    clock.advance(minutes=2)
    await automatic(rt, ticket_id, MessageSource.BOT)
    clock.advance(minutes=5)
    await reply(rt, ticket_id, agent.user, internal=True)
    assert (await row(ticket_id)).first_response_minutes is None
    clock.advance(minutes=12)
    await reply(rt, ticket_id, agent.user)

    metrics = await row(ticket_id)
    assert metrics.first_response_minutes == pytest.approx(20.0)
    assert metrics.agent_replies == 1
    assert metrics.status == "open"
    assert metrics.first_response_business is None  # no plugin knows a calendar


async def test_a_reopened_episode_has_its_own_first_response(
    client: HelplineClient, clock: FrozenClock, agent: TestUser, customer: TestUser
) -> None:
    rt = client.runtime
    ticket_id = await open_ticket(rt, customer.user)
    clock.advance(minutes=30)
    await reply(rt, ticket_id, agent.user, status=Status.SOLVED)
    clock.advance(hours=2)
    await reply(rt, ticket_id, customer.user)  # reopens
    clock.advance(minutes=45)
    await reply(rt, ticket_id, agent.user)
    clock.advance(minutes=15)
    await change(rt, ticket_id, agent.user, status=Status.SOLVED)

    metrics = await row(ticket_id)
    assert metrics.first_response_minutes == pytest.approx(30.0)
    assert metrics.reopens == 1
    assert metrics.agent_replies == 2
    assert metrics.one_touch is False
    assert metrics.first_resolution_minutes == pytest.approx(30.0)
    assert metrics.full_resolution_minutes == pytest.approx(30 + 120 + 45 + 15)
    # new (30 min) + open after the reopening (60 min) is requester wait; solved is not.
    assert metrics.requester_wait_minutes == pytest.approx(90.0)
    stored = await episodes(ticket_id)
    assert [(e.seq, e.first_response_minutes) for e in stored] == [(0, 30.0), (1, 45.0)]
    assert all(e.ended_us < 2**62 for e in stored)


async def test_one_touch_wait_work_hold_and_reassignments(
    client: HelplineClient, clock: FrozenClock, admin: TestUser, customer: TestUser
) -> None:
    rt = client.runtime
    other = await client.make_user("agent")
    ticket_id = await open_ticket(rt, customer.user)
    clock.advance(minutes=10)
    await change(rt, ticket_id, admin.user, assignee_id=admin.id)
    clock.advance(minutes=10)
    await reply(rt, ticket_id, admin.user)  # new -> open, assigned: work starts
    clock.advance(minutes=20)
    await change(rt, ticket_id, admin.user, status=Status.ON_HOLD)
    clock.advance(minutes=60)
    await change(rt, ticket_id, admin.user, status=Status.OPEN, assignee_id=other.id)
    clock.advance(minutes=5)
    await change(rt, ticket_id, admin.user, status=Status.SOLVED)

    metrics = await row(ticket_id)
    assert metrics.one_touch is True
    assert metrics.reassignments == 1
    assert metrics.assignee_id == other.id
    assert metrics.on_hold_minutes == pytest.approx(60.0)
    assert metrics.agent_work_minutes == pytest.approx(25.0)
    assert metrics.requester_wait_minutes == pytest.approx(45.0)
    assert metrics.full_resolution_minutes == pytest.approx(105.0)


async def test_pending_is_not_requester_wait_and_automation_is_no_response(
    client: HelplineClient, clock: FrozenClock, agent: TestUser, customer: TestUser
) -> None:
    rt = client.runtime
    ticket_id = await open_ticket(rt, customer.user)
    clock.advance(minutes=5)
    await automatic(rt, ticket_id, MessageSource.AUTOMATION)  # a rule's message is no response
    clock.advance(minutes=5)
    await reply(rt, ticket_id, agent.user, status=Status.PENDING)  # new 10 min: waiting
    clock.advance(minutes=30)
    await reply(rt, ticket_id, customer.user)  # pending 30 min: the customer's turn, not wait
    clock.advance(minutes=15)
    await change(rt, ticket_id, agent.user, status=Status.SOLVED)  # open 15 min: waiting

    metrics = await row(ticket_id)
    assert metrics.first_response_minutes == pytest.approx(10.0)
    assert metrics.requester_wait_minutes == pytest.approx(25.0)
    assert metrics.agent_work_minutes == 0.0  # never assigned
    assert (metrics.agent_replies, metrics.reopens, metrics.one_touch) == (1, 0, True)
    assert metrics.full_resolution_minutes == pytest.approx(55.0)
