"""/api/v1/hearings/: the hearings sub-app (video hearings now; asynchronous hearings later)."""

from __future__ import annotations

from aiohttp import web

from backend.policy import Policy
from hearings.video_routes import video_ctx as video_ctx


def register_policy(policy: Policy) -> None:
    from hearings.video_access import register_policy as register_video_policy

    register_video_policy(policy)


def create_app() -> web.Application:
    """Mounted at /api/v1/hearings/."""
    from hearings.video_routes import routes as video_routes

    app = web.Application()
    app.add_routes(video_routes)
    return app
