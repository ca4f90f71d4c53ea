"""Requests built to hurt: exponential fragments, giant bodies, poisoned values, forged cursors.

Each was found by attacking the API; each must be refused cleanly, with a code, writing nothing.
"""

import base64
import json
import logging
from typing import Any

import pytest

from helpline.core.models import Ticket
from helpline.testing import HelplineClient, TestUser, graphql_post_scope
from tests.core.test_tickets import create
from tests.gql import CREATE_TICKET


async def test_fragment_cycles_are_refused_before_validation(client: HelplineClient) -> None:
    cycle = "query { ...A } fragment A on Query { ...B ...B __typename } fragment B on Query { ...A ...A }"
    body = await client.post(cycle)  # anonymous: this must not need a token to be safe
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"


async def test_exponential_fragment_fan_out_is_refused(client: HelplineClient, admin: TestUser) -> None:
    levels = 30
    fragments = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels))
    query = f"query {{ ...F0 }} {fragments} fragment F{levels} on Query {{ __typename }}"
    body = await client.post(query, token=admin.token)
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert "5000 fields" in body["errors"][0]["message"]


async def test_a_modest_fragment_fan_out_still_works(client: HelplineClient, admin: TestUser) -> None:
    fragments = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(4))
    body = await client.post(
        f"query {{ ...F0 }} {fragments} fragment F4 on Query {{ viewer {{ name }} }}", token=admin.token
    )
    assert body == {"data": {"viewer": {"name": "Ada Admin"}}}


async def test_an_enormous_tag_list_is_refused_and_writes_nothing(client: HelplineClient, customer: TestUser) -> None:
    tags = [f"t{i}" for i in range(20_000)]
    body = await client.post(
        CREATE_TICKET, {"input": {"subject": "s", "description": "d", "tags": tags}}, customer.token
    )
    assert body["data"]["createTicket"]["userErrors"][0]["code"] == "TOO_MANY"
    assert await Ticket.all().count() == 0


@pytest.mark.parametrize(
    "custom_fields", ['{"n": NaN}', '{"i": -Infinity}', '{"deep": ' + "[" * 5000 + "]" * 5000 + "}"]
)
async def test_custom_fields_must_be_plain_json(client: HelplineClient, customer: TestUser, custom_fields: str) -> None:
    raw = '{"query": %s, "variables": {"i": {"subject": "s", "description": "d", "customFields": %s}}}' % (
        json.dumps(CREATE_TICKET.replace("$input", "$i").replace("input: $i", "input: $i")),
        custom_fields,
    )
    response = await client.http.post(
        "/graphql",
        content=raw.encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {customer.token}"},
    )
    body = response.json()
    assert "NaN" not in response.text and "Infinity" not in response.text
    if body.get("data"):
        assert body["data"]["createTicket"]["userErrors"][0]["code"] == "INVALID"
    else:
        assert body["errors"][0]["extensions"]["code"] in ("BAD_REQUEST", "BAD_USER_INPUT")
    assert await Ticket.all().count() == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("subject", "lone \ud800 surrogate"),
        ("subject", "right-to-left \u202e override"),
        ("subject", "line\u2028separator"),
        ("description", "C1 \x85 control"),
        ("description", "delete \x7f char"),
    ],
)
async def test_text_that_is_not_plain_text_is_refused(
    client: HelplineClient, customer: TestUser, field: str, value: str
) -> None:
    payload = {"subject": "s", "description": "d", field: value}
    raw = json.dumps({"query": CREATE_TICKET, "variables": {"input": payload}}, ensure_ascii=True)
    response = await client.http.post(
        "/graphql",
        content=raw.encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {customer.token}"},
    )
    result = response.json()["data"]["createTicket"]
    assert result["userErrors"][0]["code"] == "INVALID", result
    assert await Ticket.all().count() == 0


@pytest.mark.parametrize(
    "filter_",
    [
        {"tag": "a\x00b"},
        {"subjectContains": "nul \x00"},
        {"subjectContains": "\ud800"},
        {"createdAfter": "0001-01-01T00:00:00+01:00"},
        {"createdBefore": "9999-12-31T23:59:59-01:00"},
        {"requesterIds": ["VXNlcjox"] * 101},
    ],
)
async def test_bad_filters_are_bad_user_input(client: HelplineClient, admin: TestUser, filter_: dict[str, Any]) -> None:
    raw = json.dumps(
        {"query": "query($f: TicketFilterInput) { tickets(filter: $f) { totalCount } }", "variables": {"f": filter_}}
    )
    response = await client.http.post(
        "/graphql",
        content=raw.encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {admin.token}"},
    )
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body


def _cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


