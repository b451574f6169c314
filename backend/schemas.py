"""Shared pydantic bases: strict input (unknown fields rejected) and pagination."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class Input(BaseModel):
    """Every request body and query model: unknown fields are an error, never silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PageQuery(Input):
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = Field(
        default=None,
        max_length=200,
        description="opaque cursor from the previous page's next_cursor",
    )


class Page(Output, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


class Reason(Input):
    reason: str = Field(min_length=2, max_length=500)
