"""A REST registry of OAuth2 clients for an authorization server."""
