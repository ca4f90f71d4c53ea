"""The database: Tortoise configuration assembled from plugin contributions, and transactions.

Every plugin's models form their own Tortoise app on the one ``default`` connection, so a single
transaction covers the core's tables and every plugin's.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import urllib.parse
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from tortoise import Tortoise
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.context import TortoiseContext
from tortoise.exceptions import ConfigurationError
from tortoise.transactions import in_transaction

from helpline.core.contributions import ModelsContribution
from helpline.core.errors import PluginLoadError
from helpline.core.plugins import HelplinePlugins

CONNECTION = "default"
logger = logging.getLogger("helpline.db")
# The callbacks to run once the outermost transaction() of this task commits; None outside one.
_after_commit: contextvars.ContextVar[list[Callable[[], None]] | None] = contextvars.ContextVar(
    "helpline_after_commit", default=None
)


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
    return {
        "connections": {CONNECTION: normalise_database_url(database_url)},
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
    global_fallback: bool = True,
) -> AsyncIterator[TortoiseContext]:
    """Open the database for the enabled plugins; create missing tables; close on exit.

    ``global_fallback`` lets other tasks (a server's request tasks) use this context; only one
    such context may be open per process at a time.
    """
    _check_sqlite_folder(database_url)
    context = TortoiseContext()
    with context:
        try:
            # Inside the try: a failed init has opened connections (aiosqlite's thread) to close.
            await context.init(
                config=tortoise_config(plugins, database_url),
                _create_db=False,
                _enable_global_fallback=global_fallback,
            )
            if create_schema:
                await context.generate_schemas(safe=True)
            yield context
        finally:
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

    When the outermost one commits, the callbacks registered with :func:`after_commit` inside it run.
    """
    if _after_commit.get() is not None:  # nested: a savepoint of the outer transaction
        async with in_transaction(CONNECTION) as client:
            yield client
        return
    callbacks: list[Callable[[], None]] = []
    token = _after_commit.set(callbacks)
    try:
        async with in_transaction(CONNECTION) as client:
            yield client
    finally:
        _after_commit.reset(token)
    # Reached only when the body and the commit succeeded; an exception skipped this.
    for callback in callbacks:
        try:
            callback()
        except Exception:  # a notification must never turn a committed change into an error
            logger.exception("an after-commit callback failed")


def after_commit(callback: Callable[[], None]) -> None:
    """Call ``callback`` (synchronous, quick: e.g. wake a task) once the current :func:`transaction`
    commits; never if it rolls back. Outside a transaction (autocommit), call it now."""
    callbacks = _after_commit.get()
    if callbacks is None:
        callback()
    else:
        callbacks.append(callback)


def connection() -> BaseDBAsyncClient:
    """The default connection, for raw SQL."""
    return Tortoise.get_connection(CONNECTION)


def is_postgres() -> bool:
    """True when the default connection is PostgreSQL (row locks work; SQLite ignores them)."""
    return connection().capabilities.dialect == "postgres"
