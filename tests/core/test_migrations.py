"""Schema migrations: in sync with the models, upgrades keep every row, plugins carry their own.

Everything runs on real databases: SQLite by default, PostgreSQL with HELPLINE_TEST_DATABASE_URL
(each test in a throwaway schema). The example plugin (tests/example_plugin) is imported from its
source folder for these tests only and ships its own migrations package.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from tortoise.migrations.executor import MigrationTarget

from helpline.cli import cli
from helpline.config import Settings
from helpline.core.db import CONNECTION, connection, open_database, tortoise_config
from helpline.core.migrate import (
    Executor,
    MigrationError,
    apply_migrations,
    existing_tables,
    migrated_apps,
    model_changes,
    pending_migrations,
    split_sqlite_script,
)
from helpline.core.plugins import HelplinePlugins, load_plugins
from helpline.testing import TEST_DATABASE_ENV, describe_schema, running_app, test_database
from tests.gql import ADD_MESSAGE, CREATE_TICKET

EXAMPLE_SOURCE = Path(__file__).resolve().parents[1] / "example_plugin"
# Every core migration after the initial one: what a database of the previous version lacks.
CORE_SINCE_INITIAL = sorted(
    f"core.{path.stem}" for path in (Path(__file__).resolve().parents[2] / "helpline/core/migrations").glob("0*.py")
)[1:]
OLD_VERSION = [MigrationTarget("core", "0001_initial"), MigrationTarget("example_watchers", "0001_initial")]


@pytest.fixture
def example_plugin(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The example plugin's module, importable from its source folder for this test only."""
    monkeypatch.syspath_prepend(str(EXAMPLE_SOURCE))
    import helpline_example_plugin.plugin as plugin

    yield plugin
    for name in [name for name in sys.modules if name.startswith("helpline_example_plugin")]:
        del sys.modules[name]


@pytest.fixture
def plugins(example_plugin: Any) -> HelplinePlugins:
    """The core and the example plugin: two apps, each with its own migrations package."""
    return load_plugins([], extra=[example_plugin])


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    async with test_database() as url:
        yield url


async def migrate_to(plugins: HelplinePlugins, url: str, targets: list[MigrationTarget]) -> None:
    """Bring an empty database to an older version: only the migrations up to ``targets``."""
    async with open_database(plugins, url, create_schema=False, global_fallback=False):
        executor = Executor(connection(), migrated_apps(tortoise_config(plugins, url)))
        await executor.recorder.ensure_schema(executor._schema_editor(atomic=False))
        await executor.migrate(targets)


