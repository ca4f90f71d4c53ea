"""Fixtures: the app with the performance plugin on, people in it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from helpline.core.clock import FrozenClock
from helpline.testing import HelplineClient, TestUser, running_app


@pytest.fixture
async def client(clock: FrozenClock) -> AsyncIterator[HelplineClient]:
    """The app with the core and the performance plugin, on a fresh database."""
    async with running_app(plugins=["performance"], clock=clock) as test_client:
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
