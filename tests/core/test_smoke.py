from helpline.testing import HelplineClient, TestUser
from tests.gql import CREATE_TICKET


async def test_customer_creates_a_ticket_with_a_human_number(client: HelplineClient, customer: TestUser) -> None:
    data = await client.data(CREATE_TICKET, {"input": {"subject": "Printer", "description": "Broken"}}, customer.token)
    ticket = data["createTicket"]["ticket"]
    assert ticket["number"] == 1001
    assert ticket["status"] == "NEW"
    assert ticket["requester"]["name"] == "Cora Customer"
