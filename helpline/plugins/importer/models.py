"""The importer's table (Tortoise app ``importer``): what was imported, per source ticket.

One row per ticket of a source (``source`` names the mapping, ``key`` is the source's ticket id):
the Helpline ticket it became, the last source update applied (``last_seq``, e.g. ServiceNow's
``sys_mod_count``, and its time) and whether the ticket is closed. It is written in the same
transaction as the changes it records, so after an interruption a re-run skips exactly what was
committed and resumes with the rest. ``source_sla_met`` keeps the source system's own SLA verdict
(its last value), to compare with Helpline's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from helpline.core.models import Ticket


class ImportState(Model):
    """One imported source ticket: its Helpline ticket and the last source update applied."""

    id = fields.IntField(primary_key=True)
    source = fields.CharField(max_length=100)
    key = fields.CharField(max_length=200)
    ticket: fields.ForeignKeyRelation[Ticket] = fields.ForeignKeyField(
        "core.Ticket", on_delete=fields.CASCADE, related_name=False
    )
    ticket_id: int
    last_seq = fields.BigIntField()
    last_at = fields.DatetimeField()
    closed = fields.BooleanField(default=False)
    source_sla_met = fields.BooleanField(null=True)

    class Meta:
        table = "importer_state"
        unique_together = (("source", "key"),)


class ImportLock(Model):
    """The running import: one at a time per database (see :mod:`.lock`)."""

    name = fields.CharField(max_length=50, primary_key=True)
    holder = fields.CharField(max_length=100)
    source = fields.CharField(max_length=100)
    started_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()

    class Meta:
        table = "importer_lock"


__models__ = [ImportState, ImportLock]
