"""The baseline for ``bench_api.py``: a bare strawberry schema serving Helpline's list shape from memory.

It answers the same GraphQL documents as Helpline (``tickets(first:)`` with ``totalCount``,
``pageInfo`` and ``nodes { number subject status priority tags requester { name } assignee { name }
team { name } }``, and a ``createTicket`` mutation) from plain Python objects: no database, no
authentication, no DataLoaders, every field a plain attribute. It is the throughput strawberry
itself allows on this machine for that shape, i.e. the framework's ceiling.

To be comparable with Helpline it runs the same way: ``strawberry.asgi.GraphQL`` behind a
Starlette ``Route("/graphql")``, the parser and validation caches Helpline also uses, and compact
JSON responses. It imports nothing from ``helpline``. Run it with::

    uvicorn --app-dir benchmarks bare_schema:app --no-access-log
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import os
import random

import strawberry
from starlette.applications import Starlette
from starlette.routing import Route
from strawberry.asgi import GraphQL
from strawberry.extensions import ParserCache, ValidationCache

TICKETS = int(os.environ.get("BENCH_TICKETS", "10000"))  # bench_api.py passes its --tickets
USERS = 1_000
AGENTS = 24
TEAMS = 8
TAGS = ["billing", "bug", "hardware", "login", "vpn", "printer", "refund", "feature", "urgent", "email"]
MAX_PAGE_SIZE = 100


@strawberry.enum(name="TicketStatus")
class Status(enum.Enum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    ON_HOLD = "on_hold"
    SOLVED = "solved"
    CLOSED = "closed"
    MERGED = "merged"


@strawberry.enum(name="TicketPriority")
class Priority(enum.IntEnum):
    LOW = 1
    NORMAL = 2
    HIGH = 3
    URGENT = 4


@strawberry.type
class User:
    id: strawberry.ID
    name: str


@strawberry.type
class Team:
    id: strawberry.ID
    name: str


@strawberry.type
class Ticket:
    id: strawberry.ID
    number: int
    subject: str
    status: Status
    priority: Priority
    tags: list[str]
    requester: User
    assignee: User | None
    team: Team | None
    created_at: dt.datetime


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class TicketConnection:
    total_count: int
    page_info: PageInfo
    nodes: list[Ticket]


@strawberry.type(name="UserError")
class UserErrorType:
    field: list[str]
    message: str
    code: str


@strawberry.type
class TicketPayload:
    ticket: Ticket | None
    user_errors: list[UserErrorType]


@strawberry.input
class CreateTicketInput:
    subject: str
    description: str
    priority: Priority = Priority.NORMAL
    tags: list[str] = strawberry.field(default_factory=list)


@dataclasses.dataclass
class Store:
    """The in-memory data: tickets newest first, like Helpline's default order."""

    tickets: list[Ticket]
    admin: User
    next_number: int


def build_store(count: int = TICKETS, seed: int = 1) -> Store:
    """Build ``count`` tickets with the same mix of relations as the Helpline seed."""
    rng = random.Random(seed)
    customers = [User(id=strawberry.ID(str(i)), name=f"Customer {i}") for i in range(USERS)]
    agents = [User(id=strawberry.ID(str(USERS + i)), name=f"Agent {i}") for i in range(AGENTS)]
    teams = [Team(id=strawberry.ID(str(i)), name=f"Team {i}") for i in range(TEAMS)]
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    tickets = []
    for index in range(count):
        tickets.append(
            Ticket(
                id=strawberry.ID(str(index + 1)),
                number=1001 + index,
                subject=f"Seeded ticket {index + 1}: something is not working",
                status=rng.choice(list(Status)[:6]),
                priority=rng.choice(list(Priority)),
                tags=sorted(rng.sample(TAGS, rng.randint(0, 3))),
                requester=rng.choice(customers),
                assignee=rng.choice(agents) if rng.random() < 0.7 else None,
                team=rng.choice(teams) if rng.random() < 0.8 else None,
                created_at=start + dt.timedelta(minutes=index),
            )
        )
    tickets.reverse()
    return Store(tickets=tickets, admin=User(id=strawberry.ID("0"), name="Admin"), next_number=1001 + count)


STORE = build_store()


@strawberry.type
class Query:
    @strawberry.field
    def tickets(self, first: int | None = None) -> TicketConnection:
        size = 20 if first is None else first
        if size < 0 or size > MAX_PAGE_SIZE:
            raise ValueError(f"first must be between 0 and {MAX_PAGE_SIZE}")
        rows = STORE.tickets[:size]
        return TicketConnection(
            total_count=len(STORE.tickets),
            page_info=PageInfo(
                has_next_page=len(STORE.tickets) > size,
                end_cursor=rows[-1].id if rows else None,
            ),
            nodes=rows,
        )


@strawberry.type
class Mutation:
    @strawberry.mutation
    def create_ticket(self, input: CreateTicketInput) -> TicketPayload:
        subject = input.subject.strip()
        if not subject:
            return TicketPayload(
                ticket=None,
                user_errors=[UserErrorType(field=["input", "subject"], message="required", code="REQUIRED")],
            )
        number = STORE.next_number
        STORE.next_number += 1
        ticket = Ticket(
            id=strawberry.ID(str(number)),
            number=number,
            subject=subject,
            status=Status.NEW,
            priority=input.priority,
            tags=sorted(set(input.tags)),
            requester=STORE.admin,
            assignee=None,
            team=None,
            created_at=dt.datetime.now(dt.UTC),
        )
        STORE.tickets.insert(0, ticket)
        return TicketPayload(ticket=ticket, user_errors=[])


class CompactGraphQL(GraphQL):  # type: ignore[type-arg]
    """strawberry's ASGI view answering compact JSON, as Helpline does."""

    def encode_json(self, data: object) -> str:
        """Compact JSON (no spaces)."""
        return json.dumps(data, separators=(",", ":"), default=str)


schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    extensions=[lambda: ParserCache(maxsize=256), lambda: ValidationCache(maxsize=256)],
)
graphql_app = CompactGraphQL(schema, graphql_ide=None)
app = Starlette(routes=[Route("/graphql", graphql_app, methods=["GET", "POST"])])
