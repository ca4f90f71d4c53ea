"""Hostile input for ``helpline import file``, through the real CLI into a fresh SQLite database.

The README's promise: a bad row is skipped, counted and listed (never a crash); a bad mapping or
file is a one-line ``Error:``; different people never become one account. Cases from an attack
on the importer (unknown raw values, malformed mappings, corrupt and hostile files, names that
lose letters in an e-mail slug).
"""

from __future__ import annotations

import gzip
import json
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.processes import helpline_env, run_helpline

MAPPING = """source = "hostile"
[format]
datetime = "%Y-%m-%d %H:%M"
timezone = "{zone}"
[columns]
key = "id"
updated_at = "at"
status = "state"
customer = "who"
sequence = "seq"
priority = "prio"
"""
HEADER = "id,at,state,who,seq,prio\n"
GOOD_ROW = "K0,2020-01-01 09:00,new,Bea,0,\n"
Run = Callable[..., tuple[subprocess.CompletedProcess[str], sqlite3.Connection]]


@pytest.fixture
def run(tmp_path: Path) -> Run:
    """Import a data file with a mapping through the CLI; the result and the database."""
    database = tmp_path / "h.db"
    env = helpline_env(f"sqlite://{database}")
    assert run_helpline("init", cwd=tmp_path, env=env).returncode == 0

    def run_import(
        name: str, data: str | bytes, mapping: str | None = None, zone: str = "UTC", extra: tuple[str, ...] = ()
    ) -> tuple[subprocess.CompletedProcess[str], sqlite3.Connection]:
        data_path = tmp_path / name
        if isinstance(data, bytes):
            data_path.write_bytes(data)
        else:
            data_path.write_text(data, encoding="utf-8")
        text = mapping if mapping is not None else MAPPING.format(zone=zone)
        mapping_path = tmp_path / ("m.json" if text.startswith(("[", '"')) else "m.toml")
        mapping_path.write_text(text, encoding="utf-8")
        done = run_helpline(
            "import", "file", str(data_path), "--mapping", str(mapping_path), "--quiet", "--no-sla-policy", *extra,
            cwd=tmp_path, env=env,
        )  # fmt: skip
        return done, sqlite3.connect(database)

    return run_import


def no_traceback(done: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in done.stderr + done.stdout, (done.stderr + done.stdout)[-800:]


def tickets(database: sqlite3.Connection) -> int:
    return int(database.execute("SELECT count(*) FROM helpline_ticket").fetchone()[0])


@pytest.mark.parametrize(
    "row",
    [
        "K1,2020-01-01 10:00,Open,Ann,0,",  # no value table: the cell must be one of Helpline's names
        "K1,2020-01-01 10:00,new,Ann,0,P1",
        "K1,0001-01-01 05:00,new,Ann,0,",  # a placeholder date, outside what Helpline reads back
        "K1,9999-12-31 20:00,new,Ann,0,",
        "K1,2020-01-01 10:00,new,Ann,99999999999999999999999,",  # no 64-bit sequence
    ],
)
def test_a_bad_cell_skips_its_row_only(run: Run, row: str) -> None:
    done, database = run("a.csv", HEADER + GOOD_ROW + row + "\n")
    no_traceback(done)
    assert done.returncode == 0, done.stderr
    assert tickets(database) == 1 and "skipped: 1." in done.stdout


@pytest.mark.parametrize(
    "mapping",
    [
        "[]",
        '"just a string"',
        'source = "x"\nformat = "oops"\n[columns]\nkey="id"\nupdated_at="at"\nstatus="state"\ncustomer="who"\n',
        'source = "x"\nvalues = ["a"]\n[columns]\nkey="id"\nupdated_at="at"\nstatus="state"\ncustomer="who"\n',
        'source = "x"\n[values]\nstatus = "new"\n[columns]\nkey="id"\nupdated_at="at"\nstatus="state"\ncustomer="who"\n',
        'source = "x"\nticket_type = ["incident"]\n[columns]\nkey="id"\nupdated_at="at"\nstatus="state"\ncustomer="who"\n',
        'source = "x"\n[format]\nmissing = 5\n[columns]\nkey="id"\nupdated_at="at"\nstatus="state"\ncustomer="who"\n',
        'source = "x"\n[format]\ndatetime = 5\n[columns]\nkey="id"\nupdated_at="at"\nstatus="state"\ncustomer="who"\n',
        'source = "x"\nemail_domain = "bad domain!"\n[columns]\nkey="id"\nupdated_at="at"\nstatus="state"\ncustomer="who"\n',
        'source = "x"\n[format]\ntimezone = "right/UTC"\n[columns]\nkey="id"\nupdated_at="at"\nstatus="state"\ncustomer="who"\n',
    ],
)
def test_a_bad_mapping_is_a_one_line_error_and_imports_nothing(run: Run, mapping: str) -> None:
    done, database = run("a.csv", HEADER + GOOD_ROW, mapping=mapping)
    no_traceback(done)
    assert done.returncode == 1 and "Error:" in done.stderr
    assert tickets(database) == 0


def _corrupt_gzip() -> bytes:
    good = bytearray(gzip.compress((HEADER + GOOD_ROW).encode()))
    good[15:25] = b"\xff" * 10
    return bytes(good)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("corrupt.csv.gz", _corrupt_gzip()),
        ("deep.json", "[" * 100_000 + "]" * 100_000),
        ("bigint.jsonl", '{"id": ' + "1" * 5000 + ', "at": "2020-01-01 10:00", "state": "new", "who": "A"}\n'),
    ],
)
def test_an_unreadable_file_is_a_one_line_error(run: Run, name: str, data: str | bytes) -> None:
    done, database = run(name, data)
    no_traceback(done)
    assert done.returncode == 1 and f"Error: {name}" in done.stderr
    assert tickets(database) == 0


