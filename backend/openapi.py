"""OpenAPI 3.1 generated from the routes' :func:`backend.http.endpoint` declarations."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from backend.errors import PROBLEM_BASE
from backend.http import PROBLEM_CONTENT_TYPE, EndpointSpec, endpoint_spec

_PATH_PARAM = re.compile(r"\{(\w+)(?::[^}]*)?\}")

_STATUS_TEXT = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Validation failed",
    429: "Rate limited",
    502: "Upstream failure",
    503: "Service unavailable",
}

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": f"RFC 9457 problem details; `type` is under {PROBLEM_BASE}",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "description": "stable machine-readable error code"},
        "instance": {"type": "string"},
        "request_id": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "location": {"type": "string"},
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
}


def iter_routes(app: web.Application) -> list[tuple[str, str, Any]]:
    """(method, path, handler) for every route of the app and its sub-apps."""
    found: list[tuple[str, str, Any]] = []
    for resource in app.router.resources():
        if isinstance(resource, web.PrefixedSubAppResource):
            found.extend(iter_routes(resource._app))
            continue
        info = resource.get_info()
        path = info.get("path") or info.get("formatter")
        if path is None:  # static directories are documented by hand
            continue
        for route in resource:
            if route.method in ("HEAD", "*"):
                continue
            found.append((route.method, path, route.handler))
    return found


def _operation(
    method: str,
    path: str,
    spec: EndpointSpec,
    models: dict[Any, Any],
    schemas: dict[str, Any],
) -> dict[str, Any]:
    def ref(model: type[BaseModel]) -> dict[str, Any]:
        mode = "validation" if model in (spec.body, spec.query) else "serialization"
        schema: dict[str, Any] = models[(model, mode)]
        return schema

    op: dict[str, Any] = {
        "summary": spec.summary,
        "operationId": f"{method.lower()}_{re.sub(r'[^a-zA-Z0-9]+', '_', path).strip('_')}",
        "tags": list(spec.tags) or ["misc"],
    }
    if spec.description:
        op["description"] = spec.description
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PATH_PARAM.findall(path)
    ]
    if spec.query is not None:
        for name, field in spec.query.model_fields.items():
            # The query model's own schema lives in components, with refs already rewritten.
            query_ref = ref(spec.query)["$ref"].rsplit("/", 1)[1]
            schema = schemas[query_ref]["properties"].get(field.alias or name, {})
            params.append(
                {
                    "name": field.alias or name,
                    "in": "query",
                    "required": field.is_required(),
                    "schema": schema,
                    **({"description": field.description} if field.description else {}),
                }
            )
    if params:
        op["parameters"] = params
    if spec.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": ref(spec.body)}},
        }
    elif spec.request_content is not None:
        op["requestBody"] = {"required": True, "content": dict(spec.request_content)}
    ok: dict[str, Any] = {"description": "OK" if spec.status != 201 else "Created"}
    if spec.response is not None:
        ok["content"] = {"application/json": {"schema": ref(spec.response)}}
    elif spec.response_content is not None:
        ok["content"] = dict(spec.response_content)
    elif spec.status == 204:
        ok["description"] = "No content"
    problem = {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    responses: dict[str, Any] = {str(spec.status): ok}
    error_codes = set(spec.errors)
    if spec.body is not None or spec.query is not None:
        error_codes |= {400, 422}
    if not spec.public:
        error_codes.add(401)
    if spec.roles is not None:
        error_codes.add(403)
    for status in sorted(error_codes):
        responses[str(status)] = {
            "description": _STATUS_TEXT.get(status, "Error"),
            "content": problem,
        }
    op["responses"] = responses
    if not spec.public:
        op["security"] = [{"bearer": []}]
    return op


def build_openapi(app: web.Application, *, title: str, version: str) -> dict[str, Any]:
    routes = [(m, p, endpoint_spec(h)) for m, p, h in iter_routes(app)]
    documented = [(m, p, s) for m, p, s in routes if s is not None]
    inputs = {s.body for _, _, s in documented if s.body} | {
        s.query for _, _, s in documented if s.query
    }
    outputs = {s.response for _, _, s in documented if s.response}
    keyed: list[tuple[type[BaseModel], JsonSchemaMode]] = [(m, "validation") for m in inputs]
    keyed += [(m, "serialization") for m in outputs]
    refs, defs = models_json_schema(keyed, ref_template="#/components/schemas/{model}")
    schemas = dict(defs.get("$defs", {}))
    paths: dict[str, dict[str, Any]] = {}
    for method, path, spec in sorted(documented, key=lambda r: (r[1], r[0])):
        assert spec is not None
        paths.setdefault(_PATH_PARAM.sub(r"{\1}", path), {})[method.lower()] = _operation(
            method, path, spec, refs, schemas
        )
    schemas["Problem"] = PROBLEM_SCHEMA
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": "Mobile court (移动微法院) backend API. Errors are RFC 9457 problem "
            "details. Authenticate with `Authorization: Bearer <access token>`.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }


def undocumented_routes(app: web.Application) -> list[str]:
    """Routes without an endpoint declaration: a test keeps this list empty."""
    return [f"{m} {p}" for m, p, h in iter_routes(app) if endpoint_spec(h) is None]
