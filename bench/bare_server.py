"""The baseline: a bare aiohttp server with one route returning a small JSON object.

No middleware, no database, no logging: the ceiling any aiohttp endpoint on this machine can reach.

    .venv/bin/python bench/bare_server.py --port 8901
"""

from __future__ import annotations

import argparse

from aiohttp import web


async def hello(request: web.Request) -> web.Response:
    return web.json_response({"hello": "world"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8901)
    args = parser.parse_args()
    app = web.Application()
    app.router.add_get("/hello", hello)
    web.run_app(app, host=args.host, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
