"""Test helpers for Helpline and for plugin authors: test the way the core does.

- :func:`test_database` gives a fresh, empty database for one test: an SQLite file in a temporary
  folder by default, or a throwaway schema on PostgreSQL when ``HELPLINE_TEST_DATABASE_URL`` is
  set (``postgres://postgres@127.0.0.1:5432/test``).
- :func:`running_app` builds an app with exactly the plugins a test names, runs its lifespan, and
  yields a :class:`HelplineClient` that sends real HTTP requests through the ASGI app.
- :meth:`HelplineClient.make_user` creates a person and an API token for them.
- :func:`serving` serves a running app over real HTTP and websockets (uvicorn, a free port), and
  :class:`LiveConnection` is a graphql-transport-ws client for testing subscriptions.

Use them from pytest fixtures::

    @pytest.fixture
    async def client():
        async with running_app(plugins=["my_plugin"]) as client:
            yield client
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from typing import Any

import httpx
from starlette.applications import Starlette

from helpline.app import create_app
from helpline.config import Settings
from helpline.core.clock import Clock, FrozenClock
from helpline.core.db import normalise_database_url
from helpline.core.enums import Role
from helpline.core.models import User
from helpline.core.people import NewUser, create_user, issue_token
from helpline.core.runtime import Runtime

TEST_DATABASE_ENV = "HELPLINE_TEST_DATABASE_URL"


@contextlib.asynccontextmanager
async def test_database() -> AsyncIterator[str]:
    """Yield the URL of a fresh empty database and remove it afterwards."""
    base = os.environ.get(TEST_DATABASE_ENV, "").strip()
    if not base:
        with tempfile.TemporaryDirectory(prefix="helpline-test-") as folder:
            yield f"sqlite://{folder}/helpline.db"
        return
    async with throwaway_postgres_schema(base, prefix="test") as url:
        yield url


@contextlib.asynccontextmanager
async def throwaway_postgres_schema(database_url: str, prefix: str = "tmp") -> AsyncIterator[str]:
    """Create a uniquely named schema in the PostgreSQL database of ``database_url``; yield a URL
    that uses it (Tortoise's ``?schema=``); drop it with everything in it afterwards."""
    import asyncpg  # only needed on PostgreSQL

    url = normalise_database_url(database_url)
    schema = f"{prefix}_{uuid.uuid4().hex[:16]}"
    dsn = "postgresql://" + url.split("://", 1)[1].split("?", 1)[0]
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(f'CREATE SCHEMA "{schema}"')
        separator = "&" if "?" in url else "?"
        yield f"{url}{separator}schema={schema}"
    finally:
        await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await connection.close()


test_database.__test__ = False  # type: ignore[attr-defined]  # a helper, not a pytest test


@dataclasses.dataclass
class TestUser:
    """A person created for a test, with a working API token."""

    __test__ = False  # not a pytest test class

    user: User
    token: str

    @property
    def id(self) -> int:
        """The user's row id."""
        return self.user.id


class GraphQLErrorResponse(AssertionError):
    """A GraphQL response carried errors where a test expected data."""


class HelplineClient:
    """Real HTTP requests through the app's ASGI interface, plus set-up shortcuts."""

    def __init__(self, app: Starlette, http: httpx.AsyncClient) -> None:
        self.app = app
        self.http = http

    @property
    def runtime(self) -> Runtime:
        """The app's runtime (settings, plugins, clock)."""
        return self.app.state.runtime  # type: ignore[no-any-return]

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        """POST a GraphQL operation; return the whole JSON response (``data`` and ``errors``)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        return response.json()  # type: ignore[no-any-return]

    async def data(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        """POST and return ``data``, failing with the errors if there were any."""
        body = await self.post(query, variables, token)
        if body.get("errors"):
            raise GraphQLErrorResponse(f"GraphQL errors: {body['errors']}")
        return body["data"]  # type: ignore[no-any-return]

    async def make_user(
        self,
        role: Role | str = Role.CUSTOMER,
        *,
        name: str | None = None,
        email: str | None = None,
        **fields: Any,
    ) -> TestUser:
        """Create a user of ``role`` (straight through the core service) with an API token."""
        role = Role(role)
        label = uuid.uuid4().hex[:8]
        data = NewUser(
            email=email or f"{role.value}-{label}@example.com",
            name=name or f"{role.value.title()} {label}",
            role=role,
            **fields,
        )
        user = await create_user(self.runtime, None, data, bootstrap=True)
        _token, secret = await issue_token(self.runtime, user, "test")
        return TestUser(user=user, token=secret)


@contextlib.asynccontextmanager
async def running_app(
    *,
    plugins: Sequence[str] | None = (),
    extra_plugins: Iterable[object] = (),
    clock: Clock | None = None,
    settings: Settings | None = None,
    database_url: str | None = None,
) -> AsyncIterator[HelplineClient]:
    """Create an app with exactly ``plugins`` (default: none besides core) on a fresh test database.

    ``clock`` defaults to a :class:`FrozenClock`, so tests move time explicitly. A fresh database
    gets its tables straight from the models with every migration recorded as applied, which is
    quicker than running the migrations; ``tests/core/test_migrations.py`` keeps both ways giving
    the same tables, columns and indexes on SQLite and PostgreSQL. Periodic jobs do
    not run in the background (``run_jobs_in_process`` off): tests run them with
    :func:`helpline.core.scheduler.run_due_jobs`.
    """
    async with contextlib.AsyncExitStack() as stack:
        url = database_url or await stack.enter_async_context(test_database())
        app = create_app(
            settings or Settings(run_jobs_in_process=False),
            plugins=plugins,
            database_url=url,
            extra_plugins=extra_plugins,
            clock=clock or FrozenClock(),
            schema_from_models=database_url is None,
        )
        await stack.enter_async_context(app.router.lifespan_context(app))
        transport = httpx.ASGITransport(app=app)
        http = await stack.enter_async_context(httpx.AsyncClient(transport=transport, base_url="http://helpline.test"))
        yield HelplineClient(app, http)


def graphql_post_scope(headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    """The ASGI scope of a ``POST /graphql`` with ``headers``, for calling the app directly (no
    HTTP client, no sockets: to hand it a ``receive`` of one's own, such as a client that leaves)."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }


class _StatementCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        # Tortoise logs each statement it sends at DEBUG; skip its pool housekeeping lines.
        if not message.startswith(("Created connection", "Closed connection")):
            self.statements.append(message)


@contextlib.contextmanager
def count_statements() -> Iterator[list[str]]:
    """Collect the SQL statements Tortoise sends while the block runs (for N+1 checks).

    Yields a list that fills as statements run: ``len(statements)`` is the count.
    """
    logger = logging.getLogger("tortoise.db_client")
    handler = _StatementCounter()
    previous_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler.statements
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous_level)


async def describe_schema(client: Any) -> dict[str, Any]:
    """The shape of the database behind a Tortoise ``client``, for comparing two databases.

    Per table (the migration records excluded): its columns (name, type, nullability, default),
    and its indexes and constraints with their definitions. SQLite and PostgreSQL each describe
    themselves in their own terms; compare databases of one kind.
    """
    shape: dict[str, Any] = {}
    if client.capabilities.dialect == "postgres":
        _n, columns = await client.execute_query(
            "SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns "
            "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
        )
        for row in columns:
            # Sequence names embed the schema-less table name; the default is the same either way.
            table = shape.setdefault(row["table_name"], {"columns": [], "indexes": [], "constraints": []})
            table["columns"].append((row["column_name"], row["data_type"], row["is_nullable"], row["column_default"]))
        _n, indexes = await client.execute_query(
            "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY indexname"
        )
        for row in indexes:
            definition = row["indexdef"].replace(f"{await _current_schema(client)}.", "")
            shape[row["tablename"]]["indexes"].append((row["indexname"], definition))
        _n, constraints = await client.execute_query(
            "SELECT cls.relname AS table_name, con.conname, pg_get_constraintdef(con.oid) AS definition "
            "FROM pg_constraint con JOIN pg_class cls ON cls.oid = con.conrelid "
            "JOIN pg_namespace ns ON ns.oid = cls.relnamespace WHERE ns.nspname = current_schema() "
            "ORDER BY con.conname"
        )
        for row in constraints:
            shape[row["table_name"]]["constraints"].append((row["conname"], row["definition"]))
    else:
        _n, tables = await client.execute_query(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
        for table_row in tables:
            name = table_row["name"]
            _n, columns = await client.execute_query(f'PRAGMA table_info("{name}")')
            _n, foreign = await client.execute_query(f'PRAGMA foreign_key_list("{name}")')
            _n, index_list = await client.execute_query(f'PRAGMA index_list("{name}")')
            indexes = []
            for index in sorted(index_list, key=lambda row: row["name"]):
                _n, index_columns = await client.execute_query(f'PRAGMA index_info("{index["name"]}")')
                indexes.append((index["name"], index["unique"], tuple(col["name"] for col in index_columns)))
            shape[name] = {
                "columns": [(c["name"], c["type"], c["notnull"], c["dflt_value"], c["pk"]) for c in columns],
                "indexes": indexes,
                "constraints": sorted((f["from"], f["table"], f["to"], f["on_delete"]) for f in foreign),
            }
    shape.pop("tortoise_migrations", None)
    return shape


async def _current_schema(client: Any) -> str:
    _n, rows = await client.execute_query("SELECT current_schema() AS name")
    return str(rows[0]["name"])


@contextlib.asynccontextmanager
async def serving(app: Starlette) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port, in this event loop; yield its base URL.

    For websockets (subscriptions), which ``httpx.ASGITransport`` cannot carry. The app's lifespan
    is not run again: use it on the app of :func:`running_app` (``client.app``).
    """
    import uvicorn

    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_config=None, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(), name="helpline-test-server")
    try:
        while not server.started:
            if task.done():
                task.result()  # raises the start-up error
                raise RuntimeError("the test server stopped before it started")
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


class LiveConnection:
    """A graphql-transport-ws connection to ``/graphql``, for tests of subscriptions.

    Open it with :meth:`open`; :meth:`subscribe` starts an operation and :meth:`next_message`
    reads what the server sends for it, with a generous deadline (a deadline, never a measurement).
    """

    PROTOCOL = "graphql-transport-ws"

    def __init__(self, websocket: Any) -> None:
        self.websocket = websocket
        self._counter = 0
        self._inbox: dict[str, list[dict[str, Any]]] = {}

    @classmethod
    @contextlib.asynccontextmanager
    async def open(
        cls,
        base_url: str,
        token: str | None = None,
        *,
        header_token: str | None = None,
        payload: dict[str, Any] | None = None,
    ) -> AsyncIterator[LiveConnection]:
        """Connect, send ``connection_init`` (with ``{"Authorization": "Bearer <token>"}`` when
        ``token`` is given, or ``payload`` as is) and wait for ``connection_ack``.
        ``header_token`` sends the token in the upgrade request's Authorization header instead."""
        import websockets

        url = base_url.replace("http://", "ws://", 1) + "/graphql"
        headers = {"Authorization": f"Bearer {header_token}"} if header_token else None
        async with websockets.connect(url, subprotocols=[cls.PROTOCOL], additional_headers=headers) as websocket:  # type: ignore[list-item]
            connection = cls(websocket)
            init_payload = payload if payload is not None else ({"Authorization": f"Bearer {token}"} if token else {})
            await websocket.send(json.dumps({"type": "connection_init", "payload": init_payload}))
            ack = await connection._receive()
            if ack.get("type") != "connection_ack":
                raise AssertionError(f"expected connection_ack, got {ack}")
            yield connection

    async def _receive(self, within: float = 30.0) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.websocket.recv(), within)
        return json.loads(raw)  # type: ignore[no-any-return]

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> str:
        """Start an operation; return its id."""
        self._counter += 1
        operation_id = str(self._counter)
        message = {"id": operation_id, "type": "subscribe", "payload": {"query": query, "variables": variables or {}}}
        await self.websocket.send(json.dumps(message))
        return operation_id

    async def next_message(self, operation_id: str, within: float = 30.0) -> dict[str, Any]:
        """The next message (``next``, ``error`` or ``complete``) for ``operation_id``."""
        deadline = asyncio.get_running_loop().time() + within
        while not self._inbox.get(operation_id):
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"nothing arrived for operation {operation_id} within {within:.0f}s")
            try:
                message = await self._receive(remaining)
            except TimeoutError:
                # One failure for "nothing came", whether the deadline passed here or in the read.
                raise AssertionError(f"nothing arrived for operation {operation_id} within {within:.0f}s") from None
            if message.get("type") == "ping":
                continue
            self._inbox.setdefault(str(message.get("id")), []).append(message)
        return self._inbox[operation_id].pop(0)

    async def next_data(self, operation_id: str, within: float = 30.0) -> dict[str, Any]:
        """The ``data`` of the next ``next`` message for ``operation_id``; fails on errors."""
        message = await self.next_message(operation_id, within)
        payload = message.get("payload")
        if message.get("type") != "next" or not isinstance(payload, dict) or payload.get("errors"):
            raise GraphQLErrorResponse(f"expected data for operation {operation_id}, got {message}")
        return payload["data"]  # type: ignore[no-any-return]

    async def complete(self, operation_id: str) -> None:
        """Stop an operation."""
        await self.websocket.send(json.dumps({"id": operation_id, "type": "complete"}))
