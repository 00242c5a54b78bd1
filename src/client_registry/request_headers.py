"""A request's header read straight from the ASGI scope, as Starlette's
`Headers.get` reads it (the first value; names come in lower case), without
building a `Headers` object on the paths every request takes."""

from starlette.types import Scope


def first_header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None
