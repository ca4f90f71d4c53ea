"""Fixtures: the app with the performance plugin on (``admin``, ``agent``, ``customer`` come from
tests/conftest.py and use this ``client``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from helpline.core.clock import FrozenClock
from helpline.testing import HelplineClient, running_app


@pytest.fixture
async def client(clock: FrozenClock) -> AsyncIterator[HelplineClient]:
    """The app with the core and the performance plugin, on a fresh database."""
    async with running_app(plugins=["performance"], clock=clock) as test_client:
        yield test_client
