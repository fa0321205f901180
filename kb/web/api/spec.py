"""The API's routes, declared once: registering a route also describes it for OpenAPI.

The description is built from the same pydantic models that shape the responses, and
from the app's facets (plugins add some), so ``/api/v1/openapi.json`` always matches.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint
from pydantic import BaseModel

from kb.web.api.schemas import Error
from kb.web.urls import LARGEST_ID

PREFIX = "/api/v1"
JSON = "application/json"
_RULE_ARG = re.compile(r"<(?:(\w+):)?(\w+)>")


@dataclass(frozen=True)
class Param:
    name: str
    schema: dict[str, Any]
    description: str
    location: str = "query"
    required: bool = False

    def openapi(self) -> dict[str, Any]:
        param = {
            "name": self.name,
            "in": self.location,
            "required": self.required or self.location == "path",
            "description": self.description,
            "schema": self.schema,
        }
        if self.schema.get("type") == "array":
            param |= {"style": "form", "explode": True}
        return param


@dataclass(frozen=True)
class Operation:
    rule: str
    endpoint: str
    summary: str
    response: type[BaseModel] | None
    method: str = "get"
    #: (media type, JSON Schema) of the request body, for writes.
    body: Callable[[dict[str, Any]], tuple[str, dict[str, Any]]] | None = None
    #: 201 for a creation.
    success: int = 200
    media_type: str = JSON
    params: Callable[[], list[Param]] = list
    errors: tuple[int, ...] = ()
    paginated: bool = False
    description: str = ""


@dataclass
class Api:
    """A blueprint whose routes are also an OpenAPI description."""

    blueprint: Blueprint
    operations: list[Operation] = field(default_factory=list)

    def get(self, rule: str, **details: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.route(rule, "get", **details)

    def route(
        self,
        rule: str,
        method: str,
        *,
        summary: str,
        response: type[BaseModel] | None,
        media_type: str = JSON,
        params: Callable[[], list[Param]] = list,
        errors: tuple[int, ...] = (),
        paginated: bool = False,
        body: Callable[[dict[str, Any]], tuple[str, dict[str, Any]]] | None = None,
        success: int = 200,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register a view for ``rule`` and describe it; writes need a bearer token."""

        def register(view: Callable[..., Any]) -> Callable[..., Any]:
            self.blueprint.route(rule, methods=[method.upper()])(view)
            self.operations.append(
                Operation(
                    rule=rule,
                    endpoint=f"{self.blueprint.name}.{view.__name__}",
                    summary=summary,
                    description=(view.__doc__ or "").strip(),
                    response=response,
                    media_type=media_type,
                    params=params,
                    errors=errors,
                    paginated=paginated,
                    method=method,
                    body=body,
                    success=success,
                )
            )
            return view

        return register

    def document(self, title: str, version: str, server: str) -> dict[str, Any]:
        """The OpenAPI 3.1 description of every registered route."""
        schemas: dict[str, Any] = {}
        paths: dict[str, Any] = {}
        for operation in self.operations:
            path, path_params = _openapi_path(operation.rule)
            paths.setdefault(path, {})[operation.method] = _operation(
                operation, path_params, schemas
            )
        _add_schema(Error, schemas)
        return {
            "openapi": "3.1.0",
            "info": {"title": title, "version": version},
            "servers": [{"url": server}],
            "paths": paths,
            "components": {
                "schemas": schemas,
                "securitySchemes": {
                    "token": {
                        "type": "http",
                        "scheme": "bearer",
                        "description": "A personal API token (`kb tokens create EMAIL`).",
                    }
                },
            },
        }


def _openapi_path(rule: str) -> tuple[str, list[Param]]:
    params = []
    for converter, name in _RULE_ARG.findall(rule):
        schema = {"type": "string"}
        if converter == "int":
            schema = {"type": "integer", "minimum": 0, "maximum": LARGEST_ID}
        params.append(Param(name, schema, "", location="path", required=True))
    # Relative to the server URL, which ends in the prefix.
    return _RULE_ARG.sub(r"{\2}", rule), params


def _add_schema(model: type[BaseModel], schemas: dict[str, Any]) -> dict[str, str]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(schema.pop("$defs", {}))
    schemas[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


_ERROR_TEXT = {
    304: "Not modified (the `ETag` sent in `If-None-Match` still holds).",
    400: "A parameter is invalid (`details.parameter` names it), or the request holds invalid "
    "UTF-8 or NUL bytes.",
    401: "No valid token in `Authorization: Bearer <token>`.",
    403: "The token's account may not do this.",
    404: "Not found, or not public.",
    409: "Another case has this `ref`.",
    413: "The upload is too large.",
    415: "The body is not of the media type this operation reads.",
    422: "The data breaks a rule; `details.fields` maps each field to what is wrong.",
    414: "The address is too long (the server refuses request lines over about 4 KB).",
    429: "Too many writes; wait and try again (see `Retry-After`).",
}


def _operation(operation: Operation, path_params: list[Param], schemas: dict[str, Any]) -> dict:
    content: dict[str, Any] = {"schema": {"type": "string"}}
    if operation.response is not None:
        content = {"schema": _add_schema(operation.response, schemas)}
    headers = {"ETag": {"schema": {"type": "string"}, "description": "For `If-None-Match`."}}
    if operation.paginated:
        headers["Link"] = {
            "schema": {"type": "string"},
            "description": "RFC 8288 links to the first, previous, next and last pages.",
        }
    error = {"$ref": "#/components/schemas/Error"}
    responses: dict[str, Any] = {
        str(operation.success): {
            "description": "OK",
            "headers": headers,
            "content": {operation.media_type: content},
        },
    }
    if operation.method == "get":
        responses["304"] = {"description": _ERROR_TEXT[304]}
    # Any request can be malformed (the site refuses invalid UTF-8, NUL bytes and JSON
    # nested too deeply).
    for status in sorted({400, *operation.errors}):
        responses[str(status)] = {
            "description": _ERROR_TEXT.get(status, "Error"),
            "content": {JSON: {"schema": error}},
        }
    # Any address can be too long; the HTTP server answers that itself, not in JSON.
    responses["414"] = {"description": _ERROR_TEXT[414]}
    params = [*path_params, *operation.params()]
    described: dict[str, Any] = {
        "operationId": operation.endpoint.replace(".", "_"),
        "summary": operation.summary,
        "description": operation.description,
        "parameters": [p.openapi() for p in params],
        "responses": responses,
    }
    if operation.body is not None:
        media_type, schema = operation.body(schemas)
        described["requestBody"] = {"required": True, "content": {media_type: {"schema": schema}}}
        described["security"] = [{"token": []}]
    return described
