"""Webhook parsing against Jira payloads recorded from a real instance, and signature checks."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pytest

from connectors.base import Invalid, OutOfScope, RemoteStatus
from connectors.jira import JiraConfig, JiraConnector

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "jira-webhooks"
SECRET = "It's a Secret to Everybody"


def connector(**overrides: object) -> JiraConnector:
    settings: dict[str, object] = {
        "base_url": "https://jira.example.com",
        "scope": "INDEV",
        "deployment": "datacenter",
        "personal_access_token": "pat",
        "webhook_secret": SECRET,
        "epic_link_field": "customfield_10006",
        "status_overrides": {"Paused": "blocked"},
    }
    settings.update(overrides)
    return JiraConnector(JiraConfig.model_validate(settings))


def load(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature": f"sha256={digest}"}


def test_every_recorded_payload_parses_into_one_hint_for_its_issue() -> None:
    names = sorted(path.name for path in FIXTURES.glob("*.json"))
    assert names, f"no fixtures in {FIXTURES}"
    for name in names:
        body = load(name)
        payload = json.loads(body)
        project = payload["issue"]["fields"]["project"]["key"]
        hints = connector(scope=project).parse_webhook(signed(body), body)
        assert len(hints) == 1, name
        hint = hints[0]
        assert hint.event == payload["webhookEvent"]
        assert hint.ref is not None and hint.ref.external_id == payload["issue"]["id"]
        assert hint.ref.key == payload["issue"]["key"]
        assert hint.item is not None and hint.item.title == payload["issue"]["fields"]["summary"]
        assert hint.updated_at is not None and hint.updated_at.tzinfo is not None


def test_created_payload_maps_category_new_and_epic_link() -> None:
    body = load("issue.created.json")
    (hint,) = connector(scope="BBCOM").parse_webhook({}, body)
    assert hint.item is not None
    assert hint.item.status is RemoteStatus.todo
    assert hint.item.raw_status == "Open"
    assert hint.item.parent is not None and hint.item.parent.key == "BBCOM-801"
    assert hint.item.description == "Info"


def test_status_change_is_read_from_the_changelog_and_the_category() -> None:
    (hint,) = connector().parse_webhook({}, load("issue.updated.status-changed.json"))
    assert hint.item is not None
    assert (hint.item.status, hint.item.raw_status) == (RemoteStatus.in_progress, "In Progress")


def test_status_name_override_applies_to_webhook_status() -> None:
    (hint,) = connector(scope="BBCOM").parse_webhook({}, load("issue.updated.generic.json"))
    assert hint.item is not None
    assert (hint.item.status, hint.item.raw_status) == (RemoteStatus.blocked, "Paused")


def test_assignment_hint_carries_the_account_id() -> None:
    (hint,) = connector().parse_webhook({}, load("issue.updated.issue-assigned.json"))
    assert hint.item is not None and hint.item.assignee == "5b912e21fa38ae2c896099ae"
    assert hint.item.parent is not None and hint.item.parent.key == "INDEV-1"


def test_signature_is_checked_against_the_raw_body() -> None:
    body = load("issue.created.json")
    jira = connector()
    assert jira.verify_webhook(signed(body), body)
    assert jira.verify_webhook({"x-hub-signature": signed(body)["X-Hub-Signature"]}, body)
    assert not jira.verify_webhook(signed(body), body + b"\n")
    assert not jira.verify_webhook(signed(body, "another secret"), body)
    assert not jira.verify_webhook({}, body)
    assert not connector(webhook_secret=None).verify_webhook(signed(body), body)


def test_delivery_id_comes_from_the_header_else_from_the_body() -> None:
    body = load("issue.created.json")
    jira = connector()
    header = {"X-Atlassian-Webhook-Identifier": "4f3c8a"}
    assert jira.webhook_delivery_id(header, body) == "4f3c8a"
    by_body = jira.webhook_delivery_id({}, body)
    assert by_body == jira.webhook_delivery_id({}, body)
    assert by_body != jira.webhook_delivery_id({}, body + b" ")


def test_deleted_issue_gives_a_deletion_hint() -> None:
    body = json.dumps(
        {
            "timestamp": 1764066678000,
            "webhookEvent": "jira:issue_deleted",
            "issue": {"id": "10001", "key": "INDEV-7", "fields": {"labels": ["planbridge"]}},
        }
    ).encode()
    (hint,) = connector().parse_webhook({}, body)
    assert hint.deleted and hint.ref is not None and hint.ref.external_id == "10001"
    assert hint.updated_at is not None and hint.updated_at.year == 2025


@pytest.mark.parametrize(
    "payload",
    [
        {"webhookEvent": "comment_created", "comment": {"id": "1"}},
        {"webhookEvent": "jira:worklog_updated", "issue": {"id": "1"}},
        {"webhookEvent": "project_created"},
        [],
    ],
)
def test_events_planbridge_does_not_use_give_no_hints(payload: object) -> None:
    assert connector().parse_webhook({}, json.dumps(payload).encode()) == []


def test_body_that_is_not_json_is_invalid() -> None:
    with pytest.raises(Invalid):
        connector().parse_webhook({}, b"<html>")


def test_an_issue_of_another_project_is_out_of_scope() -> None:
    body = load("issue.created.json")  # an issue of project BBCOM
    with pytest.raises(OutOfScope, match="BBCOM"):
        connector(scope="INDEV").parse_webhook({}, body)
    deleted = json.dumps(
        {
            "webhookEvent": "jira:issue_deleted",
            "issue": {"id": "10001", "key": "OTHER-7", "fields": {"labels": ["planbridge"]}},
        }
    ).encode()
    with pytest.raises(OutOfScope, match="OTHER-7"):
        connector().parse_webhook({}, deleted)


def _status_changed(**field_changes: object) -> bytes:
    payload = json.loads(load("issue.updated.status-changed.json"))
    payload["issue"]["fields"].update(field_changes)
    return json.dumps(payload).encode()


@pytest.mark.parametrize(
    "body",
    [
        _status_changed(updated="yesterday at noon"),
        _status_changed(updated=17),
        _status_changed(labels="planbridge"),
        _status_changed(status="Done"),
        json.dumps(
            {"webhookEvent": "jira:issue_updated", "issue": {"id": "1", "key": "INDEV-1"}}
        ).encode(),
        json.dumps(
            {
                "webhookEvent": "jira:issue_updated",
                "issue": {"id": "1", "key": "INDEV-1", "fields": []},
            }
        ).encode(),
        b'{"webhookEvent": "jira:issue_updated", "issue": ' + b"[" * 100_000,
        b"[" * 100_000 + b"]" * 100_000,
    ],
    ids=[
        "non-iso-updated", "numeric-updated", "text-labels", "text-status", "no-fields",
        "list-fields", "deep-unterminated", "deep-nesting",
    ],
)  # fmt: skip
def test_a_malformed_field_is_invalid_never_another_error(body: bytes) -> None:
    with pytest.raises(Invalid):
        connector().parse_webhook({}, body)