async def all_rows() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every Helpline table, in primary-key order."""
    rows = {}
    for table in sorted(await existing_tables(connection())):
        if table.startswith(("helpline_", "example_")):
            _count, result = await connection().execute_query(f'SELECT * FROM "{table}" ORDER BY 1')
            rows[table] = [tuple(row) for row in result]
    return rows


# --- models and migrations agree -------------------------------------------------------------


async def test_every_model_change_has_its_migration(plugins: HelplinePlugins) -> None:
    """Red when a model changed without a migration: run `helpline migrations make --app <app>`."""
    async with open_database(plugins, "sqlite://:memory:", create_schema=False, global_fallback=False) as context:
        assert context.apps is not None
        changed = await model_changes(context.apps, tortoise_config(plugins, "sqlite://:memory:"))
    assert changed == [], f"models changed without a migration; run: helpline migrations make --app {changed[0]}"


async def test_migrations_build_exactly_the_tables_the_models_describe(plugins: HelplinePlugins) -> None:
    async with test_database() as url, open_database(plugins, url, global_fallback=False):
        migrated = await describe_schema(connection())
        assert await pending_migrations(connection(), tortoise_config(plugins, url)) == []
    async with test_database() as url, open_database(plugins, url, from_models=True, global_fallback=False) as ctx:
        from_models = await describe_schema(connection())
        await ctx.generate_schemas(safe=True)
        assert await describe_schema(connection()) == from_models
        assert await pending_migrations(connection(), tortoise_config(plugins, url)) == []
    assert {"helpline_ticket", "example_watcher"} <= set(migrated)
    assert migrated == from_models


async def test_creating_missing_tables_after_migrations_changes_nothing(plugins: HelplinePlugins) -> None:
    """Apps without migrations get ``generate_schemas(safe=True)`` after the migrations: no extra index."""
    async with test_database() as url, open_database(plugins, url, global_fallback=False) as context:
        before = await describe_schema(connection())
        await context.generate_schemas(safe=True)
        assert await describe_schema(connection()) == before


def test_sqlite_scripts_split_where_statements_end() -> None:
    script = 'CREATE TABLE "a" ("x" INT) /* one; two */;\nCREATE INDEX "i" ON "a" ("x");\n'
    assert split_sqlite_script(script) == [
        'CREATE TABLE "a" ("x" INT) /* one; two */;',
        'CREATE INDEX "i" ON "a" ("x");',
    ]
    assert split_sqlite_script("SELECT 'a;b'") == ["SELECT 'a;b'"]


# --- upgrading keeps every row ---------------------------------------------------------------


async def fill_old_database(url: str, example_plugin: Any) -> None:
    """Use the previous version like a deployment would: people, tickets, replies, notes, watchers."""
    settings = Settings(run_jobs_in_process=False, migrate_on_start=False)
    async with running_app(database_url=url, settings=settings, extra_plugins=[example_plugin]) as client:
        agent = await client.make_user("agent")
        customer = await client.make_user("customer")
        for number in range(3):
            created = await client.data(
                CREATE_TICKET,
                {"input": {"subject": f"Printer {number}", "description": "It jams.", "tags": ["hardware"]}},
                customer.token,
            )
            ticket_id = created["createTicket"]["ticket"]["id"]
            await client.data(ADD_MESSAGE, {"input": {"ticketId": ticket_id, "body": "On it."}}, agent.token)
            await client.data(
                ADD_MESSAGE, {"input": {"ticketId": ticket_id, "body": "Toner?", "internal": True}}, agent.token
            )


def assert_rows_kept(before: dict[str, Any], after: dict[str, Any]) -> None:
    """Every table of ``before`` holds the same rows ``after``; an upgrade may add tables."""
    assert {table: after.get(table) for table in before} == before


async def test_upgrading_a_database_of_the_previous_version_keeps_every_row(
    plugins: HelplinePlugins, example_plugin: Any, database_url: str
) -> None:
    await migrate_to(plugins, database_url, OLD_VERSION)
    await fill_old_database(database_url, example_plugin)
    async with open_database(plugins, database_url, create_schema=False, global_fallback=False):
        before = await all_rows()
        assert await pending_migrations(connection(), tortoise_config(plugins, database_url)) == CORE_SINCE_INITIAL

    async with open_database(plugins, database_url, global_fallback=False):  # what `helpline serve` does
        assert_rows_kept(before, await all_rows())
        assert await pending_migrations(connection(), tortoise_config(plugins, database_url)) == []
        shape = await describe_schema(connection())
    assert len(before["helpline_ticket"]) == 3 and len(before["helpline_message"]) == 9
    assert len(before["example_watcher"]) == 3 and before["helpline_ticket_event"]
    assert "ticket_id" in str(shape["helpline_message"]["indexes"])  # 0002's index is there

    # The upgraded database serves: the old tickets, through real HTTP.
    settings = Settings(run_jobs_in_process=False)
    async with running_app(database_url=database_url, settings=settings, extra_plugins=[example_plugin]) as client:
        admin = await client.make_user("admin")
        data = await client.data("{ tickets(first: 10) { totalCount nodes { watcherCount } } }", token=admin.token)
    assert data["tickets"]["totalCount"] == 3
    assert [node["watcherCount"] for node in data["tickets"]["nodes"]] == [1, 1, 1]


async def test_a_database_made_before_migrations_is_adopted(
    plugins: HelplinePlugins, example_plugin: Any, database_url: str
) -> None:
    """Helpline used to create tables from the models, with no records: the initial migrations are
    recorded as applied (not run again), the later ones run, and the rows stay."""
    await migrate_to(plugins, database_url, OLD_VERSION)
    await fill_old_database(database_url, example_plugin)
    async with open_database(plugins, database_url, create_schema=False, global_fallback=False):
        await connection().execute_script('DROP TABLE "tortoise_migrations"')
        before = await all_rows()
    async with open_database(plugins, database_url, global_fallback=False):
        assert_rows_kept(before, await all_rows())
        assert await pending_migrations(connection(), tortoise_config(plugins, database_url)) == []


async def test_a_database_with_only_some_initial_tables_is_refused(plugins: HelplinePlugins, database_url: str) -> None:
    async with open_database(plugins, database_url, create_schema=False, global_fallback=False):
        await connection().execute_script('CREATE TABLE "helpline_counter" ("name" VARCHAR(64) PRIMARY KEY)')
    with pytest.raises(MigrationError, match="helpline_counter"):
        async with open_database(plugins, database_url, global_fallback=False):
            pass
    async with open_database(plugins, database_url, create_schema=False, global_fallback=False):
        assert await existing_tables(connection()) == {"helpline_counter"}


async def test_a_failing_migration_changes_nothing(plugins: HelplinePlugins, database_url: str) -> None:
    """All pending migrations apply in one transaction: 0002 failing leaves 0001 unapplied too."""
    async with open_database(plugins, database_url, create_schema=False, global_fallback=False):
        config = tortoise_config(plugins, database_url)
        # Sabotage 0002: its index name is taken by a table.
        executor = Executor(connection(), migrated_apps(config))
        sql = await executor.collect_sql("core", "0002_ticket_timeline_indexes")
        index_name = next(line for line in sql if line.startswith("CREATE INDEX")).split('"')[1]
        await connection().execute_script(f'CREATE TABLE "{index_name}" ("x" INT)')
        with pytest.raises(Exception, match=index_name):
            await apply_migrations(CONNECTION, config)
        assert await existing_tables(connection()) == {index_name}


# --- the commands ----------------------------------------------------------------------------


def invoke(plugins: HelplinePlugins, url: str, *args: str) -> Any:
    settings = Settings(database_url=url)
    return CliRunner().invoke(cli, list(args), obj={"settings": settings, "plugins": plugins})


async def test_migrate_check_and_apply(plugins: HelplinePlugins, database_url: str) -> None:
    await migrate_to(plugins, database_url, OLD_VERSION)
    # The commands run their own event loop: in a thread, as from a shell.
    check = await asyncio.to_thread(invoke, plugins, database_url, "migrate", "--check")
    assert check.exit_code == 1 and all(name in check.output for name in CORE_SINCE_INITIAL)
    applied = await asyncio.to_thread(invoke, plugins, database_url, "migrate")
    assert applied.exit_code == 0, applied.output
    assert all(f"Applying {name}" in applied.output for name in CORE_SINCE_INITIAL)
    assert f"Applied {len(CORE_SINCE_INITIAL)} migration(s)." in applied.output
    again = await asyncio.to_thread(invoke, plugins, database_url, "migrate", "--check")
    assert (again.exit_code, again.output) == (0, "Migrations are current.\n")
    assert "nothing to apply" in (await asyncio.to_thread(invoke, plugins, database_url, "migrate")).output


def test_migrations_make_reports_no_changes_and_refuses_unknown_apps(plugins: HelplinePlugins) -> None:
    result = invoke(plugins, "sqlite://:memory:", "migrations", "make", "--app", "core", "--app", "example_watchers")
    assert (result.exit_code, result.output) == (0, "No changes detected.\n")
    unknown = invoke(plugins, "sqlite://:memory:", "migrations", "make", "--app", "sla")
    assert unknown.exit_code != 0 and "'sla'" in unknown.output


# --- readiness -------------------------------------------------------------------------------


async def test_readyz_waits_for_pending_migrations(
    plugins: HelplinePlugins, example_plugin: Any, database_url: str
) -> None:
    await migrate_to(plugins, database_url, OLD_VERSION)
    settings = Settings(run_jobs_in_process=False, migrate_on_start=False)
    async with running_app(database_url=database_url, settings=settings, extra_plugins=[example_plugin]) as client:
        response = await client.http.get("/readyz")
        assert response.status_code == 503
        assert response.json() == {
            "status": "unavailable",
            "reason": f"{len(CORE_SINCE_INITIAL)} migration(s) pending; run 'helpline migrate'",
            "pending": CORE_SINCE_INITIAL,
        }
        await apply_migrations(CONNECTION, tortoise_config(plugins, database_url))
        response = await client.http.get("/readyz")
        assert (response.status_code, response.json()) == (200, {"status": "ready"})


# --- several processes at once ---------------------------------------------------------------


@pytest.mark.e2e
async def test_concurrent_starts_on_postgres_apply_each_migration_once(tmp_path: Path) -> None:
    """Several `helpline serve` starting together run the same code as these `helpline migrate`
    processes: they take turns on the advisory lock, and each migration is applied once."""
    import os
    import subprocess

    from tests.e2e.processes import HELPLINE, helpline_env

    base = os.environ.get(TEST_DATABASE_ENV, "").strip()
    if not base:
        pytest.skip("needs PostgreSQL: set HELPLINE_TEST_DATABASE_URL")
    async with test_database() as url:
        env = helpline_env(url, plugins="none")

        def start_together() -> tuple[list[int], list[str]]:
            children = [
                subprocess.Popen(
                    [str(HELPLINE), "migrate"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
                )
                for _ in range(4)
            ]
            outputs = [child.communicate(timeout=120)[0].decode() for child in children]
            return [child.returncode for child in children], outputs

        codes, outputs = await asyncio.to_thread(start_together)
        assert codes == [0, 0, 0, 0], outputs
        assert sum(output.count("Applying core.0001_initial") for output in outputs) == 1, outputs
        for name in CORE_SINCE_INITIAL:
            assert sum(output.count(f"Applying {name}") for output in outputs) == 1, outputs
        plugins = load_plugins([])
        async with open_database(plugins, url, create_schema=False, global_fallback=False):
            _n, rows = await connection().execute_query('SELECT app, name FROM "tortoise_migrations" ORDER BY name')
        assert [f"{row['app']}.{row['name']}" for row in rows] == ["core.0001_initial", *CORE_SINCE_INITIAL]


def test_migrate_check_reports_an_unreachable_database_not_pending_migrations(plugins: HelplinePlugins) -> None:
    url = "postgres://postgres:s3cret@127.0.0.1:1/nowhere"  # port 1: nothing listens there
    result = invoke(plugins, url, "migrate", "--check")
    assert result.exit_code == 1
    assert "cannot use the database" in result.output and "pending" not in result.output
    assert "s3cret" not in result.output
