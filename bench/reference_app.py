"""The framework's ceiling: one route returning a client-shaped body of the
same size as the service's, with no database and no auth."""

from typing import Any

from fastapi import FastAPI

app = FastAPI()

CLIENT: dict[str, Any] = {
    "id": "3f0c7c1e-8f5c-4b7e-9d7a-2c1f4e5a6b7c",
    "name": "Benchmark client 000001",
    "redirect": ["https://app.example.com/callback"],
    "grantTypes": ["authorization_code", "refresh_token"],
    "responseTypes": ["code"],
    "responseModes": ["query"],
    "scopes": ["openid", "email", "profile", "offline_access"],
    "firstParty": False,
    "authMethods": ["client_secret_post", "client_secret_basic"],
    "createdAt": "2026-11-28T19:00:00.123456Z",
    "updatedAt": "2026-11-28T19:00:00.123456Z",
    "secretCreatedAt": "2026-11-28T19:00:00.123456Z",
    "previousSecretExpiresAt": None,
}


@app.get("/v1/clients/{client_id}")
async def get_client(client_id: str) -> dict[str, Any]:
    return CLIENT
