"""A webhook receiver for ``bench_outbox.py``: a bare ASGI app that counts POSTs and distinct keys.

``POST /hook`` (any body, header ``Idempotency-Key``) answers 204; ``GET /stats`` answers
``{"received": N, "distinct": M}``; ``POST /reset`` zeroes both. Run it with uvicorn in its own
process (``uvicorn --app-dir benchmarks outbox_receiver:app``), so it does not share a core's
event loop with the dispatcher it measures.
"""

from __future__ import annotations

import json
from typing import Any

received = 0
keys: set[bytes] = set()


async def _drain(receive: Any) -> None:
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The ASGI entry point."""
    global received
    if scope["type"] != "http":
        return
    await _drain(receive)
    body = b""
    status = 204
    if scope["method"] == "POST" and scope["path"] == "/hook":
        received += 1
        keys.add(dict(scope["headers"]).get(b"idempotency-key", b""))
    elif scope["method"] == "POST" and scope["path"] == "/reset":
        received = 0
        keys.clear()
    elif scope["path"] == "/stats":
        status, body = 200, json.dumps({"received": received, "distinct": len(keys)}).encode()
    else:
        status = 404
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
