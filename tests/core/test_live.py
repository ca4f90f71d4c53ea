"""The live-update plumbing: change payloads, after-commit delivery, the hub, the PostgreSQL listener."""

from __future__ import annotations

import asyncio
import os

import asyncpg
import pytest

from helpline.core import db, live
from helpline.core.live import ChangeKind, LiveHub, SubscriberTooSlow, TicketChange
from helpline.testing import TEST_DATABASE_ENV, HelplineClient, TestUser
from tests.core.test_tickets import create, update


def test_a_change_travels_as_small_json_and_comes_back_equal() -> None:
    change = TicketChange(42, ChangeKind.UPDATED, ("status", "team_id"), previous={"team_id": 3})
    payload = change.to_json()
    assert len(payload.encode()) < 100
    assert TicketChange.from_json(payload) == change
    message = TicketChange(7, ChangeKind.MESSAGE_ADDED, message_id=9)
    assert TicketChange.from_json(message.to_json()) == message
    for bad in ("", "{}", '{"t": 1, "k": "exploded"}', "[1]"):
        with pytest.raises((ValueError, KeyError, TypeError)):
            TicketChange.from_json(bad)


def test_each_schema_has_its_own_channel() -> None:
    assert live.channel_for("postgres://u@h/db") == "helpline_live.public"
    assert live.channel_for("postgres://u@h/db?schema=test_ab12") == "helpline_live.test_ab12"
    assert len(live.channel_for("postgres://u@h/db?schema=" + "x" * 100)) == 63
    assert live.asyncpg_dsn("postgres://u@h/db?schema=s&minsize=1") == "postgresql://u@h:5432/db"


async def test_after_commit_runs_only_for_what_committed(client: HelplineClient) -> None:
    ran: list[str] = []
    async with db.transaction():
        db.after_commit(lambda: ran.append("outer"))
        with pytest.raises(RuntimeError):
            async with db.transaction():
                db.after_commit(lambda: ran.append("rolled-back savepoint"))
                raise RuntimeError("inner fails")
        async with db.transaction():
            db.after_commit(lambda: ran.append("released savepoint"))
        assert ran == [], "nothing runs before the outermost commit"
    assert ran == ["outer", "released savepoint"]

    with pytest.raises(RuntimeError):
        async with db.transaction():
            db.after_commit(lambda: ran.append("rolled back"))
            raise RuntimeError("outer fails")
    db.after_commit(lambda: ran.append("no transaction"))
    assert ran == ["outer", "released savepoint", "no transaction"]


async def test_the_hub_delivers_by_ticket_and_drops_a_subscriber_that_falls_behind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hub = LiveHub()
    one = hub.subscribe(1)
    every = hub.subscribe()
    hub.deliver(TicketChange(2, ChangeKind.CREATED))
    hub.deliver(TicketChange(1, ChangeKind.UPDATED, ("status",)))
    assert (await anext(one)).change.ticket_id == 1
    assert [(await anext(every)).change.ticket_id for _ in range(2)] == [2, 1]

    monkeypatch.setattr(live, "QUEUE_SIZE", 2)
    slow = hub.subscribe()
    for ticket_id in range(3):
        hub.deliver(TicketChange(ticket_id, ChangeKind.CREATED))
    assert [(await anext(slow)).change.ticket_id for _ in range(2)] == [0, 1]
    with pytest.raises(SubscriberTooSlow):
        await anext(slow)
    assert hub.subscriber_count == 2, "the slow subscriber was removed, the others stay"
    one.close()
    every.close()
    assert hub.subscriber_count == 0


async def test_subscribers_of_one_change_share_one_read() -> None:
    delivery = live.Delivery(TicketChange(1, ChangeKind.CREATED))
    reads = 0

    async def load() -> str:
        nonlocal reads
        reads += 1
        await asyncio.sleep(0)
        return "row"

    results = await asyncio.gather(*(delivery.shared("ticket", load) for _ in range(50)))
    assert results == ["row"] * 50
    assert reads == 1


async def test_a_delivery_knows_when_a_later_change_of_its_ticket_arrived() -> None:
    hub = LiveHub()
    slow = hub.subscribe(1)
    hub.deliver(TicketChange(1, ChangeKind.UPDATED, ("status",)))
    first = await anext(slow)
    assert first.is_latest, "nothing newer: rows read for it are current"
    hub.deliver(TicketChange(2, ChangeKind.CREATED))
    assert first.is_latest, "another ticket's change does not age it"
    hub.deliver(TicketChange(1, ChangeKind.UPDATED, ("team_id",)))
    assert not first.is_latest, "a slow reader getting to it now must read afresh"
    assert (await anext(slow)).is_latest
    assert not live.Delivery(TicketChange(1, ChangeKind.CREATED)).is_latest, "outside a hub: always read afresh"


@pytest.mark.skipif(
    not os.environ.get(TEST_DATABASE_ENV, "").startswith("postgres"), reason="the listener is PostgreSQL's"
)
async def test_the_listener_reconnects_after_losing_its_connection(
    client: HelplineClient, agent: TestUser, customer: TestUser
) -> None:
    hub = client.runtime.live
    assert hub is not None and hub.listener is not None
    listener = hub.listener
    subscription = hub.subscribe()
    ticket = await create(client, customer)
    assert (await asyncio.wait_for(anext(subscription), 30)).change.kind == ChangeKind.CREATED

    old_pid = listener.backend_pid
    killer = await asyncpg.connect(listener.dsn)
    try:
        assert await killer.fetchval("SELECT pg_terminate_backend($1)", old_pid)
    finally:
        await killer.close()
    for _ in range(3000):  # a deadline, not a measurement
        if listener.connected.is_set() and listener.backend_pid != old_pid:
            break
        await asyncio.sleep(0.01)
    else:
        raise AssertionError("the listener did not reconnect")

    await update(client, agent, ticket["id"], status="PENDING")
    change = (await asyncio.wait_for(anext(subscription), 30)).change
    assert (change.kind, change.fields) == (ChangeKind.UPDATED, ("status",))
    subscription.close()
