"""Check-in links, channels, the delivery log and time zones through the API, on both databases."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.models import CheckInLink, MessageDelivery, MessageState, PersonChannels, Scope
from tests.api.factories import API, create_person
from tests.conftest import Tenant


def test_issued_link_answers_the_url_once_and_stores_only_a_hash(
    client: TestClient, tenant: Tenant, engine: Engine
) -> None:
    person = create_person(client, tenant)

    response = client.post(f"{API}/people/{person['id']}/checkin-links", headers=tenant.headers)

    assert response.status_code == 201, response.text
    issued = response.json()
    token = issued["url"].rsplit("/checkin/", 1)[1]
    assert len(token) >= 40
    listed = client.get(f"{API}/people/{person['id']}/checkin-links", headers=tenant.headers)
    assert [link["id"] for link in listed.json()] == [issued["id"]]
    assert "url" not in listed.json()[0]
    with Session(engine) as session:
        [stored] = session.exec(select(CheckInLink)).all()
        assert token not in stored.token_hash
        assert (stored.expires_at - stored.created_at).days == 14


def test_revoked_link_is_listed_as_revoked(client: TestClient, tenant: Tenant) -> None:
    person = create_person(client, tenant)
    link = client.post(f"{API}/people/{person['id']}/checkin-links", headers=tenant.headers)

    revoked = client.delete(
        f"{API}/people/{person['id']}/checkin-links/{link.json()['id']}", headers=tenant.headers
    )

    assert revoked.status_code == 204
    [listed] = client.get(
        f"{API}/people/{person['id']}/checkin-links", headers=tenant.headers
    ).json()
    assert listed["revoked_at"] is not None


def test_another_workspaces_person_or_link_is_404(
    client: TestClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    person = create_person(client, tenant)
    link = client.post(f"{API}/people/{person['id']}/checkin-links", headers=tenant.headers)
    stranger = create_person(client, other_tenant)

    issue = client.post(f"{API}/people/{person['id']}/checkin-links", headers=other_tenant.headers)
    revoke = client.delete(
        f"{API}/people/{person['id']}/checkin-links/{link.json()['id']}",
        headers=other_tenant.headers,
    )
    # Another person's link under this person's address is as unknown.
    crossed = client.delete(
        f"{API}/people/{stranger['id']}/checkin-links/{link.json()['id']}",
        headers=other_tenant.headers,
    )

    assert (issue.status_code, revoke.status_code, crossed.status_code) == (404, 404, 404)
    assert issue.headers["content-type"] == "application/problem+json"


def test_person_time_zone_is_validated_and_kept(client: TestClient, tenant: Tenant) -> None:
    person = create_person(client, tenant, time_zone="Asia/Tokyo")
    assert person["time_zone"] == "Asia/Tokyo"

    refused = client.patch(
        f"{API}/people/{person['id']}", json={"time_zone": "Mars/Olympus"}, headers=tenant.headers
    )

    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"][-1] == "time_zone"
    assert "IANA" in refused.text


def test_workspace_default_time_zone_is_utc_and_changeable(
    client: TestClient, tenant: Tenant
) -> None:
    assert client.get(f"{API}/workspace", headers=tenant.headers).json()["default_time_zone"] == (
        "UTC"
    )

    changed = client.patch(
        f"{API}/workspace", json={"default_time_zone": "Europe/Berlin"}, headers=tenant.headers
    )
    refused = client.patch(
        f"{API}/workspace", json={"default_time_zone": "Berlin"}, headers=tenant.headers
    )

    assert changed.json()["default_time_zone"] == "Europe/Berlin"
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"][-1] == "default_time_zone"


def test_channels_keep_the_webhook_secret_and_opt_outs(
    client: TestClient, tenant: Tenant, engine: Engine
) -> None:
    person = create_person(client, tenant)
    path = f"{API}/people/{person['id']}/channels"
    assert client.get(path, headers=tenant.headers).json() == {
        "person_id": person["id"],
        "email": "ada@example.com",
        "email_enabled": True,
        "chat_webhook_set": False,
        "team_id": None,
        "nudges_opted_out": False,
        "reachability": {"state": "reachable", "reason": None, "since": None},
    }

    url = "http://127.0.0.1:9/hooks/ada"
    changed = client.patch(
        path,
        json={"email_enabled": False, "chat_webhook_url": url, "nudges_opted_out": True},
        headers=tenant.headers,
    )

    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["email_enabled"], body["chat_webhook_set"], body["nudges_opted_out"]) == (
        False,
        True,
        True,
    )
    assert url not in changed.text
    with Session(engine) as session:
        stored = session.get(PersonChannels, uuid.UUID(person["id"]))
        assert stored is not None and stored.chat_webhook_encrypted is not None
        assert url not in stored.chat_webhook_encrypted


def test_chat_webhook_url_gets_the_subscription_address_check(
    client: TestClient, tenant: Tenant, app: object
) -> None:
    person = create_person(client, tenant)
    client.app.state.settings = client.app.state.settings.model_copy(  # type: ignore[attr-defined]
        update={"allow_private_trackers": False}
    )

    refused = client.patch(
        f"{API}/people/{person['id']}/channels",
        json={"chat_webhook_url": "http://127.0.0.1:9/hooks/ada"},
        headers=tenant.headers,
    )
    malformed = client.patch(
        f"{API}/people/{person['id']}/channels",
        json={"chat_webhook_url": "ftp://chat.example.com/hook"},
        headers=tenant.headers,
    )

    assert refused.status_code == 422
    assert "chat_webhook_url" in refused.text
    assert malformed.status_code == 422
    assert malformed.json()["errors"][0]["loc"][-1] == "chat_webhook_url"


def test_delivery_log_and_reachability_show_a_permanent_refusal(
    client: TestClient, tenant: Tenant, other_tenant: Tenant, engine: Engine
) -> None:
    person = create_person(client, tenant)
    now = datetime(2027, 3, 3, 9, 0, tzinfo=UTC)
    with Session(engine) as session:
        session.add(
            MessageDelivery(
                workspace_id=tenant.workspace_id,
                person_id=uuid.UUID(person["id"]),
                channel="email",
                kind="checkin_request",
                iso_week="2027-W09",
                subject="Your check-in",
                text_body="...",
                state=MessageState.failed,
                attempts=1,
                last_error="SMTP 550 5.1.1 No such user",
                created_at=now,
            )
        )
        session.add(
            PersonChannels(
                person_id=uuid.UUID(person["id"]),
                workspace_id=tenant.workspace_id,
                unreachable_reason="email: SMTP 550 5.1.1 No such user",
                unreachable_since=now,
            )
        )
        session.commit()

    log = client.get(f"{API}/deliveries?person_id={person['id']}", headers=tenant.headers)
    shown = client.get(f"{API}/people/{person['id']}", headers=tenant.headers)
    elsewhere = client.get(f"{API}/deliveries", headers=other_tenant.headers)

    [entry] = log.json()["items"]
    assert (entry["outcome"], entry["attempts"], entry["last_error"]) == (
        "failed",
        1,
        "SMTP 550 5.1.1 No such user",
    )
    assert shown.json()["reachability"]["state"] == "unreachable"
    assert "550" in shown.json()["reachability"]["reason"]
    assert elsewhere.json()["items"] == []


def test_a_new_email_address_makes_the_person_reachable_again(
    client: TestClient, tenant: Tenant, engine: Engine
) -> None:
    person = create_person(client, tenant)
    with Session(engine) as session:
        session.add(
            PersonChannels(
                person_id=uuid.UUID(person["id"]),
                workspace_id=tenant.workspace_id,
                unreachable_reason="email: SMTP 550 5.1.1 No such user",
                unreachable_since=datetime(2027, 3, 3, tzinfo=UTC),
            )
        )
        session.commit()

    renamed = client.patch(
        f"{API}/people/{person['id']}", json={"name": "Ada L."}, headers=tenant.headers
    )
    moved = client.patch(
        f"{API}/people/{person['id']}", json={"email": "ada@new.example"}, headers=tenant.headers
    )

    assert renamed.json()["reachability"]["state"] == "unreachable"
    assert moved.json()["reachability"] == {"state": "reachable", "reason": None, "since": None}


def test_deleting_a_person_takes_their_links_and_channels_along(
    client: TestClient, tenant: Tenant, engine: Engine
) -> None:
    person = create_person(client, tenant)
    client.post(f"{API}/people/{person['id']}/checkin-links", headers=tenant.headers)
    client.patch(
        f"{API}/people/{person['id']}/channels",
        json={"nudges_opted_out": True},
        headers=tenant.headers,
    )

    deleted = client.delete(f"{API}/people/{person['id']}", headers=tenant.headers)

    assert deleted.status_code == 204
    with Session(engine) as session:
        assert session.exec(select(CheckInLink)).all() == []
        assert session.exec(select(PersonChannels)).all() == []


def test_only_an_admin_turns_a_persons_channel_off(
    client: TestClient, tenant: Tenant, make_tenant: Any
) -> None:
    """A person may opt out of nudges, not of the weekly reminder: a write token may not turn
    e-mail off or remove a chat webhook, an admin token may."""
    person = create_person(client, tenant)
    path = f"{API}/people/{person['id']}/channels"
    writer = make_tenant("acme", Scope.write)
    for change in ({"email_enabled": False}, {"chat_webhook_url": None}, {"team_id": None}):
        refused = client.patch(path, json=change, headers=writer.headers)
        assert refused.status_code == 403, refused.text
        assert next(iter(change)) in refused.json()["detail"]
    opted_out = client.patch(path, json={"nudges_opted_out": True}, headers=writer.headers)
    assert opted_out.status_code == 200 and opted_out.json()["nudges_opted_out"] is True
    assert client.get(path, headers=tenant.headers).json()["email_enabled"] is True
    turned_off = client.patch(path, json={"email_enabled": False}, headers=tenant.headers)
    assert turned_off.status_code == 200 and turned_off.json()["email_enabled"] is False
