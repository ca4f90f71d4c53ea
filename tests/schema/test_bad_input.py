"""Bad input gets a clear error with a code, writes nothing, and never shows a traceback."""

from typing import Any

import pytest

from helpline.core.models import Message, Organization, Team, Ticket, TicketEvent, User
from helpline.schema.ids import encode_id
from helpline.testing import HelplineClient, TestUser
from tests.core.test_tickets import create
from tests.gql import ADD_MESSAGE, CREATE_TICKET


async def assert_nothing_written(tickets: int = 0, messages: int = 0) -> None:
    assert await Ticket.all().count() == tickets
    assert await Message.all().count() == messages
    assert await TicketEvent.all().count() == tickets


def assert_no_traceback(body: Any) -> None:
    text = str(body)
    assert "Traceback" not in text
    assert 'File "' not in text


@pytest.mark.parametrize(
    ("fields", "field", "code"),
    [
        ({"subject": ""}, "subject", "REQUIRED"),
        ({"subject": "   "}, "subject", "REQUIRED"),
        ({"subject": "x" * 256}, "subject", "TOO_LONG"),
        ({"subject": "line\nbreak"}, "subject", "INVALID"),
        ({"description": ""}, "description", "REQUIRED"),
        ({"description": "x" * 70_000}, "description", "TOO_LONG"),
        ({"description": "nul \x00 byte"}, "description", "INVALID"),
        ({"tags": ["ok", "not ok!"]}, "tags", "INVALID_TAG"),
        ({"tags": [f"t{i}" for i in range(51)]}, "tags", "TOO_MANY"),
        ({"customFields": [1, 2]}, "customFields", "INVALID"),
        ({"customFields": {"": 1}}, "customFields", "INVALID"),
        ({"customFields": {"big": "x" * 20_000}}, "customFields", "TOO_LONG"),
        ({"category": "c" * 101}, "category", "TOO_LONG"),
    ],
)
async def test_invalid_ticket_input_is_a_user_error(
    client: HelplineClient, customer: TestUser, fields: dict[str, Any], field: str, code: str
) -> None:
    payload = {"subject": "Printer", "description": "Broken", **fields}
    body = await client.post(CREATE_TICKET, {"input": payload}, customer.token)
    result = body["data"]["createTicket"]
    assert result["ticket"] is None
    assert result["userErrors"][0]["field"] == ["input", field]
    assert result["userErrors"][0]["code"] == code
    assert result["userErrors"][0]["message"]
    await assert_nothing_written()


async def test_empty_reply_is_refused(client: HelplineClient, customer: TestUser) -> None:
    ticket = await create(client, customer)
    body = await client.post(ADD_MESSAGE, {"input": {"ticketId": ticket["id"], "body": "  "}}, customer.token)
    assert body["data"]["addMessage"]["userErrors"][0]["code"] == "REQUIRED"
    await assert_nothing_written(tickets=1, messages=1)


async def test_unknown_enum_value_is_refused_before_anything_runs(client: HelplineClient, customer: TestUser) -> None:
    body = await client.post(
        CREATE_TICKET, {"input": {"subject": "a", "description": "b", "priority": "SUPER_URGENT"}}, customer.token
    )
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "SUPER_URGENT" in body["errors"][0]["message"]
    literal = await client.post(
        'mutation { createTicket(input: {subject: "a", description: "b", priority: MEGA}) { ticket { id } } }',
        token=customer.token,
    )
    assert literal["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    await assert_nothing_written()


@pytest.mark.parametrize(
    ("ticket_id", "fragment"),
    [
        ("not-an-id", "malformed"),
        ("", "malformed"),
        ("!!!!", "malformed"),
        (encode_id("Message", 1), "not a Ticket"),
        (encode_id("Ticket", 0), "malformed"),
        ("x" * 500, "malformed"),
    ],
)
async def test_malformed_or_wrong_type_ids(
    client: HelplineClient, admin: TestUser, ticket_id: str, fragment: str
) -> None:
    body = await client.post("query($id: ID!) { ticket(id: $id) { id } }", {"id": ticket_id}, admin.token)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert fragment in body["errors"][0]["message"]
    assert_no_traceback(body)


async def test_wrong_type_id_in_a_mutation_writes_nothing(
    client: HelplineClient, admin: TestUser, customer: TestUser
) -> None:
    ticket = await create(client, customer)
    body = await client.post(ADD_MESSAGE, {"input": {"ticketId": encode_id("User", 1), "body": "hello"}}, admin.token)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    body = await client.post(
        "mutation($i: UpdateTicketInput!) { updateTicket(input: $i) { ticket { id } } }",
        {"i": {"id": ticket["id"], "teamId": encode_id("Ticket", 1)}},
        admin.token,
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    await assert_nothing_written(tickets=1, messages=1)


async def test_invalid_json_body(client: HelplineClient) -> None:
    response = await client.http.post("/graphql", content=b'{"query": ', headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_wrong_content_type(client: HelplineClient) -> None:
    response = await client.http.post(
        "/graphql", content=b"{ viewer { name } }", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code in (400, 415)
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_no_query(client: HelplineClient) -> None:
    response = await client.http.post("/graphql", json={"variables": {}})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_json_that_is_not_an_object(client: HelplineClient) -> None:
    response = await client.http.post("/graphql", json=[1, 2, 3])
    assert response.status_code == 400
    assert_no_traceback(response.text)


async def test_syntax_error(client: HelplineClient, admin: TestUser) -> None:
    body = await client.post("{ tickets { nodes { id ", token=admin.token)
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"


async def test_unknown_field(client: HelplineClient, admin: TestUser) -> None:
    body = await client.post("{ tickets { nodes { password } } }", token=admin.token)
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_wrong_variable_type(client: HelplineClient, admin: TestUser) -> None:
    body = await client.post("query($n: Int) { ticket(number: $n) { id } }", {"n": "ten"}, admin.token)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_people_input_is_validated(client: HelplineClient, admin: TestUser) -> None:
    bad_email = await client.data(
        'mutation { createUser(input: {email: "not-an-email", name: "X", role: AGENT}) { user { id } userErrors { field code } } }',
        token=admin.token,
    )
    assert bad_email["createUser"]["userErrors"] == [{"field": ["input", "email"], "code": "INVALID_EMAIL"}]
    empty_team = await client.data(
        'mutation { createTeam(input: {name: " "}) { team { id } userErrors { field code } } }', token=admin.token
    )
    assert empty_team["createTeam"]["userErrors"][0]["code"] == "REQUIRED"
    await client.data(
        'mutation { createOrganization(input: {name: "Acme"}) { organization { id } } }', token=admin.token
    )
    dup = await client.data(
        'mutation { createOrganization(input: {name: "Acme"}) { organization { id } userErrors { code } } }',
        token=admin.token,
    )
    assert dup["createOrganization"]["userErrors"][0]["code"] == "TAKEN"
    assert await Organization.all().count() == 1
    assert await Team.all().count() == 0
    assert await User.filter(email="not-an-email").count() == 0


async def test_unexpected_errors_are_masked(
    client: HelplineClient, admin: TestUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug inside a resolver reaches the client as 'Unexpected error.' with a code, nothing more."""
    from helpline.schema import types

    def broken(*_args: Any) -> str:
        raise RuntimeError("secret internal detail at /srv/app.py line 42")

    monkeypatch.setattr(types, "encode_id", broken)
    body = await client.post("{ viewer { id } }", token=admin.token)
    assert body["errors"][0]["message"] == "Unexpected error."
    assert body["errors"][0]["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
    assert "secret" not in str(body)
    assert_no_traceback(body)
