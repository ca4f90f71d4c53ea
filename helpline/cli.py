"""The ``helpline`` command. Plugins add subcommands through ``helpline_register_commands``.

- ``helpline serve``: run the server (creates the database and, on first start, the first admin,
  printing that admin's API token once).
- ``helpline worker``: run plugins' periodic jobs and deliver outbox effects (any number of
  workers, one database).
- ``helpline init``: create the database and the first admin explicitly, printing the token.
- ``helpline migrate [--check]``: apply pending migrations (``--check``: exit 1 if any are pending).
- ``helpline migrations make --app NAME``: write an app's next migration after a model change.
- ``helpline token create --email ...``: mint a token for an existing person (recovery).
- ``helpline plugins``: list the loaded plugins with their versions and hooks.
- ``helpline schema export``: print the GraphQL SDL.
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg
import click
from tortoise.exceptions import BaseORMException

from helpline.config import Settings, SettingsError, load_settings, redact_url
from helpline.core.contributions import CommandContribution
from helpline.core.db import CONNECTION, connection, open_database, tortoise_config
from helpline.core.enums import Role
from helpline.core.errors import HelplineError, PluginLoadError, ValidationFailed
from helpline.core.migrate import MigrationError, apply_migrations, make_migrations, pending_migrations
from helpline.core.models import User
from helpline.core.outbox import collect_handlers, dispatching
from helpline.core.people import NewUser, create_user, issue_token
from helpline.core.plugins import BUILTIN_PLUGINS, HelplinePlugins, load_plugins
from helpline.core.runtime import Runtime
from helpline.core.scheduler import collect_jobs, work
from helpline.core.tickets import ensure_counters
from helpline.observability import configure_logging

T = TypeVar("T")
DEFAULT_ADMIN_EMAIL = "admin@example.com"


def _settings(ctx: click.Context) -> Settings:
    return ctx.obj["settings"]  # type: ignore[no-any-return]


def _plugins(ctx: click.Context) -> HelplinePlugins:
    return ctx.obj["plugins"]  # type: ignore[no-any-return]


def run_with_database(
    settings: Settings,
    plugins: HelplinePlugins,
    work: Callable[[Runtime], Awaitable[T]],
    *,
    migrate: bool | None = None,
) -> T:
    """Open the database, run ``work``, close it: for CLI commands.

    ``migrate`` (default: the ``migrate_on_start`` setting) applies pending migrations first.
    A database that cannot be opened is a clear one-line error naming the (password-less) URL.
    """
    if migrate is None:
        migrate = settings.migrate_on_start

    async def main() -> T:
        async with open_database(plugins, settings.database_url, create_schema=migrate, global_fallback=False):
            if migrate:
                await ensure_counters()
            return await work(Runtime(settings=settings, plugins=plugins))

    try:
        return asyncio.run(main())
    except MigrationError as exc:
        raise click.ClickException(str(exc)) from None
    except (BaseORMException, OSError, asyncpg.PostgresError) as exc:
        raise click.ClickException(
            f"cannot use the database {redact_url(settings.database_url)}: {exc or type(exc).__name__}"
        ) from None


def ensure_port_free(host: str, port: int) -> None:
    """Fail before doing anything when the port is taken, rather than after announcing a URL."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


async def bootstrap_admin(runtime: Runtime, email: str, name: str, *, only_if_empty: bool) -> tuple[str, str] | None:
    """Create the first admin; return their stored e-mail and token secret (``None`` if an admin exists)."""
    if await User.filter(role=Role.ADMIN).exists():
        if only_if_empty:
            return None
        raise click.ClickException("an admin exists already; use 'helpline token create --email ...' instead")
    try:
        user = await create_user(runtime, None, NewUser(email=email, name=name, role=Role.ADMIN), bootstrap=True)
    except ValidationFailed as exc:
        raise click.ClickException(str(exc)) from None
    _token, secret = await issue_token(runtime, user, "first admin")
    return user.email, secret


