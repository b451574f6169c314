"""The HTTP edge shared by every domain: endpoint declaration, validation, error rendering, auth.

A handler is declared with :func:`endpoint`, which validates its query and JSON body with pydantic,
serialises its pydantic result, and records everything the OpenAPI generator needs. Routes require
an authenticated principal unless declared ``public=True``.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar, cast

from aiohttp import web
from pydantic import BaseModel, ValidationError

from backend.appkeys import AUTH, METRICS, PRINCIPAL, REQUEST_ID, SETTINGS
from backend.auth.principal import Actor, Principal, Role
from backend.errors import (
    AppError,
    BadRequest,
    Forbidden,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    Unauthenticated,
    UnsupportedMediaType,
    ValidationFailed,
)
from backend.idempotency.middleware import STATE_CHANGING, run_idempotent
from backend.observability import request_id_var

log = logging.getLogger("mobile_court.http")

PROBLEM_CONTENT_TYPE = "application/problem+json"
Handler = Callable[..., Awaitable[Any]]
RouteHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class EndpointSpec:
    summary: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    public: bool = False
    roles: frozenset[Role] | None = None
    tags: tuple[str, ...] = ()
    description: str = ""
    # Non-JSON request bodies (multipart uploads) and responses (files, HTML) for the spec.
    request_content: Mapping[str, Any] | None = None
    response_content: Mapping[str, Any] | None = None
    errors: tuple[int, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


def endpoint(
    summary: str,
    *,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    status: int = 200,
    public: bool = False,
    roles: set[Role] | frozenset[Role] | None = None,
    tags: tuple[str, ...] = (),
    description: str = "",
    request_content: Mapping[str, Any] | None = None,
    response_content: Mapping[str, Any] | None = None,
    errors: tuple[int, ...] = (),
) -> Callable[[Handler], RouteHandler]:
    """Declare a route handler: ``async def h(request, *, body=..., query=...)``.

    ``roles`` restricts the route to principals holding one of them (coarse gate; per-resource
    checks go through the policy module).
    """
    spec = EndpointSpec(
        summary=summary,
        body=body,
        query=query,
        response=response,
        status=status,
        public=public,
        roles=frozenset(roles) if roles else None,
        tags=tags,
        description=description,
        request_content=request_content,
        response_content=response_content,
        errors=errors,
    )

    def decorate(handler: Handler) -> RouteHandler:
        async def wrapper(request: web.Request) -> web.StreamResponse:
            if spec.roles is not None:
                principal = require_principal(request)
                if not spec.roles & principal.roles:
                    raise Forbidden("your role may not use this endpoint")
            kwargs: dict[str, Any] = {}
            if spec.query is not None:
                kwargs["query"] = validate(spec.query, _query_dict(request), location="query")
            if spec.body is not None:
                kwargs["body"] = validate(spec.body, await read_json(request), location="body")
            result = await handler(request, **kwargs)
            if isinstance(result, web.StreamResponse):
                return result
            if isinstance(result, BaseModel):
                return json_response(result, status=spec.status)
            if result is None:
                return web.Response(status=204)
            raise TypeError(f"{handler.__qualname__} returned {type(result).__name__}")

        wrapper.__name__ = handler.__name__
        wrapper.__qualname__ = handler.__qualname__
        wrapper.__doc__ = handler.__doc__
        wrapper.__endpoint__ = spec  # type: ignore[attr-defined]
        return wrapper

    return decorate


def endpoint_spec(handler: Any) -> EndpointSpec | None:
    return getattr(handler, "__endpoint__", None)


def json_response(model: BaseModel, *, status: int = 200) -> web.Response:
    return web.Response(
        body=model.model_dump_json(by_alias=True).encode(),
        status=status,
        content_type="application/json",
    )


def json_datetime(value: datetime) -> str:
    """A timestamp as pydantic writes it in JSON (UTC as ``Z``), for hand-built bodies."""
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _query_dict(request: web.Request) -> dict[str, str]:
    query = request.rel_url.query
    repeated = [k for k in query if len(query.getall(k)) > 1]
    if repeated:
        raise BadRequest(f"query parameter {repeated[0]!r} given more than once")
    return dict(query)


_INT_LIMIT = 2**63  # every integer must fit a database BIGINT


def _check_shape(value: Any, max_depth: int) -> None:
    """Walk parsed JSON iteratively (no input can recurse us) checking depth and number range."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict | list):
            if level > max_depth:
                raise BadRequest(
                    f"JSON body is nested deeper than {max_depth} levels", code="too_deep"
                )
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, level + 1) for child in children)
        elif isinstance(node, int) and not -_INT_LIMIT <= node < _INT_LIMIT:
            raise ValidationFailed(
                "a number in the body is out of range", code="number_out_of_range"
            )


async def read_json(request: web.Request) -> Any:
    settings = request.config_dict[SETTINGS]
    if request.content_type != "application/json":
        raise UnsupportedMediaType("send the body as application/json")
    if request.content_length is not None and request.content_length > settings.max_json_body:
        raise PayloadTooLarge(f"JSON bodies are limited to {settings.max_json_body} bytes")
    raw = await request.read()
    try:
        data = json.loads(raw)
    except RecursionError as exc:
        raise BadRequest("JSON body is nested too deeply") from exc
    except ValueError as exc:
        raise BadRequest(f"malformed JSON: {exc}", code="malformed_json") from exc
    _check_shape(data, settings.max_json_depth)
    return data


M = TypeVar("M", bound=BaseModel)


