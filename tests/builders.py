"""Small builders for test data, shared by the test modules."""

import secrets

import httpx


def unique_name(prefix: str = "client") -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def new_client(api: httpx.Client, **fields: object) -> dict[str, object]:
    """Create a client through the API and return the 201 body."""
    body: dict[str, object] = {
        "name": unique_name(),
        "redirect": ["https://app.example.com/cb"],
        **fields,
    }
    response = api.post("/v1/clients", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, object] = response.json()
    return created
