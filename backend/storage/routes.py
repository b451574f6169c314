from __future__ import annotations

from aiohttp import web


def create_app() -> web.Application:
    return web.Application()
