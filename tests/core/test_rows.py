"""Read-only rows read exactly like the models they snapshot, on SQLite and PostgreSQL."""

from tortoise.expressions import RawSQL

from helpline.core.clock import FrozenClock
from helpline.core.models import Team, Ticket, User
from helpline.core.rows import fetch_rows
from helpline.core.workflow import Status
from helpline.schema.ticket_rows import load_ticket_rows
from helpline.testing import HelplineClient, TestUser, count_statements
from tests.core.test_tickets import create


async def test_rows_read_like_models_with_and_without_relations(
    client: HelplineClient, clock: FrozenClock, agent: TestUser, customer: TestUser
) -> None:
    assigned = await create(
        client, customer, priority="HIGH", channel="EMAIL", tags=["vpn", "b-tag"], customFields={"floor": 3}
    )
    team = await Team.create(
        name="Tier 1", created_at=clock.now(), updated_at=clock.now()
    )  # rows under test, not the service
    await Ticket.filter(number=assigned["number"]).update(team_id=team.id, assignee_id=agent.id, status=Status.PENDING)
    await create(client, customer)  # no team, no assignee, no tags

    joins = ("requester", "assignee", "team")
    rows = await fetch_rows(Ticket.all().order_by("id"), joins)
    models = await Ticket.all().order_by("id").select_related(*joins)
    assert len(rows) == len(models) == 2
    for row, model in zip(rows, models, strict=True):
        for field in Ticket._meta.fields_db_projection:
            assert getattr(row, field) == getattr(model, field), field
            assert type(getattr(row, field)) is type(getattr(model, field)), field
        for relation in joins:
            related_row, related_model = getattr(row, relation), getattr(model, relation)
            assert (related_row is None) == (related_model is None), relation
            if related_model is not None:
                for field in type(related_model)._meta.fields_db_projection:
                    assert getattr(related_row, field) == getattr(related_model, field), (relation, field)
    assert rows[0].created_at.tzinfo is not None  # type: ignore[attr-defined]
    assert rows[1].team is None and rows[1].assignee is None  # type: ignore[attr-defined]
    assert rows[0].model is Ticket and rows[0] == rows[0] and rows[0] != rows[1]


async def test_ticket_rows_carry_sorted_tags_in_one_statement(client: HelplineClient, customer: TestUser) -> None:
    await create(client, customer, tags=["zeta", "alpha", "mid"])
    await create(client, customer)
    with count_statements() as statements:
        rows = await load_ticket_rows(Ticket.all().order_by("id"))
    assert [row.tag_names for row in rows] == [["alpha", "mid", "zeta"], []]  # type: ignore[attr-defined]
    assert len(statements) == 1


async def test_annotations_and_empty_results(client: HelplineClient, customer: TestUser) -> None:
    assert await fetch_rows(Ticket.filter(id=-1), ("requester",)) == []
    rows = await fetch_rows(User.filter(id=customer.id).annotate(doubled=RawSQL('"id" * 2')))
    assert rows[0].doubled == customer.id * 2  # type: ignore[attr-defined]
