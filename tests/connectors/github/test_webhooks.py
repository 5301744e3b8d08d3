"""GitHub webhooks: GitHub's own check value and every recorded payload in tests/fixtures."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pytest

from connectors.base import Invalid, OutOfScope, RemoteStatus
from connectors.github import mapping, webhooks

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "github-webhooks"
SCOPE = "Codertocat/Hello-World"
RULES = mapping.StatusRules()


def signed_headers(event: str, body: bytes, secret: str = "s3cret") -> dict[str, str]:
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": "72d3162e-cc78",
        "X-Hub-Signature-256": signature,
    }


def fixture_files() -> list[Path]:
    return sorted(FIXTURES.glob("*.json"))


def test_fixtures_are_present() -> None:
    assert len(fixture_files()) >= 12


def test_githubs_published_signature_check_value_verifies() -> None:
    # docs.github.com "Validating webhook deliveries": this secret and body give this signature.
    published = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    headers = {"X-Hub-Signature-256": f"sha256={published}"}
    assert webhooks.signature_is_valid("It's a Secret to Everybody", headers, b"Hello, World!")
    assert not webhooks.signature_is_valid("It's a Secret to Everybody", headers, b"Hello, World?")
    assert not webhooks.signature_is_valid("another secret", headers, b"Hello, World!")
    assert not webhooks.signature_is_valid("It's a Secret to Everybody", {}, b"Hello, World!")


def test_header_names_are_matched_whatever_their_case() -> None:
    body = b'{"zen": "Keep it logically awesome."}'
    headers = {key.lower(): value for key, value in signed_headers("ping", body).items()}
    assert webhooks.signature_is_valid("s3cret", headers, body)
    assert webhooks.delivery_id(headers, body) == "72d3162e-cc78"


def test_delivery_without_guid_gets_a_stable_body_hash() -> None:
    assert webhooks.delivery_id({}, b"{}") == webhooks.delivery_id({}, b"{}")
    assert webhooks.delivery_id({}, b"{}") != webhooks.delivery_id({}, b"[]")


@pytest.mark.parametrize("path", fixture_files(), ids=lambda path: path.stem)
def test_every_recorded_payload_parses_into_the_expected_hints(path: Path) -> None:
    body = path.read_bytes()
    payload = json.loads(body)
    event = "ping" if path.stem == "ping" else "issues"
    scope = payload["repository"]["full_name"]  # one recorded payload is of another repository

    hints = webhooks.hints(signed_headers(event, body), body, scope, RULES)

    issue = payload.get("issue") or {}
    if event == "ping" or "pull_request" in issue:
        assert hints == []  # ping, and issues events about pull requests, carry no planbridge item
        return
    assert len(hints) == 1
    hint = hints[0]
    assert hint.event == f"issues.{payload['action']}"
    assert hint.ref is not None and hint.ref.external_id == str(issue["number"])
    assert hint.updated_at == mapping.parse_time(issue["updated_at"])
    if payload["action"] in ("deleted", "transferred"):
        assert hint.deleted and hint.item is None
    else:
        assert hint.item is not None and not hint.deleted
        assert hint.item.title == issue["title"]
        assert hint.item.labels == tuple(label["name"] for label in issue["labels"])


def test_assigned_payload_reports_the_assignee_login() -> None:
    body = (FIXTURES / "issues.assigned.json").read_bytes()
    [hint] = webhooks.hints(signed_headers("issues", body), body, SCOPE, RULES)
    assert hint.item is not None
    assert hint.item.assignee == json.loads(body)["issue"]["assignees"][0]["login"]


@pytest.mark.parametrize(
    ("state_reason", "status"),
    [
        ("completed", RemoteStatus.done),
        ("not_planned", RemoteStatus.dropped),
        ("duplicate", RemoteStatus.dropped),
    ],
)
def test_closed_delivery_maps_state_reason(state_reason: str, status: RemoteStatus) -> None:
    # GitHub publishes no issues.closed example: it is issues.reopened with the closed state.
    payload = json.loads((FIXTURES / "issues.reopened.json").read_bytes())
    payload["action"] = "closed"
    payload["issue"].update(state="closed", state_reason=state_reason)
    body = json.dumps(payload).encode()
    [hint] = webhooks.hints(signed_headers("issues", body), body, SCOPE, RULES)
    assert hint.item is not None and hint.item.status is status


def test_other_events_and_unused_actions_are_ignored_without_error() -> None:
    body = (FIXTURES / "issues.opened.json").read_bytes()
    assert webhooks.hints(signed_headers("issue_comment", body), body, SCOPE, RULES) == []
    pinned = json.loads(body) | {"action": "pinned"}
    pinned_body = json.dumps(pinned).encode()
    assert webhooks.hints(signed_headers("issues", pinned_body), pinned_body, SCOPE, RULES) == []


def test_a_body_that_is_not_json_is_invalid() -> None:
    with pytest.raises(Invalid):
        webhooks.hints(signed_headers("issues", b"not json"), b"not json", SCOPE, RULES)
    deep = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(Invalid):
        webhooks.hints(signed_headers("issues", deep), deep, SCOPE, RULES)


def _opened(**issue_changes: object) -> bytes:
    payload = json.loads((FIXTURES / "issues.opened.json").read_bytes())
    payload["issue"].update(issue_changes)
    return json.dumps(payload).encode()


@pytest.mark.parametrize(
    "changes",
    [
        {"updated_at": "last tuesday"},
        {"updated_at": 1700000000},
        {"number": "three"},
        {"title": {"text": "a title"}},
        {"labels": "bug"},
        {"assignees": [{"name": "no login"}]},
    ],
    ids=["non-iso-time", "numeric-time", "text-number", "object-title", "text-labels", "no-login"],
)
def test_a_malformed_issue_field_is_invalid_never_another_error(changes: dict[str, object]) -> None:
    body = _opened(**changes)
    with pytest.raises(Invalid):
        webhooks.hints(signed_headers("issues", body), body, SCOPE, RULES)


def test_an_issue_of_another_repository_is_out_of_scope() -> None:
    body = (FIXTURES / "issues.transferred.json").read_bytes()  # about octo-org/octo-repo
    with pytest.raises(OutOfScope, match="octo-org/octo-repo"):
        webhooks.hints(signed_headers("issues", body), body, SCOPE, RULES)
    opened = (FIXTURES / "issues.opened.json").read_bytes()  # about Codertocat/Hello-World
    with pytest.raises(OutOfScope):
        webhooks.hints(signed_headers("issues", opened), opened, "octo-org/octo-repo", RULES)


def test_repository_is_matched_by_id_when_known_so_a_rename_keeps_it() -> None:
    body = (FIXTURES / "issues.opened.json").read_bytes()  # repository id 186853002
    renamed_scope = "Codertocat/Hello-Renamed"
    [hint] = webhooks.hints(signed_headers("issues", body), body, renamed_scope, RULES, 186853002)
    assert hint.item is not None
    with pytest.raises(OutOfScope):
        webhooks.hints(signed_headers("issues", body), body, SCOPE, RULES, 17273051)


def test_a_delivery_naming_no_repository_is_out_of_scope() -> None:
    payload = json.loads((FIXTURES / "issues.opened.json").read_bytes())
    del payload["repository"]
    body = json.dumps(payload).encode()
    with pytest.raises(OutOfScope):
        webhooks.hints(signed_headers("issues", body), body, SCOPE, RULES)
