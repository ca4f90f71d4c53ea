"""The outbox: effects written with the change, delivered after commit, retried, dead, retried by admins.

A test plugin enqueues an effect from ``helpline_ticket_created`` and contributes the handler that
"delivers" it by recording it (or raising while its receiver is "down"). Time moves on the
injectable clock; dispatchers are driven batch by batch, except where the background loop itself
is under test.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import logging
import random
from typing import Any

import pytest

from helpline import DeliveryHandler, Veto, hookimpl
from helpline.config import Settings, SettingsError, load_settings
from helpline.core.clock import FrozenClock
from helpline.core.db import transaction
from helpline.core.enums import EffectStatus
from helpline.core.errors import PluginLoadError
from helpline.core.models import OutboxEffect, Ticket
from helpline.core.outbox import Dispatcher, Effect, collect_handlers, dispatching, enqueue
from helpline.schema.ids import encode_id
from helpline.testing import HelplineClient, running_app
from tests.gql import CREATE_TICKET

KIND = "webhooks.ticket_created"
EFFECTS = (
    "query($status: OutboxEffectStatus, $first: Int, $after: String) { outboxEffects(status: $status, "
    "first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } "
    "nodes { id kind payload idempotencyKey status attempts lastError nextAttemptAt deliveredAt } } }"
)
RETRY = (
    "mutation($input: RetryOutboxEffectInput!) { retryOutboxEffect(input: $input) { "
    "effect { id status attempts lastError } userErrors { field message code } } }"
)


class Webhooks:
    """Enqueues a webhook per new ticket and delivers it, unless its receiver is "down"."""

    helpline_plugin_name = "webhooks"

    def __init__(self) -> None:
        self.received: list[Effect] = []
        self.down = False
        self.enqueued = 0

    async def deliver(self, effect: Effect) -> None:
        await asyncio.sleep(0)  # yield, so concurrent dispatchers would interleave here
        if self.down:
            raise ConnectionError("the receiver is down")
        self.received.append(effect)

    @hookimpl
    def helpline_register_delivery(self) -> DeliveryHandler:
        return DeliveryHandler(KIND, self.deliver)

    @hookimpl
    async def helpline_ticket_created(self, ticket: Ticket) -> None:
        self.enqueued += 1
        await enqueue(KIND, {"number": ticket.number, "subject": ticket.subject}, f"ticket-created:{ticket.id}")


class Vetoer:
    helpline_plugin_name = "vetoer"

    @hookimpl
    def helpline_ticket_created(self, ticket: Ticket) -> None:
        if "forbidden" in ticket.subject:
            raise Veto("no forbidden subjects")


def outbox_settings(**changes: Any) -> Settings:
    """Test settings: nothing runs in the background; short, round backoff figures."""
    return Settings(run_jobs_in_process=False).replace(
        outbox_backoff_base_seconds=10.0, outbox_backoff_cap_seconds=60.0, outbox_max_attempts=3, **changes
    )


def dispatcher(client: HelplineClient, name: str = "d1") -> Dispatcher:
    return Dispatcher(client.runtime, collect_handlers(client.runtime), name=name, rng=random.Random(7))


async def create_ticket(client: HelplineClient, token: str, subject: str = "Printer on fire") -> dict[str, Any]:
    body = await client.post(CREATE_TICKET, {"input": {"subject": subject, "description": "Help"}}, token)
    return body


async def test_an_effect_is_delivered_after_commit_once(clock: FrozenClock) -> None:
    plugin = Webhooks()
    async with running_app(extra_plugins=[plugin], clock=clock, settings=outbox_settings()) as client:
        customer = await client.make_user("customer")
        body = await create_ticket(client, customer.token)
        number = body["data"]["createTicket"]["ticket"]["number"]
        effect = await OutboxEffect.get(kind=KIND)
        assert effect.status == EffectStatus.PENDING and effect.created_at == clock.now()
        assert plugin.received == [], "nothing is delivered inside the change"

        clock.advance(seconds=5)
        outcome = await dispatcher(client).deliver_all_due()
        assert outcome.delivered == [effect.id]
        assert [(e.kind, e.payload, e.attempt) for e in plugin.received] == [
            (KIND, {"number": number, "subject": "Printer on fire"}, 1)
        ]
        assert plugin.received[0].idempotency_key == effect.idempotency_key
        await effect.refresh_from_db()
        assert effect.status == EffectStatus.DELIVERED and effect.attempts == 1
        assert effect.delivered_at == clock.now() and effect.locked_by == ""
        assert (await dispatcher(client).deliver_all_due()).claimed == 0, "delivered effects are done"


async def test_an_effect_of_a_rolled_back_change_is_never_delivered(clock: FrozenClock) -> None:
    plugin = Webhooks()
    # Registered last, the webhooks plugin hears of the ticket first; the veto comes after its enqueue.
    async with running_app(extra_plugins=[Vetoer(), plugin], clock=clock, settings=outbox_settings()) as client:
        customer = await client.make_user("customer")
        body = await create_ticket(client, customer.token, "Something forbidden")
        assert body["errors"][0]["extensions"]["code"] == "PLUGIN_ERROR"
        assert plugin.enqueued == 1, "the effect was written, then rolled back with the ticket"

        with pytest.raises(RuntimeError):
            async with transaction():
                await enqueue(KIND, {"n": 1})
                raise RuntimeError("the change fails after the enqueue")

        assert await OutboxEffect.all().count() == 0
        assert (await dispatcher(client).deliver_all_due()).claimed == 0
        assert plugin.received == []


async def test_a_failing_delivery_backs_off_dies_and_is_retried_by_an_admin(clock: FrozenClock) -> None:
    plugin = Webhooks()
    plugin.down = True
    async with running_app(extra_plugins=[plugin], clock=clock, settings=outbox_settings()) as client:
        admin = await client.make_user("admin")
        customer = await client.make_user("customer")
        await create_ticket(client, customer.token)
        effect = await OutboxEffect.get(kind=KIND)
        worker = dispatcher(client)

        for failures, ceiling in ((1, 10), (2, 20)):
            attempted_at = clock.now()
            assert (await worker.deliver_all_due()).retrying == [effect.id]
            await effect.refresh_from_db()
            assert effect.status == EffectStatus.PENDING and effect.attempts == failures
            assert effect.last_error == "ConnectionError: the receiver is down"
            delay = effect.next_attempt_at - attempted_at
            # Exponential (base 10 s, doubling), jittered down by at most half.
            assert dt.timedelta(seconds=ceiling / 2) <= delay <= dt.timedelta(seconds=ceiling)
            assert (await worker.deliver_all_due()).claimed == 0, "not due before its backoff"
            clock.set(effect.next_attempt_at)

        assert (await worker.deliver_all_due()).dead == [effect.id], "dead after outbox_max_attempts (3)"
        await effect.refresh_from_db()
        assert effect.status == EffectStatus.DEAD and effect.attempts == 3
        clock.advance(days=1)
        assert (await worker.deliver_all_due()).claimed == 0, "a dead effect is not retried on its own"

        dead = (await client.data(EFFECTS, {"status": "DEAD"}, admin.token))["outboxEffects"]
        assert dead["totalCount"] == 1
        (node,) = dead["nodes"]
        assert node["kind"] == KIND and node["status"] == "DEAD" and node["attempts"] == 3
        assert node["lastError"] == "ConnectionError: the receiver is down" and node["deliveredAt"] is None
        assert node["idempotencyKey"] == effect.idempotency_key

        plugin.down = False
        retried = (await client.data(RETRY, {"input": {"id": node["id"]}}, admin.token))["retryOutboxEffect"]
        assert retried == {
            "effect": {"id": node["id"], "status": "PENDING", "attempts": 0, "lastError": node["lastError"]},
            "userErrors": [],
        }
        assert (await worker.deliver_all_due()).delivered == [effect.id]
        assert [e.payload["subject"] for e in plugin.received] == ["Printer on fire"]

        again = (await client.data(RETRY, {"input": {"id": node["id"]}}, admin.token))["retryOutboxEffect"]
        assert again["effect"] is None
        assert again["userErrors"] == [
            {
                "field": ["input", "id"],
                "message": "only dead effects can be retried; this one is delivered",
                "code": "NOT_DEAD",
            }
        ]
        await effect.refresh_from_db()
        assert effect.status == EffectStatus.DELIVERED and effect.attempts == 1


async def test_only_admins_see_and_retry_effects(clock: FrozenClock) -> None:
    async with running_app(extra_plugins=[Webhooks()], clock=clock, settings=outbox_settings()) as client:
        agent = await client.make_user("agent")
        customer = await client.make_user("customer")
        admin = await client.make_user("admin")
        for token in (agent.token, customer.token):
            body = await client.post(EFFECTS, {}, token)
            assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
            body = await client.post(RETRY, {"input": {"id": encode_id("OutboxEffect", 1)}}, token)
            assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert (await client.post(EFFECTS, {}))["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

        body = await client.post(RETRY, {"input": {"id": encode_id("OutboxEffect", 99)}}, admin.token)
        assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        ticket_id = (await create_ticket(client, customer.token))["data"]["createTicket"]["ticket"]["id"]
        body = await client.post(RETRY, {"input": {"id": ticket_id}}, admin.token)
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_effects_are_listed_newest_first_in_pages(clock: FrozenClock) -> None:
    async with running_app(extra_plugins=[Webhooks()], clock=clock, settings=outbox_settings()) as client:
        admin = await client.make_user("admin")
        for number in range(5):
            await enqueue(KIND, {"n": number})
        first = (await client.data(EFFECTS, {"first": 3}, admin.token))["outboxEffects"]
        assert [node["payload"]["n"] for node in first["nodes"]] == [4, 3, 2]
        assert first["totalCount"] == 5 and first["pageInfo"]["hasNextPage"]
        rest = await client.data(EFFECTS, {"first": 3, "after": first["pageInfo"]["endCursor"]}, admin.token)
        assert [node["payload"]["n"] for node in rest["outboxEffects"]["nodes"]] == [1, 0]
        delivered = (await client.data(EFFECTS, {"status": "DELIVERED"}, admin.token))["outboxEffects"]
        assert delivered["totalCount"] == 0


async def test_an_idempotency_key_is_enqueued_once(clock: FrozenClock) -> None:
    plugin = Webhooks()
    async with running_app(extra_plugins=[plugin], clock=clock, settings=outbox_settings()) as client:
        async with transaction():
            first = await enqueue(KIND, {"try": 1}, "invoice-42")
        async with transaction():  # a retried operation enqueues again: a no-op, not an error
            second = await enqueue(KIND, {"try": 2}, "invoice-42")
            await enqueue(KIND, {"other": True}, "invoice-43")
        assert second.id == first.id and second.payload == {"try": 1}
        assert await OutboxEffect.all().count() == 2

        await dispatcher(client).deliver_all_due()
        await enqueue(KIND, {"try": 3}, "invoice-42")  # also after delivery
        await dispatcher(client).deliver_all_due()
        assert sorted(effect.idempotency_key for effect in plugin.received) == ["invoice-42", "invoice-43"]
        keys = await OutboxEffect.all().values_list("idempotency_key", flat=True)
        assert len(set(keys)) == len(keys) == 2


async def test_bad_effects_are_refused_and_write_nothing(clock: FrozenClock) -> None:
    async with running_app(extra_plugins=[Webhooks()], clock=clock, settings=outbox_settings()):
        with pytest.raises(ValueError, match="not JSON"):
            await enqueue(KIND, {"when": clock.now()})
        with pytest.raises(ValueError, match="not JSON"):
            await enqueue(KIND, {"ratio": float("nan")})
        with pytest.raises(ValueError, match="kind"):
            await enqueue("", {})
        with pytest.raises(ValueError, match="idempotency_key"):
            await enqueue(KIND, {}, "x" * 201)
        assert await OutboxEffect.all().count() == 0


async def test_two_dispatchers_deliver_each_effect_exactly_once(clock: FrozenClock) -> None:
    plugin = Webhooks()
    settings = outbox_settings(outbox_batch_size=20)
    async with running_app(extra_plugins=[plugin], clock=clock, settings=settings) as client:
        async with transaction():
            for number in range(250):
                await enqueue(KIND, {"n": number})
        first, second = await asyncio.gather(
            dispatcher(client, "a").deliver_all_due(), dispatcher(client, "b").deliver_all_due()
        )
        counts = collections.Counter(effect.payload["n"] for effect in plugin.received)
        assert sorted(counts) == list(range(250)) and set(counts.values()) == {1}, "each exactly once"
        assert sorted(first.delivered + second.delivered) == sorted(
            await OutboxEffect.all().values_list("id", flat=True)
        )
        assert await OutboxEffect.filter(status=EffectStatus.DELIVERED).count() == 250


async def test_a_dead_dispatchers_claim_expires_with_its_lease(clock: FrozenClock) -> None:
    plugin = Webhooks()
    async with running_app(extra_plugins=[plugin], clock=clock, settings=outbox_settings()) as client:
        await enqueue(KIND, {"n": 1})
        claimed = await dispatcher(client, "crashed").claim(clock.now())  # ...and the process dies
        assert len(claimed) == 1
        assert (await dispatcher(client, "d2").deliver_all_due()).claimed == 0, "leased to the crashed one"
        clock.advance(seconds=client.runtime.settings.outbox_lease_seconds)
        assert (await dispatcher(client, "d2").deliver_all_due()).delivered == [claimed[0].id]
        assert len(plugin.received) == 1


async def test_effects_without_a_handler_stay_pending_and_are_logged(
    clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_app(extra_plugins=[Webhooks()], clock=clock, settings=outbox_settings()) as client:
        await enqueue("mailer.welcome", {"to": "someone@example.com"})  # its plugin is not enabled
        await enqueue("mailer.welcome", {"to": "other@example.com"})
        worker = dispatcher(client)
        assert (await worker.deliver_all_due()).claimed == 0
        with caplog.at_level(logging.WARNING, logger="helpline.outbox"):
            await worker.warn_about_unhandled()
        assert "2 pending outbox effect(s) of kind 'mailer.welcome' wait" in caplog.text
        assert "plugin disabled" in caplog.text
        assert await OutboxEffect.filter(status=EffectStatus.PENDING).count() == 2


class Duplicate:
    helpline_plugin_name = "other_webhooks"

    @hookimpl
    def helpline_register_delivery(self) -> DeliveryHandler:
        return DeliveryHandler(KIND, Webhooks().deliver)


async def test_two_plugins_delivering_one_kind_stop_start_up(clock: FrozenClock) -> None:
    with pytest.raises(
        PluginLoadError, match=r"'webhooks' and 'other_webhooks' both deliver .*'webhooks.ticket_created'"
    ):
        async with running_app(extra_plugins=[Webhooks(), Duplicate()], clock=clock):
            pass


async def test_a_commit_wakes_the_background_dispatcher(clock: FrozenClock) -> None:
    delivered = asyncio.Event()

    class Signalling(Webhooks):
        async def deliver(self, effect: Effect) -> None:
            await super().deliver(effect)
            delivered.set()

    # Polling once an hour: only the after-commit nudge can deliver within the wait below.
    settings = outbox_settings(outbox_poll_seconds=3600.0)
    async with running_app(extra_plugins=[Signalling()], clock=clock, settings=settings) as client:
        async with dispatching(client.runtime, collect_handlers(client.runtime)) as running:
            assert running is not None
            await asyncio.sleep(0.05)  # let it make its first (empty) pass and start waiting
            async with transaction():
                await enqueue(KIND, {"n": 1})
            await asyncio.wait_for(delivered.wait(), timeout=30)
        assert await OutboxEffect.filter(status=EffectStatus.DELIVERED).count() == 1


class Gated(Webhooks):
    """Deliveries block until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = asyncio.Event()
        self.gate = asyncio.Event()

    async def deliver(self, effect: Effect) -> None:
        self.entered.set()
        await self.gate.wait()
        await super().deliver(effect)


