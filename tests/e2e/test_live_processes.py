"""Live updates across processes: two real ``helpline serve`` processes sharing one PostgreSQL database.

A subscriber connected to process A hears a change made through process B's HTTP API: B's
transaction sends ``pg_notify``, A's listener hears it and judges it for its own subscribers.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from helpline import testing
from helpline.testing import LiveConnection
from tests.e2e.processes import serve
from tests.gql import ADD_MESSAGE, CREATE_TICKET, UPDATE_TICKET

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not os.environ.get(testing.TEST_DATABASE_ENV, "").startswith("postgres"),
        reason="several server processes share state through PostgreSQL (set HELPLINE_TEST_DATABASE_URL)",
    ),
]

VISIBLE_CHANGED = (
    "subscription { visibleTicketsChanged { kind ticketId changedFields ticket { status priority } "
    "message { body internal } } }"
)
CREATE_USER = "mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } userErrors { code } } }"
CREATE_API_TOKEN = "mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { secret } }"


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    """A throwaway PostgreSQL schema both processes use."""
    async with testing.test_database() as url:
        yield url


async def data(http: httpx.AsyncClient, query: str, variables: dict[str, Any], token: str) -> dict[str, Any]:
    response = await http.post(
        "/graphql", json={"query": query, "variables": variables}, headers={"Authorization": f"Bearer {token}"}
    )
    body = response.json()
    assert not body.get("errors"), body
    return body["data"]  # type: ignore[no-any-return]


async def first_event(
    live: LiveConnection, operation: str, http: httpx.AsyncClient, ticket_id: str, token: str
) -> None:
    """Change the ticket through B until A's subscriber hears about it: the protocol does not say
    when a subscription is in place, so poke until one arrives (bounded by a deadline)."""
    priorities = ["HIGH", "LOW"]
    for attempt in range(60):
        update = {"input": {"id": ticket_id, "priority": priorities[attempt % 2]}}
        await data(http, UPDATE_TICKET, update, token)
        try:
            await live.next_data(operation, within=1.0)
            return
        except AssertionError:
            continue
    raise AssertionError("no event reached process A")


async def test_a_change_through_one_process_reaches_a_subscriber_on_another(database_url: str, tmp_path: Path) -> None:
    with serve(database_url, tmp_path) as a, serve(database_url, tmp_path) as b:
        assert a.admin_token is not None, "the first process created the first admin"
        async with httpx.AsyncClient(base_url=b.base_url, timeout=30) as http:
            created = await data(
                http,
                CREATE_USER,
                {"input": {"email": "c@example.com", "name": "Cora", "role": "CUSTOMER"}},
                a.admin_token,
            )
            customer_id = created["createUser"]["user"]["id"]
            token = await data(http, CREATE_API_TOKEN, {"input": {"name": "t", "userId": customer_id}}, a.admin_token)
            customer_token = token["createApiToken"]["secret"]
            ticket = (
                await data(
                    http, CREATE_TICKET, {"input": {"subject": "Printer", "description": "smoke"}}, customer_token
                )
            )["createTicket"]["ticket"]

            async with (
                LiveConnection.open(a.base_url, a.admin_token) as admin_live,
                LiveConnection.open(a.base_url, customer_token) as customer_live,
            ):
                admin_op = await admin_live.subscribe(VISIBLE_CHANGED)
                customer_op = await customer_live.subscribe(VISIBLE_CHANGED)
                await first_event(admin_live, admin_op, http, ticket["id"], a.admin_token)
                await first_event(customer_live, customer_op, http, ticket["id"], a.admin_token)
                # Both subscriptions may still hold warm-up changes (on a busy machine a retried warm-up
                # update is heard after the one that ended the warm-up): drain each to a marker.
                await data(http, UPDATE_TICKET, {"input": {"id": ticket["id"], "status": "PENDING"}}, a.admin_token)
                for live, operation in ((admin_live, admin_op), (customer_live, customer_op)):
                    while (await live.next_data(operation))["visibleTicketsChanged"]["ticket"]["status"] != "PENDING":
                        pass

                note = {"ticketId": ticket["id"], "body": "internal: again?", "internal": True}
                await data(http, ADD_MESSAGE, {"input": note}, a.admin_token)
                reply = {"ticketId": ticket["id"], "body": "On it", "status": "OPEN"}
                await data(http, ADD_MESSAGE, {"input": reply}, a.admin_token)

                seen_by_admin = [
                    (await admin_live.next_data(admin_op))["visibleTicketsChanged"]["message"] for _ in range(2)
                ]
                assert seen_by_admin == [
                    {"body": "internal: again?", "internal": True},
                    {"body": "On it", "internal": False},
                ]
                seen_by_customer = (await customer_live.next_data(customer_op))["visibleTicketsChanged"]
                assert seen_by_customer["kind"] == "MESSAGE_ADDED"
                assert seen_by_customer["message"] == {"body": "On it", "internal": False}, "the note produced nothing"
                assert seen_by_customer["ticket"]["status"] == "OPEN"
