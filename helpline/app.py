"""create_app(): the Starlette application serving ``/graphql`` (HTTP, GraphiQL, websockets).

The app's lifespan opens the database (applying pending migrations unless ``migrate_on_start`` is
off) and closes it. Everything the app
serves comes from the enabled plugins: their models, schema contributions and routes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

import strawberry
from cross_web import HTTPException
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET, UnsetType
from tortoise.exceptions import OperationalError

from helpline.config import Settings, load_settings
from helpline.core import live
from helpline.core.auth import authenticate
from helpline.core.clock import Clock, SystemClock, install_process_clock
from helpline.core.contributions import RouteContribution
from helpline.core.db import open_database, tortoise_config
from helpline.core.errors import PluginLoadError, Unauthenticated
from helpline.core.migrate import MigrationCheck
from helpline.core.outbox import collect_handlers, dispatching
from helpline.core.plugins import HelplinePlugins, load_plugins
from helpline.core.runtime import Runtime
from helpline.core.scheduler import RegisteredJob, collect_jobs, work
from helpline.core.tickets import ensure_counters
from helpline.observability import RequestIdMiddleware, healthz, readyz
from helpline.schema.compose import compose_schema
from helpline.schema.context import HelplineContext
from helpline.schema.websocket import HelplineTransportWSHandler

logger = logging.getLogger("helpline")
RESERVED_PATHS = ("/graphql", "/healthz", "/readyz")


class HelplineGraphQL(GraphQL):  # type: ignore[type-arg]
    """strawberry's ASGI view with Helpline's context, and JSON bodies for transport errors.

    Websockets speak graphql-transport-ws only, and carry subscriptions only
    (:mod:`helpline.schema.websocket`). The token comes with ``connection_init``: from its payload
    ``{"Authorization": "Bearer ..."}``, else from the upgrade request's ``Authorization`` header,
    and is checked again for every subscription and every event it delivers. The connection is
    acknowledged either way; a missing or bad token fails each subscription with UNAUTHENTICATED,
    as it fails each HTTP query.

    Malformed requests (invalid JSON, a wrong content type, no query) get a GraphQL-shaped JSON
    error with ``extensions.code`` BAD_REQUEST and their HTTP status, never a plain-text page.
    """

    graphql_transport_ws_handler_class = HelplineTransportWSHandler

    def __init__(self, schema: strawberry.Schema, runtime: Runtime, **kwargs: Any) -> None:
        super().__init__(schema, **kwargs)
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request; transport errors become JSON, bodies over the size limit a 413."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        limit = self.runtime.settings.max_request_bytes
        declared = Headers(scope=scope).get("content-length", "0")
        if not declared.isdigit() or int(declared) > limit:
            too_large = transport_error(
                f"the request body is over the limit of {limit} bytes", 413, "PAYLOAD_TOO_LARGE"
            )
            await too_large(scope, receive, send)
            return
        request = Request(scope=scope, receive=_limited(receive, limit))
        response: Response
        try:
            response = await self.run(request)
        except ClientDisconnect:
            # The client went away while its body was being read: no one to answer, nothing done.
            logger.info("client disconnected before its request arrived in full")
            return
        except HTTPException as exc:
            response = transport_error(exc.reason, exc.status_code)
        except _BodyTooLarge:
            response = transport_error(f"the request body is over the limit of {limit} bytes", 413, "PAYLOAD_TOO_LARGE")
        except (UnicodeDecodeError, RecursionError, AttributeError, TypeError, ValueError):
            # Bodies strawberry cannot take apart: invalid UTF-8, JSON nested thousands deep, JSON
            # that is not an object. The request is at fault, not the server.
            response = transport_error("the request body is not a GraphQL request (a JSON object)", 400)
        except Exception:
            # Before execution (the token lookup, say, with the database unreachable or locked):
            # GraphQL's error masking has not begun, so the same answer is given here, details logged.
            logger.exception("request failed before GraphQL execution")
            response = transport_error("Unexpected error.", 500, "INTERNAL_SERVER_ERROR")
        await response(scope, receive, send)

    async def get_context(self, request: Request | WebSocket, response: Any) -> HelplineContext:  # type: ignore[override]
        """Authenticate once per request; a bad token is reported when a field needs the viewer."""
        context = HelplineContext(runtime=self.runtime, request=request, response=response)
        if isinstance(request, WebSocket):
            return context  # authenticated in on_ws_connect, once connection_init arrives
        try:
            context.current_viewer = await authenticate(
                request.headers.get("authorization"),
                agents_see_all=self.runtime.settings.agents_see_all_tickets,
            )
        except Unauthenticated as exc:
            context.auth_error = exc
        return context

    async def on_ws_connect(self, context: HelplineContext) -> UnsetType | dict[str, object] | None:  # type: ignore[override]
        """Authenticate a websocket from its ``connection_init`` payload or its upgrade headers."""
        params = context.connection_params or {}
        authorization = params.get("Authorization", params.get("authorization"))
        if authorization is None and context.request is not None:
            authorization = context.request.headers.get("authorization")
        if authorization is not None and not isinstance(authorization, str):
            context.auth_error = Unauthenticated("Authorization must be a string: 'Bearer <token>'")
            return UNSET
        context.authorization = authorization
        try:
            context.current_viewer = await authenticate(
                authorization, agents_see_all=self.runtime.settings.agents_see_all_tickets
            )
        except Unauthenticated as exc:
            context.auth_error = exc
        return UNSET

    def encode_json(self, data: object) -> str:
        """Compact JSON (no spaces), as most GraphQL servers send."""
        return json.dumps(data, separators=(",", ":"), default=str)


class _BodyTooLarge(Exception):
    pass


def _limited(receive: Receive, limit: int) -> Receive:
    """``receive`` that stops a streamed (chunked) body once it passes ``limit`` bytes."""
    received = 0

    async def limited_receive() -> Message:
        nonlocal received
        message = await receive()
        received += len(message.get("body", b""))
        if received > limit:
            raise _BodyTooLarge
        return message

    return limited_receive


def transport_error(message: str, status_code: int, code: str = "BAD_REQUEST") -> JSONResponse:
    """A GraphQL-shaped JSON error for a request that never reached GraphQL execution."""
    return JSONResponse(
        {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}, status_code=status_code
    )


def _plugin_routes(plugins: HelplinePlugins) -> list[BaseRoute]:
    """Every plugin's routes; a path taken by the core or by another plugin stops start-up."""
    routes: list[BaseRoute] = []
    owners = dict.fromkeys(RESERVED_PATHS, "core")
    for contributed in plugins.collect("helpline_register_routes"):
        contribution = contributed.value
        if not isinstance(contribution, RouteContribution):
            raise PluginLoadError(
                f"plugin {contributed.plugin!r}: helpline_register_routes must return RouteContribution"
            )
        for route in contribution.routes:
            path = getattr(route, "path", "")
            if path in owners:
                raise PluginLoadError(
                    f"route clash: the path {path!r} is served by both {owners[path]!r} and {contributed.plugin!r}"
                )
            owners[path] = contributed.plugin
            routes.append(route)
    return routes


