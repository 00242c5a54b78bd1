"""Opaque keyset cursors: the creation sequence of the last item seen."""

import base64
import binascii
import json
from collections.abc import Iterable

from starlette.requests import Request
from starlette.responses import Response

from client_registry.problems import InvalidRequest

_VERSION = "v1:"


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"{_VERSION}{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The sequence to continue after; 0 starts from the beginning."""
    if cursor is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        digits = text.removeprefix(_VERSION)
        if text.startswith(_VERSION) and digits.isascii() and digits.isdigit():
            seq = int(digits)
            if seq < 2**63:  # the largest key PostgreSQL's bigint holds
                return seq
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise InvalidRequest(
        "the cursor is not one this service issued",
        errors=[{"field": "cursor", "message": "invalid cursor", "code": InvalidRequest.code}],
    )


def page_response(request: Request, items: Iterable[str], next_cursor: str | None) -> Response:
    """`{items, nextCursor}` from serialized items, with a `Link` to the next page."""
    body = f'{{"items":[{",".join(items)}],"nextCursor":{json.dumps(next_cursor)}}}'
    response = Response(body, media_type="application/json")
    if next_cursor is not None:
        next_url = request.url.include_query_params(cursor=next_cursor)
        response.headers["Link"] = f'<{next_url}>; rel="next"'
    return response