def test_lone_surrogates_are_replaced_not_a_crash(run: Run) -> None:
    row = {"id": "K\ud800", "at": "2020-01-01 10:00", "state": "new", "who": "B\udfff"}
    done, database = run("surrogate.jsonl", json.dumps(row) + "\n", mapping=MAPPING.format(zone="UTC"))
    no_traceback(done)
    assert done.returncode == 0 and tickets(database) == 1


def test_a_spreadsheet_byte_order_mark_is_not_part_of_the_first_column(run: Run) -> None:
    done, database = run("bom.csv", "\ufeff" + HEADER + GOOD_ROW)
    assert done.returncode == 0 and tickets(database) == 1, done.stdout


def test_a_skipped_report_in_a_missing_folder_is_a_clear_error(run: Run, tmp_path: Path) -> None:
    done, database = run("a.csv", HEADER + GOOD_ROW, extra=("--skipped-report", str(tmp_path / "nope" / "s.csv")))
    no_traceback(done)
    assert done.returncode == 1 and "cannot write the skipped-rows report" in done.stderr
    assert tickets(database) == 0


def test_different_people_stay_different_accounts(run: Run) -> None:
    names = ["Ольга Иванова", "王伟", "محمد علي", "José Díaz", "Jos D az", "Caller 2403"]
    rows = [f"R{index},2020-01-01 1{index}:00,new,{name},0," for index, name in enumerate(names)]
    done, database = run("names.csv", HEADER + "\n".join(rows) + "\n")
    assert done.returncode == 0, done.stderr
    emails = [
        row[0]
        for row in database.execute(
            "SELECT u.email FROM helpline_ticket t JOIN helpline_user u ON u.id = t.requester_id ORDER BY t.id"
        )
    ]
    assert len(set(emails)) == len(names), emails
    assert emails[-1] == "caller-2403@import.example"  # plain names keep their readable address


def test_an_imported_customer_never_becomes_a_staff_account(run: Run) -> None:
    mapping = MAPPING.format(zone="UTC").replace(
        'source = "hostile"', 'source = "hostile"\nemail_domain = "example.com"'
    )
    done, database = run("admin.csv", HEADER + "K1,2020-01-01 10:00,new,Admin,0,\n", mapping=mapping)
    assert done.returncode == 0, done.stderr
    assert tickets(database) == 0 and "a admin account, not a customer" in done.stdout


def test_a_column_the_file_lacks_is_a_one_line_error_before_anything_is_written(run: Run) -> None:
    mapping = MAPPING.format(zone="UTC").replace('customer = "who"', 'customer = "caller"')
    done, database = run("a.csv", HEADER + GOOD_ROW, mapping=mapping)
    assert done.returncode == 1, done.stdout
    assert "Error: a.csv has no column 'caller' (customer)" in done.stderr and "'who'" in done.stderr
    assert tickets(database) == 0


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty.csv", "", "Error: empty.csv: no header row"),
        ("latin1.csv", (HEADER + "K0,2020-01-01 09:00,new,Zoë,0,\n").encode("latin-1"), "not UTF-8 text"),
    ],
)
def test_broken_files_are_named_once_with_a_hint(run: Run, name: str, data: str | bytes, message: str) -> None:
    done, _database = run(name, data)
    assert done.returncode == 1 and message in done.stderr, done.stderr
    assert done.stderr.count(name) == 1
