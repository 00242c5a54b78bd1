"""Client secrets: generation, hashing policy and verification (passlib)."""

import asyncio
import hashlib
import hmac
import os
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Literal, TypeVar

from passlib.context import CryptContext

from client_registry.settings import Settings

T = TypeVar("T")
HashKind = Literal["generated", "chosen"]
# Password-grade hashes run on these threads, never on the event loop; one
# core is left to the loop, so a flood of them cannot starve other requests.
SLOW_HASH_THREADS = max(1, (os.cpu_count() or 2) - 1)
# Hashes known to be current, and generated secrets' hashes known to match,
# remembered up to this many (a hundred bytes each), then forgotten all at once.
CURRENT_HASHES = 10_000


def generate_secret(prefix: str) -> str:
    # 32 random bytes: 256 bits of entropy behind a recognisable prefix.
    return prefix + secrets.token_urlsafe(32)


# django-oauth-toolkit's hashes (`pbkdf2_sha256$iterations$salt$hash`), so
# clients moved from it keep their secrets; never the default, so a verified
# one is upgraded to the configured scheme.
DJANGO_SCHEME = "django_pbkdf2_sha256"


def _context(schemes: list[str], rounds: int) -> CryptContext:
    # Every listed scheme verifies; all but the first are deprecated, so their
    # hashes, and hashes cheaper than `rounds`, ask to be upgraded.
    default = schemes[0]
    return CryptContext(
        schemes=[*schemes, *([DJANGO_SCHEME] if DJANGO_SCHEME not in schemes else [])],
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
        self._default_scheme = settings.secret_schemes[0]
        self._rounds = (settings.generated_secret_rounds, settings.given_secret_rounds)
        self._given = _context(settings.secret_schemes, settings.given_secret_rounds)
        # Verified against when the client is unknown, so that costs the same.
        self._dummy_hash = self._generated.hash(generate_secret(""))
        self._slow = ThreadPoolExecutor(SLOW_HASH_THREADS, thread_name_prefix="hash")
        self._current: set[tuple[str, bool]] = set()
        self._matched: dict[str, bytes] = {}
        self._matched_key = secrets.token_bytes(32)

    async def offload(self, work: Callable[..., T], *args: object) -> T:
        """Run slow hashing work on the hashing threads."""
        return await asyncio.get_running_loop().run_in_executor(self._slow, work, *args)

    async def hash_off_loop(self, secret: str, *, generated: bool) -> str:
        """A generated secret's cheap hash at once; a given secret's
        password-grade hash on the hashing threads."""
        if generated:
            return self.hash(secret, generated=True)
        return await self.offload(self._given.hash, secret)

    def close(self) -> None:
        self._slow.shutdown(wait=False, cancel_futures=True)

    def _policy(self, *, generated: bool) -> CryptContext:
        return self._generated if generated else self._given

    def hash(self, secret: str, *, generated: bool) -> str:
        return str(self._policy(generated=generated).hash(secret))

    def verify(self, secret: str, secret_hash: str, *, generated: bool = False) -> bool:
        """Constant-time check of a secret against a hash of any listed scheme.

        A generated secret that matched is remembered by its hash, as a
        keyed BLAKE2b digest (a MAC) under a key of this process, so its next
        check costs one digest, not the hash: a fact about two strings that
        no change makes stale.
        A chosen secret is never remembered: a fast digest of a guessable
        secret is what its slow hash exists to avoid."""
        keyed = self._keyed(secret) if generated else b""
        matched = self._matched.get(secret_hash) if generated else None
        if matched is not None and hmac.compare_digest(matched, keyed):
            return True
        try:
            passed = bool(self._generated.verify(secret, secret_hash))
        except ValueError:  # a hash no listed scheme recognises never matches
            return False
        if passed and generated:
            if len(self._matched) >= CURRENT_HASHES:
                self._matched.clear()
            self._matched[secret_hash] = keyed
        return passed

    def _keyed(self, secret: str) -> bytes:
        return hashlib.blake2b(secret.encode(), key=self._matched_key, digest_size=32).digest()

    def hash_kind(self, secret_hash: str) -> HashKind | None:
        """Whether a stored hash is well-formed in a scheme that verifies, and
        whose secret it is: parsed, not computed, so it costs microseconds.

        "generated" is what this registry makes of a generated secret: the
        default scheme at a cost enough for one and too low for a chosen one.
        Any other hash counts as a chosen secret's, upgraded to the password
        grade at its first success."""
        scheme = self._generated.identify(secret_hash)
        if scheme is None:
            return None
        try:
            parsed = self._generated.handler(scheme).from_string(secret_hash)
        except ValueError:
            return None
        if getattr(parsed, "checksum", None) is None:
            return None
        rounds = getattr(parsed, "rounds", None)
        low, high = self._rounds
        if scheme == self._default_scheme and rounds is not None and low <= rounds < high:
            return "generated"
        return "chosen"

    def verify_dummy(self, secret: str) -> None:
        # As a generated secret's check, digest included: a wrong secret for a
        # known client, remembered or not, and an unknown client cost alike.
        self.verify(secret, self._dummy_hash, generated=True)

    def needs_update(self, secret_hash: str, *, generated: bool) -> bool:
        """Asked after a secret matched; a yes is followed by its upgrade.

        A no is remembered: it depends on the hash and the policy alone, and
        passlib parses the hash anew each time it is asked, half as much
        again as verifying a generated secret costs."""
        if (secret_hash, generated) in self._current:
            return False
        due = bool(self._policy(generated=generated).needs_update(secret_hash))
        if not due:
            if len(self._current) >= CURRENT_HASHES:
                self._current.clear()
            self._current.add((secret_hash, generated))
        return due
