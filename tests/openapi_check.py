"""Every response the suite sees is checked against /openapi.json.

Handlers send stored JSON as it is, so `response_model` checks nothing; this
is what holds the bytes and the document together: a field the server sends
and the document lacks (or the reverse), a status or a required header the
document does not list, all fail the test that met them."""

import re
from typing import Any

import httpx
from jsonschema import Draft202012Validator

Document = dict[str, Any]


class ResponseChecker:
    """An httpx response hook; requests the document does not describe pass."""

    def __init__(self, document: Document) -> None:
        self.document = document
        self.checked = 0
        self._paths = [
            (re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$"), path)
            for path in document["paths"]
        ]

    def operation(self, method: str, path: str) -> Document | None:
        for pattern, template in self._paths:
            if pattern.match(path):
                operation: Document | None = self.document["paths"][template].get(method)
                return operation
        return None

    def __call__(self, response: httpx.Response) -> None:
        response.read()
        request = response.request
        head = request.method == "HEAD"
        method = "get" if head else request.method.lower()
        path = request.url.raw_path.decode("ascii").split("?", 1)[0]
        operation = self.operation(method, path)
        if operation is None:
            return
        where = f"{request.method} {path} answered {response.status_code}"
        answer = operation["responses"].get(str(response.status_code))
        assert answer is not None, f"{where}, a status the document does not list"
        for name, header in answer.get("headers", {}).items():
            if header.get("required"):
                assert name in response.headers, f"{where} without its {name} header"
        content = answer.get("content")
        if not content or head:
            assert not response.content, f"{where} with a body the document does not describe"
            return
        media_type = response.headers.get("content-type", "").split(";")[0]
        assert media_type in content, f"{where} as {media_type}, not {sorted(content)}"
        self.validate(content[media_type]["schema"], response.json(), where)

    def validate(self, schema: Document, body: Any, where: str) -> None:
        # $refs point into components, so the schema travels with them.
        validator = Draft202012Validator({**schema, "components": self.document["components"]})
        errors = [
            f"{'/'.join(map(str, error.absolute_path)) or '(body)'}: {error.message}"
            for error in validator.iter_errors(body)
        ]
        assert not errors, f"{where} with a body unlike the document: {errors}"
        self.checked += 1
