"""One import, start to finish: read, order, set up the SLA policy set, replay, compare verdicts."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from helpline.core import auth
from helpline.core.enums import Role
from helpline.core.errors import HelplineError
from helpline.core.models import User
from helpline.core.runtime import Runtime
from helpline.plugins.importer import lock, sla_setup
from helpline.plugins.importer.mapping import Mapping
from helpline.plugins.importer.ordering import DEFAULT_RUN_SIZE, prepare
from helpline.plugins.importer.replay import DEFAULT_BATCH_SIZE, ImportReport, Progress, Replay, SkippedRow
from helpline.plugins.importer.sources import check_header, read_rows

SAMPLE = Path(__file__).parent / "data" / "servicenow_sample.csv.gz"


class ImportFailed(HelplineError):
    """The import cannot start (no admin to act as, unreadable file...)."""

    code = "BAD_USER_INPUT"


@dataclasses.dataclass
class ImportOutcome:
    """The replay's report, whether the SLA policy set was created, and the SLA agreement."""

    report: ImportReport
    read_rows: int
    policy_created: bool
    agreement: sla_setup.Agreement | None


async def import_viewer(admin_email: str | None = None) -> auth.Viewer:
    """The admin the import acts as: the one with ``admin_email``, else the first active admin."""
    admins = User.filter(role=Role.ADMIN, is_active=True)
    if admin_email:
        admins = admins.filter(email=admin_email.strip().lower())
    admin = await admins.order_by("id").first()
    if admin is None:
        raise ImportFailed(
            f"no active admin {admin_email!r} to import as"
            if admin_email
            else "no admin yet: run 'helpline init' first"
        )
    return await auth.load_viewer(admin, agents_see_all=True)


async def import_file(
    rt: Runtime,
    path: str | Path,
    mapping: Mapping,
    *,
    admin_email: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    sla_policy: bool = True,
    on_skip: Callable[[SkippedRow], None] | None = None,
    progress: Progress | None = None,
    run_size: int | None = None,
    all_or_nothing: bool = True,
) -> ImportOutcome:
    """Import the file at ``path`` with ``mapping`` into the open database (see :mod:`.replay`).

    ``sla_policy`` creates the import's SLA policy set first when the SLA plugin is on.
    ``all_or_nothing=False`` replays every batch row by row, each row its own savepoint: slower,
    and the same result (the reference the tests compare the batched replay with).
    """
    viewer = await import_viewer(admin_email)
    check_header(path, mapping.columns.items())  # before anything is written
    async with lock.held(mapping.source, rt.clock) as holder:  # one import at a time: see .lock
        replay = Replay(
            rt,
            mapping,
            viewer,
            batch_size=batch_size,
            on_skip=on_skip,
            progress=progress,
            all_or_nothing=all_or_nothing,
            lock_holder=holder,
        )
        sla_on = rt.plugins.pm.has_plugin("sla")
        created = False
        if sla_policy and sla_on:
            created = await sla_setup.ensure_import_policy(viewer, rt.clock.now(), mapping.timezone)
        counted = 0

        def rows():  # type: ignore[no-untyped-def]
            nonlocal counted
            for item in read_rows(path):
                counted += 1
                yield item

        with prepare(
            rows(),
            mapping,
            lambda line, key, reason: replay.skip(line, key, reason),
            run_size=run_size or DEFAULT_RUN_SIZE,
        ) as ordered:
            report = await replay.run(ordered, len(ordered))
        agreement = await sla_setup.agreement(mapping.source) if sla_on else None
        return ImportOutcome(report=report, read_rows=counted, policy_created=created, agreement=agreement)
