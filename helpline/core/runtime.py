"""What every service needs at hand: settings, the plugin manager, the clock and the live hub."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from helpline.config import Settings
from helpline.core.clock import Clock, SystemClock
from helpline.core.plugins import HelplinePlugins

if TYPE_CHECKING:
    from helpline.core.live import LiveHub


@dataclasses.dataclass
class Runtime:
    """One running Helpline: its settings, its loaded plugins and its clock.

    ``live`` is the process's :class:`~helpline.core.live.LiveHub` while a server runs (subscribers
    of this process); ``None`` in CLI commands, whose changes still reach servers on PostgreSQL.
    """

    settings: Settings
    plugins: HelplinePlugins
    clock: Clock = dataclasses.field(default_factory=SystemClock)
    live: LiveHub | None = None
