"""Refuses request bodies that are too large or not JSON before any parsing."""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from client_registry.problems import PayloadTooLarge, UnsupportedMediaType

MAX_BODY_BYTES = 64 * 1024
_TOO_LARGE = f"the body exceeds {MAX_BODY_BYTES // 1024} KiB"
_BODY_METHODS = {
    "POST": ("application/json",),
    "PUT": ("application/json",),
    "PATCH": ("application/json", "application/merge-patch+json"),
}


class BodyGuard:
    """Buffers bodies under /v1 (64 KiB at most) and checks their media type."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        accepted = _BODY_METHODS.get(scope.get("method", ""))
        if scope["type"] != "http" or accepted is None or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        headers = {
            key.decode("latin-1"): value.decode("latin-1") for key, value in scope["headers"]
        }
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            await PayloadTooLarge(_TOO_LARGE).response()(scope, receive, send)
            return
        body = b""
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > MAX_BODY_BYTES:
                await PayloadTooLarge(_TOO_LARGE).response()(scope, receive, send)
                return
        media_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if body and media_type not in accepted:
            detail = f"the body must be sent as {' or '.join(accepted)}"
            await UnsupportedMediaType(detail).response()(scope, receive, send)
            return
        await self.app(scope, replay(body, receive), send)


def replay(body: bytes, receive: Receive) -> Receive:
    """Hands the buffered body over once, then waits on the real channel."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed
