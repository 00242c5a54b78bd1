"""Domain errors and their one rendering as RFC 9457 problem+json."""

import logging
import traceback
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PROBLEM_JSON = "application/problem+json"
logger = logging.getLogger(__name__)


class Problem(Exception):
    status = 500
    code = "internal_error"

    def __init__(
        self,
        detail: str,
        *,
        errors: Sequence[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors) if errors is not None else None
        self.headers = headers

    def response(self) -> JSONResponse:
        return problem_response(
            self.status, self.code, self.detail, errors=self.errors, headers=self.headers
        )


class BadRequest(Problem):
    status, code = 400, "malformed_request"


class Unauthorized(Problem):
    status, code = 401, "unauthorized"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class InvalidClient(Problem):
    status, code = 401, "invalid_client"


class Forbidden(Problem):
    status, code = 403, "forbidden"


class NotFound(Problem):
    status, code = 404, "not_found"


class Conflict(Problem):
    status, code = 409, "conflict"


class PreconditionFailed(Problem):
    status, code = 412, "precondition_failed"


class PayloadTooLarge(Problem):
    status, code = 413, "payload_too_large"


class UnsupportedMediaType(Problem):
    status, code = 415, "unsupported_media_type"


class InvalidRequest(Problem):
    status, code = 422, "invalid_request"


class InvalidClientMetadata(Problem):
    status, code = 422, "invalid_client_metadata"


class InvalidRedirectUri(Problem):
    status, code = 422, "invalid_redirect_uri"


class Unavailable(Problem):
    status, code = 503, "unavailable"


def problem_response(
    status: int,
    code: str,
    detail: str,
    *,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def field_path(loc: Sequence[int | str]) -> str:
    """('redirect', 2) -> 'redirect[2]'; ('a', 'b') -> 'a.b'."""
    path = ""
    for part in loc:
        if isinstance(part, str):
            part = _printable(part)
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else part)
    return path


def _printable(name: str) -> str:
    """A sent field name as UTF-8 can carry it: lone surrogates replaced."""
    return name.encode("utf-8", "replace").decode("utf-8")


def field_error_code(field: str, *, client_body: bool) -> str:
    if not client_body:
        return InvalidRequest.code
    if field.startswith("redirect"):
        return InvalidRedirectUri.code
    return InvalidClientMetadata.code


def invalid_fields(errors: list[dict[str, str]], *, client_body: bool) -> Problem:
    """One 422 for a list of field errors, coded by what they are about."""
    codes = {error["code"] for error in errors}
    names = ", ".join(dict.fromkeys(error["field"] for error in errors))
    detail = f"invalid field(s): {names}" if names else "the request is invalid"
    if not client_body:
        return InvalidRequest(detail, errors=errors)
    if codes == {InvalidRedirectUri.code}:
        return InvalidRedirectUri(detail, errors=errors)
    return InvalidClientMetadata(detail, errors=errors)


def invalid_client_fields(pairs: Sequence[tuple[str, str]]) -> Problem:
    """A 422 for (field, message) pairs found about a client's metadata."""
    errors = [
        {"field": field, "message": message, "code": field_error_code(field, client_body=True)}
        for field, message in pairs
    ]
    return invalid_fields(errors, client_body=True)


def _is_client_body(request: Request) -> bool:
    route = request.scope.get("route")
    return getattr(route, "name", "") in {
        "createClient",
        "replaceClient",
        "updateClient",
        "rotateClientSecret",
    }


def pydantic_problem(raw: Sequence[Any], *, client_body: bool, skip: int = 0) -> Problem:
    """A 422 from pydantic's errors; `skip` drops leading loc parts ('body')."""
    errors = []
    for error in raw:
        loc = error["loc"]
        field = field_path(loc[skip:]) or str(loc[0] if loc else "body")
        errors.append(
            {
                "field": field,
                "message": _message(error),
                "code": field_error_code(field, client_body=client_body),
            }
        )
    return invalid_fields(errors, client_body=client_body)


def validation_problem(request: Request, exc: RequestValidationError) -> Problem:
    raw = list(exc.errors())
    if any(error.get("type") == "json_invalid" for error in raw):
        return BadRequest("the body is not well-formed JSON")
    on_body = all(error["loc"][:1] == ("body",) for error in raw)
    return pydantic_problem(raw, client_body=on_body and _is_client_body(request), skip=1)


def _message(error: dict[str, Any]) -> str:
    kind = error.get("type")
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "required"
    return str(error["msg"])


def install(app: FastAPI) -> None:
    """Render every error, FastAPI's own included, as problem+json."""

    @app.exception_handler(Problem)
    async def on_problem(_request: Request, exc: Problem) -> JSONResponse:
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return await on_problem(request, validation_problem(request, exc))

    @app.exception_handler(StarletteHTTPException)
    async def on_http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        phrase = HTTPStatus(exc.status_code).phrase
        code = phrase.lower().replace(" ", "_").replace("-", "_")
        detail = exc.detail if isinstance(exc.detail, str) else phrase
        headers = dict(exc.headers) if exc.headers else None
        return problem_response(exc.status_code, code, detail, headers=headers)


class CrashGuard:
    """Answers an unexpected error with a bare 500 problem and logs where it
    happened, never the exception's message: messages can quote input values,
    secrets included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            where = "".join(traceback.format_tb(exc.__traceback__))
            logger.error("unhandled %s at\n%s", type(exc).__name__, where)
            if started or scope["type"] != "http":
                return
            response = problem_response(500, Problem.code, "the server failed the request")
            await response(scope, receive, send)
