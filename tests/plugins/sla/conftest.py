"""Fixtures for the SLA plugin: the app with ``sla`` on, a recorder of the plugin's hooks, people."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from helpline.core.clock import FrozenClock
from helpline.core.hookspecs import hookimpl
from helpline.testing import HelplineClient, running_app


class SlaHookRecorder:
    """A throwaway plugin listening to the SLA plugin's own hooks."""

    def __init__(self) -> None:
        self.warnings: list[tuple[int, str]] = []
        self.breaches: list[tuple[int, str]] = []

    @hookimpl(optionalhook=True)
    def helpline_sla_warning(self, clock: Any, ticket: Any) -> None:
        self.warnings.append((ticket.number, clock.kind.value))

    @hookimpl(optionalhook=True)
    def helpline_sla_breached(self, clock: Any, ticket: Any) -> None:
        self.breaches.append((ticket.number, clock.kind.value))


@pytest.fixture
def recorder() -> SlaHookRecorder:
    return SlaHookRecorder()


@pytest.fixture
async def client(clock: FrozenClock, recorder: SlaHookRecorder) -> AsyncIterator[HelplineClient]:
    """The app with the SLA plugin (and the hook recorder), on a fresh database."""
    async with running_app(plugins=["sla"], extra_plugins=[recorder], clock=clock) as test_client:
        yield test_client