@contextlib.asynccontextmanager
async def _jobs_in_process(runtime: Runtime, jobs: list[RegisteredJob]) -> AsyncIterator[None]:
    """Run periodic jobs in a background task while the app serves; stop it on shutdown."""
    if not jobs:
        yield
        return
    stop = asyncio.Event()
    task = asyncio.create_task(work(runtime, jobs, stop), name="helpline-jobs")
    try:
        yield
    finally:
        stop.set()
        await task


def create_app(
    settings: Settings | None = None,
    *,
    plugins: Sequence[str] | None = None,
    database_url: str | None = None,
    extra_plugins: Iterable[object] = (),
    clock: Clock | None = None,
    create_schema: bool = True,
    schema_from_models: bool = False,
) -> Starlette:
    """Build the Helpline ASGI app.

    ``settings`` default to :func:`helpline.config.load_settings`; ``plugins`` and
    ``database_url`` override them (tests build apps with exactly the plugins they need).
    ``extra_plugins`` are plugin objects registered in code. Plugins load, and the schema is
    composed, here: a broken plugin or a schema clash raises before the app exists.
    The app's state carries ``runtime`` (settings, plugins, clock), ``schema`` and
    ``migrations`` (the :class:`~helpline.core.migrate.MigrationCheck` behind ``/readyz``).
    ``create_schema`` off leaves the database as it is; ``schema_from_models`` creates a fresh
    test database's tables from the models instead of running the migrations (quicker).
    The app's state carries ``runtime`` (settings, plugins, clock) and ``schema``. Unless
    ``run_jobs_in_process`` is off, the app also runs periodic jobs and the outbox dispatcher.
    """
    settings = settings or load_settings()
    if plugins is not None:
        settings = settings.replace(plugins=tuple(plugins))
    if database_url is not None:
        settings = settings.replace(database_url=database_url)
    loaded = load_plugins(settings.plugins, extra=extra_plugins)
    runtime = Runtime(settings=settings, plugins=loaded, clock=clock or SystemClock())
    schema = compose_schema(loaded, settings)
    graphql = HelplineGraphQL(
        schema,
        runtime,
        graphql_ide="graphiql" if settings.graphiql else None,
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
    )

    jobs = collect_jobs(runtime)
    handlers = collect_handlers(runtime)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        # Outbox effects written by event hooks (which get no runtime) take their time from this clock.
        previous_clock = install_process_clock(runtime.clock)
        try:
            async with open_database(
                loaded,
                settings.database_url,
                create_schema=create_schema and settings.migrate_on_start,
                from_models=schema_from_models,
            ):
                try:
                    await ensure_counters()
                except OperationalError as exc:
                    # Without migrations the tables may be missing: serve anyway, and let /readyz say so.
                    logger.warning(
                        "the database has no tables yet (%s): run 'helpline migrate', then 'helpline init' "
                        "for the first admin; /readyz answers 503 until then",
                        exc,
                    )
                in_process = settings.run_jobs_in_process
                async with live.running_hub(settings.database_url) as hub:
                    runtime.live = hub
                    try:
                        async with (
                            _jobs_in_process(runtime, jobs if in_process else []),
                            # Exits first on shutdown: deliveries in flight finish (bounded), no new claims.
                            dispatching(runtime, handlers if in_process else {}),
                        ):
                            yield
                    finally:
                        runtime.live = None
        finally:
            install_process_clock(previous_clock)

    routes: list[BaseRoute] = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        *_plugin_routes(loaded),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, middleware=[Middleware(RequestIdMiddleware)])
    app.state.runtime = runtime
    app.state.schema = schema
    app.state.migrations = MigrationCheck.for_config(tortoise_config(loaded, settings.database_url))
    return app
