"""GraphQL documents the tests share, so each test reads as what it does."""

TICKET_FIELDS = """
  id number subject status priority type category channel version tags customFields
  requester { id name } assignee { id name } team { id name } organization { id name }
"""

CREATE_TICKET = (
    "mutation($input: CreateTicketInput!) { createTicket(input: $input) { ticket { %s } "
    "userErrors { field message code } } }" % TICKET_FIELDS
)
UPDATE_TICKET = (
    "mutation($input: UpdateTicketInput!) { updateTicket(input: $input) { ticket { %s } "
    "userErrors { field message code } } }" % TICKET_FIELDS
)
ADD_MESSAGE = (
    "mutation($input: AddMessageInput!) { addMessage(input: $input) { "
    "message { id body internal source channel author { id name } } "
    "ticket { id number status version followUpOf { number } } userErrors { field message code } } }"
)
MERGE = (
    "mutation($input: MergeTicketsInput!) { mergeTickets(input: $input) { "
    "source { id number status mergedInto { number } } target { id number status } "
    "userErrors { field message code } } }"
)
TICKET = "query($id: ID!) { ticket(id: $id) { %s messages { totalCount nodes { id body internal } } } }" % TICKET_FIELDS
