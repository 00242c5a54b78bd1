"""What every HTTP response gets on its way out: the request id, the security
headers, one access line and the request metrics.

The outermost middleware, so refusals (401, 413), 404s, 405s and crashes
answered further in get all of it too."""

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from client_registry import metrics, request_ids
from client_registry.logs import AccessLog
from client_registry.request_headers import first_header
from client_registry.settings import LogFormat

API_PREFIX = "/v1/"
AUTHENTICATE_ROUTE = "authenticateClient"
# A response that never started: the caller went away first (nginx's code).
CLIENT_CLOSED = 499
_NOSNIFF = (b"x-content-type-options", b"nosniff")
# Every API response, not only the two that show a secret: an admin API's
# answers are for its caller alone, and no cache should keep any of them.
_NO_STORE = (b"cache-control", b"no-store")


class AccessEdge:
    def __init__(self, app: ASGIApp, *, log_format: LogFormat = "text") -> None:
        self.app = app
        self._access_log = AccessLog(log_format)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = request_ids.accepted_or_new(first_header(scope, request_ids.HEADER))
        scope.setdefault("state", {})["request_id"] = request_id
        context = request_ids.current.set(request_id)
        added = [(request_ids.HEADER, request_id.encode("ascii")), _NOSNIFF]
        if scope["path"].startswith(API_PREFIX):
            added.append(_NO_STORE)
        status = CLIENT_CLOSED
        challenged = False

        async def send_with_headers(message: Message) -> None:
            nonlocal status, challenged
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = message.get("headers", [])
                challenged = status == 401 and any(k == b"www-authenticate" for k, _ in headers)
                message = {**message, "headers": [*headers, *added]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            seconds = time.perf_counter() - started
            metrics.observe_request(scope["method"], metrics.route_template(scope), status, seconds)
            if getattr(scope.get("route"), "name", None) == AUTHENTICATE_ROUTE:
                _count_authentication(status, challenged=challenged)
            if self._access_log.enabled():
                admin_token = scope["state"].get("admin_token")
                self._access_log.write(
                    request_id=request_id,
                    method=scope["method"],
                    path=scope["path"],
                    status=status,
                    duration_ms=round(seconds * 1000, 2),
                    token_id=getattr(admin_token, "id", None),
                )
            request_ids.current.reset(context)


def _count_authentication(status: int, *, challenged: bool) -> None:
    """200 is a client that passed, a 401 without a Bearer challenge one that
    failed; a refused admin token (401 with a challenge), a 422 or a 503 is
    no verdict on the client."""
    if status == 200:
        metrics.count_authentication("passed")
    elif status == 401 and not challenged:
        metrics.count_authentication("failed")
