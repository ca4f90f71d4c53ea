"""Depth, token, alias and list-cost limits are on by default."""

from helpline.testing import HelplineClient, TestUser


async def test_depth_limit(client: HelplineClient, admin: TestUser) -> None:
    nested = "{ tickets { nodes { " + "mergedInto { " * 12 + "id" + " }" * 12 + " } } }"
    body = await client.post(nested, token=admin.token)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "depth" in body["errors"][0]["message"]


async def test_alias_limit(client: HelplineClient, admin: TestUser) -> None:
    aliases = " ".join(f"a{i}: viewer {{ name }}" for i in range(31))
    body = await client.post("{ %s }" % aliases, token=admin.token)
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "alias" in body["errors"][0]["message"].lower()


async def test_token_limit(client: HelplineClient, admin: TestUser) -> None:
    body = await client.post("{ viewer { " + "name " * 5000 + "} }", token=admin.token)
    assert body["data"] is None
    assert "token" in body["errors"][0]["message"].lower()


async def test_nested_list_cost_limit(client: HelplineClient, admin: TestUser) -> None:
    costly = "{ tickets(first: 100) { nodes { messages(first: 100) { nodes { id } } events(first: 100) { nodes { id } } } } }"
    body = await client.post(costly, token=admin.token)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"
    fine = await client.post(
        "{ tickets(first: 50) { nodes { messages(first: 50) { nodes { id } } } } }", token=admin.token
    )
    assert "errors" not in fine


async def test_variables_count_at_the_maximum_page_size(client: HelplineClient, admin: TestUser) -> None:
    costly = "query($n: Int) { tickets(first: $n) { nodes { messages(first: $n) { nodes { id } } } } }"
    body = await client.post(costly, {"n": 1}, admin.token)
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"


async def test_fragments_are_counted(client: HelplineClient, admin: TestUser) -> None:
    query = """
      query { tickets(first: 100) { nodes { ...Deep } } }
      fragment Deep on Ticket { messages(first: 100) { nodes { id } } events(first: 100) { nodes { id } } }
    """
    body = await client.post(query, token=admin.token)
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"
