"""The database: Tortoise configuration assembled from plugin contributions, and transactions.

Every plugin's models form their own Tortoise app on the one ``default`` connection, so a single
transaction covers the core's tables and every plugin's. Each app's schema is built and upgraded
by its migrations (see :mod:`helpline.core.migrate`).
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import urllib.parse
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

from tortoise import Tortoise
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.context import TortoiseContext, get_current_context
from tortoise.exceptions import ConfigurationError
from tortoise.transactions import in_transaction

from helpline.core.contributions import ModelsContribution
from helpline.core.errors import PluginLoadError
from helpline.core.migrate import apply_migrations, record_all_migrations, unmigrated_apps
from helpline.core.pg_pool import PooledConnection
from helpline.core.plugins import HelplinePlugins
from helpline.core.quick_reads import close_readers

CONNECTION = "default"
logger = logging.getLogger("helpline")
# Callbacks to run once the current (outermost) transaction commits; None outside transaction().
_after_commit: contextvars.ContextVar[list[Callable[[], None]] | None] = contextvars.ContextVar(
    "helpline_after_commit", default=None
)


class DeferredWork(Protocol):
    """Writes a plugin (or the core) gathers during a transaction and makes just before it commits.

    See :func:`deferred`. ``flush`` writes everything gathered so far and leaves the object ready
    to gather more; it runs inside the transaction, so an error there rolls the whole change back.
    """

    async def flush(self) -> None:
        """Write what was gathered."""


def _flush_order(unit: DeferredWork) -> int:
    # Units may set ``flush_order`` (default 0): lower flushes first. The core's ticket writes
    # use -100, so plugins that read the event log when they flush find it written.
    return int(getattr(unit, "flush_order", 0))


WorkT = TypeVar("WorkT", bound=DeferredWork)
# Set by all_or_nothing(): the client of the transaction that nested blocks join.
_joined: contextvars.ContextVar[BaseDBAsyncClient | None] = contextvars.ContextVar("helpline_joined", default=None)
# The outermost transaction's deferred work by key; None outside transaction().
_work: contextvars.ContextVar[dict[str, DeferredWork] | None] = contextvars.ContextVar("helpline_work", default=None)


async def _flush_work(work: dict[str, DeferredWork]) -> None:
    # A flush may defer more work (one plugin's writes announced to another): repeat until quiet,
    # by flush_order, then in the order the work was first deferred.
    done: set[int] = set()
    while True:
        pending = sorted((unit for unit in work.values() if id(unit) not in done), key=_flush_order)
        if not pending:
            return
        for unit in pending:
            done.add(id(unit))
            await unit.flush()


def normalise_database_url(url: str) -> str:
    """Accept the spellings people use (``postgresql://``, ``postgres://``) for Tortoise's ``asyncpg://``.

    A PostgreSQL URL without a port gets 5432 (Tortoise's own default for ``asyncpg://`` is not
    PostgreSQL's port).
    """
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            url = "asyncpg://" + url[len(prefix) :]
            break
    if url.startswith("asyncpg://"):
        parsed = urllib.parse.urlsplit(url)
        if parsed.port is None and parsed.hostname:
            netloc = parsed.netloc + ":5432"
            url = urllib.parse.urlunsplit(parsed._replace(netloc=netloc))
    return url


def connection_config(database_url: str) -> str | dict[str, Any]:
    """Tortoise's connection entry for ``database_url``: the URL itself for SQLite; for PostgreSQL
    the same expanded into engine and credentials, with connections that skip asyncpg's reset
    query on their way back to the pool (:mod:`helpline.core.pg_pool`)."""
    url = normalise_database_url(database_url)
    if not url.startswith("asyncpg://"):
        return url
    config = expand_db_url(url)
    config["credentials"]["connection_class"] = PooledConnection
    return config


def tortoise_config(plugins: HelplinePlugins, database_url: str) -> dict[str, Any]:
    """The Tortoise config: one app per ``helpline_register_models`` contribution."""
    apps: dict[str, dict[str, Any]] = {}
    owners: dict[str, str] = {}
    # collect() gives loading order, core first: Tortoise puts a model in the first app whose module
    # shows it, so a plugin's models module that imports core models must be read after the core's.
    for contributed in plugins.collect("helpline_register_models"):
        models = contributed.value
        if not isinstance(models, ModelsContribution):
            raise PluginLoadError(
                f"plugin {contributed.plugin!r}: helpline_register_models must return "
                f"ModelsContribution, not {type(models).__name__}"
            )
        if models.app in apps:
            raise PluginLoadError(
                f"plugins {owners[models.app]!r} and {contributed.plugin!r} both register "
                f"models for the Tortoise app {models.app!r}"
            )
        owners[models.app] = contributed.plugin
        apps[models.app] = {"models": list(models.modules), "default_connection": CONNECTION}
        if models.migrations:
            apps[models.app]["migrations"] = models.migrations
    return {
        "connections": {CONNECTION: connection_config(database_url)},
        "apps": apps,
        "use_tz": True,
        "timezone": "UTC",
    }


@contextlib.asynccontextmanager
async def open_database(
    plugins: HelplinePlugins,
    database_url: str,
    *,
    create_schema: bool = True,
    from_models: bool = False,
    global_fallback: bool = True,
) -> AsyncIterator[TortoiseContext]:
    """Open the database for the enabled plugins; bring its schema up to date; close on exit.

    ``create_schema`` applies pending migrations (creating the database on first use, upgrading
    an older one) and creates the missing tables of apps that ship no migrations.
    ``from_models`` instead creates the tables straight from the models and records every
    migration as applied: quicker, for fresh test databases only (a test keeps both ways equal).
    ``global_fallback`` lets other tasks (a server's request tasks) use this context; only one
    such context may be open per process at a time.
    """
    _check_sqlite_folder(database_url)
    context = TortoiseContext()
    config = tortoise_config(plugins, database_url)
    with context:
        try:
            # Inside the try: a failed init has opened connections (aiosqlite's thread) to close.
            await context.init(config=config, _create_db=False, _enable_global_fallback=global_fallback)
            if from_models:
                await context.generate_schemas(safe=False)
                await record_all_migrations(connection(), config)
            elif create_schema:
                await apply_migrations(CONNECTION, config)
                if unmigrated := unmigrated_apps(config):
                    logger.warning(
                        "apps without migrations (tables created from models, never upgraded): %s",
                        ", ".join(unmigrated),
                    )
                    await context.generate_schemas(safe=True)
            yield context
        finally:
            close_readers()
            await context.close_connections()


def _check_sqlite_folder(database_url: str) -> None:
    """Refuse an SQLite file in a folder that does not exist, before aiosqlite starts its thread
    (a failed connect leaves that thread reporting into a closed event loop)."""
    if not database_url.startswith("sqlite://"):
        return
    path = database_url[len("sqlite://") :].split("?", 1)[0]
    if path and path != ":memory:" and not Path(path).expanduser().parent.is_dir():
        raise ConfigurationError(f"the folder of the SQLite file {path!r} does not exist")


@contextlib.asynccontextmanager
async def transaction() -> AsyncIterator[BaseDBAsyncClient]:
    """One database transaction on the default connection (nested calls use savepoints).

    Callbacks registered with :func:`after_commit` inside it run once the outermost transaction
    has committed; those registered inside a nested block that rolls back are dropped with it.

    Work gathered with :func:`deferred` is flushed before the outermost transaction commits and
    before every nested block (savepoint) opens, so the database holds all of it whenever a
    savepoint is taken: rolling back to one can only undo writes made after it, and the gathered
    state (which may have seen those writes) is dropped with the rollback, to be re-read.
    """
    joined = _joined.get()
    if joined is not None:
        # Inside all_or_nothing(): no savepoint; an error aborts the enclosing transaction.
        yield joined
        return
    outer = _after_commit.get()
    outer_work = _work.get()
    if outer_work is not None:
        await _flush_work(outer_work)
    work: dict[str, DeferredWork] = outer_work if outer_work is not None else {}
    callbacks: list[Callable[[], None]] = []
    token = _after_commit.set(callbacks)
    work_token = _work.set(work)
    try:
        async with in_transaction(CONNECTION) as client:
            yield client
            if outer_work is None:
                await _flush_work(work)
    except BaseException:
        work.clear()
        raise
    finally:
        _work.reset(work_token)
        _after_commit.reset(token)
    # Only reached when the block committed (or, nested, released its savepoint).
    if outer is not None:
        outer.extend(callbacks)
        return
    for callback in callbacks:
        try:
            callback()
        except Exception:
            # The change is committed: a failing callback must not turn it into an error.
            logger.exception("an after-commit callback failed")


@contextlib.asynccontextmanager
async def all_or_nothing() -> AsyncIterator[BaseDBAsyncClient]:
    """A transaction in which nested :func:`transaction` blocks take no savepoints: they join it.

    For a batch of many changes (an import batch) that either lands whole or not at all: no
    savepoint statements, and deferred work is flushed once, before commit. An error raised
    inside must not be caught and carried on from, since what the failing block wrote is not
    undone until the whole transaction rolls back: let it out, then, if wanted, retry the batch
    with plain :func:`transaction` blocks to find and skip the failing change.
    """
    async with transaction() as client:
        token = _joined.set(client)
        try:
            yield client
        finally:
            _joined.reset(token)


def in_batch() -> bool:
    """True inside :func:`all_or_nothing`: services may then gather their writes until it flushes
    (see :mod:`helpline.core.ticket_writes`)."""
    return _joined.get() is not None


def deferred(key: str, factory: Callable[[], WorkT]) -> WorkT | None:
    """The current transaction's deferred work under ``key``, created by ``factory`` on first use.

    ``None`` outside :func:`transaction`: the caller then does its work at once. Keys are shared
    by the whole transaction (nested blocks included), so name them after the plugin
    (``"performance.catch_up"``). Use it for per-change writes that batch well (a transaction that
    applies many changes, like an import batch, then writes once per table); the work must be
    correct when flushed at any point before commit, since a nested block flushes it early.
    """
    work = _work.get()
    if work is None:
        return None
    unit = work.get(key)
    if unit is None:
        unit = work[key] = factory()
    return unit  # type: ignore[return-value]


def after_commit(callback: Callable[[], None]) -> None:
    """Run ``callback`` (synchronous, quick) after the current transaction commits; never if it rolls
    back. Outside :func:`transaction` there is nothing to wait for: it runs at once."""
    pending = _after_commit.get()
    if pending is None:
        callback()
    else:
        pending.append(callback)


def database_identity() -> object:
    """An object that stands for the open database (the Tortoise context) while it is open.

    Process-wide caches of database contents key on it (compared with ``is``, keeping a reference)
    so that two databases opened one after the other in one process (tests, tools) never share
    cached rows.
    """
    return get_current_context()


def connection() -> BaseDBAsyncClient:
    """The default connection, for raw SQL."""
    return Tortoise.get_connection(CONNECTION)


def placeholder(position: int) -> str:
    """The driver's parameter marker for raw SQL: ``$1``, ``$2``... on PostgreSQL, ``?`` on SQLite."""
    return f"${position}" if is_postgres() else "?"


def is_postgres() -> bool:
    """True when the default connection is PostgreSQL (row locks work; SQLite ignores them)."""
    return connection().capabilities.dialect == "postgres"
