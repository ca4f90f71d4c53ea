"""One import at a time per database: a second one stops at once; a dead import's lease expires."""

from __future__ import annotations

import datetime as dt

import pytest

from helpline.core.clock import FrozenClock
from helpline.plugins.importer import lock
from helpline.plugins.importer.mapping import servicenow_mapping
from helpline.plugins.importer.models import ImportLock, ImportState
from helpline.plugins.importer.service import SAMPLE, import_file
from helpline.testing import running_app

PLUGINS = ["sla", "performance", "importer"]


async def test_a_second_import_stops_while_one_runs_and_takes_over_an_expired_lease() -> None:
    async with running_app(plugins=PLUGINS) as client:
        await client.make_user("admin")
        real = FrozenClock(dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC))
        await lock.acquire("someone else", "servicenow-log", real)  # an import running elsewhere
        with pytest.raises(lock.ImportRunning, match="another import of 'servicenow-log'"):
            await import_file(client.runtime, SAMPLE, servicenow_mapping())
        assert await ImportState.all().count() == 0, "the refused import wrote nothing"
        assert (await ImportLock.get(name=lock.LOCK_NAME)).holder == "someone else"

        # That import died: once its lease has expired, the next import takes over and runs.
        await ImportLock.filter(name=lock.LOCK_NAME).update(expires_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
        outcome = await import_file(client.runtime, SAMPLE, servicenow_mapping())
        assert outcome.report.tickets_created == 276
        assert await ImportLock.all().count() == 0, "released when the import ended"


async def test_a_lost_lease_stops_the_import_at_its_next_batch() -> None:
    async with running_app(plugins=PLUGINS) as client:
        await client.make_user("admin")
        clock = FrozenClock(dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC))
        await lock.acquire("mine", "x", clock)
        await ImportLock.filter(name=lock.LOCK_NAME).update(holder="another")  # taken over meanwhile
        with pytest.raises(lock.ImportRunning, match="expired"):
            await lock.renew("mine", clock)
        await lock.release("mine")  # not ours any more: nothing to release
        assert (await ImportLock.get(name=lock.LOCK_NAME)).holder == "another"
