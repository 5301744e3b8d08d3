"""Trello webhooks in the emulator: the HEAD check on registration and signed POST deliveries.

Trello signs ``body + callbackURL`` with HMAC-SHA1 under the app secret of the key that owns the
webhook's token, base64-encoded in ``X-Trello-Webhook``
(https://developer.atlassian.com/cloud/trello/guides/rest-api/webhooks/).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import queue
import threading
from typing import Any

import httpx

from tests.trackers.trello.store import TrelloError, TrelloStore


def sign(secret: str, body: bytes, callback_url: str) -> str:
    digest = hmac.new(secret.encode(), body + callback_url.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def render_webhook(webhook: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in webhook.items() if not key.startswith("_")}


class WebhookDeliverer:
    """Registers webhooks and posts every new board action to them from a background thread."""

    def __init__(self, store: TrelloStore) -> None:
        self.store = store
        self.delivered: list[dict[str, Any]] = []  # {"webhook", "action_id", "status"}
        self._queue: queue.Queue[tuple[dict[str, Any], dict[str, Any]] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        store.listeners.append(self._on_action)

    async def register(self, token: str, fields: dict[str, Any]) -> dict[str, Any]:
        callback_url = str(fields.get("callbackURL") or "")
        id_model = str(fields.get("idModel") or "")
        if not callback_url.startswith(("http://", "https://")):
            raise TrelloError(400, "invalid value for callbackURL")
        with self.store.lock:
            if id_model not in self.store.boards and id_model not in self.store.cards:
                raise TrelloError(400, "invalid value for idModel")
            for existing in self.store.webhooks.values():
                same = (existing["callbackURL"], existing["idModel"], existing["_token"])
                if same == (callback_url, id_model, token):
                    raise TrelloError(
                        400, "A webhook with that callback, model, and token already exists"
                    )
        # Trello creates the webhook only if a HEAD to the callback URL answers 200.
        try:
            async with httpx.AsyncClient(timeout=5) as client:
                answer = await client.head(callback_url)
            status = answer.status_code
        except httpx.HTTPError:
            status = 0
        if status != 200:
            raise TrelloError(
                400,
                f"URL ({callback_url}) did not return 200 status code, got {status or 'no answer'}",
            )
        return self.add(token, callback_url, id_model, str(fields.get("description") or ""))

    def add(self, token: str, callback_url: str, id_model: str, description: str) -> dict[str, Any]:
        with self.store.lock:
            webhook = {
                "id": self.store.new_id(),
                "description": description,
                "idModel": id_model,
                "callbackURL": callback_url,
                "active": True,
                "consecutiveFailures": 0,
                "firstConsecutiveFailDate": None,
                "_token": token,
            }
            self.store.webhooks[webhook["id"]] = webhook
            return render_webhook(webhook)

    def signed_delivery(
        self, webhook: dict[str, Any], action: dict[str, Any]
    ) -> tuple[dict[str, str], bytes]:
        """The headers and body Trello would POST for ``action`` to ``webhook``."""
        with self.store.lock:
            model = self.store.boards.get(webhook["idModel"]) or self.store.cards.get(
                webhook["idModel"]
            )
            payload = {
                "action": action,
                "model": {k: v for k, v in (model or {}).items() if k != "nextIdShort"},
                "webhook": render_webhook(webhook),
            }
            api_key, _ = self.store.tokens[webhook["_token"]]
            secret = self.store.keys[api_key]
        body = json.dumps(payload).encode()
        signature = sign(secret, body, webhook["callbackURL"])
        headers = {"Content-Type": "application/json", "X-Trello-Webhook": signature}
        return headers, body

    def _on_action(self, action: dict[str, Any]) -> None:
        card = action["data"].get("card") or {}
        models = {action["data"]["board"]["id"], card.get("id")}
        for webhook in list(self.store.webhooks.values()):
            if webhook["active"] and webhook["idModel"] in models:
                self._queue.put((webhook, action))

    def _run(self) -> None:
        with httpx.Client(timeout=5) as client:
            while True:
                job = self._queue.get()
                if job is None:
                    self._queue.task_done()
                    return
                webhook, action = job
                headers, body = self.signed_delivery(webhook, action)
                try:
                    status = client.post(
                        webhook["callbackURL"], content=body, headers=headers
                    ).status_code
                except httpx.HTTPError:
                    status = 0
                with self.store.lock:
                    if 200 <= status < 300:
                        webhook["consecutiveFailures"] = 0
                        webhook["firstConsecutiveFailDate"] = None
                    else:
                        webhook["consecutiveFailures"] += 1
                        webhook["firstConsecutiveFailDate"] = (
                            webhook["firstConsecutiveFailDate"] or self.store.now()
                        )
                    self.delivered.append(
                        {"webhook": webhook["id"], "action_id": action["id"], "status": status}
                    )
                self._queue.task_done()

    def wait_for_deliveries(self) -> None:
        """Block until every queued delivery has been attempted."""
        self._queue.join()

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=5)