@pytest.mark.parametrize(
    ("order", "cursor"),
    [
        ("NUMBER", _cursor(["1001", 1, "number"])),
        ("NUMBER", _cursor([{"a": 1}, 1, "number"])),
        ("PRIORITY", _cursor(["HIGH", 1, "priority"])),
        ("NUMBER", _cursor([2**70, 1, "number"])),
        ("CREATED_AT", _cursor([5, 1, "created_at"])),
        ("CREATED_AT", _cursor(["0001-01-01T00:00:00+00:00", 1, "created_at"])),
        ("CREATED_AT", _cursor(["2026-01-01T00:00:00+00:00", 2**40, "created_at"])),
        ("CREATED_AT", base64.urlsafe_b64encode(b"[" * 3000).decode()),
    ],
)
async def test_forged_cursors_are_bad_user_input(
    client: HelplineClient, admin: TestUser, order: str, cursor: str
) -> None:
    query = "query($a: String, $o: TicketOrder) { tickets(after: $a, orderBy: $o) { totalCount } }"
    body = await client.post(query, {"a": cursor, "o": {"field": order, "direction": "ASC"}}, admin.token)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body


@pytest.mark.parametrize("pk", [0, 2**31, 2**63 - 1])
async def test_ids_out_of_the_column_range_are_malformed(client: HelplineClient, admin: TestUser, pk: int) -> None:
    forged = base64.urlsafe_b64encode(f"Ticket:{pk}".encode()).decode().rstrip("=")
    body = await client.post("query($id: ID!) { ticket(id: $id) { id } }", {"id": forged}, admin.token)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize("text", ["Ticket: 1", "Ticket:+1", "Ticket:01", "Ticket:1_0", "Ticket:\u0661"])
async def test_each_object_has_exactly_one_id(
    client: HelplineClient, admin: TestUser, customer: TestUser, text: str
) -> None:
    await create(client, customer)
    forged = base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")
    body = await client.post("query($id: ID!) { ticket(id: $id) { id } }", {"id": forged}, admin.token)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_body_over_the_limit_is_refused_unread(client: HelplineClient) -> None:
    size = client.runtime.settings.max_request_bytes + 1
    body = json.dumps({"query": "{ __typename }", "variables": {"x": "y" * size}})
    response = await client.http.post("/graphql", content=body.encode(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_a_streamed_body_over_the_limit_is_cut_off(client: HelplineClient) -> None:
    limit = client.runtime.settings.max_request_bytes

    async def chunks() -> Any:
        yield b'{"query": "{ __typename }", "variables": {"x": "'
        for _ in range(limit // 65_536 + 2):
            yield b"y" * 65_536
        yield b'"}}'

    response = await client.http.post("/graphql", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413


@pytest.mark.parametrize("raw", [b"\xff\xfe not utf-8", b"null", b'"x"', b"5", b'{"query": ' + b"[" * 5000])
async def test_bodies_that_are_not_requests_get_a_json_400(client: HelplineClient, raw: bytes) -> None:
    response = await client.http.post("/graphql", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_first_zero_still_says_whether_there_is_more(client: HelplineClient, customer: TestUser) -> None:
    await create(client, customer)
    body = await client.data(
        "{ tickets(first: 0) { totalCount pageInfo { hasNextPage } nodes { id } } }", token=customer.token
    )
    assert body["tickets"] == {"totalCount": 1, "pageInfo": {"hasNextPage": True}, "nodes": []}


async def test_a_client_gone_before_its_body_arrived_gets_nothing_and_breaks_nothing(
    client: HelplineClient, admin: TestUser, caplog: pytest.LogCaptureFixture
) -> None:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = graphql_post_scope([(b"content-type", b"application/json"), (b"content-length", b"40")])
    with caplog.at_level(logging.INFO, logger="helpline"):
        await client.app(scope, receive, send)
    assert sent == []  # no one to answer
    assert "client disconnected" in caplog.text and "Traceback" not in caplog.text
    assert (await client.data("{ viewer { name } }", token=admin.token))["viewer"]["name"] == "Ada Admin"


async def test_a_database_failure_before_execution_is_a_json_error_without_details(
    client: HelplineClient, admin: TestUser
) -> None:
    from helpline.core.db import connection

    await connection().execute_script('ALTER TABLE "helpline_api_token" RENAME TO "hidden_tokens"')
    try:
        response = await client.http.post(
            "/graphql", json={"query": "{ viewer { name } }"}, headers={"Authorization": f"Bearer {admin.token}"}
        )
    finally:
        await connection().execute_script('ALTER TABLE "hidden_tokens" RENAME TO "helpline_api_token"')
    assert response.status_code == 500
    error = response.json()["errors"][0]
    assert error == {"message": "Unexpected error.", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}
    assert "hidden_tokens" not in response.text and "api_token" not in response.text
