"""What every service needs at hand: settings, the plugin manager and the clock."""

from __future__ import annotations

import dataclasses

from helpline.config import Settings
from helpline.core.clock import Clock, SystemClock
from helpline.core.plugins import HelplinePlugins


@dataclasses.dataclass
class Runtime:
    """One running Helpline: its settings, its loaded plugins and its clock."""

    settings: Settings
    plugins: HelplinePlugins
    clock: Clock = dataclasses.field(default_factory=SystemClock)
