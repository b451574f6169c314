"""The H5 pages: the mini-program simulator at /miniapp/ and the judge/clerk console at /console/.

Static files are package data under ``static/``; they are public (a page is nothing without the API,
which authenticates every call itself). Every page response carries a strict CSP: scripts only from
this origin (no inline code, no eval), so an injected string can never run. The browser talks to
the fake WeChat platform for what the WeChat client would do (``wx.login``, ``wx.requestPayment``),
so those origins are the only extra ``connect-src`` entries.

The security headers are built once per app, and the list of files is taken once when the app is
built: a request never stats the disk on the event loop (``FileResponse`` reads in a thread).
A page file added while the server runs is served after a restart.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web
from pydantic import BaseModel

from backend.appkeys import SETTINGS
from backend.errors import NotFound
from backend.http import endpoint
from backend.settings import Mode, Settings

STATIC_ROOT = Path(__file__).parent / "static"
TAGS = ("pages",)

# One path segment or one sub-folder deep, plain names only: nothing can climb out of the root.
_ASSET = re.compile(r"^(?:[a-z0-9_-]+/)?[a-z0-9_-]+\.(?:html|js|css|svg|png)$")
_MEDIA_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(settings: Settings) -> str:
    platform = sorted(
        {o for o in (_origin(settings.wechat_base_url), _origin(settings.wechat_pay_base_url)) if o}
    )
    connect = " ".join(["'self'", *platform])
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' blob: data:",
            "media-src 'self' blob: mediastream:",
            f"connect-src {connect}",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
            "object-src 'none'",
        ]
    )


def security_headers(settings: Settings) -> dict[str, str]:
    """Headers of every page response. ``X-Content-Type-Options`` is not here: every response
    of the app already carries it (``backend.http.on_response_prepare``)."""
    return {
        "Content-Security-Policy": content_security_policy(settings),
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": "camera=(self), microphone=(self), geolocation=()",
        # Revalidate every time: a stale api.js next to a new page would be a confusing failure.
        "Cache-Control": "no-cache",
    }


@dataclass(frozen=True)
class StaticAsset:
    path: Path
    headers: Mapping[str, str]


def asset_index(settings: Settings, root: Path = STATIC_ROOT) -> dict[str, StaticAsset]:
    """Every servable file as ``folder/name`` → path and complete response headers."""
    secure = security_headers(settings)
    index: dict[str, StaticAsset] = {}
    for folder in ("miniapp", "console"):
        base = root / folder
        for path in sorted(base.rglob("*")):
            name = path.relative_to(base).as_posix()
            if not path.is_file() or not _ASSET.match(name):
                continue
            media_type = _MEDIA_TYPES[path.suffix]
            if media_type.startswith("text/") or media_type.endswith("+xml"):
                media_type += "; charset=utf-8"
            index[f"{folder}/{name}"] = StaticAsset(path, {**secure, "Content-Type": media_type})
    return index


PAGE_ASSETS = web.AppKey("page_assets", dict[str, StaticAsset])


def install(app: web.Application) -> None:
    """The page routes, with the file list and headers computed once for this app."""
    app[PAGE_ASSETS] = asset_index(app[SETTINGS])
    app.add_routes(routes)


def _serve(request: web.Request, folder: str, name: str) -> web.StreamResponse:
    asset = request.config_dict[PAGE_ASSETS].get(f"{folder}/{name}")
    if asset is None:
        raise NotFound("no such page")
    # FileResponse reads off the event loop and answers conditional requests (ETag, 304), which
    # keeps "Cache-Control: no-cache" cheap.
    return web.FileResponse(asset.path, headers=asset.headers)


_HTML = {"text/html": {"schema": {"type": "string"}}}
_ASSET_CONTENT = {
    "text/javascript": {"schema": {"type": "string"}},
    "text/css": {"schema": {"type": "string"}},
    "text/html": {"schema": {"type": "string"}},
}

routes = web.RouteTableDef()


@routes.get("/miniapp/")
@endpoint(
    "The mini-program pages (H5 simulator of the WeChat mini-program)",
    public=True,
    tags=TAGS,
    response_content=_HTML,
)
async def miniapp_index(request: web.Request) -> web.StreamResponse:
    return _serve(request, "miniapp", "index.html")


class PageConfigOut(BaseModel):
    wechat_base_url: str
    wechat_pay_base_url: str
    wechat_appid: str
    simulated_wechat: bool


@routes.get("/miniapp/config.json")
@endpoint(
    "Where the simulated WeChat client reaches the (fake) WeChat platform",
    public=True,
    tags=TAGS,
    response=PageConfigOut,
)
async def miniapp_config(request: web.Request) -> PageConfigOut:
    settings = request.config_dict[SETTINGS]
    return PageConfigOut(
        wechat_base_url=settings.wechat_base_url.rstrip("/"),
        wechat_pay_base_url=settings.wechat_pay_base_url.rstrip("/"),
        wechat_appid=settings.wechat_appid,
        # In production the pages cannot play the WeChat client: there is no fake to ask.
        simulated_wechat=settings.mode is not Mode.PRODUCTION,
    )


@routes.get("/miniapp/{name:.+}")
@endpoint("A file of the mini-program pages", public=True, tags=TAGS, errors=(404,))
async def miniapp_asset(request: web.Request) -> web.StreamResponse:
    return _serve(request, "miniapp", request.match_info["name"])


@routes.get("/console/")
@endpoint("The judge and clerk console", public=True, tags=TAGS, response_content=_HTML)
async def console_index(request: web.Request) -> web.StreamResponse:
    return _serve(request, "console", "index.html")


@routes.get("/console/{name:.+}")
@endpoint("A file of the console", public=True, tags=TAGS, errors=(404,))
async def console_asset(request: web.Request) -> web.StreamResponse:
    return _serve(request, "console", request.match_info["name"])
