"""How outbound notifications are signed, and the reference check a receiver makes.

Each request carries

    X-Planbridge-Event: item.status_changed
    X-Planbridge-Delivery: <event id>
    X-Planbridge-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>]

where each ``v1`` is HMAC-SHA256(secret, f"{t}.{raw body}"). During a secret rotation's grace period
the header holds one ``v1`` per valid secret (new first); a receiver accepts the request when any of
them matches its secret (``verify_signature`` is the reference check) and should refuse a ``t``
older than five minutes.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import datetime

from app.crypto import decrypt_text
from app.models.execution import Subscription
from app.settings import Settings

SIGNATURE_HEADER = "X-Planbridge-Signature"
EVENT_HEADER = "X-Planbridge-Event"
DELIVERY_HEADER = "X-Planbridge-Delivery"
SIGNATURE_TOLERANCE_SECONDS = 300


def signing_secrets(subscription: Subscription, settings: Settings, now: datetime) -> list[str]:
    """The subscription's secret, and the previous one while its grace period lasts."""
    keys = [decrypt_text(settings, subscription.secret_encrypted)]
    until = subscription.previous_secret_until
    if subscription.previous_secret_encrypted and until is not None and until > now:
        keys.append(decrypt_text(settings, subscription.previous_secret_encrypted))
    return keys


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(keys: list[str], timestamp: int, body: bytes) -> str:
    return ",".join([f"t={timestamp}", *(f"v1={_mac(key, timestamp, body)}" for key in keys)])


def verify_signature(header: str, body: bytes, secret: str, *, now: float | None = None) -> bool:
    """What a receiver does: recompute the HMAC, compare in constant time, refuse old timestamps."""
    parts = [part.split("=", 1) for part in header.split(",") if "=" in part]
    stamps = [value for key, value in parts if key == "t"]
    if len(stamps) != 1 or not stamps[0].isdigit():
        return False
    timestamp = int(stamps[0])
    if abs((now if now is not None else time.time()) - timestamp) > SIGNATURE_TOLERANCE_SECONDS:
        return False
    expected = _mac(secret, timestamp, body)
    return any(hmac.compare_digest(expected, value) for key, value in parts if key == "v1")
