"""One import at a time per database: a lease in the ``importer_lock`` table.

Two imports running at once (the same source twice, or two sources sharing people) each trust
what they hold in memory (the last update applied per ticket, the people already created), so
they would apply rows twice, refuse people the other created, or deadlock on PostgreSQL. An
import therefore takes the lease first and renews it with every batch (in the batch's own
transaction); a second import stops at once with an error naming the running one. An import that
died leaves a lease that expires :data:`LEASE` after its last batch; the next run then takes it
over and resumes (nothing committed is applied twice: see :mod:`.replay`).

The lease runs on the real clock (the runtime's), never on the replay's historical one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
import uuid
from collections.abc import AsyncIterator

from tortoise.exceptions import IntegrityError

from helpline.core.clock import Clock
from helpline.core.db import transaction
from helpline.core.errors import HelplineError
from helpline.plugins.importer.models import ImportLock

LOCK_NAME = "import"
# Long enough for a slow batch (a batch renews it), short enough to resume soon after a crash.
LEASE = dt.timedelta(minutes=2)


class ImportRunning(HelplineError):
    """Another import holds the lease."""

    code = "CONFLICT"


def holder_name() -> str:
    """Who holds the lease: host, process and a random part (two runs never share one)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


async def acquire(holder: str, source: str, clock: Clock) -> None:
    """Take the lease for ``holder`` or raise :class:`ImportRunning` (nothing else changes)."""
    now = clock.now()
    async with transaction():
        # Take over an expired lease (its import died), else insert a new one.
        taken = await ImportLock.filter(name=LOCK_NAME, expires_at__lt=now).update(
            holder=holder, source=source, started_at=now, expires_at=now + LEASE
        )
        if taken:
            return
    try:
        async with transaction():
            await ImportLock.create(
                name=LOCK_NAME, holder=holder, source=source, started_at=now, expires_at=now + LEASE
            )
    except IntegrityError:
        running = await ImportLock.get_or_none(name=LOCK_NAME)
        what = f"of {running.source!r} since {running.started_at:%Y-%m-%d %H:%M} UTC" if running else ""
        raise ImportRunning(
            f"another import {what} is running on this database; wait for it to finish (a stopped "
            f"import's lock expires {int(LEASE.total_seconds() // 60)} minutes after its last batch)"
        ) from None


async def renew(holder: str, clock: Clock) -> None:
    """Extend the lease (inside the batch's transaction); :class:`ImportRunning` if it was lost."""
    kept = await ImportLock.filter(name=LOCK_NAME, holder=holder).update(expires_at=clock.now() + LEASE)
    if not kept:
        raise ImportRunning("this import's lock expired and another import took it over; run it again")


async def release(holder: str) -> None:
    """Give the lease back (a no-op if it was lost)."""
    await ImportLock.filter(name=LOCK_NAME, holder=holder).delete()


@contextlib.asynccontextmanager
async def held(source: str, clock: Clock) -> AsyncIterator[str]:
    """Hold the lease while the block runs (see :func:`acquire`); yields the holder's name, which
    the replay renews the lease with in every batch."""
    holder = holder_name()
    await acquire(holder, source, clock)
    try:
        yield holder
    finally:
        await release(holder)
