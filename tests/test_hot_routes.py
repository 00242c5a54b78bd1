"""Get and authenticate are answered by a layer of their own when nothing
would refuse them, and by FastAPI's routes otherwise: both must answer
alike, to the byte."""

import httpx
import pytest

from builders import new_client
from conftest import Service

# A media type the hot layer leaves to FastAPI, which reads it as JSON too.
_TO_FASTAPI = "application/json; charset=utf-8"


def _seen(response: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = [(k, v) for k, v in response.headers.multi_items() if k != "x-request-id"]
    return response.status_code, headers, response.content


@pytest.mark.parametrize(
    "case", ["right secret", "wrong secret", "unknown client", "method not allowed"]
)
def test_authenticate_answers_as_fastapi_does(api: httpx.Client, case: str) -> None:
    client = new_client(api, authMethods=["client_secret_post"])
    client_id = "no-such-client" if case == "unknown client" else client["id"]
    secret = "crs_wrong" if case == "wrong secret" else client["secret"]
    method = "client_secret_basic" if case == "method not allowed" else "client_secret_post"
    body = f'{{"secret": "{secret}", "method": "{method}"}}'
    answers = [
        api.post(
            f"/v1/clients/{client_id}/authenticate",
            content=body,
            headers={"Content-Type": media_type},
        )
        for media_type in ("application/json", _TO_FASTAPI)
    ]
    assert _seen(answers[0]) == _seen(answers[1])
    assert answers[0].status_code == (200 if case == "right secret" else 401)


def test_get_answers_as_fastapi_does(service: Service, api: httpx.Client) -> None:
    """HEAD goes through FastAPI's GET route; its headers are the GET's."""
    client = new_client(api)
    url = f"/v1/clients/{client['id']}"
    got, head = api.get(url), api.head(url)
    assert _seen(got)[:2] == _seen(head)[:2]
    assert got.json()["id"] == client["id"]
    not_modified = api.get(url, headers={"If-None-Match": got.headers["ETag"]})
    assert not_modified.status_code == 304
    assert not_modified.headers["ETag"] == got.headers["ETag"]


def test_a_token_without_the_scope_is_refused_by_the_admin_check(
    service: Service, api: httpx.Client
) -> None:
    client = new_client(api)
    reader = service.client(service.mint_token("clients:read"))
    body = {"secret": client["secret"], "method": "client_secret_basic"}
    refused = reader.post(f"/v1/clients/{client['id']}/authenticate", json=body)
    assert refused.status_code == 403
    assert refused.json()["code"] == "forbidden"
    authenticator = service.client(service.mint_token("clients:authenticate"))
    assert authenticator.get(f"/v1/clients/{client['id']}").status_code == 403
