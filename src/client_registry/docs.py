"""The OpenAPI document and a Swagger UI served from the installed package."""

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from client_registry.auth import GUARDED_PREFIX
from client_registry.problems import PROBLEM_JSON

_PROBLEM_REF = {"$ref": "#/components/schemas/ProblemDetails"}


def openapi_document(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, with every error shown as problem+json."""
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
                for status, answer in operation.get("responses", {}).items():
                    if status[0] in "45":
                        answer["content"] = {PROBLEM_JSON: {"schema": _PROBLEM_REF}}
                body = operation.get("requestBody", {}).get("content", {})
                if "application/merge-patch+json" in body:
                    body["application/json"] = body["application/merge-patch+json"]
        schemas = components.get("schemas", {})
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
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
