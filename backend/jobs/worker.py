"""Placeholder worker; the durable worker replaces it."""

from __future__ import annotations

from typing import Any


class Worker:
    def __init__(self, registry: Any, settings: Any, metrics: Any, database: Any) -> None:
        self.registry = registry

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None
