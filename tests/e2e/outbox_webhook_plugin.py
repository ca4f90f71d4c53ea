"""A plugin for the outbox's end-to-end tests: a webhook per new ticket, POSTed to a local receiver.

The tests load it into a real ``helpline serve`` through an entry point (``outbox_webhook``) that
they write into a temporary folder on ``PYTHONPATH``; the receiver's URL comes from the
``OUTBOX_E2E_RECEIVER_URL`` environment variable.
"""

from __future__ import annotations

import os

import httpx

from helpline import DeliveryHandler, hookimpl
from helpline.core.models import Ticket
from helpline.core.outbox import Effect, enqueue

KIND = "outbox_webhook.ticket_created"


async def deliver(effect: Effect) -> None:
    """POST the effect to the receiver; anything but a 2xx answer is a failure (retried later)."""
    async with httpx.AsyncClient(timeout=60.0) as http:
        response = await http.post(
            os.environ["OUTBOX_E2E_RECEIVER_URL"],
            json=effect.payload,
            headers={"Idempotency-Key": effect.idempotency_key},
        )
        response.raise_for_status()


@hookimpl
def helpline_register_delivery() -> DeliveryHandler:
    """This plugin delivers its own webhooks."""
    return DeliveryHandler(KIND, deliver)


@hookimpl
async def helpline_ticket_created(ticket: Ticket) -> None:
    """Write the webhook in the ticket's transaction, keyed by the ticket."""
    await enqueue(KIND, {"number": ticket.number, "subject": ticket.subject}, f"ticket-created:{ticket.id}")
