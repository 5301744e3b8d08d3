"""Connection slots: how many of a worker process's threads may be in one connection's tracker.

A tracker that answers slowly (every call running into the connector's timeout) keeps the thread
that called it for that long. Without a cap, the threads of a process end up, one after the other,
all waiting on that one tracker, and every other connection's pushes, pulls and webhook deliveries
wait with them. So each connection has ``per_connection`` slots per process (default 1): a thread
takes one around the tracker calls of a push, a pull or a delivery that needs the tracker, and a
connection whose slots are all taken is left out of the engine's claims (the same ``held`` list
that already leaves out connections waiting for a write slot). Work claimed in the moment before
the slot filled up is handed back untouched, as pacing does.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager


class ConnectionSlots:
    """Per-connection counts of the threads of one process inside a connection's tracker calls."""

    def __init__(self, per_connection: int = 1) -> None:
        if per_connection < 1:
            raise ValueError("per_connection must be at least 1")
        self.per_connection = per_connection
        self._inside: dict[uuid.UUID, int] = {}
        self._lock = threading.Lock()

    def enter(self, connection_id: uuid.UUID) -> bool:
        """Take one of the connection's slots; False (nothing taken) when all are taken."""
        with self._lock:
            inside = self._inside.get(connection_id, 0)
            if inside >= self.per_connection:
                return False
            self._inside[connection_id] = inside + 1
            return True

    def leave(self, connection_id: uuid.UUID) -> None:
        with self._lock:
            inside = self._inside.get(connection_id, 0) - 1
            if inside > 0:
                self._inside[connection_id] = inside
            else:
                self._inside.pop(connection_id, None)

    @contextmanager
    def occupy(self, connection_id: uuid.UUID) -> Iterator[bool]:
        """``with slots.occupy(id) as entered:``: a slot held for the block when ``entered``."""
        entered = self.enter(connection_id)
        try:
            yield entered
        finally:
            if entered:
                self.leave(connection_id)

    def full(self) -> list[uuid.UUID]:
        """The connections whose slots are all taken: claims leave them out."""
        with self._lock:
            return [c for c, inside in self._inside.items() if inside >= self.per_connection]
