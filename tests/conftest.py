"""Shared fixtures: an app with only the core plugin on a fresh database, and people in it.

Set HELPLINE_TEST_DATABASE_URL to run everything on PostgreSQL (each test gets its own schema).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from helpline.core.clock import FrozenClock
from helpline.testing import HelplineClient, TestUser, running_app

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
START = dt.datetime(2026, 6, 8, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock() -> FrozenClock:
    """A clock standing at Monday 2026-06-08 09:00 UTC until a test moves it."""
    return FrozenClock(START)


@pytest.fixture
async def client(clock: FrozenClock) -> AsyncIterator[HelplineClient]:
    """The app with only the core plugin, on a fresh database, driven through real HTTP."""
    async with running_app(clock=clock) as test_client:
        yield test_client


@pytest.fixture
async def admin(client: HelplineClient) -> TestUser:
    return await client.make_user("admin", name="Ada Admin")


@pytest.fixture
async def agent(client: HelplineClient) -> TestUser:
    return await client.make_user("agent", name="Alan Agent")


@pytest.fixture
async def customer(client: HelplineClient) -> TestUser:
    return await client.make_user("customer", name="Cora Customer")


@pytest.fixture
def shared_data() -> Path:
    """The real data sets in ../shared/data; tests using it skip where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not available: {SHARED_DATA} is absent")
    return SHARED_DATA
