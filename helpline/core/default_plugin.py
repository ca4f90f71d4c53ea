"""The essential ``core`` plugin: the core's own contributions, made through the public hooks.

Built-in behaviour uses exactly the hooks a third-party plugin uses; this module is the proof.
It cannot be disabled.
"""

from __future__ import annotations

from helpline import __version__  # the core plugin is versioned with Helpline
from helpline.core.contributions import ModelsContribution
from helpline.core.hookspecs import hookimpl

__all__ = ["__version__", "helpline_register_models"]


@hookimpl
def helpline_register_models() -> ModelsContribution:
    """The core tables live in the Tortoise app ``core``; their migrations in ``helpline.core.migrations``."""
    return ModelsContribution(app="core", modules=["helpline.core.models"], migrations="helpline.core.migrations")
