"""The SLA plugin feeds the performance plugin through that plugin's hooks: business minutes on the
ticket's calendar, and SLA attainment as a report column."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import pytest

from helpline.core.clock import FrozenClock
from helpline.testing import HelplineClient, TestUser, running_app
from tests.core.test_tickets import create, reply
from tests.plugins.sla.test_sla import make_calendar, make_policy

NEW_YORK = ZoneInfo("America/New_York")
REPORT = """{ performanceReport(from: "2026-03-01", to: "2026-03-31", timezone: "America/New_York") {
  rows { solved fullResolution { medianMinutes medianBusinessMinutes } extra { name value } } } }"""


@pytest.fixture
async def client(clock: FrozenClock) -> AsyncIterator[HelplineClient]:
    async with running_app(plugins=["sla", "performance"], clock=clock) as test_client:
        yield test_client


async def test_the_new_york_case_in_business_minutes_and_sla_attainment(
    client: HelplineClient, clock: FrozenClock, admin: TestUser, agent: TestUser, customer: TestUser
) -> None:
    calendar = await make_calendar(client, admin, "America/New_York", ("09:00", "17:00"))
    await make_policy(client, admin, calendar, [{"priority": "NORMAL", "resolution": 60}])
    clock.set(dt.datetime(2026, 3, 6, 16, 0, tzinfo=NEW_YORK))
    late = await create(client, customer)
    clock.set(dt.datetime(2026, 3, 9, 10, 0, tzinfo=NEW_YORK))
    await reply(client, agent, late["id"], "Fixed.", status="SOLVED")
    clock.set(dt.datetime(2026, 3, 9, 10, 30, tzinfo=NEW_YORK))
    in_time = await create(client, customer)
    clock.set(dt.datetime(2026, 3, 9, 11, 0, tzinfo=NEW_YORK))
    await reply(client, agent, in_time["id"], "Fixed.", status="SOLVED")

    row = (await client.data(REPORT, token=admin.token))["performanceReport"]["rows"][0]
    assert row["solved"] == 2
    # Full resolution: 3,900 and 30 calendar minutes; 120 and 30 business minutes; medians of two.
    assert row["fullResolution"] == {"medianMinutes": (3900 + 30) / 2, "medianBusinessMinutes": (120 + 30) / 2}
    assert {"name": "sla_attainment", "value": 0.5} in row["extra"]
