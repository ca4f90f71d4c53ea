"""``helpline import servicenow-log PATH``, ``helpline import file PATH --mapping FILE``, ``helpline demo``."""

from __future__ import annotations

import csv
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import click

from helpline.core.errors import HelplineError
from helpline.core.runtime import Runtime
from helpline.plugins.importer.mapping import Mapping, MappingError, load_mapping, servicenow_mapping
from helpline.plugins.importer.progress import ProgressBar
from helpline.plugins.importer.replay import DEFAULT_BATCH_SIZE, SkippedRow
from helpline.plugins.importer.service import SAMPLE, ImportOutcome, import_file
from helpline.plugins.importer.sources import SourceError

LISTED_SKIPS = 20


def _root(ctx: click.Context) -> dict[str, Any]:
    return ctx.find_root().obj  # type: ignore[no-any-return]


def run_import(
    ctx: click.Context,
    path: str,
    mapping: Mapping,
    *,
    batch_size: int,
    sla_policy: bool,
    skipped_report: str | None,
    admin_email: str | None,
    quiet: bool = False,
) -> ImportOutcome:
    """Run one import from the CLI: progress on stderr, summary on stdout, skipped rows listed."""
    from helpline.cli import run_with_database  # the CLI's own helper: same settings, same errors

    root = _root(ctx)
    try:
        # Closed in the finally below, after the import (a with block would span the whole function).
        report_file: IO[str] | None = (
            open(skipped_report, "w", encoding="utf-8", newline="") if skipped_report else None  # noqa: SIM115
        )
    except OSError as exc:
        raise click.ClickException(f"cannot write the skipped-rows report: {exc}") from None
    writer = csv.writer(report_file) if report_file else None
    if writer:
        writer.writerow(["line", "key", "reason"])
    on_skip: Callable[[SkippedRow], None] | None = (
        (lambda row: writer.writerow([row.line, row.key or "", row.reason])) if writer else None
    )
    bar = ProgressBar("Importing", stream=sys.stderr)

    async def work(runtime: Runtime) -> ImportOutcome:
        if not quiet:
            click.echo(f"Reading and ordering {path} ...", err=True)
        return await import_file(
            runtime,
            path,
            mapping,
            admin_email=admin_email,
            batch_size=batch_size,
            sla_policy=sla_policy,
            on_skip=on_skip,
            progress=None if quiet else bar,
        )

    try:
        outcome: ImportOutcome = run_with_database(root["settings"], root["plugins"], work)
    except (HelplineError, SourceError) as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        if report_file:
            report_file.close()
    if not quiet:
        bar.finish()
    _summary(outcome, skipped_report)
    return outcome


def _summary(outcome: ImportOutcome, skipped_report: str | None, *, list_rows: bool = True) -> None:
    report = outcome.report
    rate = report.rows / report.seconds if report.seconds else 0.0
    click.echo(
        f"Source {report.source}: {outcome.read_rows:,} rows read in {report.seconds:,.1f} s ({rate:,.0f} rows/s)."
    )
    click.echo(
        f"Tickets created: {report.tickets_created:,}; updates applied: {report.updates_applied:,}; "
        f"unchanged: {report.unchanged:,}; already imported: {report.already_imported:,}; "
        f"skipped: {report.skipped_total:,}."
    )
    for reason, count in report.skipped.most_common():
        click.echo(f"    skipped {count:,}: {reason}")
    if report.batches_row_by_row:
        click.echo(
            f"{report.batches_row_by_row:,} of {report.batches:,} batches held a refused row and were "
            "replayed row by row (slower)."
        )
    if report.skipped_rows and not skipped_report and list_rows:
        # In line order: rows are skipped while reading (bad values) and while replaying in time
        # order (refusals), so the order they were met in jumps around the file.
        for row in sorted(report.skipped_rows, key=lambda skipped: skipped.line)[:LISTED_SKIPS]:
            click.echo(f"    line {row.line} ({row.key or 'no key'}): {row.reason}")
        if report.skipped_total > LISTED_SKIPS:
            click.echo(
                f"    ... and {report.skipped_total - LISTED_SKIPS:,} more: list them all with --skipped-report FILE"
            )
    elif skipped_report:
        click.echo(f"Skipped rows listed in {skipped_report}.")
    if outcome.policy_created:
        click.echo("Created the SLA policy set 'Import: resolution' (1 h / 4 h / 8 h / 24 h, Mon-Fri 08:00-18:00).")
    if outcome.agreement is not None:
        click.echo(outcome.agreement.describe() + ".")


