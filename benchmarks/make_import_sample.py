"""Write the ServiceNow sample shipped with the importer (helpline/plugins/importer/data/).

Every 100th incident of ../shared/data/uci-incidents/incident_event_log.csv.gz, plus every incident
with a row the import must skip or bridge (state -100, updates after closing, solved -> pending,
closing without a solve), with all their rows, in the log's own order. Deterministic: re-running
writes the same file.

    .venv/bin/python benchmarks/make_import_sample.py
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOG = ROOT.parent / "shared" / "data" / "uci-incidents" / "incident_event_log.csv.gz"
OUT = ROOT / "helpline" / "plugins" / "importer" / "data" / "servicenow_sample.csv.gz"
EVERY = 100
ODD = {("Closed", "Active"), ("Resolved", "Awaiting User Info"), ("New", "Closed"), ("Active", "Closed")}


def main() -> None:
    """Select the incidents and write their rows, gzipped, with a fixed mtime (reproducible bytes)."""
    with gzip.open(LOG, "rt", newline="") as handle:
        reader = csv.DictReader(handle)
        fields = list(reader.fieldnames or [])
        rows = list(reader)
    order: list[str] = []
    by_incident: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        if row["number"] not in by_incident:
            order.append(row["number"])
            by_incident[row["number"]] = []
        by_incident[row["number"]].append(row)
    wanted = set(order[::EVERY])
    for number, updates in by_incident.items():
        states = [row["incident_state"] for row in updates]
        if "-100" in states or any(pair in ODD for pair in itertools.pairwise(states)):
            wanted.add(number)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    count = 0
    for number in order:
        if number in wanted:
            writer.writerows(by_incident[number])
            count += len(by_incident[number])
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as packed:
        packed.write(buffer.getvalue().encode())
    print(f"{len(wanted)} incidents, {count} rows -> {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
