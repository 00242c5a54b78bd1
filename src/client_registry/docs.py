"""The OpenAPI document and a Swagger UI served from the installed package."""

import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from client_registry.auth import GUARDED_PREFIX
from client_registry.openapi_types import ENUMS, named_enums
from client_registry.problems import PROBLEM_JSON

_PROBLEM_REF = {"$ref": "#/components/schemas/ProblemDetails"}
MERGE_PATCH_JSON = "application/merge-patch+json"


def _plain_optional_body(operation: dict[str, Any]) -> None:
    """An optional body is `anyOf: [X, null]` to FastAPI; generators turn that
    into a union they cannot send, so state the plain object, not required."""
    for media in operation.get("requestBody", {}).get("content", {}).values():
        options = media.get("schema", {}).get("anyOf", [])
        if {"type": "null"} in options and len(options) == 2:
            (plain,) = [option for option in options if option != {"type": "null"}]
            media["schema"] = plain
            operation["requestBody"]["required"] = False


def _plain_parameters(operation: dict[str, Any]) -> None:
    """A header or query parameter is absent or a value, never null; its
    title reads as English ('First party', not 'Firstparty')."""
    for parameter in operation.get("parameters", []):
        words = re.sub(r"(?<=[a-z])(?=[A-Z])|[_-]", " ", parameter["name"]).lower()
        parameter["schema"]["title"] = words[:1].upper() + words[1:]
        options = parameter["schema"].get("anyOf", [])
        if {"type": "null"} in options and len(options) == 2:
            (plain,) = [option for option in options if option != {"type": "null"}]
            parameter["schema"] = {**parameter["schema"], **plain}
            del parameter["schema"]["anyOf"]


def _problems_everywhere(operation: dict[str, Any]) -> None:
    for status, answer in operation.get("responses", {}).items():
        if status[0] in "45":
            answer["content"] = {PROBLEM_JSON: {"schema": _PROBLEM_REF}}


def _merge_patch_body(operation: dict[str, Any]) -> None:
    """PATCH takes application/json too, but a second content type gives a
    generated SDK two body types (or a union of one type with itself), so
    the document names one and says so."""
    body = operation.get("requestBody", {})
    if MERGE_PATCH_JSON in body.get("content", {}):
        body["description"] = (
            f"a JSON Merge Patch (RFC 7396), sent as `{MERGE_PATCH_JSON}` "
            "or `application/json`; `null` resets a field to its default"
        )


def openapi_document(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, with every error shown as problem+json, the fixed
    value sets as named enums and optional bodies as plain objects."""
    if app.openapi_schema is None:
        document = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        components = document.setdefault("components", {})
        components["securitySchemes"] = {
            "adminToken": {
                "type": "http",
                "scheme": "bearer",
                "description": "An admin token (`crat_...`) with the call's scope",
            }
        }
        for path, operations in document.get("paths", {}).items():
            for operation in operations.values():
                if path.startswith(GUARDED_PREFIX):
                    operation["security"] = [{"adminToken": []}]
                _problems_everywhere(operation)
                _plain_optional_body(operation)
                _plain_parameters(operation)
                _merge_patch_body(operation)
        schemas = components.setdefault("schemas", {})
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        document = named_enums(document)
        document["components"]["schemas"].update(ENUMS)
        app.openapi_schema = document
    return app.openapi_schema


def install(app: FastAPI) -> None:
    app.mount("/docs/assets", StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")

    def openapi() -> dict[str, Any]:
        return openapi_document(app)

    app.openapi = openapi  # type: ignore[method-assign]

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{app.title} - API docs",
            swagger_js_url="/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/docs/assets/swagger-ui.css",
            swagger_favicon_url="/docs/assets/favicon-32x32.png",
        )
