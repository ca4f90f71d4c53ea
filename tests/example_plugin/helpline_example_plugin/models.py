"""The plugin's table, in its own Tortoise app (``example_watchers``), pointing at core rows.

The relations use ``related_name=False`` so that the core's ``Ticket`` and ``User`` models get no
reverse accessor from this plugin: core models stay the same whether or not it is enabled.
``__models__`` lists this module's models explicitly, so Tortoise never mistakes an imported core
model for one of ours.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from helpline.core.models import Ticket, User


class Watcher(Model):
    """A person following a ticket. Each person watches a ticket at most once."""

    id = fields.IntField(primary_key=True)
    ticket: fields.ForeignKeyRelation[Ticket] = fields.ForeignKeyField(
        "core.Ticket", on_delete=fields.CASCADE, related_name=False
    )
    ticket_id: int
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "core.User", on_delete=fields.CASCADE, related_name=False
    )
    user_id: int
    created_at = fields.DatetimeField()

    class Meta:
        table = "example_watcher"
        unique_together = (("ticket", "user"),)


__models__ = [Watcher]
