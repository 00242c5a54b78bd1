"""What the app builds at start-up and every request may use."""

from dataclasses import dataclass

from client_registry.database import Database
from client_registry.secrets import SecretHasher
from client_registry.service import Clock
from client_registry.settings import Settings


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    database: Database
    hasher: SecretHasher
    clock: Clock
