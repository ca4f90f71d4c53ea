"""Admin GraphQL for the outbox: list effects (``outboxEffects``), send a dead one back (``retryOutboxEffect``).

Admins only: an agent or customer gets FORBIDDEN. See :mod:`helpline.core.outbox` for how effects
are written and delivered.
"""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from helpline.core import auth, outbox
from helpline.core.enums import EffectStatus
from helpline.schema.context import runtime_of, viewer_of
from helpline.schema.errors import UserErrorType, attempt
from helpline.schema.ids import decode_id
from helpline.schema.pagination import CountedConnection, connection, paginate
from helpline.schema.types import global_id

OutboxEffectStatus = strawberry.enum(
    EffectStatus, name="OutboxEffectStatus", description="Pending (waiting or retrying), delivered, or dead."
)


@strawberry.type(description="An effect outside the database (webhook, mail, push), delivered after commit.")
class OutboxEffect:
    kind: str = strawberry.field(description="What it is, by convention prefixed with its plugin's name.")
    payload: JSON = strawberry.field(description="What the delivery handler gets.")
    idempotency_key: str = strawberry.field(description="Unique; receivers use it to drop duplicate deliveries.")
    status: OutboxEffectStatus
    attempts: int = strawberry.field(description="Delivery attempts so far (reset by retryOutboxEffect).")
    next_attempt_at: dt.datetime = strawberry.field(description="When a pending effect is tried next.")
    last_error: str | None = strawberry.field(description="Why the last attempt failed.")
    created_at: dt.datetime
    delivered_at: dt.datetime | None

    id: strawberry.ID = global_id("OutboxEffect")


@strawberry.type
class OutboxEffectEdge:
    cursor: str
    node: OutboxEffect


@strawberry.type
class OutboxEffectConnection(CountedConnection):
    edges: list[OutboxEffectEdge]
    nodes: list[OutboxEffect]


@strawberry.input
class RetryOutboxEffectInput:
    id: strawberry.ID


@strawberry.type
class OutboxEffectPayload:
    effect: OutboxEffect | None
    user_errors: list[UserErrorType]


@strawberry.type
class OutboxQuery:
    @strawberry.field(description="Outbox effects, newest first, optionally by status (admins).")
    async def outbox_effects(
        self,
        info: Info,
        status: OutboxEffectStatus | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> OutboxEffectConnection:
        auth.require_admin(viewer_of(info))
        queryset = outbox.effects(EffectStatus(status) if status is not None else None)
        page = await paginate(runtime_of(info), queryset, first=first, after=after, descending=True)
        return connection(OutboxEffectConnection, OutboxEffectEdge, page)


@strawberry.type
class OutboxMutation:
    @strawberry.mutation(
        description="Send a dead effect back to the queue, its attempts reset (admins). "
        "A userError NOT_DEAD when it is not dead."
    )
    async def retry_outbox_effect(self, info: Info, input: RetryOutboxEffectInput) -> OutboxEffectPayload:
        auth.require_admin(viewer_of(info))
        effect_id = decode_id(input.id, "OutboxEffect")
        effect, errors = await attempt(outbox.retry_effect(effect_id, runtime_of(info).clock.now()))
        return OutboxEffectPayload(effect=effect, user_errors=errors)
