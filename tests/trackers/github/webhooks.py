"""Signed GitHub webhook deliveries, sent from a background thread (GitHub sends asynchronously).

Headers as GitHub writes them: X-GitHub-Event, X-GitHub-Delivery (a GUID), X-Hub-Signature-256
("sha256=" + HMAC-SHA256 hex of the raw body), the legacy X-Hub-Signature (sha1), and the Hookshot
user agent (docs.github.com "Webhook events and payloads", "Validating webhook deliveries").
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
    event: str
    action: str | None
    issue_number: int | None
    headers: dict[str, str]
    body: bytes


def sign(secret: str, body: bytes) -> tuple[str, str]:
    """The X-Hub-Signature-256 and X-Hub-Signature values GitHub sends for ``body``."""
    key = secret.encode()
    sha256 = hmac.new(key, body, hashlib.sha256).hexdigest()
    sha1 = hmac.new(key, body, hashlib.sha1).hexdigest()
    return f"sha256={sha256}", f"sha1={sha1}"


def build_delivery(event: str, payload: dict[str, Any], secret: str, hook_id: int) -> Delivery:
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/emulator",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-GitHub-Hook-ID": str(hook_id),
    }
    if secret:
        headers["X-Hub-Signature-256"], headers["X-Hub-Signature"] = sign(secret, body)
    issue = payload.get("issue") or {}
    return Delivery(event, payload.get("action"), issue.get("number"), headers, body)


@dataclass
class WebhookSender:
    """Keeps every delivery (tests read them) and POSTs them in order when a URL is configured."""

    url: str | None = None
    timeout_seconds: float = 10.0  # GitHub gives up on a receiver after 10 s
    deliveries: list[Delivery] = field(default_factory=list)
    responses: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._queue: queue.Queue[Delivery | None] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def send(self, delivery: Delivery) -> None:
        with self._lock:
            self.deliveries.append(delivery)
            if self.url is None:
                return
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, daemon=True)
                self._thread.start()
        self._queue.put(delivery)

    def flush(self) -> None:
        """Wait until every queued delivery has been attempted."""
        self._queue.join()

    def latest_for(self, issue_number: int) -> Delivery | None:
        with self._lock:
            for delivery in reversed(self.deliveries):
                if delivery.issue_number == issue_number:
                    return delivery
        return None

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=5)

    def _run(self) -> None:
        with httpx.Client(timeout=self.timeout_seconds) as client:
            while True:
                delivery = self._queue.get()
                try:
                    if delivery is None:
                        return
                    if self.url is not None:
                        self._post(client, self.url, delivery)
                finally:
                    self._queue.task_done()

    def _post(self, client: httpx.Client, url: str, delivery: Delivery) -> None:
        # GitHub does not redeliver on failure; a failed delivery is only recorded.
        try:
            response = client.post(url, content=delivery.body, headers=delivery.headers)
            self.responses.append(response.status_code)
        except httpx.HTTPError:
            self.responses.append(0)
