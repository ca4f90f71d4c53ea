"""The outbox across real processes: a ``helpline serve`` killed between commit and delivery, one
stopped with SIGTERM while a delivery is in flight, and a ``helpline worker`` delivering for a
``helpline serve --no-jobs``.

The server runs the ``outbox_webhook`` test plugin (tests/e2e/outbox_webhook_plugin.py), found
through an entry point written into a temporary folder on ``PYTHONPATH``. Its handler POSTs to a
receiver: a small HTTP server in this test, which records every request and answers as the test
says (hang, be slow, or say 200 at once).
"""

from __future__ import annotations

import http.server
import json
import signal
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from helpline import testing
from helpline.core.enums import EffectStatus
from helpline.core.models import OutboxEffect
from tests.e2e.processes import HELPLINE, ServerProcess, graphql_data, helpline_env, plugin_site, serve
from tests.gql import CREATE_TICKET

pytestmark = pytest.mark.e2e

WAIT = 90.0  # generous deadlines for a busy machine; nothing asserts on how long anything took
EFFECTS = "{ outboxEffects(first: 10) { nodes { idempotencyKey status attempts } } }"
# Short leases and backoff, so a restarted server re-delivers within the test's patience.
OUTBOX_SETTINGS = {
    "outbox_lease_seconds": "3",
    "outbox_delivery_timeout_seconds": "2",
    "outbox_backoff_base_seconds": "0.5",
    "outbox_backoff_cap_seconds": "1",
    "outbox_poll_seconds": "0.2",
}


