"""Putting a source's updates in time order with bounded memory.

Logs come grouped by ticket (ServiceNow's is sorted by incident number), but a replay must run in
time order. :func:`prepare` reads the rows once, skips the unusable ones (reported through a
callback), adds one *create* marker per ticket at its opening, and sorts: in memory up to
``run_size`` updates, beyond that as sorted runs written to temporary files and merged lazily
(``heapq.merge``), so memory stays flat however long the log is. What grows with the log is the
set of ticket keys seen (to place one create marker per ticket): a few dozen bytes per ticket.
"""

from __future__ import annotations

import contextlib
import heapq
import pickle
import tempfile
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

from helpline.plugins.importer.mapping import CREATE, Mapping, RowProblem, SourceRow

DEFAULT_RUN_SIZE = 50_000


def _dump_run(run: list[SourceRow], folder: str) -> IO[bytes]:
    run.sort()
    handle = tempfile.TemporaryFile(dir=folder)  # noqa: SIM115  # kept open until merged; TimeOrdered closes it
    pickler = pickle.Pickler(handle, protocol=pickle.HIGHEST_PROTOCOL)
    for item in run:
        pickler.dump(item)
        # Each row its own pickle: with one memo for the run, later rows would refer to earlier
        # objects (a team name, say), and the reader would have to keep every object it read
        # (the whole run: 45 MB of the full log, growing as the merge went on). _load_run reads
        # each row with a fresh unpickler likewise.
        pickler.clear_memo()
    handle.seek(0)
    return handle


def _load_run(handle: IO[bytes]) -> Iterator[SourceRow]:
    while True:
        try:
            # A new unpickler per row (rows are pickled one by one, see _dump_run): one unpickler
            # would keep every object it read in its memo (clearing it does not renumber it).
            yield pickle.load(handle)
        except EOFError:
            return


class TimeOrdered(contextlib.AbstractContextManager["TimeOrdered"]):
    """The prepared updates: ``len()`` of them, iterated in time order; close to drop the runs."""

    def __init__(self, in_memory: list[SourceRow], runs: list[IO[bytes]], spilled: int = 0) -> None:
        in_memory.sort(reverse=True)  # consumed from the end: see _drain
        self._in_memory = in_memory
        self._runs = runs
        self.total = len(in_memory) + spilled

    def __len__(self) -> int:
        return self.total

    def __iter__(self) -> Iterator[SourceRow]:
        """The rows in time order, once: each row is let go as it is handed out."""
        if not self._runs:
            return self._drain()
        return heapq.merge(self._drain(), *(_load_run(run) for run in self._runs))

    def _drain(self) -> Iterator[SourceRow]:
        # Popped, not iterated: the in-memory run (up to run_size rows, the largest thing an
        # import holds) shrinks as the replay goes instead of staying whole to the end.
        rows = self._in_memory
        while rows:
            yield rows.pop()

    def close(self) -> None:
        """Remove the temporary runs."""
        for run in self._runs:
            run.close()
        self._runs = []

    def __exit__(self, *exc: Any) -> None:
        self.close()


def prepare(
    rows: Iterable[tuple[int, dict[str, Any]]],
    mapping: Mapping,
    on_problem: Callable[[int, str | None, str], None],
    *,
    run_size: int = DEFAULT_RUN_SIZE,
    folder: str | None = None,
) -> TimeOrdered:
    """Read ``rows`` with ``mapping`` and return them in time order, with create markers.

    ``on_problem(line, key, reason)`` is called for each unusable row.
    """
    zone = mapping.zone
    seen: set[str] = set()
    run: list[SourceRow] = []
    runs: list[IO[bytes]] = []
    spilled = 0
    folder = folder or tempfile.gettempdir()
    for line, row in rows:
        try:
            update = mapping.read(row, line, zone)
        except RowProblem as problem:
            key = row.get(mapping.columns["key"]) if isinstance(row, dict) else None
            on_problem(line, str(key) if key not in (None, "") else None, str(problem))
            continue
        if update.key not in seen:
            seen.add(update.key)
            run.append(update._replace(at=update.opened_at, kind=CREATE))
        run.append(update)
        if len(run) >= run_size:
            spilled += len(run)
            runs.append(_dump_run(run, folder))
            run = []
    return TimeOrdered(run, runs, spilled)
