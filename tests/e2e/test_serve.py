"""``helpline serve`` as a real process: first start, a help desk conversation over HTTP, restarts.

Each test runs the installed console script in a temporary working folder on a fresh database (an
SQLite file, or a throwaway PostgreSQL schema when HELPLINE_TEST_DATABASE_URL is set), reads the
first admin's token from the output, and talks to the server over loopback HTTP.
"""

from __future__ import annotations

import asyncio
import signal
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from helpline import testing
from tests.e2e.processes import graphql, graphql_data, serve
from tests.gql import ADD_MESSAGE, CREATE_TICKET

pytestmark = pytest.mark.e2e

CREATE_USER = (
    "mutation($input: CreateUserInput!) { createUser(input: $input) { "
    "user { id email role } userErrors { field message code } } }"
)
CREATE_API_TOKEN = (
    "mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { "
    "secret token { name prefix user { id } } userErrors { field message code } } }"
)
VIEWER = "{ viewer { id email role } }"
TICKETS = (
    "query($first: Int) { tickets(first: $first) { totalCount pageInfo { hasNextPage } "
    "nodes { id number subject status requester { email } "
    "messages { totalCount nodes { body internal author { email } } } } } }"
)


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    """A fresh database for the server processes (dropped afterwards on PostgreSQL)."""
    async with testing.test_database() as url:  # imported as a module: pytest would collect it
        yield url


def _make_person(http: httpx.Client, admin_token: str, role: str, email: str, name: str) -> tuple[str, str]:
    """createUser, then createApiToken for that person; return (user id, token secret)."""
    created = graphql_data(http, CREATE_USER, {"input": {"email": email, "name": name, "role": role}}, admin_token)[
        "createUser"
    ]
    assert created["userErrors"] == []
    assert created["user"]["email"] == email
    assert created["user"]["role"] == role
    user_id = created["user"]["id"]
    minted = graphql_data(
        http, CREATE_API_TOKEN, {"input": {"name": f"{name} laptop", "userId": user_id}}, admin_token
    )["createApiToken"]
    assert minted["userErrors"] == []
    assert minted["token"]["user"]["id"] == user_id
    secret = minted["secret"]
    assert secret.startswith(minted["token"]["prefix"])
    return user_id, secret


async def _subjects_in(database_url: str, token: str) -> list[str]:
    """The ticket subjects in the database itself, read in-process with the app of helpline.testing."""
    async with testing.running_app(database_url=database_url) as client:
        data = await client.data("{ tickets(first: 10) { nodes { subject } } }", token=token)
    return sorted(node["subject"] for node in data["tickets"]["nodes"])


def _error_codes(body: dict[str, Any]) -> list[str]:
    return [error.get("extensions", {}).get("code") for error in body.get("errors") or []]


