"""``rebuild`` from the event log gives exactly what the event hooks maintained, and the issue's cases."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from helpline import hookimpl
from helpline.core.clock import FrozenClock
from helpline.core.enums import Status
from helpline.core.errors import PluginError
from helpline.core.models import Ticket
from helpline.plugins.performance import service
from helpline.plugins.performance.models import PerformanceEpisode, PerformanceTicket
from helpline.plugins.sla.business_time import BusinessCalendar, business_minutes_between
from helpline.testing import running_app
from tests.plugins.performance.helpers import change, generated_history, open_ticket, reply, row

NEW_YORK = BusinessCalendar.weekly("America/New_York", {day: [("09:00", "17:00")] for day in range(5)})


class NewYorkHours:
    """A stand-in for the SLA plugin: every ticket works Mon-Fri 09:00-17:00 New York time."""

    helpline_plugin_name = "new_york_hours"

    @hookimpl(optionalhook=True)
    async def helpline_performance_business_minutes(self, ticket: Any, start: dt.datetime, end: dt.datetime) -> float:
        return business_minutes_between(NEW_YORK, start, end)


async def snapshot() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every stored metric (without the fold's bookkeeping cursor) and every episode, in order."""
    tickets = await PerformanceTicket.all().order_by("ticket_id").values()
    for values in tickets:
        values.pop("last_event_id")
    episodes = (
        await PerformanceEpisode.all()
        .order_by("ticket_id", "seq")
        .values(
            "ticket_id",
            "seq",
            "started_us",
            "ended_us",
            "first_response_us",
            "first_response_minutes",
            "first_response_business",
        )
    )
    return tickets, episodes


@pytest.mark.parametrize("business", [False, True], ids=["calendar only", "with business minutes"])
async def test_rebuild_equals_the_incremental_metrics_on_a_generated_history(
    clock: FrozenClock, business: bool
) -> None:
    extra = [NewYorkHours()] if business else []
    async with running_app(plugins=["performance"], extra_plugins=extra, clock=clock) as client:
        await generated_history(client, clock, seed=5, tickets=60)
        incremental = await snapshot()
        assert len(incremental[0]) == await Ticket.all().count()
        assert sum(1 for values in incremental[0] if values["reopens"]) > 0  # the history is not trivial
        assert sum(1 for values in incremental[0] if values["status"] == "merged") > 0
        assert any(values["one_touch"] for values in incremental[0])
        assert (incremental[0][0]["requester_wait_business"] is not None) is business

        await PerformanceEpisode.all().delete()
        await PerformanceTicket.all().delete()
        assert await service.rebuild(client.runtime.plugins.pm, batch_size=7) == len(incremental[0])
        assert await snapshot() == incremental


async def test_new_york_case_calendar_and_business_minutes_across_the_clock_change(clock: FrozenClock) -> None:
    # Fri 2026-03-06 16:00 EST (21:00 UTC) to Mon 2026-03-09 10:00 EDT (14:00 UTC): clocks moved on 8 March.
    clock.set(dt.datetime(2026, 3, 6, 21, 0, tzinfo=dt.UTC))
    async with running_app(plugins=["performance"], extra_plugins=[NewYorkHours()], clock=clock) as client:
        rt = client.runtime
        admin = await client.make_user("admin")
        customer = await client.make_user("customer")
        ticket_id = await open_ticket(rt, customer.user)
        clock.set(dt.datetime(2026, 3, 9, 14, 0, tzinfo=dt.UTC))
        await change(rt, ticket_id, admin.user, status=Status.SOLVED)

        metrics = await row(ticket_id)
        assert metrics.full_resolution_minutes == pytest.approx(3900.0)
        assert metrics.full_resolution_business == pytest.approx(120.0)
        assert metrics.first_resolution_business == pytest.approx(120.0)
        assert metrics.requester_wait_business == pytest.approx(120.0)  # new all along
        # Never on hold, never assigned: 0 business minutes (known), not None (unknown), so the
        # ticket counts in the business percentiles as it does in the calendar ones.
        assert (metrics.on_hold_minutes, metrics.on_hold_business) == (0.0, 0.0)
        assert (metrics.agent_work_minutes, metrics.agent_work_business) == (0.0, 0.0)


async def test_a_failing_business_minutes_plugin_rolls_the_change_back_naming_it(clock: FrozenClock) -> None:
    class Broken:
        helpline_plugin_name = "broken_calendar"
        broken = False  # works while the ticket is created, fails from the reply on

        @hookimpl(optionalhook=True)
        def helpline_performance_business_minutes(self, ticket: Any, start: Any, end: Any) -> float:
            if self.broken:
                raise RuntimeError("calendar unavailable")
            return 0.0

    calendar = Broken()
    async with running_app(plugins=["performance"], extra_plugins=[calendar], clock=clock) as app:
        admin = await app.make_user("admin")
        customer = await app.make_user("customer")
        ticket_id = await open_ticket(app.runtime, customer.user)
        clock.advance(minutes=5)
        calendar.broken = True
        with pytest.raises(PluginError, match="'performance'") as raised:
            await reply(app.runtime, ticket_id, admin.user)
        # The server log's cause chain names the calendar plugin that failed.
        assert "'broken_calendar'" in str(raised.value.__cause__)
        assert (await Ticket.get(id=ticket_id)).status == Status.NEW
        assert (await row(ticket_id)).agent_replies == 0