def _print_admin_token(email: str, secret: str) -> None:
    click.echo(
        "\n".join(
            [
                "",
                f"Created the first admin, {email}. Their API token (shown only this once):",
                "",
                f"    {secret}",
                "",
                "Send it as the header  Authorization: Bearer <token>",
                "",
            ]
        )
    )


@click.group()
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="Path to helpline.toml.")
@click.option("--database-url", help="Overrides HELPLINE_DATABASE_URL (default: sqlite://helpline.db).")
@click.option("--plugins", "plugin_list", help="Comma-separated plugins to enable, or 'all'.")
@click.pass_context
def cli(ctx: click.Context, config_file: str | None, database_url: str | None, plugin_list: str | None) -> None:
    """Helpline: an open-source help desk framework."""
    if ctx.obj is None:  # tests and embedding callers may pass settings and plugins in
        try:
            settings = load_settings(config_file, database_url=database_url, plugins=plugin_list)
            ctx.obj = {"settings": settings, "plugins": load_plugins(settings.plugins)}
        except (SettingsError, PluginLoadError) as exc:
            raise click.ClickException(str(exc)) from None


@cli.command()
@click.option("--host", default=None, help="Interface to listen on (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default 8000).")
@click.option(
    "--admin-email",
    default=DEFAULT_ADMIN_EMAIL,
    show_default=True,
    help="E-mail of the first admin.",
)
@click.option(
    "--no-jobs", is_flag=True, help="Leave periodic jobs and outbox delivery to separate `helpline worker` processes."
)
@click.option(
    "--no-migrate", is_flag=True, help="Leave pending migrations to `helpline migrate` (/readyz waits for it)."
)
@click.pass_context
def serve(
    ctx: click.Context, host: str | None, port: int | None, admin_email: str, no_jobs: bool, no_migrate: bool
) -> None:
    """Run Helpline: GraphQL (and GraphiQL) at http://HOST:PORT/graphql, and periodic jobs.

    Pending migrations are applied first (creating the database on first start), unless
    ``--no-migrate`` or the ``migrate_on_start`` setting says otherwise.
    """
    import uvicorn

    from helpline.app import create_app

    try:
        settings = _settings(ctx).replace(**{k: v for k, v in {"host": host, "port": port}.items() if v is not None})
        if no_jobs:
            settings = settings.replace(run_jobs_in_process=False)
        if no_migrate:
            settings = settings.replace(migrate_on_start=False)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    ensure_port_free(settings.host, settings.port)

    async def first_start(runtime: Runtime) -> tuple[str, str] | None:
        pending = await pending_migrations(connection(), tortoise_config(runtime.plugins, settings.database_url))
        if pending:  # only with --no-migrate: nothing can be written before `helpline migrate`
            click.echo(f"{len(pending)} migration(s) pending ({', '.join(pending)}): run 'helpline migrate'.")
            return None
        return await bootstrap_admin(runtime, admin_email, "Admin", only_if_empty=True)

    created = run_with_database(settings, _plugins(ctx), first_start)
    if created is not None:
        _print_admin_token(*created)
    try:
        app = create_app(settings)
    except PluginLoadError as exc:  # e.g. two plugins deliver the same outbox kind
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"Helpline on http://{settings.host}:{settings.port}/graphql (database: {redact_url(settings.database_url)})"
    )
    click.echo(f"Plugins: {', '.join(_plugins(ctx).names)}")
    configure_logging(settings.log_level, settings.log_format)
    # log_config=None: keep the handlers configure_logging() set (request ids, JSON lines).
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        lifespan="on",
        log_config=None,
        ws_max_size=settings.max_request_bytes,  # a websocket message is capped like an HTTP body
    )


