"""Deferred work (``helpline.core.db.deferred``) and all-or-nothing transactions, on the real database.

The work unit below writes teams when flushed, so every assertion reads what the database holds.
"""

from __future__ import annotations

import datetime as dt

import pytest

from helpline.core.db import all_or_nothing, deferred, transaction
from helpline.core.models import Team
from helpline.testing import running_app

NOW = dt.datetime(2026, 12, 3, tzinfo=dt.UTC)


async def create_team(name: str) -> None:
    await Team.create(name=name, created_at=NOW, updated_at=NOW)


class TeamWriter:
    """Gathers team names; writes them when flushed."""

    flushes = 0

    def __init__(self) -> None:
        self.names: list[str] = []

    async def flush(self) -> None:
        """Create the gathered teams."""
        names, self.names = self.names, []
        TeamWriter.flushes += 1
        for name in names:
            await create_team(name)


def gather(name: str) -> None:
    work = deferred("tests.teams", TeamWriter)
    assert work is not None, "inside a transaction there is always a unit"
    work.names.append(name)


async def names() -> set[str]:
    return set(await Team.all().values_list("name", flat=True))  # type: ignore[arg-type]


async def test_outside_a_transaction_there_is_nothing_to_defer_to() -> None:
    async with running_app():
        assert deferred("tests.teams", TeamWriter) is None


async def test_work_is_written_just_before_commit_and_once_per_transaction() -> None:
    async with running_app():
        TeamWriter.flushes = 0
        async with transaction():
            gather("first")
            gather("second")
            assert await names() == set(), "nothing is written while the transaction runs"
        assert await names() == {"first", "second"}
        assert TeamWriter.flushes == 1


async def test_a_transaction_that_rolls_back_writes_none_of_its_work() -> None:
    async with running_app():
        with pytest.raises(RuntimeError):
            async with transaction():
                gather("lost")
                raise RuntimeError("the change fails")
        assert await names() == set()
        async with transaction():
            gather("next")
        assert await names() == {"next"}, "the next transaction starts with fresh work"


async def test_a_nested_block_that_rolls_back_keeps_the_work_gathered_before_it() -> None:
    async with running_app():
        async with transaction():
            gather("before")
            with pytest.raises(RuntimeError):
                async with transaction():  # a savepoint: the work gathered so far is written first
                    gather("inside")
                    raise RuntimeError("the nested change fails")
            gather("after")
        assert await names() == {"before", "after"}


async def test_in_an_all_or_nothing_transaction_nested_blocks_take_no_savepoint() -> None:
    async with running_app():
        async with all_or_nothing():
            gather("gathered")
            with pytest.raises(RuntimeError):
                async with transaction():
                    await create_team("written in the nested block")
                    raise RuntimeError("not undone on its own")
            assert await names() == {"written in the nested block"}, "no savepoint: no flush, no rollback"
        assert await names() == {"gathered", "written in the nested block"}


async def test_an_error_in_an_all_or_nothing_transaction_undoes_all_of_it() -> None:
    async with running_app():
        with pytest.raises(RuntimeError):
            async with all_or_nothing():
                gather("gathered")
                async with transaction():
                    await create_team("nested")
                raise RuntimeError("the batch fails")
        assert await names() == set()
