"""Signed Jira admin-webhook deliveries, POSTed from a background thread as Jira sends them.

Headers as Jira Cloud writes them for a webhook with a secret: ``X-Hub-Signature: sha256=<hex>`` of
the raw body, ``X-Atlassian-Webhook-Identifier`` naming the delivery (kept on retries).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass(frozen=True)
class Delivery:
    url: str | None
    headers: dict[str, str]
    body: bytes


def build_delivery(payload: dict[str, Any], secret: str | None, url: str | None = None) -> Delivery:
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Atlassian Webhook HTTP Client",
        "X-Atlassian-Webhook-Identifier": str(uuid.uuid4()),
    }
    if secret:
        digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        headers["X-Hub-Signature"] = f"sha256={digest}"
    return Delivery(url, headers, body)


@dataclass
class WebhookSender:
    """Keeps every delivery (tests read them) and POSTs them in order to their URLs."""

    timeout_seconds: float = 10.0
    deliveries: list[Delivery] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._queue: queue.Queue[Delivery | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def send(self, delivery: Delivery) -> None:
        self.deliveries.append(delivery)
        if delivery.url is None:
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        self._queue.put(delivery)

    def _run(self) -> None:
        with httpx.Client(timeout=self.timeout_seconds) as client:
            while (delivery := self._queue.get()) is not None:
                try:
                    client.post(delivery.url or "", content=delivery.body, headers=delivery.headers)
                except httpx.HTTPError:
                    pass  # Jira retries later; the emulator only records the attempt
                finally:
                    self._queue.task_done()

    def flush(self) -> None:
        """Wait until every queued delivery was attempted."""
        self._queue.join()

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=5)
