"""Versioned schema migrations for every Tortoise app: the core's and each plugin's.

Each app's migrations are a Python package inside the package that owns the models: the core's
in ``helpline.core.migrations``, a plugin's wherever its ``ModelsContribution(migrations=...)``
says (``my_plugin.migrations``). A migration module holds one ``Migration`` class with the
operations that take the schema from the previous version to the next one; the database records
which ones ran (table ``tortoise_migrations``). ``helpline migrations make --app NAME`` writes the
next migration after a model change; ``helpline migrate`` (and, by default, ``helpline serve``)
applies the pending ones.

Why Tortoise's own migrations (``tortoise.migrations``, Tortoise 1.x) rather than Aerich 0.10
(Tortoise's were tried here; Aerich was judged from its documentation, not installed):

- Per-package folders: Tortoise names each app's migrations package in that app's config, so a
  plugin carries its migrations in its own distribution. Aerich keeps every app's migrations under
  one ``location`` of the deployment (``migrations/<app>/``), configured in the deployer's
  ``pyproject.toml``: a plugin installed from PyPI could not ship its own.
- One context: Tortoise's executor runs on the connection Helpline already opened (our
  ``TortoiseContext``, the test schemas on PostgreSQL); Aerich runs its own ``Tortoise.init``.
- Cross-app order: migrations form one graph; a plugin's migration depends on the core migration
  that created the tables it references (the autodetector writes that dependency for relations;
  write it yourself for anything else). Aerich orders apps only by the order you run them.
- No extra dependency, and the autodetector answers "no changes" for the sync test. Aerich's own
  README now points Tortoise 1.x users to the built-in migrations.

What Helpline adds around the library (it is marked experimental, so these are tested here on
SQLite and PostgreSQL):

- One transaction for the whole run, started on PostgreSQL with ``pg_advisory_xact_lock``: several
  ``helpline serve`` processes starting together apply each migration once (the others wait for
  the lock, then find nothing pending). A failing migration rolls back the whole run together with
  its records; the library alone commits each migration and records it afterwards, separately.
  Hence a migration marked ``atomic = False`` (e.g. ``CREATE INDEX CONCURRENTLY``) is refused.
- Adopting a database made before migrations existed (Helpline created tables straight from the
  models): when an app has no recorded migration but every table its initial migration creates
  exists, that migration is recorded as applied without running (Django's ``--fake-initial``).
- SQLite statements are split where SQLite says a statement ends (``sqlite3.complete_statement``):
  the library splits at every ``;``, which breaks on a model docstring (a table comment) with one.
- Apps without migrations (a plugin that ships none): their missing tables are created from the
  models, and never upgraded afterwards; a warning says so.
"""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tortoise.apps import Apps
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.migrations.autodetector import MigrationAutodetector
from tortoise.migrations.executor import MigrationExecutor
from tortoise.migrations.graph import MigrationKey
from tortoise.migrations.loader import MigrationLoader
from tortoise.migrations.migration import Migration
from tortoise.migrations.operations import CreateModel
from tortoise.migrations.recorder import MigrationRecorder
from tortoise.migrations.schema_editor import BaseSchemaEditor, SqliteSchemaEditor
from tortoise.migrations.writer import format_migration_name
from tortoise.transactions import in_transaction

from helpline.core.errors import HelplineError

logger = logging.getLogger("helpline.migrations")

# pg_advisory_xact_lock takes a bigint: "Helpline" in ASCII, as a signed 64-bit number.
LOCK_KEY = int.from_bytes(b"Helpline", "big", signed=True)


class MigrationError(HelplineError):
    """Migrations cannot be applied or written; the message says which app and why."""


class _SqliteEditor(SqliteSchemaEditor):
    """SQLite's schema editor, splitting a script into statements where SQLite says they end."""

    async def _run_sql(self, sql: str) -> None:
        if self.collect_sql or not self.atomic_migration:
            await super()._run_sql(sql)
            return
        for statement in split_sqlite_script(sql):
            await self.client.execute_query(statement)


def split_sqlite_script(sql: str) -> list[str]:
    """The statements of an SQLite script; a ``;`` inside a comment or a string does not end one."""
    statements, pending = [], ""
    pieces = sql.split(";")
    for number, piece in enumerate(pieces):
        pending += piece if number == len(pieces) - 1 else piece + ";"
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    statements.append(pending.strip())  # a last statement without its ";"
    return [statement for statement in statements if statement.strip(" \n;")]


