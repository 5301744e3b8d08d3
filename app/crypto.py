"""Encryption at rest of tracker credentials and webhook secrets (Fernet).

The Fernet key is derived (HKDF-SHA256) from ``PLANBRIDGE_SECRET_KEY``, so any string of at least 16
characters works and rotating that setting makes old ciphertexts unreadable (re-enter credentials).

Embedded SQLite without a secret key: a random key is generated on first use and kept in a file
beside the database, ``<database file>.secret-key``, created with permissions 0600. Back it up
together with the database; losing it means re-entering the tracker credentials. PostgreSQL
deployments must set the key (the settings refuse to start otherwise), because several processes
on several hosts must share it.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.observability.logging import register_secret
from app.settings import Settings

KEY_FILE_SUFFIX = ".secret-key"


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted with the current key (the key changed or was lost)."""


def _derive_fernet_key(secret: str) -> bytes:
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"planbridge", info=b"credentials-v1"
    ).derive(secret.encode())
    return base64.urlsafe_b64encode(derived)


def sqlite_database_path(database_url: str) -> Path | None:
    """The file of a ``sqlite:///path`` URL, or None for an in-memory database."""
    path = database_url.split("///", 1)[1] if "///" in database_url else ""
    path = path.split("?", 1)[0]
    if not path or path == ":memory:":
        return None
    return Path(path)


def _key_file_secret(database_url: str) -> str:
    database_path = sqlite_database_path(database_url)
    if database_path is None:
        # An in-memory database dies with the process; so may its key.
        return secrets.token_urlsafe(32)
    key_path = database_path.with_name(database_path.name + KEY_FILE_SUFFIX)
    if key_path.exists():
        return key_path.read_text().strip()
    key_path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(32)
    # O_EXCL: two processes starting together must not each write their own key.
    try:
        descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return key_path.read_text().strip()
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secret + "\n")
    return secret


_fernet_cache: dict[tuple[str, str | None], Fernet] = {}


def fernet_for(settings: Settings) -> Fernet:
    configured = settings.secret_key.get_secret_value() if settings.secret_key else None
    cache_key = (settings.database_url, configured)
    if cache_key not in _fernet_cache:
        secret = configured if configured is not None else _key_file_secret(settings.database_url)
        _fernet_cache[cache_key] = Fernet(_derive_fernet_key(secret))
    return _fernet_cache[cache_key]


def encrypt_text(settings: Settings, plaintext: str) -> str:
    return fernet_for(settings).encrypt(plaintext.encode()).decode()


def decrypt_text(settings: Settings, token: str) -> str:
    """The stored secret in clear; from now on the log formatter scrubs that exact value."""
    try:
        plaintext = fernet_for(settings).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable(
            "a stored secret cannot be decrypted: PLANBRIDGE_SECRET_KEY changed "
            "or the key file was lost"
        ) from exc
    register_secret(plaintext)
    return plaintext


def encrypt_json(settings: Settings, values: dict[str, Any]) -> str:
    return encrypt_text(settings, json.dumps(values, sort_keys=True))


def decrypt_json(settings: Settings, token: str) -> dict[str, Any]:
    if not token:
        return {}
    loaded: dict[str, Any] = json.loads(decrypt_text(settings, token))
    for value in loaded.values():
        if isinstance(value, str):
            register_secret(value)
    return loaded
