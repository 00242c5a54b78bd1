"""Hash and verify time of each secret-hashing setting, side by side.

Run: python bench/hashing.py
"""

import secrets
import statistics
import time

from passlib.context import CryptContext

from client_registry.secrets import SecretHasher
from client_registry.settings import Settings

SECRET = "crs_" + secrets.token_urlsafe(32)
CASES = [
    ("pbkdf2_sha256", 10, "generated secrets (default)"),
    ("pbkdf2_sha256", 1_000, ""),
    ("pbkdf2_sha256", 29_000, "passlib's own default"),
    ("pbkdf2_sha256", 600_000, "given secrets (default)"),
    ("sha512_crypt", 5_000, "legacy, verified and upgraded"),
    ("sha256_crypt", 5_000, "legacy, verified and upgraded"),
]


def _median_seconds(action: object, budget: float = 1.0) -> float:
    runs: list[float] = []
    deadline = time.perf_counter() + budget
    while len(runs) < 3 or (time.perf_counter() < deadline and len(runs) < 2000):
        start = time.perf_counter()
        action()  # type: ignore[operator]
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def main() -> None:
    print(f"{'scheme':<15}{'rounds':>9}{'hash':>12}{'verify':>12}  note")
    for scheme, rounds, note in CASES:
        context = CryptContext(schemes=[scheme], **{f"{scheme}__default_rounds": rounds})
        stored = context.hash(SECRET)
        hash_s = _median_seconds(lambda c=context: c.hash(SECRET))
        verify_s = _median_seconds(lambda c=context, h=stored: c.verify(SECRET, h))
        print(f"{scheme:<15}{rounds:>9}{hash_s * 1e3:>10.3f}ms{verify_s * 1e3:>10.3f}ms  {note}")
    hasher = SecretHasher(Settings())
    stored = hasher.hash(SECRET, generated=True)
    # The right secret once, so its match is remembered, as in service.
    assert hasher.verify(SECRET, stored, generated=True)
    right = _median_seconds(lambda: hasher.verify(SECRET, stored, generated=True))
    wrong = _median_seconds(lambda: hasher.verify("crs_" + "x" * 43, stored, generated=True))
    unknown = _median_seconds(lambda: hasher.verify_dummy(SECRET))
    print(
        f"\nright secret {right * 1e6:.1f}us (remembered), wrong secret {wrong * 1e6:.1f}us,"
        f" unknown client {unknown * 1e6:.1f}us, ratio {unknown / wrong:.2f}"
    )


if __name__ == "__main__":
    main()
