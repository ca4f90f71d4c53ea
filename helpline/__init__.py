"""Helpline: an open-source help desk framework.

The public surface for plugin authors and embedding applications. Import from here (or from
``helpline.core`` / ``helpline.schema`` modules); everything else is internal.
"""

# Defined before the imports below, so modules they import may read it while the package loads.
__version__ = "0.1.0"

from helpline.app import create_app
from helpline.core.actors import Actor
from helpline.core.contributions import (
    CommandContribution,
    DeliveryHandler,
    ModelsContribution,
    PeriodicJob,
    RouteContribution,
    SchemaContribution,
)
from helpline.core.errors import ValidationFailed, Veto
from helpline.core.hookspecs import hookimpl, hookspec

__all__ = [
    "Actor",
    "CommandContribution",
    "DeliveryHandler",
    "ModelsContribution",
    "PeriodicJob",
    "RouteContribution",
    "SchemaContribution",
    "ValidationFailed",
    "Veto",
    "__version__",
    "create_app",
    "hookimpl",
    "hookspec",
]
