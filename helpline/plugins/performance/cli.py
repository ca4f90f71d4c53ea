"""``helpline performance report`` and ``helpline performance rebuild``.

Both run from the server's shell with the database settings of ``helpline`` itself, so they see
every figure (like an admin).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

import click

from helpline.core.enums import Channel, Priority
from helpline.core.errors import HelplineError
from helpline.core.runtime import Runtime
from helpline.plugins.performance import service
from helpline.plugins.performance.periods import Interval
from helpline.plugins.performance.report import DIMENSIONS, ReportFilter, ReportRequest, run_report, subject_names


def _run(ctx: click.Context, work: Any) -> Any:
    from helpline.cli import run_with_database  # the CLI's own helper: same settings, same errors

    root = ctx.find_root().obj
    try:
        return run_with_database(root["settings"], root["plugins"], work)
    except HelplineError as exc:
        raise click.ClickException(exc.message) from None


MAX_ID = 2**31 - 1


def _ids(text: str | None, option: str) -> tuple[int, ...]:
    """Numeric ids (as ``helpline`` commands print them; GraphQL's global ids are not taken)."""
    if not text:
        return ()
    try:
        ids = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise click.BadParameter("give comma-separated numeric ids", param_hint=option) from None
    if not all(0 < value <= MAX_ID for value in ids):  # ids are 32-bit: a larger one names nothing
        raise click.BadParameter(f"ids are between 1 and {MAX_ID}", param_hint=option)
    return ids


def _names(text: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


def _channels(text: str | None) -> tuple[str, ...]:
    """Channel names, checked (an unknown one would only give an empty report)."""
    names = tuple(name.lower() for name in _names(text))
    known = {channel.value for channel in Channel}
    if not set(names) <= known:
        raise click.BadParameter(f"choose from {', '.join(sorted(known))}", param_hint="--channels")
    return names


def _priorities(text: str | None) -> tuple[int, ...]:
    """Priority names (as the API spells them, any case) -> the ranks stored in the metrics."""
    try:
        return tuple(int(Priority[name.upper()]) for name in _names(text))
    except KeyError:
        choices = ", ".join(item.name.lower() for item in Priority)
        raise click.BadParameter(f"choose from {choices}", param_hint="--priorities") from None


@click.group()
def performance() -> None:
    """Team performance: reports and rebuilding the per-ticket metrics."""


@performance.command("report")
@click.option("--from", "first", required=True, type=click.DateTime(["%Y-%m-%d"]), help="First local day.")
@click.option("--to", "last", required=True, type=click.DateTime(["%Y-%m-%d"]), help="Last local day (inclusive).")
@click.option("--timezone", default="UTC", show_default=True, help="IANA time zone of the days.")
@click.option("--group-by", default="", help=f"Comma-separated: {', '.join(DIMENSIONS)}.")
@click.option("--interval", type=click.Choice([item.value for item in Interval]), help="Split by day, week or month.")
@click.option("--team-ids", help="Only these teams (comma-separated ids).")
@click.option("--agent-ids", help="Only these assignees (comma-separated ids).")
@click.option("--organization-ids", help="Only these organizations (comma-separated ids).")
@click.option("--channels", help="Only these channels (email, web, phone, chat, api).")
@click.option("--priorities", help="Only these priorities (low, normal, high, urgent).")
@click.option("--categories", help="Only these categories.")
@click.option("--format", "output_format", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.pass_context
def report_command(
    ctx: click.Context,
    first: dt.datetime,
    last: dt.datetime,
    timezone: str,
    group_by: str,
    interval: str | None,
    team_ids: str | None,
    agent_ids: str | None,
    organization_ids: str | None,
    channels: str | None,
    priorities: str | None,
    categories: str | None,
    output_format: str,
) -> None:
    """Print a performance report as CSV (one row per line, a header first) or JSON (a list of rows)."""
    request = ReportRequest(
        first=first.date(),
        last=last.date(),
        timezone=timezone,
        group_by=_names(group_by),
        interval=Interval(interval) if interval else None,
        filter=ReportFilter(
            team_ids=_ids(team_ids, "--team-ids"),
            agent_ids=_ids(agent_ids, "--agent-ids"),
            organization_ids=_ids(organization_ids, "--organization-ids"),
            channels=_channels(channels),
            priorities=_priorities(priorities),
            categories=_names(categories),
        ),
    )

    async def work(runtime: Runtime) -> list[dict[str, Any]]:
        rows = await run_report(request, runtime.plugins)
        names = await subject_names(rows)
        return [row.flat(names) for row in rows]

    rows = _run(ctx, work)
    if output_format == "json":
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    buffer = io.StringIO()
    columns = list(rows[0]) if rows else ["period_start", *request.group_by, "created", "solved", "backlog"]
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    click.echo(buffer.getvalue(), nl=False)


@performance.command("rebuild")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 10_000))
@click.pass_context
def rebuild_command(ctx: click.Context, batch_size: int) -> None:
    """Recompute every ticket's metrics from the event log (after an upgrade, or to check them)."""

    async def work(runtime: Runtime) -> int:
        return await service.rebuild(runtime.plugins.pm, batch_size=batch_size)

    count = _run(ctx, work)
    click.echo(f"Rebuilt the performance metrics of {count} tickets.")
