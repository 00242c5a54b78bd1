"""Client secrets: generation and hashing through passlib's CryptContext."""

import secrets

from passlib.context import CryptContext

from client_registry.settings import Settings


def generate_secret(prefix: str) -> str:
    # 32 random bytes: 256 bits of entropy behind a recognisable prefix.
    return prefix + secrets.token_urlsafe(32)


def _context(schemes: list[str], rounds: int) -> CryptContext:
    return CryptContext(schemes=schemes, **{f"{schemes[0]}__default_rounds": rounds})


class SecretHasher:
    """Hashes secrets with the first configured scheme.

    A generated secret carries 256 random bits, so a low cost suffices; a
    secret chosen by a caller may be guessable and gets a password-grade cost.
    """

    def __init__(self, settings: Settings) -> None:
        self._generated = _context(settings.secret_schemes, settings.generated_secret_rounds)
        self._given = _context(settings.secret_schemes, settings.given_secret_rounds)

    def hash(self, secret: str, *, generated: bool) -> str:
        context = self._generated if generated else self._given
        return str(context.hash(secret))
