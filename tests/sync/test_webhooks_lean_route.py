"""The lean webhook route: same answers as the full stack, and no window for a revoked secret."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import Session, select

from app.crypto import encrypt_text
from app.db import utcnow
from app.models import Connection, WebhookDelivery
from app.observability.metrics import REGISTRY
from app.settings import Settings
from connectors.memory import DELIVERY_HEADER, SIGNATURE_HEADER, sign
from tests.conftest import Tenant
from tests.sync.conftest import Seeded, seed

BODY = b'{"event": "ping"}'


def _post(client: TestClient, seeded: Seeded, secret: str, delivery: str) -> int:
    headers = {SIGNATURE_HEADER: sign(secret, BODY), DELIVERY_HEADER: delivery}
    return client.post(
        f"/webhooks/{seeded.connection_id}", content=BODY, headers=headers
    ).status_code


def _stored(engine) -> list[str]:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return sorted(session.exec(select(WebhookDelivery.delivery_id)).all())


def _edit_from_another_process(engine, connection_id: str, **values: object) -> None:  # type: ignore[no-untyped-def]
    """A Core UPDATE, as another API process's edit looks to this one (no ORM event here)."""
    with Session(engine) as session:
        session.execute(
            update(Connection)
            .where(Connection.id == uuid.UUID(connection_id))  # type: ignore[arg-type]
            .values(updated_at=utcnow(), **values)
            .execution_options(synchronize_session=False)
        )
        session.commit()


def test_secret_revoked_in_another_process_stops_verifying_at_once(
    client: TestClient, tenant: Tenant, engine, settings: Settings
) -> None:
    seeded = seed(client, tenant, items=0)
    assert _post(client, seeded, seeded.webhook_secret, "before") == 202  # verifier now cached
    replacement = "whsec-replacement-0123456789"
    _edit_from_another_process(
        engine,
        seeded.connection_id,
        webhook_secret_encrypted=encrypt_text(settings, replacement),
        previous_webhook_secret_encrypted=None,
        previous_webhook_secret_until=None,
    )

    assert _post(client, seeded, seeded.webhook_secret, "after-revocation") == 401
    assert _post(client, seeded, replacement, "with-replacement") == 202
    assert _stored(engine) == ["before", "with-replacement"]


def test_an_unrelated_edit_elsewhere_still_accepts_the_delivery_once(
    client: TestClient, tenant: Tenant, engine
) -> None:
    seeded = seed(client, tenant, items=0)
    assert _post(client, seeded, seeded.webhook_secret, "first") == 202
    _edit_from_another_process(engine, seeded.connection_id, name="renamed elsewhere")
    assert _post(client, seeded, seeded.webhook_secret, "second") == 202
    assert _post(client, seeded, seeded.webhook_secret, "second") == 202  # a redelivery
    assert _stored(engine) == ["first", "second"]


def test_lean_route_answers_problems_with_a_request_id_and_counts_them(
    client: TestClient, tenant: Tenant
) -> None:
    seeded = seed(client, tenant, items=0)

    def accepted_count() -> float:
        value = REGISTRY.get_sample_value(
            "planbridge_webhook_deliveries_total",
            {"connection": seeded.connection_id, "outcome": "accepted"},
        )
        return value or 0.0

    before = accepted_count()
    refused = client.post(
        f"/webhooks/{seeded.connection_id}",
        content=BODY,
        headers={SIGNATURE_HEADER: sign("wrong", BODY), "X-Request-Id": "req-123"},
    )
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["www-authenticate"] == "Bearer"
    assert refused.headers["x-request-id"] == "req-123"
    assert refused.json()["status"] == 401
    unknown = client.post(f"/webhooks/{uuid.uuid4()}", content=BODY)
    assert unknown.status_code == 404 and unknown.json()["title"] == "Not found"
    assert _post(client, seeded, seeded.webhook_secret, "counted") == 202
    assert accepted_count() == before + 1
    latency = REGISTRY.get_sample_value(
        "planbridge_http_request_duration_seconds_count",
        {"method": "POST", "route": "/webhooks/{connection_id}", "status": "202"},
    )
    assert latency is not None and latency >= 1


def test_requests_the_lean_route_does_not_take_get_the_full_stack_answers(
    client: TestClient, tenant: Tenant, engine
) -> None:
    seeded = seed(client, tenant, items=0)
    malformed = client.post("/webhooks/not-a-uuid", content=BODY)
    assert malformed.status_code == 422
    assert malformed.headers["content-type"] == "application/problem+json"

    def chunks() -> Iterator[bytes]:  # no Content-Length: a streamed body
        yield BODY[:5]
        yield BODY[5:]

    headers = {SIGNATURE_HEADER: sign(seeded.webhook_secret, BODY), DELIVERY_HEADER: "chunked"}
    streamed = client.post(f"/webhooks/{seeded.connection_id}", content=chunks(), headers=headers)
    assert streamed.status_code == 202
    assert client.get(f"/webhooks/{seeded.connection_id}").status_code == 405
    assert _stored(engine) == ["chunked"]