@cli.command()
@click.pass_context
def worker(ctx: click.Context) -> None:
    """Run the enabled plugins' periodic jobs and deliver outbox effects until stopped (Ctrl-C or SIGTERM).

    Run as many workers as you like against one PostgreSQL database: each due run is claimed in
    the database, so no job runs twice at the same time, and each outbox effect is claimed by one
    dispatcher at a time. On SIGTERM, deliveries in flight finish (bounded) before the exit.
    """
    settings, plugins = _settings(ctx), _plugins(ctx)
    try:
        jobs = collect_jobs(Runtime(settings=settings, plugins=plugins))
        handlers = collect_handlers(Runtime(settings=settings, plugins=plugins))
    except PluginLoadError as exc:
        raise click.ClickException(str(exc)) from None
    configure_logging(settings.log_level, settings.log_format)

    async def run(runtime: Runtime) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signal_number, stop.set)
        # Announced once the signal handlers are in place: from here a stop request is graceful.
        click.echo(f"Helpline worker: {len(jobs)} job(s): {', '.join(job.name for job in jobs) or 'none'}")
        click.echo(f"Outbox: delivering {', '.join(sorted(handlers)) or 'nothing (no plugin delivers effects)'}")
        async with dispatching(runtime, handlers):
            await work(runtime, jobs, stop)

    run_with_database(settings, plugins, run)
    click.echo("Helpline worker stopped.")


@cli.command()
@click.option("--email", default=DEFAULT_ADMIN_EMAIL, show_default=True, help="The first admin's e-mail.")
@click.option("--name", default="Admin", show_default=True)
@click.pass_context
def init(ctx: click.Context, email: str, name: str) -> None:
    """Create the database and the first admin; print the admin's API token once."""
    created = run_with_database(
        _settings(ctx),
        _plugins(ctx),
        lambda rt: bootstrap_admin(rt, email, name, only_if_empty=False),
        migrate=True,
    )
    assert created is not None  # only_if_empty=False raises instead of returning None
    _print_admin_token(*created)


@cli.command()
@click.option("--check", is_flag=True, help="Apply nothing; exit with status 1 when migrations are pending.")
@click.pass_context
def migrate(ctx: click.Context, check: bool) -> None:
    """Apply the pending migrations of the enabled apps (the core and each plugin's).

    Safe to run while servers run and from several places at once: on PostgreSQL one run at a
    time holds a lock, and all pending migrations apply in one transaction (all or nothing).
    Back the database up first. ``--check`` exits 1 while migrations are pending and, like any
    failure, with status 1 and the reason when the database cannot be reached.
    """
    settings, plugins = _settings(ctx), _plugins(ctx)
    config = tortoise_config(plugins, settings.database_url)

    async def pending(_runtime: Runtime) -> list[str]:
        # Reach the database first: an unreachable one must fail (exit 1 with the reason), not read
        # as "everything pending".
        await connection().execute_query("SELECT 1")
        return await pending_migrations(connection(), config)

    if check:
        waiting = run_with_database(settings, plugins, pending, migrate=False)
        if waiting:
            click.echo(f"{len(waiting)} migration(s) pending:")
            for name in waiting:
                click.echo(f"    {name}")
            ctx.exit(1)
        click.echo("Migrations are current.")
        return

    async def apply(_runtime: Runtime) -> list[str]:
        return await apply_migrations(CONNECTION, config, progress=lambda name: click.echo(f"Applying {name}"))

    applied = run_with_database(settings, plugins, apply, migrate=False)
    click.echo(f"Applied {len(applied)} migration(s)." if applied else "Migrations are current; nothing to apply.")


@cli.group()
def migrations() -> None:
    """Write migrations (for developers of Helpline and of plugins)."""


@migrations.command("make")
@click.option("--app", "app_labels", multiple=True, required=True, help="The app (core, or a plugin's); repeatable.")
@click.option("--name", default=None, help="Describes the change: 0003_<name>.py (default: auto_<time>).")
@click.pass_context
def migrations_make(ctx: click.Context, app_labels: tuple[str, ...], name: str | None) -> None:
    """Write the next migration of each app whose models changed since its last migration.

    Needs no database: the migrations on disk say what the schema was. Review the file, and write
    data changes (``ops.RunPython``/``ops.RunSQL``) by hand where a column's meaning changes.
    """
    plugins = _plugins(ctx)
    config = tortoise_config(plugins, "sqlite://:memory:")

    async def make() -> list[str]:
        async with open_database(plugins, "sqlite://:memory:", create_schema=False, global_fallback=False) as context:
            assert context.apps is not None
            return [str(path) for path in await make_migrations(context.apps, config, list(app_labels), name=name)]

    try:
        written = asyncio.run(make())
    except MigrationError as exc:
        raise click.ClickException(str(exc)) from None
    if not written:
        click.echo("No changes detected.")
    for path in written:
        click.echo(f"Created {path}")


