"""The inbox's group commit: deliveries arriving together share one INSERT, each stored once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.models import WebhookDelivery
from app.models.sync import RECEIVED_DELIVERY_COLUMNS
from app.services.inbox_store import InboxStore, received_delivery
from app.services.webhook_verifiers import VerifierCache
from connectors.memory import DELIVERY_HEADER, SIGNATURE_HEADER, sign
from tests.conftest import Tenant
from tests.sync.conftest import seed


def test_concurrent_deliveries_are_each_stored_once_and_a_repeat_in_the_batch_is_not_new(
    client: TestClient, tenant: Tenant, engine: Engine, settings
) -> None:
    seeded = seed(client, tenant, items=0)
    connection_id = uuid.UUID(seeded.connection_id)
    now = datetime.now(UTC)
    verifier = VerifierCache(settings, engine).load(connection_id, now)
    assert verifier is not None
    delivery_ids = [f"d-{number}" for number in range(30)] + ["d-3", "d-7"]

    async def store_all() -> list[str]:
        inbox = InboxStore(engine, max_rows=8)  # several batches, some with a repeat
        rows = [received_delivery(verifier, each, {}, b"{}", now) for each in delivery_ids]
        return await asyncio.gather(*(inbox.store(row) for row in rows))

    answers = asyncio.run(store_all())
    assert answers == ["new"] * 30 + ["duplicate", "duplicate"]
    with Session(engine) as session:
        stored = session.exec(select(WebhookDelivery.delivery_id)).all()
    assert sorted(stored) == sorted(f"d-{number}" for number in range(30))


def test_rotated_secret_verifies_at_once_through_the_cached_verifier(
    client: TestClient, tenant: Tenant
) -> None:
    seeded = seed(client, tenant, items=0)
    url = f"/webhooks/{seeded.connection_id}"
    body = b'{"event": "ping"}'

    def post(secret: str, delivery: str) -> int:
        headers = {SIGNATURE_HEADER: sign(secret, body), DELIVERY_HEADER: delivery}
        return client.post(url, content=body, headers=headers).status_code

    assert post(seeded.webhook_secret, "before") == 202  # the verifier is now cached
    rotated = client.post(
        f"/api/v1/connections/{seeded.connection_id}/webhook-secret/rotate",
        json={"grace_hours": 0},
        headers=tenant.headers,
    )
    assert rotated.status_code == 200, rotated.text
    assert post(rotated.json()["webhook_secret"], "after") == 202
    assert post(seeded.webhook_secret, "old") == 401


def test_a_stored_delivery_keeps_its_body_bytes_and_kept_headers_exactly(
    client: TestClient, tenant: Tenant, engine: Engine, settings
) -> None:
    seeded = seed(client, tenant, items=0)
    connection_id = uuid.UUID(seeded.connection_id)
    now = datetime.now(UTC)
    verifier = VerifierCache(settings, engine).load(connection_id, now)
    assert verifier is not None
    # What a text-format array would have to escape: quotes, backslashes, braces, commas, NUL,
    # bytes that are not UTF-8.
    body = b'{"a": "q\\"uote\\\\", "b": [1,2]}\x00\xff\xfe{},"\\'
    headers = {"X-GitHub-Event": 'issues "x", {y}', "Authorization": "secret", "User-Agent": "a\\b"}

    async def store() -> str:
        return await InboxStore(engine).store(
            received_delivery(verifier, "d-1", headers, body, now)
        )

    assert asyncio.run(store()) == "new"
    with Session(engine) as session:
        stored = session.exec(select(WebhookDelivery)).one()
    assert bytes(stored.body) == body
    assert stored.headers == {"x-github-event": 'issues "x", {y}', "user-agent": "a\\b"}
    assert (stored.attempts, stored.dead, stored.processed_at) == (0, False, None)


def test_every_column_a_received_delivery_leaves_out_has_a_default_or_may_be_null() -> None:
    table = WebhookDelivery.__table__  # type: ignore[attr-defined]
    left_out = [column for column in table.columns if column.name not in RECEIVED_DELIVERY_COLUMNS]
    assert left_out
    for column in left_out:
        assert column.nullable or column.default is not None, column.name
