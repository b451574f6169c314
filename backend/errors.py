"""One error hierarchy for the whole product, rendered as RFC 9457 problem details.

Services raise these; only the middleware in ``backend.http`` turns them into responses.
"""

from __future__ import annotations

from typing import Any, ClassVar

PROBLEM_BASE = "https://mobile-court.example/problems/"


class ConfigurationError(RuntimeError):
    """The server cannot start with the settings it was given."""


class AppError(Exception):
    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    title: ClassVar[str] = "Internal error / 服务器内部错误"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code  # type: ignore[misc]
        if status is not None:
            self.status = status  # type: ignore[misc]
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra or {}

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.code.replace("_", "-"),
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


class BadRequest(AppError):
    status = 400
    code = "bad_request"
    title = "Bad request / 请求无效"


class ValidationFailed(AppError):
    status = 422
    code = "validation_failed"
    title = "Validation failed / 参数校验失败"


class Unauthenticated(AppError):
    status = 401
    code = "unauthenticated"
    title = "Authentication required / 需要登录"

    def __init__(self, detail: str = "a valid access token is required", **kw: Any) -> None:
        kw.setdefault("headers", {"WWW-Authenticate": 'Bearer realm="mobile-court"'})
        super().__init__(detail, **kw)


class Forbidden(AppError):
    status = 403
    code = "forbidden"
    title = "Forbidden / 无权操作"


class NotFound(AppError):
    status = 404
    code = "not_found"
    title = "Not found / 未找到"


class MethodNotAllowed(AppError):
    status = 405
    code = "method_not_allowed"
    title = "Method not allowed / 不支持的请求方法"


class Conflict(AppError):
    status = 409
    code = "conflict"
    title = "Conflict / 状态冲突"


class PayloadTooLarge(AppError):
    status = 413
    code = "payload_too_large"
    title = "Payload too large / 内容过大"


class UnsupportedMediaType(AppError):
    status = 415
    code = "unsupported_media_type"
    title = "Unsupported media type / 不支持的内容类型"


class UnprocessableEntity(AppError):
    """Syntactically fine, semantically refused (e.g. idempotency key reused with another body)."""

    status = 422
    code = "unprocessable"
    title = "Unprocessable request / 无法处理的请求"


class TooManyRequests(AppError):
    status = 429
    code = "rate_limited"
    title = "Too many requests / 请求过于频繁"

    def __init__(self, detail: str, *, retry_after_s: int, **kw: Any) -> None:
        kw.setdefault("headers", {"Retry-After": str(max(1, retry_after_s))})
        super().__init__(detail, **kw)


class ServiceUnavailable(AppError):
    status = 503
    code = "service_unavailable"
    title = "Service unavailable / 服务暂不可用"


class UpstreamError(AppError):
    status = 502
    code = "upstream_error"
    title = "Upstream service failed / 外部服务异常"