def _common(function: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option(
            "--batch-size",
            default=DEFAULT_BATCH_SIZE,
            show_default=True,
            type=click.IntRange(1, 100_000),
            help="Rows per transaction.",
        ),
        click.option("--skipped-report", type=click.Path(dir_okay=False), help="Write every skipped row to this CSV."),
        click.option("--no-sla-policy", is_flag=True, help="Do not create the import's SLA policy set."),
        click.option("--admin-email", help="The admin the import acts as (default: the first active admin)."),
        click.option("--quiet", is_flag=True, help="No progress bar."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


@click.group("import")
def import_group() -> None:
    """Import another help desk's history by replaying it through Helpline (idempotent, resumable)."""


@import_group.command("servicenow-log")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--timezone", default="UTC", show_default=True, help="IANA zone the log's zone-less times are in.")
@_common
@click.pass_context
def servicenow_log(ctx: click.Context, path: str, timezone: str, **options: Any) -> None:
    """Import a ServiceNow incident event log (CSV, optionally .gz), such as UCI dataset 498."""
    try:
        mapping = servicenow_mapping(timezone)
    except MappingError as exc:
        raise click.ClickException(str(exc)) from None
    run_import(ctx, path, mapping, **_options(options))


@import_group.command("file")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--mapping", "mapping_path", required=True, type=click.Path(exists=True, dir_okay=False))
@_common
@click.pass_context
def import_any(ctx: click.Context, path: str, mapping_path: str, **options: Any) -> None:
    """Import a CSV, JSON lines or JSON file of ticket updates described by a mapping file (TOML or JSON)."""
    try:
        mapping = load_mapping(mapping_path)
    except MappingError as exc:
        raise click.ClickException(str(exc)) from None
    run_import(ctx, path, mapping, **_options(options))


def _options(options: dict[str, Any]) -> dict[str, Any]:
    return {
        "batch_size": options["batch_size"],
        "sla_policy": not options["no_sla_policy"],
        "skipped_report": options["skipped_report"],
        "admin_email": options["admin_email"],
        "quiet": options["quiet"],
    }


DEMO_QUERIES = """\
Ready GraphQL queries (GraphiQL: open the URL in a browser, put the header in "Headers"):

  {{ tickets(first: 5, filter: {{status: [CLOSED]}}) {{ totalCount nodes {{ number subject priority team {{ name }} assignee {{ name }} }} }} }}

  {{ ticket(number: 1001) {{ subject status events {{ nodes {{ kind field oldValue newValue createdAt }} }} sla {{ clocks {{ kind dueAt metAt breachedAt }} }} }} }}

  {{ teamPerformance(from: "2016-02-01", to: "2017-02-28") {{ team {{ name }} created solved fullResolution {{ medianMinutes p90Minutes }} }} }}

  {{ performanceReport(from: "2016-02-01", to: "2017-02-28", groupBy: [PRIORITY]) {{ rows {{ priority created solved fullResolution {{ medianMinutes p90Minutes }} }} }} }}

With curl:
  curl -s http://{host}:{port}/graphql -H 'Authorization: Bearer {token}' \\
       -H 'Content-Type: application/json' -d '{{"query": "{{ tickets(first: 3) {{ totalCount nodes {{ number subject status }} }} }}"}}'
"""


@click.command("demo")
@click.option(
    "--folder", type=click.Path(file_okay=False), help="Where to put the demo database (default: a new temp folder)."
)
@click.option("--port", type=int, default=None, help="Port (default 8000).")
@click.option("--no-serve", is_flag=True, help="Build the database and print the token, then stop.")
@click.pass_context
def demo(ctx: click.Context, folder: str | None, port: int | None, no_serve: bool) -> None:
    """Build a fresh demo database from the shipped ServiceNow sample, then serve it.

    Prints the admin token and a few ready GraphQL queries. The database is an SQLite file in
    ``--folder`` (replaced if it exists, and kept), or in a new temporary folder that is removed
    when the server stops (kept with ``--no-serve``, whose point is the database).
    """
    from helpline.cli import bootstrap_admin, ensure_port_free, run_with_database, serve

    root = _root(ctx)
    settings = root["settings"]
    if port is not None:
        settings = settings.replace(port=port)
    if not no_serve:
        ensure_port_free(settings.host, settings.port)  # before making a folder a refusal would leave behind
    where = Path(folder or tempfile.mkdtemp(prefix="helpline-demo-"))
    where.mkdir(parents=True, exist_ok=True)
    database = where / "helpline-demo.db"
    for leftover in where.glob("helpline-demo.db*"):
        leftover.unlink()
    settings = settings.replace(database_url=f"sqlite://{database}")
    root["settings"] = settings

    async def build(runtime: Runtime) -> tuple[str, ImportOutcome]:
        created = await bootstrap_admin(runtime, "admin@example.com", "Admin", only_if_empty=False)
        assert created is not None
        outcome = await import_file(runtime, SAMPLE, servicenow_mapping())
        return created[1], outcome

    click.echo(f"Building the demo database {database} from the ServiceNow sample ...")
    try:
        token, outcome = run_with_database(settings, root["plugins"], build, migrate=True)
    except BaseException:
        if folder is None:
            shutil.rmtree(where, ignore_errors=True)
        raise
    # The sample keeps the real log's own inconsistencies (updates after closing...): their counts
    # by reason are shown, the rows themselves only by `helpline import ... --skipped-report`.
    _summary(outcome, None, list_rows=False)
    click.echo("")
    click.echo(f"Admin token (admin@example.com):  {token}")
    click.echo(f'Header:  {{"Authorization": "Bearer {token}"}}')
    click.echo("")
    click.echo(DEMO_QUERIES.format(host=settings.host, port=settings.port, token=token))
    if no_serve:
        click.echo(f"\nServe it later with:  helpline --database-url sqlite://{database} serve")
        return
    try:
        ctx.invoke(serve, host=None, port=None, admin_email="admin@example.com", no_jobs=False, no_migrate=False)
    finally:
        if folder is None:
            shutil.rmtree(where, ignore_errors=True)
            click.echo(f"Removed the demo folder {where}.")
