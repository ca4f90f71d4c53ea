"""The importer plugin's hook implementations: its table and its commands."""

from __future__ import annotations

from helpline.core.contributions import CommandContribution, ModelsContribution
from helpline.core.hookspecs import hookimpl


@hookimpl
def helpline_register_models() -> ModelsContribution:
    """The import-state table, in the Tortoise app ``importer``, with its migrations."""
    return ModelsContribution(
        app="importer", modules=["helpline.plugins.importer.models"], migrations="helpline.plugins.importer.migrations"
    )


@hookimpl
def helpline_register_commands() -> list[CommandContribution]:
    """``helpline import ...`` and ``helpline demo``."""
    from helpline.plugins.importer.cli import demo, import_group

    return [CommandContribution(command=import_group), CommandContribution(command=demo)]
