"""Who signed a webhook delivery: per-connection verifiers, cached, for the receiving side.

The signature is checked by the connector in constant time against the current webhook secret and,
during a rotation's grace period, the previous one, through a per-process cache of verifiers (no
connector built, no secret decrypted per delivery); a delivery that fails is answered 401 and
nothing is stored.

Secrets changed by another process: each verifier remembers the connection's ``updated_at`` (every
edit of a connection sets it, a rotation included), and the inbox store only stores a delivery
whose verifier's version is still the connection's (app/services/inbox_store.py, one read per
batch, not per delivery). A delivery verified by an out-of-date verifier is not stored: the route
reloads the verifier and checks the signature again. So a revoked secret (a rotation with no grace)
stops verifying in every API process as soon as the rotation commits, without a cache window and
without a database read per delivery; the cache's TTL only bounds memory, never correctness.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
import weakref
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.models import Connection
from app.services.connections import connector_settings, webhook_secrets
from app.settings import Settings
from connectors.base import Connector, Invalid
from connectors.registry import build_connector

log = logging.getLogger("planbridge.webhooks")

# The longest delivery id stored (the column's length).
DELIVERY_ID_LENGTH = 200


class DeliveryVerifier:
    """What receiving a delivery needs of its connection, loaded once and kept for a few seconds.

    One connector per valid secret is built when the connection is loaded, not per delivery:
    building one decrypts the credentials and validates the config (milliseconds), while checking
    an HMAC takes microseconds. ``verify_webhook`` and ``webhook_delivery_id`` use no HTTP session,
    so the connectors are shared by the threads that receive deliveries. ``version`` is the
    connection's ``updated_at`` when it was loaded: storing checks it (see the module docstring).
    """

    def __init__(self, settings: Settings, connection: Connection, now: datetime) -> None:
        self.connection_id = connection.id
        self.workspace_id = connection.workspace_id
        self.version = connection.updated_at
        self.loaded_at = time.monotonic()
        # The previous secret verifies only until its grace ends, even while this is cached.
        previous_until = connection.previous_webhook_secret_until
        self._signers: list[tuple[Connector, datetime | None]] = []
        for index, secret in enumerate(webhook_secrets(settings, connection, now)):
            values = connector_settings(settings, connection, webhook_secret=secret)
            self._signers.append(
                (build_connector(connection.kind, values), previous_until if index else None)
            )
        self._reader = build_connector(connection.kind, connector_settings(settings, connection))

    def verify(self, headers: Mapping[str, str], body: bytes, now: datetime) -> bool:
        """True when the body is signed with the current (or, in its grace, the previous) secret."""
        return any(
            (until is None or until > now) and connector.verify_webhook(headers, body)
            for connector, until in self._signers
        )

    def delivery_id(self, headers: Mapping[str, str], body: bytes) -> str:
        """The connector's delivery id; ``Invalid`` when the body cannot be named at all.

        Any other error is a connector's bug, which must not lose a signed delivery nor answer
        500: the delivery is stored under a hash of its body, and processing records what fails.
        """
        try:
            return self._reader.webhook_delivery_id(headers, body)[:DELIVERY_ID_LENGTH]
        except Invalid:
            raise
        except Exception:
            log.exception("connection %s: no delivery id for a signed delivery", self.connection_id)
            return "sha256:" + hashlib.sha256(body).hexdigest()

    def close(self) -> None:
        for connector, _until in self._signers:
            connector.close()
        self._reader.close()


class VerifierCache:
    """Per-process cache of ``DeliveryVerifier`` by connection id, each kept ``ttl_seconds``.

    An edit of a connection through this process (a rotated secret, new credentials, a delete)
    drops its entry at once (``forget_changed_connection``); another process's edit is caught when
    the delivery is stored (the version check) and by the TTL. A delivery that fails verification
    against an entry older than a second reloads it once, so a secret rotated elsewhere verifies at
    once, without a forged flood reaching the database more than once a second per connection.
    """

    def __init__(self, settings: Settings, engine: Engine, ttl_seconds: float = 5.0) -> None:
        self.settings = settings
        self.engine = engine
        self.ttl_seconds = ttl_seconds
        self._entries: dict[uuid.UUID, DeliveryVerifier] = {}
        self._lock = threading.Lock()
        _CACHES.add(self)

    def cached(self, connection_id: uuid.UUID) -> DeliveryVerifier | None:
        """The fresh entry, or None when it must be loaded (no database access here)."""
        found = self._entries.get(connection_id)
        if found is None or time.monotonic() - found.loaded_at > self.ttl_seconds:
            return None
        return found

    def load(self, connection_id: uuid.UUID, now: datetime) -> DeliveryVerifier | None:
        """Read the connection and cache its verifier; None when there is no such connection."""
        with Session(self.engine, expire_on_commit=False) as session:
            connection = session.get(Connection, connection_id)
        if connection is None:
            self.invalidate(connection_id)
            return None
        verifier = DeliveryVerifier(self.settings, connection, now)
        with self._lock:
            stale = self._entries.get(connection_id)
            self._entries[connection_id] = verifier
        if stale is not None:
            stale.close()
        return verifier

    def invalidate(self, connection_id: uuid.UUID) -> None:
        with self._lock:
            stale = self._entries.pop(connection_id, None)
        if stale is not None:
            stale.close()

    def verify(
        self, connection_id: uuid.UUID, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> DeliveryVerifier | bool | None:
        """The verifier when the delivery is signed, False when not, None: no such connection."""
        verifier = self.cached(connection_id) or self.load(connection_id, now)
        if verifier is None:
            return None
        if verifier.verify(headers, body, now):
            return verifier
        if time.monotonic() - verifier.loaded_at > 1.0:
            reloaded = self.load(connection_id, now)
            if reloaded is None:
                return None
            return reloaded if reloaded.verify(headers, body, now) else False
        return False

    def reverify(
        self, connection_id: uuid.UUID, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> DeliveryVerifier | bool | None:
        """Like ``verify`` against a freshly loaded verifier (the cached one was out of date)."""
        verifier = self.load(connection_id, now)
        if verifier is None:
            return None
        return verifier if verifier.verify(headers, body, now) else False


_CACHES: weakref.WeakSet[VerifierCache] = weakref.WeakSet()


def forget_changed_connection(_mapper: object, _connection: object, target: Connection) -> None:
    """After an ORM update or delete of a connection (a hook of ``app.session_hooks``): the
    receivers of this process drop its verifier, so a rotated secret counts at once."""
    for cache in list(_CACHES):
        cache.invalidate(target.id)
