"""The built-in ``memory`` tracker behind the contract suite's TrackerHarness (tests/contract/).

The memory connector has no HTTP: its store raises the faults the harness switches on
(``MemoryTracker.inject_fault``), with the connector's own errors for them. The suite's transport
faults map onto the store's: a dropped connection is the store's ``down``. It has no write limits
and no search index, so nothing waits on the clock. What it lacks, declared in ``lacks``: outbound
HTTP (the two tests of connectors/outbound.py skip). The ``latency`` fault, which no contract test
injects, is not one of the store's (the connector's ``latency_seconds`` delays every call instead).
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import SecretStr

from connectors.base import RemoteRef, RemoteStatus
from connectors.memory import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    MemoryConfig,
    MemoryConnector,
    sign,
    webhook_body,
)
from connectors.memory_store import MemoryTracker

SCOPE = "contract"
WEBHOOK_SECRET = "memory-contract-secret"
# The suite's fault names -> the store's; the ones that are not here are the same in both.
STORE_FAULTS = {"drop_connection": "down"}


class MemoryHarness:
    name = "memory"
    # Capabilities the suite skips for this tracker (tests/contract/harness.py skip_if_lacking).
    lacks = {
        "outbound_http": "the memory tracker lives in this process: the connector sends no HTTP "
        "request, so there is no address for the outbound guard to refuse or allow",
    }

    def __init__(self) -> None:
        # A fresh shared in-memory store per harness: nothing leaks between tests.
        self.base_url = f"memory://contract-{uuid.uuid4().hex}"
        self.tracker = MemoryTracker(self.base_url.removeprefix("memory://"))

    def connector(self, **overrides: Any) -> MemoryConnector:
        values: dict[str, Any] = {
            "base_url": self.base_url,
            "scope": SCOPE,
            "webhook_secret": WEBHOOK_SECRET,
        }
        values.update(overrides)
        return MemoryConnector(MemoryConfig.model_validate(values))

    def connector_with_bad_credentials(self) -> MemoryConnector:
        return self.connector(token=SecretStr("refused"))

    def person_sets_status(self, ref: RemoteRef, status: RemoteStatus) -> None:
        self.tracker.person_sets_status(ref.external_id, status.value)

    def person_edits_title(self, ref: RemoteRef, title: str) -> None:
        self.tracker.person_edits_title(ref.external_id, title)

    def inject_fault(self, fault: str, count: int = 1, **options: Any) -> None:
        self.tracker.inject_fault(STORE_FAULTS.get(fault, fault), count, **options)

    def object_count(self) -> int:
        return sum(1 for stored in self.tracker.all_items(SCOPE) if stored.item_id)

    def signed_webhook_for(self, ref: RemoteRef) -> tuple[dict[str, str], bytes]:
        stored = self.tracker.get(int(ref.external_id))
        assert stored is not None, f"no memory item {ref.external_id}"
        body = webhook_body(stored)
        headers = {
            SIGNATURE_HEADER: sign(WEBHOOK_SECRET, body),
            DELIVERY_HEADER: f"{stored.id}:{stored.version}",
        }
        return headers, body

    def advance_clock(self, seconds: float) -> None:
        self.tracker.advance_clock(seconds)

    def close(self) -> None:
        self.tracker.clear_faults()
