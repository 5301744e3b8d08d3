"""/metrics: Prometheus text format, engine counters, HTTP latency, gauges read from the DB."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.db import utcnow
from app.main import create_app
from app.models import Connection, WebhookDelivery
from app.observability import metrics
from app.settings import Settings
from tests.conftest import Tenant


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample, keyed by (name, sorted labels); also proves the text parses."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def _value(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_answer_in_prometheus_text_format_without_a_token(client: TestClient) -> None:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = _samples(response.text)
    assert _value(samples, "planbridge_database_up") == 1.0


def test_engine_counters_appear_with_connection_and_outcome(client: TestClient) -> None:
    connection_id = uuid.uuid4()
    before = _samples(client.get("/metrics").text)
    metrics.record_push(connection_id, "created")
    metrics.record_push(connection_id, "created")
    metrics.record_pull(connection_id, "ok", changes=3)
    metrics.record_webhook_delivery(connection_id, "accepted")
    metrics.record_webhook_delivery(connection_id, "rejected")
    metrics.record_error(connection_id, TimeoutError("slow tracker"))
    after = _samples(client.get("/metrics").text)

    label = str(connection_id)

    def grew(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert grew("planbridge_pushes_total", connection=label, outcome="created") == 2
    assert grew("planbridge_pulls_total", connection=label, outcome="ok") == 1
    assert grew("planbridge_pulled_changes_total", connection=label) == 3
    assert grew("planbridge_webhook_deliveries_total", connection=label, outcome="accepted") == 1
    assert grew("planbridge_webhook_deliveries_total", connection=label, outcome="rejected") == 1
    assert grew("planbridge_sync_errors_total", connection=label, kind="TimeoutError") == 1


def test_request_latency_is_recorded_by_route_template_not_raw_path(
    client: TestClient, tenant: Tenant
) -> None:
    missing = uuid.uuid4()
    client.get(f"/api/v1/plans/{missing}", headers=tenant.headers)
    text = client.get("/metrics").text
    assert str(missing) not in text
    samples = _samples(text)
    count = _value(
        samples,
        "planbridge_http_request_duration_seconds_count",
        method="GET",
        route="/api/v1/plans/{plan_id}",
        status="404",
    )
    assert count >= 1


def test_sync_gauges_are_read_from_the_database(
    client: TestClient, engine: Engine, tenant: Tenant
) -> None:
    now = utcnow()
    with Session(engine) as session:
        connection = Connection(
            workspace_id=tenant.workspace_id,
            name="team repo",
            kind="github",
            base_url="https://api.github.com",
            last_pull_ok_at=now - timedelta(seconds=120),
            rate_limit_remaining=1250,
            rate_limit_limit=5000,
        )
        session.add(connection)
        session.flush()
        for number in range(3):
            session.add(
                WebhookDelivery(
                    workspace_id=tenant.workspace_id,
                    connection_id=connection.id,
                    delivery_id=f"delivery-{number}",
                    received_at=now - timedelta(seconds=30),
                    body=b"{}",
                )
            )
        session.commit()
        label = str(connection.id)

    samples = _samples(client.get("/metrics").text)
    assert 119 <= _value(samples, "planbridge_sync_lag_seconds", connection=label) < 600
    assert _value(samples, "planbridge_rate_limit_remaining", connection=label) == 1250
    assert _value(samples, "planbridge_rate_limit_headroom_ratio", connection=label) == 0.25
    assert _value(samples, "planbridge_pending_webhook_deliveries", connection=label) == 3
    assert (
        _value(samples, "planbridge_oldest_pending_webhook_delivery_seconds", connection=label)
        >= 29
    )
    assert _value(samples, "planbridge_connection_paused", connection=label) == 0


def test_metrics_still_answer_when_the_database_is_down(settings: Settings) -> None:
    unreachable = settings.model_copy(
        update={"database_url": "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"}
    )
    app = create_app(unreachable)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/metrics")
    assert response.status_code == 200
    assert _value(_samples(response.text), "planbridge_database_up") == 0.0


def test_a_metrics_token_protects_the_endpoint_when_configured(
    settings: Settings, engine: Engine
) -> None:
    protected = settings.model_copy(update={"metrics_token": SecretStr("scrape-secret-0123456789")})
    app = create_app(protected, engine)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/metrics").status_code == 401
        wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        right = client.get("/metrics", headers={"Authorization": "Bearer scrape-secret-0123456789"})
        assert right.status_code == 200
        assert "planbridge_database_up" in right.text
