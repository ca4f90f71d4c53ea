"""Custom fields that are not plain JSON we can keep get a userError, and nothing is written."""

import json

import pytest

from helpline.core.models import Ticket
from helpline.testing import HelplineClient, TestUser
from tests.gql import CREATE_TICKET


@pytest.mark.parametrize(
    ("custom_fields", "said"),
    [
        (json.loads('{"a":' * 900 + "1" + "}" * 900), "nest at most"),
        ({"a": 10**401}, "at most 2**53 - 1"),
        ({"a": -(2**63)}, "at most 2**53 - 1"),
        ({"a": ["ok", {"b": "bad\x00"}]}, "NUL"),
    ],
)
async def test_unstorable_custom_fields_are_refused(
    client: HelplineClient, customer: TestUser, custom_fields: object, said: str
) -> None:
    variables = {"input": {"subject": "Odd fields", "description": "x", "customFields": custom_fields}}
    body = await client.post(CREATE_TICKET, variables, customer.token)
    assert "errors" not in body, body.get("errors")
    errors = body["data"]["createTicket"]["userErrors"]
    assert [error["code"] for error in errors] == ["INVALID"] and said in errors[0]["message"]
    assert await Ticket.all().count() == 0


async def test_deep_but_reasonable_custom_fields_are_kept(client: HelplineClient, customer: TestUser) -> None:
    nested: object = "leaf"
    for _ in range(20):
        nested = {"level": nested}
    variables = {"input": {"subject": "Nested", "description": "x", "customFields": {"n": nested, "big": 2**53 - 1}}}
    data = await client.data(CREATE_TICKET, variables, customer.token)
    assert data["createTicket"]["ticket"]["customFields"]["big"] == 2**53 - 1