class Receiver:
    """A webhook receiver on a free loopback port. ``mode``: ``hang`` (never answer until released),
    ``slow`` (answer 200 after ``delay`` seconds) or ``ok`` (answer 200 at once)."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.delay = 0.0
        self.requests: list[dict[str, Any]] = []  # key, body, and the status answered (None: hung)
        self.released = threading.Event()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                record: dict[str, Any] = {"key": self.headers["Idempotency-Key"], "body": body, "status": None}
                receiver.requests.append(record)
                if receiver.mode == "hang":
                    receiver.released.wait(timeout=WAIT)
                    return  # the caller is gone by now; answer nothing
                if receiver.mode == "slow":
                    time.sleep(receiver.delay)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                record["status"] = 200

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def delivered(self) -> list[dict[str, Any]]:
        """The requests answered with 200."""
        return [record for record in self.requests if record["status"] == 200]

    def wait_for(self, condition: Any, what: str) -> None:
        deadline = time.monotonic() + WAIT
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"gave up waiting for {what}; received: {self.requests}")
            time.sleep(0.05)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    receiver.thread.start()
    try:
        yield receiver
    finally:
        receiver.released.set()
        receiver.server.shutdown()
        receiver.server.server_close()


@pytest.fixture
def plugin_env(tmp_path: Path, receiver: Receiver) -> dict[str, str]:
    """The environment that makes ``helpline serve`` load the test plugin through an entry point."""
    site = plugin_site(tmp_path / "site", "outbox_webhook", "tests.e2e.outbox_webhook_plugin")
    return {**site, "OUTBOX_E2E_RECEIVER_URL": receiver.url}


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    async with testing.test_database() as url:  # imported as a module: pytest would collect it
        yield url


def _create_ticket(base_url: str, token: str, subject: str) -> dict[str, Any]:
    with httpx.Client(base_url=base_url, timeout=30.0) as http:
        created = graphql_data(http, CREATE_TICKET, {"input": {"subject": subject, "description": "x"}}, token)
    assert created["createTicket"]["userErrors"] == []
    return created["createTicket"]["ticket"]  # type: ignore[no-any-return]


async def _effects(database_url: str) -> list[tuple[str, EffectStatus]]:
    """The stored effects, read in-process (the outbox table is a core table)."""
    async with testing.running_app(database_url=database_url):
        return [(effect.idempotency_key, effect.status) for effect in await OutboxEffect.all().order_by("id")]


def test_an_effect_survives_a_kill_between_commit_and_delivery(
    database_url: str, tmp_path: Path, receiver: Receiver, plugin_env: dict[str, str]
) -> None:
    receiver.mode = "hang"
    with serve(database_url, tmp_path, env=plugin_env, **OUTBOX_SETTINGS) as first:
        assert first.admin_token is not None
        token = first.admin_token
        ticket = _create_ticket(first.base_url, token, "Webhook me")  # committed
        # The dispatcher picked it up and is waiting for the receiver: kill the server right there.
        receiver.wait_for(lambda: receiver.requests, "the first delivery attempt")
        first.process.kill()  # SIGKILL: no shutdown, no cleanup
    assert receiver.delivered() == [], "nothing was delivered before the crash"
    key = receiver.requests[0]["key"]
    assert receiver.requests[0]["body"] == {"number": ticket["number"], "subject": "Webhook me"}

    receiver.mode = "ok"
    receiver.released.set()
    with serve(database_url, tmp_path, env=plugin_env, **OUTBOX_SETTINGS) as second:
        receiver.wait_for(receiver.delivered, "the delivery after the restart")
        with httpx.Client(base_url=second.base_url, timeout=30.0) as http:
            deadline = time.monotonic() + WAIT
            while True:  # the server records the delivery just after the receiver's answer
                (effect,) = graphql_data(http, EFFECTS, token=token)["outboxEffects"]["nodes"]
                if effect["status"] == "DELIVERED" or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
        assert effect["status"] == "DELIVERED" and effect["idempotencyKey"] == key
        assert second.stop(signal.SIGINT) == 0, second.process.describe()
    # At least once: every attempt carried the same key, so the receiver can tell duplicates.
    assert {record["key"] for record in receiver.requests} == {key} and key.startswith("ticket-created:")
    assert [record["body"] for record in receiver.delivered()][:1] == [
        {"number": ticket["number"], "subject": "Webhook me"}
    ]


async def test_sigterm_finishes_the_delivery_in_flight(
    database_url: str, tmp_path: Path, receiver: Receiver, plugin_env: dict[str, str]
) -> None:
    receiver.mode, receiver.delay = "slow", 1.0
    settings = {**OUTBOX_SETTINGS, "outbox_delivery_timeout_seconds": "30", "outbox_lease_seconds": "60"}
    with serve(database_url, tmp_path, env=plugin_env, **settings) as server:
        assert server.admin_token is not None
        _create_ticket(server.base_url, server.admin_token, "Deliver me on the way out")
        receiver.wait_for(lambda: receiver.requests, "the delivery to start")
        code = server.stop(signal.SIGTERM)
        assert code in (0, -signal.SIGTERM), server.process.describe()
    assert len(receiver.delivered()) == 1, "the receiver answered the delivery in flight"
    assert [status for _key, status in await _effects(database_url)] == [EffectStatus.DELIVERED], (
        "and the server recorded it before exiting"
    )


def test_a_worker_delivers_what_a_server_without_jobs_committed(
    database_url: str, tmp_path: Path, receiver: Receiver, plugin_env: dict[str, str]
) -> None:
    with serve(database_url, tmp_path, "--no-jobs", env=plugin_env, **OUTBOX_SETTINGS) as server:
        assert server.admin_token is not None
        ticket = _create_ticket(server.base_url, server.admin_token, "For the worker")
        command = [str(HELPLINE), "worker"]
        env = {**helpline_env(database_url, **OUTBOX_SETTINGS), **plugin_env}
        worker = ServerProcess(command, cwd=tmp_path, env=env)
        try:
            lines = worker.lines_until(lambda line: line.startswith("Outbox: delivering"), timeout=WAIT)
            assert "outbox_webhook.ticket_created" in lines[-1], lines
            receiver.wait_for(receiver.delivered, "the worker's delivery")
            assert worker.stop(signal.SIGTERM) == 0, worker.describe()
            assert "Traceback" not in worker.text
        finally:
            worker.kill()
    assert [record["body"] for record in receiver.delivered()] == [
        {"number": ticket["number"], "subject": "For the worker"}
    ]
