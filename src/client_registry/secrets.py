"""Client secrets: generation, hashing policy and verification (passlib)."""

import secrets

from passlib.context import CryptContext

from client_registry.metrics import HASH_UPGRADES
from client_registry.settings import Settings


def generate_secret(prefix: str) -> str:
    # 32 random bytes: 256 bits of entropy behind a recognisable prefix.
    return prefix + secrets.token_urlsafe(32)


def _context(schemes: list[str], rounds: int) -> CryptContext:
    # Every listed scheme verifies; all but the first are deprecated, so their
    # hashes, and hashes cheaper than `rounds`, ask to be upgraded.
    default = schemes[0]
    return CryptContext(
        schemes=schemes,
        deprecated=["auto"],
        **{f"{default}__default_rounds": rounds, f"{default}__min_rounds": rounds},
    )


class SecretHasher:
    """Hashes and verifies client secrets with the configured schemes.

    A generated secret carries 256 random bits, so guessing it is hopeless
    whatever the hash costs; a low cost keeps authentication fast. A secret
    chosen by a caller may be guessable and gets a password-grade cost.
    """

    def __init__(self, settings: Settings) -> None:
        self._generated = _context(settings.secret_schemes, settings.generated_secret_rounds)
        self._given = _context(settings.secret_schemes, settings.given_secret_rounds)
        # Verified against when the client is unknown, so that costs the same.
        self._dummy_hash = self._generated.hash(generate_secret(""))

    def _policy(self, *, generated: bool) -> CryptContext:
        return self._generated if generated else self._given

    def hash(self, secret: str, *, generated: bool) -> str:
        return str(self._policy(generated=generated).hash(secret))

    def verify(self, secret: str, secret_hash: str) -> bool:
        """Constant-time check of a secret against a hash of any listed scheme."""
        try:
            return bool(self._generated.verify(secret, secret_hash))
        except ValueError:  # a hash no listed scheme recognises never matches
            return False

    def verify_dummy(self, secret: str) -> None:
        self.verify(secret, self._dummy_hash)

    def needs_update(self, secret_hash: str, *, generated: bool) -> bool:
        """Asked after a secret matched; a yes is followed by its upgrade."""
        due = bool(self._policy(generated=generated).needs_update(secret_hash))
        if due:
            HASH_UPGRADES.inc()
        return due
