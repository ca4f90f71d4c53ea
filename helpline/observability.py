"""Request ids, structured logs and the health endpoints operators and load balancers use.

- Every HTTP request gets an id: the caller's ``X-Request-ID`` when it is a sane token (so ids
  follow a request through proxies), otherwise a new one. It is echoed in the response header and
  attached to every log record written while the request is handled.
- ``log_format = "json"`` writes one JSON object per line (time, level, logger, message,
  request_id, exception), for log collectors; ``"text"`` is for people.
- ``/healthz`` says the process answers; ``/readyz`` that it can serve: the database answers,
  holds the core's tables, and has every migration of the enabled apps applied (a server started
  with ``migrate_on_start`` off waits there for ``helpline migrate``).
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
import uuid
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from helpline.core.db import connection
from helpline.core.migrate import MigrationCheck
from helpline.core.models import Counter

REQUEST_ID_HEADER = "x-request-id"
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
current_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("helpline_request_id", default=None)
logger = logging.getLogger("helpline")


class RequestIdMiddleware:
    """ASGI middleware giving each HTTP request (and websocket) an id, in a context variable."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request with its id set; add the id to the response headers."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
        request_id = incoming if SANE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        token = current_request_id.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            current_request_id.reset(token)


class RequestIdFilter(logging.Filter):
    """Adds ``record.request_id`` (``-`` outside a request) to every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Always keeps the record; only annotates it."""
        record.request_id = current_request_id.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC), level, logger, message, request_id, exception."""

    def format(self, record: logging.LogRecord) -> str:
        """Serialise the record; exceptions as their formatted traceback text."""
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or current_request_id.get(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str, log_format: str) -> None:
    """Send Helpline's and uvicorn's logs to stderr in ``log_format`` with request ids attached."""
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    numeric = logging.getLevelName(level.upper()) if level != "trace" else logging.DEBUG
    for name in ("helpline", "uvicorn", "uvicorn.error", "uvicorn.access"):
        named = logging.getLogger(name)
        named.handlers = [handler]
        named.setLevel(numeric)
        named.propagate = False


async def healthz(_request: Request) -> Response:
    """Liveness: the process answers."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Readiness: the database answers, holds the core's tables and has every migration applied.

    503 with the reason otherwise; pending migrations are listed under ``pending``.
    """
    check: MigrationCheck | None = getattr(request.app.state, "migrations", None)
    try:
        await connection().execute_query("SELECT 1")
        pending = await check.pending(connection()) if check is not None else []
        if not pending:
            await Counter.exists()
    except Exception as exc:
        logger.warning("not ready: %s", exc)
        return JSONResponse({"status": "unavailable", "reason": "the database is not reachable or not set up"}, 503)
    if pending:
        logger.warning("not ready: migrations pending: %s", ", ".join(pending))
        reason = f"{len(pending)} migration(s) pending; run 'helpline migrate'"
        return JSONResponse({"status": "unavailable", "reason": reason, "pending": pending}, 503)
    return JSONResponse({"status": "ready"})