async def test_shutdown_finishes_deliveries_in_flight_and_claims_nothing_new(clock: FrozenClock) -> None:
    plugin = Gated()
    async with running_app(extra_plugins=[plugin], clock=clock, settings=outbox_settings()) as client:
        stack = contextlib.AsyncExitStack()
        await stack.enter_async_context(dispatching(client.runtime, collect_handlers(client.runtime)))
        in_flight = await enqueue(KIND, {"n": "in flight"})
        await asyncio.wait_for(plugin.entered.wait(), timeout=30)
        later = await enqueue(KIND, {"n": "after the stop"})
        shutting_down = asyncio.create_task(stack.aclose())
        await asyncio.sleep(0.05)  # the stop is requested while the delivery is still blocked
        assert not shutting_down.done(), "shutdown waits for the delivery in flight"
        plugin.gate.set()
        await asyncio.wait_for(shutting_down, timeout=30)

        assert [effect.payload["n"] for effect in plugin.received] == ["in flight"]
        assert (await OutboxEffect.get(id=in_flight.id)).status == EffectStatus.DELIVERED
        left = await OutboxEffect.get(id=later.id)
        assert left.status == EffectStatus.PENDING and left.locked_by == "" and left.attempts == 0


async def test_a_delivery_outliving_the_shutdown_timeout_is_released(clock: FrozenClock) -> None:
    plugin = Gated()  # the gate never opens
    settings = outbox_settings(outbox_shutdown_timeout_seconds=0.2)
    async with running_app(extra_plugins=[plugin], clock=clock, settings=settings) as client:
        async with dispatching(client.runtime, collect_handlers(client.runtime)):
            effect = await enqueue(KIND, {"n": 1})
            await asyncio.wait_for(plugin.entered.wait(), timeout=30)
        await effect.refresh_from_db()
        # Released at once (not left to its lease): the next dispatcher delivers it again.
        assert effect.status == EffectStatus.PENDING and effect.locked_until is None and effect.attempts == 0
        plugin.gate.set()
        assert (await dispatcher(client).deliver_all_due()).delivered == [effect.id]