class _Recorder(MigrationRecorder):
    """Tortoise's records, with the table created statement by statement.

    The library creates it with ``execute_script``; on SQLite that is ``executescript``, which
    commits the open transaction first, and the run would no longer be all or nothing.
    """

    async def ensure_schema(self, schema_editor: Any) -> None:
        statement = schema_editor._get_model_sql_data(self.model).table_sql
        statement = statement.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS", 1)
        for part in split_sqlite_script(statement) if self._dialect == "sqlite" else [statement]:
            await schema_editor.client.execute_query(part)


class Executor(MigrationExecutor):
    """Tortoise's executor with :class:`_SqliteEditor` on SQLite and :class:`_Recorder`."""

    def __init__(self, connection: BaseDBAsyncClient, apps_config: dict[str, dict[str, Any]]) -> None:
        super().__init__(connection, apps_config)
        self.recorder = _Recorder(connection)
        self.loader.recorder = self.recorder

    def _schema_editor(self, atomic: bool = True, collect_sql: bool = False) -> BaseSchemaEditor:
        if self.connection.capabilities.dialect == "sqlite":
            return _SqliteEditor(self.connection, atomic=atomic, collect_sql=collect_sql)
        return super()._schema_editor(atomic=atomic, collect_sql=collect_sql)


def migrated_apps(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The apps of a Tortoise ``config`` that declare a migrations package."""
    return {label: dict(app) for label, app in config["apps"].items() if app.get("migrations")}


def unmigrated_apps(config: Mapping[str, Any]) -> list[str]:
    """The apps of a Tortoise ``config`` without migrations (their tables come from the models)."""
    return [label for label, app in config["apps"].items() if not app.get("migrations")]


def _name(key: MigrationKey) -> str:
    return f"{key.app_label}.{key.name}"


def expected_migrations(config: Mapping[str, Any]) -> frozenset[MigrationKey]:
    """Every migration the code ships for the migrated apps of ``config`` (read from disk)."""
    loader = MigrationLoader(migrated_apps(config), MigrationRecorder(None))
    loader.load_disk()
    return frozenset(loader.disk_migrations)


async def pending_migrations(client: BaseDBAsyncClient, config: Mapping[str, Any]) -> list[str]:
    """``app.name`` of each migration not yet applied to the database, in the order they would run."""
    apps = migrated_apps(config)
    if not apps:
        return []
    steps = await Executor(client, apps).plan()
    return [_name(MigrationKey(step.migration.app_label, step.migration.name)) for step in steps]


@dataclasses.dataclass
class MigrationCheck:
    """Answers "are the migrations current?" cheaply, for ``/readyz``.

    The migrations the code ships are read once; each check is one query of the records. Once
    current, always current for this process (migrations only ever move forward), so later checks
    cost nothing.
    """

    expected: frozenset[MigrationKey]
    current: bool = False

    @classmethod
    def for_config(cls, config: Mapping[str, Any]) -> MigrationCheck:
        """The check for the migrated apps of a Tortoise ``config``."""
        return cls(expected=expected_migrations(config))

    async def pending(self, client: BaseDBAsyncClient) -> list[str]:
        """``app.name`` of each shipped migration the database has not recorded, sorted."""
        if self.current:
            return []
        # A missing records table reads as "nothing applied" (the library swallows that error).
        applied = set(await MigrationRecorder(client).applied_migrations())
        missing = sorted(_name(key) for key in self.expected - applied)
        self.current = not missing
        return missing


async def apply_migrations(
    connection_name: str,
    config: Mapping[str, Any],
    *,
    progress: Callable[[str], object] | None = None,
) -> list[str]:
    """Apply every pending migration of the migrated apps in one transaction; return their names.

    On PostgreSQL the transaction first takes an advisory lock, so concurrent callers run one
    after the other and the later ones find nothing left to do. ``progress`` is called with each
    migration's ``app.name`` before it runs.
    """
    apps = migrated_apps(config)
    if not apps:
        return []
    async with in_transaction(connection_name) as client:
        if client.capabilities.dialect == "postgres":
            await client.execute_query("SELECT pg_advisory_xact_lock($1)", [LOCK_KEY])
        # The executor gets the transaction's client: its records are written in this transaction,
        # and its own per-migration transactions become savepoints inside it.
        executor = Executor(client, apps)
        # Created before anything reads it: on PostgreSQL a failed read would abort the transaction.
        await executor.recorder.ensure_schema(executor._schema_editor(atomic=False))
        await _adopt_existing_tables(executor, client)
        steps = await executor.plan()
        for step in steps:
            if not step.migration.atomic:
                raise MigrationError(
                    f"migration {step.migration.app_label}.{step.migration.name} is marked atomic = False; "
                    "Helpline applies migrations inside one transaction"
                )
        names = [_name(MigrationKey(step.migration.app_label, step.migration.name)) for step in steps]

        def report(event: str, app_label: str, name: str) -> None:
            if event == "apply_start":
                logger.info("applying migration %s.%s", app_label, name)
                if progress is not None:
                    progress(f"{app_label}.{name}")

        await executor.migrate(direction="forward", progress=report)
    return names


async def _adopt_existing_tables(executor: Executor, client: BaseDBAsyncClient) -> None:
    """Record an app's initial migration as applied when the tables it creates exist already.

    Databases made before Helpline had migrations hold the tables of the initial migrations but
    no records. Tables half there mean the database is not what any version made: refuse.
    """
    await executor.loader.build_graph()
    applied_apps = {key.app_label for key in executor.loader.applied_migrations}
    existing = await existing_tables(client)
    for key, migration in sorted(executor.loader.disk_migrations.items()):
        if key.app_label in applied_apps or not migration.initial:
            continue
        tables = _created_tables(migration)
        present = tables & existing
        if not present:
            continue
        if present != tables:
            raise MigrationError(
                f"app {key.app_label!r}: the database has some tables of {key.name} ({', '.join(sorted(present))}) "
                f"but not others ({', '.join(sorted(tables - present))}); it was not made by any Helpline version"
            )
        logger.warning("app %r: adopting existing tables as migration %s", key.app_label, key.name)
        await executor.recorder.record_applied(key.app_label, key.name)


def _created_tables(migration: Migration) -> set[str]:
    return {
        str((operation.options or {}).get("table") or operation.name.lower())
        for operation in migration.operations
        if isinstance(operation, CreateModel)
    }


async def existing_tables(client: BaseDBAsyncClient) -> set[str]:
    """The names of the tables in the connection's database (its current schema on PostgreSQL)."""
    if client.capabilities.dialect == "postgres":
        query = "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()"
    else:
        query = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    _count, rows = await client.execute_query(query)
    return {row["name"] for row in rows}


async def make_migrations(
    apps: Apps, config: Mapping[str, Any], app_labels: list[str], *, name: str | None = None
) -> list[Path]:
    """Write the next migration of each app in ``app_labels`` whose models changed; return the files.

    ``apps`` are the initialised models (the code now); the migrations on disk give the schema
    before. An app without changes gets no file, so an empty list means "no changes".
    """
    all_apps = config["apps"]
    for label in app_labels:
        if label not in all_apps:
            raise MigrationError(f"no enabled plugin registers models for the app {label!r}")
        if not all_apps[label].get("migrations"):
            raise MigrationError(
                f"app {label!r} declares no migrations package: set ModelsContribution(migrations='<package>')"
            )
    detector = MigrationAutodetector(apps, migrated_apps(config))
    written = []
    for writer in await detector.changes():
        if writer.app_label not in app_labels:
            continue
        if name:
            writer.name = format_migration_name(int(writer.name.split("_", 1)[0]), name)
        written.append(writer.write())
    return written


async def model_changes(apps: Apps, config: Mapping[str, Any]) -> list[str]:
    """The apps whose models differ from what their migrations build (empty: in sync)."""
    detector = MigrationAutodetector(apps, migrated_apps(config))
    return sorted(writer.app_label for writer in await detector.changes())


async def record_all_migrations(client: BaseDBAsyncClient, config: Mapping[str, Any]) -> None:
    """Record every shipped migration as applied, for a schema just created from the models."""
    apps = migrated_apps(config)
    if not apps:
        return
    executor = Executor(client, apps)
    await executor.recorder.ensure_schema(executor._schema_editor(atomic=False))
    await executor.migrate(direction="forward", fake=True)
