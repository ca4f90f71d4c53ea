"""The plugin's HTTP route, served next to ``/graphql``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from helpline_example_plugin import PLUGIN_NAME, __version__


async def about(_request: Request) -> Response:
    """``GET /example-watchers``: which plugin and version is serving (no data, so no token needed)."""
    return JSONResponse({"plugin": PLUGIN_NAME, "version": __version__})