def validate(model: type[M], data: Any, *, location: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [
            {
                "location": location,
                "field": ".".join(str(p) for p in err["loc"]) or "(root)",
                "message": err["msg"],
                "type": err["type"],
            }
            for err in exc.errors(include_url=False, include_input=False)
        ]
        first = errors[0]
        raise ValidationFailed(
            f"{len(errors)} invalid field(s); first: {first['field']}: {first['message']}",
            errors=errors,
        ) from None


def current_principal(request: web.Request) -> Principal | None:
    return request[PRINCIPAL] if PRINCIPAL in request else None


def require_principal(request: web.Request) -> Principal:
    principal = request[PRINCIPAL] if PRINCIPAL in request else None
    if principal is None:
        raise Unauthenticated()
    return principal


def request_actor(request: web.Request) -> Actor:
    """The audit actor for this request: principal, client address and request id."""
    return Actor.of(request.get(PRINCIPAL), ip=request.remote, request_id=request.get(REQUEST_ID))


def problem_response(error: AppError, request: web.Request) -> web.Response:
    body = error.to_problem(instance=request.path)
    if request_id := request.get(REQUEST_ID):
        body["request_id"] = request_id
    response = web.Response(
        text=json.dumps(body, ensure_ascii=False),
        status=error.status,
        content_type=PROBLEM_CONTENT_TYPE,
        headers=error.headers,
    )
    return response


_HTTP_EXCEPTION_MAP: dict[int, tuple[type[AppError], str]] = {
    404: (NotFound, "no such resource"),
    405: (MethodNotAllowed, "method not allowed on this resource"),
    413: (PayloadTooLarge, "request body is too large"),
    415: (UnsupportedMediaType, "unsupported content type"),
}


def _from_http_exception(exc: web.HTTPException) -> AppError:
    """Router and framework errors (404, 405, 413 …) in the same problem+json shape."""
    known = _HTTP_EXCEPTION_MAP.get(exc.status)
    if known is not None:
        error_cls, detail = known
        error = error_cls(detail)
    else:
        error = BadRequest(
            exc.reason or "request refused", code=f"http_{exc.status}", status=exc.status
        )
    if isinstance(exc, web.HTTPMethodNotAllowed):
        error.headers["Allow"] = ", ".join(sorted(exc.allowed_methods))
    return error


_REQUEST_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


def _request_id(request: web.Request) -> str:
    given = request.headers.get("X-Request-Id", "")
    if 8 <= len(given) <= 64 and set(given) <= _REQUEST_ID_CHARS:
        return given
    return secrets.token_hex(8)


@web.middleware
async def edge_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Request id, authentication, problem+json for every error, access log and latency
    histogram: one layer rather than three, since each layer costs a coroutine per request.

    Order within it, outermost first: request id and timing (so the log and the histogram see
    every outcome), error rendering, authentication, Idempotency-Key (state-changing methods
    only), then the handler.
    """
    request_id = _request_id(request)
    request[REQUEST_ID] = request_id
    token = request_id_var.set(request_id)
    started = time.perf_counter()
    status = 500
    try:
        try:
            request[PRINCIPAL] = await _authenticate(request)
            if request.method in STATE_CHANGING:
                response = await run_idempotent(request, handler)
            else:
                response = cast(web.StreamResponse, await handler(request))
        except AppError as error:
            if error.status >= 500:
                log.error("request failed: %s", error.detail)
            response = problem_response(error, request)
        except web.HTTPException as exc:
            if exc.status < 400:
                set_edge_headers(request, exc)  # a redirect is a response too
                raise
            response = problem_response(_from_http_exception(exc), request)
        except Exception:
            log.exception("unhandled error")
            response = problem_response(
                AppError("the server hit an unexpected error; quote the request id to support"),
                request,
            )
        status = response.status
        if not response.prepared:
            set_edge_headers(request, response)
        elif "X-Content-Type-Options" not in response.headers:
            log.warning("a handler started streaming without prepare_stream: no edge headers")
        return response
    finally:
        elapsed = time.perf_counter() - started
        route = request.match_info.route.resource
        route_name = route.canonical if route is not None else "unmatched"
        request.app[METRICS].observe(request.method, route_name, status, elapsed)
        if log.isEnabledFor(logging.INFO):
            principal = request.get(PRINCIPAL)
            log.info(
                "request",
                extra={
                    "method": request.method,
                    "path": request.path,
                    "route": route_name,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                    "sub": principal.subject if principal else None,
                },
            )
        request_id_var.reset(token)


async def _authenticate(request: web.Request) -> Principal | None:
    """Every request is authenticated; a route opts out of needing a principal only by being
    declared public. A bearer token, when sent, is checked even on a public route."""
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("use 'Authorization: Bearer <access token>'")
        return await request.app[AUTH].authenticate(token.strip())  # root app's service
    spec = endpoint_spec(request.match_info.handler)
    if (spec is None or not spec.public) and request.match_info.http_exception is None:
        raise Unauthenticated()
    return None


def set_edge_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Headers every response carries. The edge middleware sets them on what handlers return;
    a handler that starts streaming itself goes through :func:`prepare_stream` instead (an
    ``on_response_prepare`` signal would cover both, at a cost on every request)."""
    headers = response.headers
    if request_id := request.get(REQUEST_ID):
        headers.setdefault("X-Request-Id", request_id)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    if request.path.startswith("/api/"):
        headers.setdefault("Cache-Control", "no-store")


async def prepare_stream(request: web.Request, response: web.StreamResponse) -> None:
    """Start a streamed response (download, WebSocket) with the headers every response has."""
    set_edge_headers(request, response)
    await response.prepare(request)
