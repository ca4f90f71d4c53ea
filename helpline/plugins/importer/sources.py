"""Reading a source's rows, one at a time: CSV (``.csv``, ``.csv.gz``), JSON lines, JSON arrays.

Each yields ``(line, row)``: the row's line in the file (for the report) and a dict of column ->
value. CSV and JSON lines stream; a ``.json`` array is read whole (use JSON lines for big files).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any


class SourceError(ValueError):
    """The file cannot be read as the format its name says."""


def _open_text(path: Path) -> IO[str]:
    if path.name.lower().endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    # utf-8-sig: files saved by spreadsheets start with a byte order mark, which would otherwise
    # become part of the first column's name (and every row would lack its key).
    return path.open(encoding="utf-8-sig", newline="")


def _format_of(path: Path) -> str:
    name = path.name.lower().removesuffix(".gz")
    for suffix, kind in ((".csv", "csv"), (".jsonl", "jsonl"), (".ndjson", "jsonl"), (".json", "json")):
        if name.endswith(suffix):
            return kind
    raise SourceError(f"{path.name}: give a .csv, .jsonl or .json file (optionally .gz)")


def read_rows(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line, row)`` for every record of the file at ``path``."""
    path = Path(path)
    kind = _format_of(path)
    if not path.is_file():
        raise SourceError(f"no such file: {path}")
    with _open_text(path) as handle:
        try:
            if kind == "csv":
                reader = csv.DictReader(handle)
                if not reader.fieldnames:
                    raise SourceError(f"{path.name}: no header row")
                for row in reader:
                    yield reader.line_num, row
            elif kind == "jsonl":
                for number, text in enumerate(handle, start=1):
                    if text.strip():
                        record = json.loads(text)
                        if not isinstance(record, dict):
                            raise SourceError(f"{path.name} line {number}: each line must be a JSON object")
                        yield number, record
            else:
                records = json.load(handle)
                if not isinstance(records, list) or not all(isinstance(item, dict) for item in records):
                    raise SourceError(f"{path.name}: a .json file must hold a list of objects")
                yield from enumerate(records, start=1)
        except SourceError:
            raise  # already says what is wrong (and is a ValueError too)
        except UnicodeDecodeError:
            raise SourceError(f"{path.name}: not UTF-8 text (save the file as UTF-8)") from None
        # zlib.error: a corrupt .gz; ValueError: JSON numbers too long to read (and JSONDecodeError);
        # RecursionError: JSON nested deeper than Python parses.
        except (
            ValueError,
            csv.Error,
            gzip.BadGzipFile,
            EOFError,
            zlib.error,
            RecursionError,
        ) as exc:
            raise SourceError(f"{path.name}: {str(exc)[:200]}") from None


def check_header(path: str | Path, columns: Iterable[tuple[str, str]]) -> None:
    """For a CSV file, :class:`SourceError` when its header lacks a column the mapping names.

    ``columns`` are (field, column) pairs. A misspelt column would otherwise skip every row as
    "missing <field>", after a whole run. JSON records may leave keys out per record, so only CSV
    headers are checked.
    """
    path = Path(path)
    if _format_of(path) != "csv":
        return
    first = next(read_rows(path), None)
    if first is None:
        return
    present = set(first[1])
    absent = [f"{column!r} ({field})" for field, column in columns if column not in present]
    if absent:
        shown = ", ".join(repr(name) for name in list(first[1])[:20])
        raise SourceError(f"{path.name} has no column {', '.join(absent)}; its columns: {shown}")