def test_outbox_settings_are_checked() -> None:
    settings = load_settings(
        environ={"HELPLINE_OUTBOX_BACKOFF_BASE_SECONDS": "0.5", "HELPLINE_OUTBOX_MAX_ATTEMPTS": "4"}
    )
    assert settings.outbox_backoff_base_seconds == 0.5 and settings.outbox_max_attempts == 4
    for name, value, message in (
        ("OUTBOX_BACKOFF_BASE_SECONDS", "soon", "must be a number"),
        ("OUTBOX_BACKOFF_CAP_SECONDS", "-1", "must be a positive number"),
        ("OUTBOX_POLL_SECONDS", "nan", "must be a positive number"),
        ("OUTBOX_DELIVERY_TIMEOUT_SECONDS", "60", "must be less than outbox_lease_seconds"),
        ("OUTBOX_BACKOFF_BASE_SECONDS", "7200", "must not exceed outbox_backoff_cap_seconds"),
    ):
        with pytest.raises(SettingsError, match=message):
            load_settings(environ={f"HELPLINE_{name}": value})


async def test_the_app_delivers_in_the_background_right_after_a_commit(clock: FrozenClock) -> None:
    delivered = asyncio.Event()

    class Signalling(Webhooks):
        async def deliver(self, effect: Effect) -> None:
            await super().deliver(effect)
            delivered.set()

    # The app's own dispatcher (run_jobs_in_process), polling once an hour: the ticket service's
    # commit is what wakes it.
    settings = outbox_settings(run_jobs_in_process=True, outbox_poll_seconds=3600.0)
    plugin = Signalling()
    async with running_app(extra_plugins=[plugin], clock=clock, settings=settings) as client:
        customer = await client.make_user("customer")
        await asyncio.sleep(0.05)  # the dispatcher's first (empty) pass
        await create_ticket(client, customer.token, "Background delivery")
        await asyncio.wait_for(delivered.wait(), timeout=30)
        assert [effect.payload["subject"] for effect in plugin.received] == ["Background delivery"]
