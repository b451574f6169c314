"""Placeholder registry; the durable queue replaces it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

JobHandler = Callable[..., Awaitable[None]]


class JobRegistry:
    def __init__(self) -> None:
        self.handlers: dict[str, JobHandler] = {}

    def register(self, kind: str, handler: JobHandler) -> None:
        self.handlers[kind] = handler

    def get(self, kind: str) -> Any:
        return self.handlers.get(kind)
