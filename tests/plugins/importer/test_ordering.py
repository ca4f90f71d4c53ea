"""Putting rows in time order streams: reading a spilled run back keeps no earlier row alive."""

from __future__ import annotations

import datetime as dt
import gc
import tempfile
import tracemalloc

from helpline.core.enums import Priority, Status
from helpline.plugins.importer.mapping import UPDATE, SourceRow
from helpline.plugins.importer.ordering import _dump_run, _load_run

START = dt.datetime(2016, 2, 29, 8, 0, tzinfo=dt.UTC)


def _row(index: int) -> SourceRow:
    at = START + dt.timedelta(minutes=index)
    return SourceRow(
        at, f"INC{index:07d}", UPDATE, index, index + 2, at, Status.OPEN, Priority.NORMAL, None,
        "Group 56", f"Resolver {index % 50}", f"Caller {index}", "Category 26", None,
    )  # fmt: skip


def test_reading_a_spilled_run_back_holds_one_row_at_a_time() -> None:
    with tempfile.TemporaryDirectory() as folder:
        handle = _dump_run([_row(index) for index in range(30_000)], folder)
        rows = _load_run(handle)
        gc.collect()
        tracemalloc.start()
        try:
            for _ in range(1_000):
                next(rows)
            early, _peak = tracemalloc.get_traced_memory()
            for _ in range(28_000):
                next(rows)
            gc.collect()
            late, _peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
            handle.close()
    # 28,000 more rows read: kept alive (the pickle memo did) they would be several MB.
    assert late - early < 500_000, f"memory grew by {late - early:,} bytes while reading"
