"""The engine reports what it does: counters on /metrics, and log lines that carry their ids."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from app.observability.logging import JsonFormatter
from connectors.memory import DELIVERY_HEADER, SIGNATURE_HEADER, sign, webhook_body
from sync.engine import SyncEngine
from tests.conftest import Tenant
from tests.sync.conftest import run_until_idle, seed

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _samples(client: TestClient) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def json_log_lines() -> Iterator[io.StringIO]:
    """The engine's log output as the production formatter writes it (one JSON object a line)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("planbridge.sync")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


def _lines(stream: io.StringIO) -> list[dict[str, str]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_push_and_pull_are_counted_on_metrics_per_connection(
    client: TestClient, tenant: Tenant, sync_engine: SyncEngine
) -> None:
    seeded = seed(client, tenant, items=3)
    label = seeded.connection_id
    run_until_idle(sync_engine)
    after_push = _samples(client)
    assert _value(after_push, "planbridge_pushes_total", connection=label, outcome="created") == 3

    client.patch(
        f"/api/v1/items/{seeded.item_ids[0]}", json={"title": "Renamed"}, headers=tenant.headers
    )
    stored = seeded.tracker.all_items()
    seeded.tracker.person_sets_status(str(stored[1].id), "done")
    seeded.tracker.person_sets_status(str(stored[2].id), "in_progress")
    pulls_before = _value(after_push, "planbridge_pulls_total", connection=label, outcome="ok")
    changes_before = _value(after_push, "planbridge_pulled_changes_total", connection=label)
    sync_engine.pull_due(force_connection=uuid.UUID(label))
    run_until_idle(sync_engine)
    after_pull = _samples(client)

    assert _value(after_pull, "planbridge_pushes_total", connection=label, outcome="updated") == 1
    assert (
        _value(after_pull, "planbridge_pulls_total", connection=label, outcome="ok")
        == pulls_before + 1
    )
    # The two items a person moved (and the rename echo, depending on the pass order) were read.
    assert _value(after_pull, "planbridge_pulled_changes_total", connection=label) >= (
        changes_before + 2
    )


def test_failing_push_logs_its_connection_and_item_and_counts_the_error(
    client: TestClient,
    tenant: Tenant,
    sync_engine: SyncEngine,
    json_log_lines: io.StringIO,
) -> None:
    seeded = seed(client, tenant, items=1)
    sync_engine.pull_due()  # the first pass, so that the fault below meets the create
    seeded.tracker.inject_fault("server_error", count=1)
    assert sync_engine.step().pushes["failed"] == 1

    failing = [line for line in _lines(json_log_lines) if "failing" in line["message"]]
    assert len(failing) == 1
    assert failing[0]["connection_id"] == seeded.connection_id
    assert failing[0]["item_id"] == seeded.item_ids[0]
    assert failing[0]["level"] == "warning"
    samples = _samples(client)
    label = seeded.connection_id
    assert _value(samples, "planbridge_pushes_total", connection=label, outcome="failed") == 1
    assert _value(samples, "planbridge_sync_errors_total", connection=label, kind="transient") == 1


def test_auth_failure_pauses_with_a_log_line_bound_to_the_connection(
    client: TestClient,
    tenant: Tenant,
    sync_engine: SyncEngine,
    json_log_lines: io.StringIO,
) -> None:
    seeded = seed(client, tenant, items=1)
    seeded.tracker.inject_fault("auth", count=-1)
    sync_engine.pull_due(force_connection=uuid.UUID(seeded.connection_id))

    paused = [line for line in _lines(json_log_lines) if "paused" in line["message"]]
    assert [line["connection_id"] for line in paused] == [seeded.connection_id]
    samples = _samples(client)
    label = seeded.connection_id
    assert _value(samples, "planbridge_pulls_total", connection=label, outcome="auth_failed") == 1
    assert (
        _value(samples, "planbridge_sync_errors_total", connection=label, kind="auth_failed") == 1
    )


def test_webhook_deliveries_are_counted_as_accepted_duplicate_and_rejected(
    client: TestClient, tenant: Tenant, sync_engine: SyncEngine
) -> None:
    seeded = seed(client, tenant, items=1)
    run_until_idle(sync_engine)
    changed = seeded.tracker.person_sets_status(str(seeded.tracker.all_items()[0].id), "done")
    assert changed is not None
    label = seeded.connection_id
    before = _samples(client)
    body = webhook_body(changed)
    headers = {SIGNATURE_HEADER: sign(seeded.webhook_secret, body), DELIVERY_HEADER: "d-1"}
    url = f"/webhooks/{label}"
    assert client.post(url, content=body, headers=headers).status_code == 202
    assert client.post(url, content=body, headers=headers).status_code == 202
    forged = {**headers, SIGNATURE_HEADER: sign("not the secret", body)}
    assert client.post(url, content=body, headers=forged).status_code == 401
    after = _samples(client)

    def grew(outcome: str) -> float:
        name = "planbridge_webhook_deliveries_total"
        return _value(after, name, connection=label, outcome=outcome) - _value(
            before, name, connection=label, outcome=outcome
        )

    assert (grew("accepted"), grew("duplicate"), grew("rejected")) == (1, 1, 1)