def test_first_start_serves_a_whole_conversation_and_stops_cleanly(database_url: str, tmp_path: Path) -> None:
    with serve(database_url, tmp_path) as server:
        admin_token = server.admin_token
        assert admin_token is not None, f"serve printed no admin token on first start:\n{server.process.text}"
        assert admin_token.startswith("hl_")

        with httpx.Client(base_url=server.base_url, timeout=30.0) as http:
            health = http.get("/healthz")
            assert health.status_code == 200
            assert health.json() == {"status": "ok"}

            page = http.get("/graphql", headers={"Accept": "text/html"})
            assert page.status_code == 200
            assert page.headers["content-type"].startswith("text/html")
            assert "graphiql" in page.text.lower()

            assert graphql_data(http, VIEWER, token=admin_token)["viewer"]["email"] == "admin@example.com"
            assert _error_codes(graphql(http, VIEWER)) == ["UNAUTHENTICATED"]
            assert _error_codes(graphql(http, VIEWER, token="hl_not-a-real-token")) == ["UNAUTHENTICATED"]

            customer_id, customer_token = _make_person(http, admin_token, "CUSTOMER", "ada@example.com", "Ada Customer")
            _agent_id, agent_token = _make_person(http, admin_token, "AGENT", "alan@example.com", "Alan Agent")
            assert graphql_data(http, VIEWER, token=customer_token)["viewer"]["id"] == customer_id

            created = graphql_data(
                http,
                CREATE_TICKET,
                {"input": {"subject": "Printer on fire", "description": "Smoke everywhere", "priority": "HIGH"}},
                customer_token,
            )["createTicket"]
            assert created["userErrors"] == []
            ticket = created["ticket"]
            assert ticket["status"] == "NEW"
            assert ticket["requester"]["id"] == customer_id

            reply = graphql_data(
                http, ADD_MESSAGE, {"input": {"ticketId": ticket["id"], "body": "On our way"}}, agent_token
            )["addMessage"]
            assert reply["userErrors"] == []
            assert reply["message"]["internal"] is False
            assert reply["ticket"]["status"] == "OPEN"

            note = graphql_data(
                http,
                ADD_MESSAGE,
                {"input": {"ticketId": ticket["id"], "body": "Bring an extinguisher", "internal": True}},
                agent_token,
            )["addMessage"]
            assert note["userErrors"] == []
            assert note["message"]["internal"] is True
            assert note["ticket"]["status"] == "OPEN"

            mine = graphql_data(http, TICKETS, {"first": 10}, customer_token)["tickets"]
            assert mine["totalCount"] == 1
            [seen] = mine["nodes"]
            assert (seen["id"], seen["status"]) == (ticket["id"], "OPEN")
            assert seen["messages"]["totalCount"] == 2
            assert [(m["body"], m["internal"]) for m in seen["messages"]["nodes"]] == [
                ("Smoke everywhere", False),
                ("On our way", False),
            ]

            everything = graphql_data(http, TICKETS, {"first": 10}, admin_token)["tickets"]
            assert everything["totalCount"] == 1
            assert everything["pageInfo"]["hasNextPage"] is False
            [staff_view] = everything["nodes"]
            assert staff_view["subject"] == "Printer on fire"
            assert staff_view["requester"]["email"] == "ada@example.com"
            assert staff_view["messages"]["totalCount"] == 3
            assert [m["body"] for m in staff_view["messages"]["nodes"]][-1] == "Bring an extinguisher"

            # Stop while this client still holds a keep-alive connection, as browsers do.
            code = server.stop(signal.SIGINT)

        assert code == 0, server.process.describe()
        output = server.process.text
        assert "Application shutdown complete" in output, output
        assert "Traceback" not in output, output
        assert output.count("hl_") == 1, "the token must be printed exactly once"


def test_restart_keeps_data_and_tokens_and_prints_no_new_token(database_url: str, tmp_path: Path) -> None:
    with serve(database_url, tmp_path) as first:
        admin_token = first.admin_token
        assert admin_token is not None, first.process.text
        with httpx.Client(base_url=first.base_url, timeout=30.0) as http:
            created = graphql_data(
                http, CREATE_TICKET, {"input": {"subject": "Before restart", "description": "Hello"}}, admin_token
            )["createTicket"]
            assert created["userErrors"] == []
            number = created["ticket"]["number"]
        code = first.stop(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises SIGTERM so the process ends "by the signal".
        assert code in (0, -signal.SIGTERM), first.process.describe()
        assert "Application shutdown complete" in first.process.text
        assert "Traceback" not in first.process.text

    with serve(database_url, tmp_path) as second:
        assert second.admin_token is None, f"a restart printed a new token:\n{second.process.text}"
        assert "Created the first admin" not in second.process.text
        with httpx.Client(base_url=second.base_url, timeout=30.0) as http:
            assert graphql_data(http, VIEWER, token=admin_token)["viewer"]["email"] == "admin@example.com"
            listed = graphql_data(http, TICKETS, {"first": 10}, admin_token)["tickets"]
            assert listed["totalCount"] == 1
            assert [(t["number"], t["subject"]) for t in listed["nodes"]] == [(number, "Before restart")]
            again = graphql_data(
                http, CREATE_TICKET, {"input": {"subject": "After restart", "description": "Hi"}}, admin_token
            )["createTicket"]
            assert again["ticket"]["number"] == number + 1, "ticket numbers continue after a restart"
        assert second.stop(signal.SIGINT) == 0, second.process.describe()
        assert "Traceback" not in second.process.text

    # The processes really used the database they were given (not a default file elsewhere).
    assert asyncio.run(_subjects_in(database_url, admin_token)) == ["After restart", "Before restart"]


def test_serve_does_not_print_the_database_password(database_url: str, tmp_path: Path) -> None:
    parts = urllib.parse.urlsplit(database_url)
    if parts.scheme == "sqlite":
        pytest.skip("SQLite URLs carry no password (set HELPLINE_TEST_DATABASE_URL to run this)")
    password = parts.password
    if password is None:  # a trust-authenticated test server ignores the password we add
        password = "not-for-the-logs"
        netloc = f"{parts.username}:{password}@{parts.hostname}:{parts.port}"
        database_url = urllib.parse.urlunsplit(parts._replace(netloc=netloc))
    with serve(database_url, tmp_path) as server:
        assert server.stop(signal.SIGINT) == 0, server.process.describe()
        assert password not in server.process.text
