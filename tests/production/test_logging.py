"""Structured logs: one JSON line per event with the ids bound, and no secret ever in the output."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from app.crypto import decrypt_json, encrypt_json
from app.observability.logging import (
    JsonFormatter,
    bind_log_context,
    redact,
    register_secret,
)
from app.settings import Settings
from sync.context import EngineContext
from sync.engine import SyncEngine
from sync.retry import NO_WAIT_POLICY
from tests.conftest import TEST_SECRET_KEY, Tenant
from tests.production.github_setup import (
    WEBHOOK_SECRET,
    create_github_connection,
    seed_plan,
    signed_issue_delivery,
)
from tests.trackers.github.harness import TOKEN as GITHUB_TOKEN
from tests.trackers.github.harness import GitHubHarness


@pytest.fixture
def captured_log() -> Iterator[io.StringIO]:
    """Everything logged, at DEBUG, through the production formatter."""
    output = io.StringIO()
    handler = logging.StreamHandler(output)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield output
    root.removeHandler(handler)
    root.setLevel(previous_level)


def _lines(output: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.getvalue().splitlines() if line.strip()]


def test_each_request_logs_one_json_line_with_its_request_id(
    client: TestClient, tenant: Tenant, captured_log: io.StringIO
) -> None:
    response = client.get(
        "/api/v1/plans", headers={**tenant.headers, "X-Request-ID": "trace-abc.123"}
    )
    assert response.headers["X-Request-ID"] == "trace-abc.123"
    generated = client.get("/api/v1/people", headers=tenant.headers).headers["X-Request-ID"]
    assert len(generated) == 32
    hostile = client.get("/api/v1/people", headers={**tenant.headers, "X-Request-ID": "a\tb" * 100})
    assert hostile.headers["X-Request-ID"] != "a\tb" * 100  # never echo a header we did not vet

    requests = [line for line in _lines(captured_log) if line["message"] == "request"]
    first = next(line for line in requests if line["request_id"] == "trace-abc.123")
    assert first["route"] == "/api/v1/plans"
    assert first["status"] == 200
    assert first["workspace_id"] == str(tenant.workspace_id)
    assert isinstance(first["duration_ms"], float)
    assert any(line["request_id"] == generated for line in requests)


def test_bound_ids_appear_on_every_line_inside_the_block(captured_log: io.StringIO) -> None:
    connection_id, item_id = uuid.uuid4(), uuid.uuid4()
    log = logging.getLogger("planbridge.sync")
    with bind_log_context(connection_id=connection_id, item_id=item_id):
        log.info("item pushed", extra={"outcome": "created"})
    log.info("after")
    inside, after = _lines(captured_log)[-2:]
    assert inside["connection_id"] == str(connection_id)
    assert inside["item_id"] == str(item_id)
    assert inside["outcome"] == "created"
    assert "connection_id" not in after


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Bearer pb_Zm9vYmFyYmF6cXV4MTIzNDU2", "pb_Zm9vYmFyYmF6cXV4MTIzNDU2"),
        ("calling with token pb_abcdefghijklmnop", "pb_abcdefghijklmnop"),
        ("header Authorization: Basic dXNlcjpodW50ZXIy", "dXNlcjpodW50ZXIy"),
        ("gh says no for ghp_16C7e42F292c6912E7710c838347Ae178B4a", "ghp_16C7e42F292c6912E7710c8"),
        ("jira ATATT3xFfGF0abcdefghijklmnopqrstuvwxyz", "ATATT3xFfGF0abcdefghij"),
        ("GET https://api.trello.com/1/boards?key=k3y0123456&token=t0k3n987654", "t0k3n987654"),
        ("GET https://api.trello.com/1/boards?key=k3y0123456&token=t0k3n987654", "k3y0123456"),
        ("connect postgresql://planbridge:hunter2hunter2@db:5432/pb", "hunter2hunter2"),
        ("""{"password": "s3cr3t-value", "name": "x"}""", "s3cr3t-value"),
        ("""{'api_token': 'abc123secret'}""", "abc123secret"),
        ("X-Hub-Signature-256: sha256=deadbeefcafe0123", "deadbeefcafe0123"),
        ("stored gAAAAABlZ2V0X3NlY3JldF9jaXBoZXJ0ZXh0X2hlcmU=", "gAAAAABlZ2V0X3NlY3JldF9"),
        ("secret_key=plain-words-here", "plain-words-here"),
    ],
)
def test_redaction_removes_secrets_in_every_shape(text: str, secret: str) -> None:
    cleaned = redact(text)
    assert secret not in cleaned
    assert "[redacted]" in cleaned


def test_redaction_keeps_ordinary_words() -> None:
    text = "The API token is unknown or revoked; item 42 pushed to roadmap"
    assert redact(text) == text


def test_secrets_in_messages_arguments_extras_and_tracebacks_never_reach_the_output(
    captured_log: io.StringIO,
) -> None:
    log = logging.getLogger("planbridge.test")
    register_secret("a-registered-credential-value")
    log.warning("retrying with %s", {"Authorization": "Bearer pb_leaked_token_value_123"})
    log.info("connection saved", extra={"credentials": {"token": "ghp_leak"}, "password": "pw-1"})
    try:
        raise RuntimeError("tracker said: bad credential a-registered-credential-value")
    except RuntimeError:
        log.exception("push failed")
    output = captured_log.getvalue()
    leaked = ("pb_leaked_token_value_123", "ghp_leak", "pw-1", "a-registered-credential-value")
    for secret in leaked:
        assert secret not in output
    assert all(json.loads(line) for line in output.splitlines())


def test_no_secret_is_logged_through_requests_a_sync_and_webhooks(
    client: TestClient,
    tenant: Tenant,
    engine: Engine,
    settings: Settings,
    captured_log: io.StringIO,
) -> None:
    """Real traffic with known secrets: API tokens, tracker token, webhook secret, secret key."""
    harness = GitHubHarness()
    wrong_tracker_token = "ghp_WrongTokenTheEmulatorRejects0000000"
    try:
        created = create_github_connection(client, tenant.headers, harness.base_url, harness.scope)
        setup = seed_plan(client, tenant.headers, created["id"], WEBHOOK_SECRET, items=3)
        context = EngineContext(engine, settings, "log-test", retry_policy=NO_WAIT_POLICY)
        sync_engine = SyncEngine(context)
        for _ in range(20):
            if not sync_engine.step().did_work:
                break
        assert harness.object_count() >= 3  # the sync really talked to the tracker

        headers, body = signed_issue_delivery(WEBHOOK_SECRET, str(uuid.uuid4()), 1)
        url = f"/webhooks/{setup.connection_id}"
        assert client.post(url, content=body, headers=headers).status_code == 202
        forged = {**headers, "X-Hub-Signature-256": "sha256=" + "0" * 64}
        assert client.post(url, content=body, headers=forged).status_code == 401
        for _ in range(5):
            if not sync_engine.step().did_work:
                break

        # A tracker that refuses the credentials: errors get logged, the token must not be.
        client.patch(
            f"/api/v1/connections/{setup.connection_id}",
            json={"credentials": {"token": wrong_tracker_token}},
            headers=tenant.headers,
        )
        client.post(f"/api/v1/connections/{setup.connection_id}/resync", headers=tenant.headers)
        for _ in range(5):
            if not sync_engine.step().did_work:
                break
        context.close()
        bad_api_token = "pb_" + "x" * 43
        client.get("/api/v1/plans", headers={"Authorization": f"Bearer {bad_api_token}"})
    finally:
        harness.server.stop()

    output = captured_log.getvalue()
    assert output.count('"message": "request"') >= 10
    for secret in (
        tenant.token,
        bad_api_token,
        GITHUB_TOKEN,
        wrong_tracker_token,
        WEBHOOK_SECRET,
        TEST_SECRET_KEY,
    ):
        assert secret not in output, f"a secret reached the logs: {secret[:6]}..."


def test_a_decrypted_tracker_credential_is_scrubbed_from_every_later_line(
    captured_log: io.StringIO,
) -> None:
    """A tracker may echo a credential back in an error; once decrypted, its exact value is known
    to the formatter, whatever its shape."""
    settings = Settings(database_url="sqlite://", secret_key=TEST_SECRET_KEY)  # type: ignore[arg-type]
    credential = f"plain-{uuid.uuid4().hex}"
    stored = encrypt_json(settings, {"api_token": credential})
    assert credential not in stored

    assert decrypt_json(settings, stored) == {"api_token": credential}
    logging.getLogger("planbridge.test").warning("tracker answered 401 for %s", credential)

    assert credential not in captured_log.getvalue()
    assert "[redacted]" in captured_log.getvalue()
