"""What every engine step needs: database, settings, clock, this worker's id, and built
connectors."""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.engine import Engine

from app.models import Connection
from app.services.connections import connector_settings
from app.session_hooks import install_session_hooks
from app.settings import Settings
from connectors.base import Connector, RequestPacedConnector
from connectors.registry import build_connector
from sync.clock import Clock, SystemClock
from sync.connection_slots import ConnectionSlots
from sync.pacing import PacingGate, SharedRequestPacer
from sync.retry import DEFAULT_POLICY, RetryPolicy

log = logging.getLogger("planbridge.sync")


@dataclass
class EngineContext:
    engine: Engine
    settings: Settings
    worker_id: str = field(default_factory=lambda: f"worker-{uuid.uuid4().hex[:8]}")
    clock: Clock = field(default_factory=SystemClock)
    retry_policy: RetryPolicy = DEFAULT_POLICY
    pacing: PacingGate = field(default_factory=PacingGate)
    # Shared by the threads of one worker process: the per-connection cap on tracker calls.
    slots: ConnectionSlots = field(default_factory=ConnectionSlots)
    # Connectors hold HTTP sessions that are not thread-safe: one cache per thread.
    _local: threading.local = field(default_factory=threading.local)

    def __post_init__(self) -> None:
        install_session_hooks()

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.settings.sync_lease_seconds)

    def connector(self, connection: Connection, scope: str | None = None) -> Connector:
        """The connector for ``connection`` (and a scope other than its default), built once per
        thread.

        The cache key holds ``updated_at``, so an edited connection (new credentials, config,
        rotated webhook secret) gets a fresh connector on its next use.
        """
        cache: dict[tuple[uuid.UUID, str | None, object], Connector]
        cache = getattr(self._local, "connectors", None) or {}
        self._local.connectors = cache
        key = (connection.id, scope or connection.scope, connection.updated_at)
        found = cache.get(key)
        if found is None:
            for stale in [
                k for k in cache if k[0] == connection.id and k[2] != connection.updated_at
            ]:
                cache.pop(stale).close()
            values = connector_settings(self.settings, connection)
            if scope:
                values["scope"] = scope
            found = build_connector(connection.kind, values)
            if isinstance(found, RequestPacedConnector):
                # Every request of the credential counts: pace them in the log all workers share.
                budget, limits = found.request_budget()
                found.use_request_pacer(
                    SharedRequestPacer(self.engine, self.clock, connection.id, budget, limits)
                )
            cache[key] = found
        return found

    def close(self) -> None:
        cache = getattr(self._local, "connectors", None) or {}
        for connector in cache.values():
            connector.close()
        cache.clear()
