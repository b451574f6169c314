"""CORS for the fakes' control API, so the H5 pages can play the WeChat client in a browser.

In the real product ``wx.login`` and ``wx.requestPayment`` run inside the WeChat app, which talks
to WeChat's servers itself. The browser pages stand in for that client by asking the fake platform
(another origin) for a login code or to "pay"; only ``/__control/`` answers cross-origin, the
server-to-server APIs stay same-origin only, as on the real platform.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

CONTROL_PREFIX = "/__control/"
_ALLOW_HEADERS = "Content-Type"
_ALLOW_METHODS = "GET, POST, OPTIONS"


def _add_headers(response: web.StreamResponse, origin: str) -> None:
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Vary"] = "Origin"


@web.middleware
async def control_cors_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    origin = request.headers.get("Origin")
    if origin is None or not request.path.startswith(CONTROL_PREFIX):
        return await handler(request)
    if request.method == "OPTIONS":
        preflight = web.Response(status=204)
        _add_headers(preflight, origin)
        preflight.headers["Access-Control-Allow-Methods"] = _ALLOW_METHODS
        preflight.headers["Access-Control-Allow-Headers"] = _ALLOW_HEADERS
        preflight.headers["Access-Control-Max-Age"] = "600"
        return preflight
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        # Control errors are raised as HTTP exceptions; the page must be able to read them.
        _add_headers(exc, origin)
        raise
    _add_headers(response, origin)
    return response