@cli.group()
def token() -> None:
    """Manage API tokens from the server's shell."""


@token.command("create")
@click.option("--email", required=True, help="Whose token.")
@click.option("--name", default="cli", show_default=True, help="A label for the token.")
@click.pass_context
def token_create(ctx: click.Context, email: str, name: str) -> None:
    """Mint an API token for an existing person and print it once."""

    async def work(runtime: Runtime) -> str:
        user = await User.get_or_none(email=email.strip().lower())
        if user is None or not user.is_active:
            raise click.ClickException(f"no active user with e-mail {email}")
        _token, secret = await issue_token(runtime, user, name)
        return secret

    click.echo(run_with_database(_settings(ctx), _plugins(ctx), work))


@cli.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def plugins_command(ctx: click.Context, as_json: bool) -> None:
    """List the loaded plugins with their versions, sources and hooks."""
    infos = _plugins(ctx).info()
    if as_json:
        click.echo(json.dumps([info.__dict__ for info in infos], indent=2, default=list))
        return
    for info in infos:
        click.echo(f"{info.name} {info.version} ({info.source})")
        for hook in info.hooks:
            click.echo(f"    {hook}")


@cli.group()
def schema() -> None:
    """The GraphQL schema."""


@schema.command("export")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write to a file instead of stdout.")
@click.option(
    "--builtin",
    is_flag=True,
    help="Every built-in plugin and nothing else, whatever is enabled: the checked-in schema.graphql.",
)
@click.pass_context
def schema_export(ctx: click.Context, output: str | None, builtin: bool) -> None:
    """Print the GraphQL SDL of the enabled plugins' schema."""
    from helpline.schema.compose import export_sdl

    plugins = load_plugins(list(BUILTIN_PLUGINS)) if builtin else _plugins(ctx)
    sdl = export_sdl(plugins, _settings(ctx))
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(sdl)
    else:
        click.echo(sdl, nl=False)


def add_plugin_commands(group: click.Group, plugins: HelplinePlugins) -> None:
    """Add every ``helpline_register_commands`` contribution; a taken name names both owners."""
    owners = {name: "core" for name in group.commands}
    for contributed in plugins.collect("helpline_register_commands"):
        contribution = contributed.value
        if not isinstance(contribution, CommandContribution) or not isinstance(contribution.command, click.Command):
            raise PluginLoadError(
                f"plugin {contributed.plugin!r}: helpline_register_commands must return "
                "CommandContribution(command=<a click command>)"
            )
        name = contribution.command.name or ""
        if name in owners:
            raise PluginLoadError(f"command {name!r} is defined by both {owners[name]!r} and {contributed.plugin!r}")
        owners[name] = contributed.plugin
        group.add_command(contribution.command)


def main(argv: list[str] | None = None) -> Any:
    """Entry point: add the configured plugins' commands, then run the CLI.

    Plugin commands come from the plugins configured in the environment and ``helpline.toml``.
    When those settings are broken, the CLI still starts (``--help``, ``--config``, ``--plugins``
    can fix things) and the group callback reports the problem if it persists.
    """
    try:
        add_plugin_commands(cli, load_plugins(load_settings().plugins))
    except PluginLoadError as exc:
        if "both" in str(exc):  # two plugins claim one command name: a real conflict, say so now
            click.echo(f"Error: {exc}", err=True)
            sys.exit(1)
    except (SettingsError, HelplineError):
        pass
    return cli.main(args=argv, obj=None, standalone_mode=True)
