"""Teams: a chat webhook per team reaches the members without one of their own, each message
naming its person; the API that makes and joins them (SQLite and PostgreSQL)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.services.messages.channels import update_channels
from app.services.teams import create_team
from tests.api.factories import API, create_person
from tests.conftest import Tenant
from tests.execution.factories import at
from tests.messages.servers import ChatReceiver
from tests.nudges.conftest import Team


def test_a_member_without_a_webhook_is_nudged_on_the_team_channel_by_name(
    team: Team, chat: ChatReceiver
) -> None:
    with Session(team.engine) as session:
        crew = create_team(session, team.workspace_id, "Onboarding crew", chat.url, team.settings)
        update_channels(
            session,
            team.workspace_id,
            team.ada.id,
            {"team_id": crew.id, "email_enabled": False},
            team.settings,
            at("2027-03-01 08:00"),
        )
        session.commit()

    team.tick(at("2027-03-01 09:00"))

    [posted] = chat.received
    assert posted["text"].startswith('*"Ship the form" is overdue* (for Ada Lovelace)\n')
    assert 'Your item "Ship the form"' in posted["text"]
    assert team.mail_to(team.ada) == []


def test_teams_are_made_listed_joined_and_deleted_through_the_api(
    client: TestClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    ada = create_person(client, tenant)
    hook = "https://hooks.slack.com/services/T000/B000/XXXX"
    made = client.post(
        f"{API}/teams", json={"name": "Platform", "chat_webhook_url": hook}, headers=tenant.headers
    )
    twice = client.post(
        f"{API}/teams", json={"name": "Platform", "chat_webhook_url": hook}, headers=tenant.headers
    )
    not_http = client.post(
        f"{API}/teams", json={"name": "Ops", "chat_webhook_url": "ftp://x"}, headers=tenant.headers
    )
    theirs = client.post(
        f"{API}/teams",
        json={"name": "Theirs", "chat_webhook_url": hook},
        headers=other_tenant.headers,
    )
    channels = f"{API}/people/{ada['id']}/channels"
    joined = client.patch(channels, json={"team_id": made.json()["id"]}, headers=tenant.headers)
    elsewhere = client.patch(
        channels, json={"team_id": theirs.json()["id"]}, headers=tenant.headers
    )

    assert made.status_code == 201 and set(made.json()) == {"id", "name", "created_at"}
    for refused, field in ((twice, "name"), (not_http, "chat_webhook_url"), (elsewhere, "team_id")):
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["loc"][-1] == field
    assert joined.json()["team_id"] == made.json()["id"]
    listed = client.get(f"{API}/teams", headers=tenant.headers).json()
    assert [team["name"] for team in listed["items"]] == ["Platform"]

    deleted = client.delete(f"{API}/teams/{made.json()['id']}", headers=tenant.headers)
    gone = client.delete(f"{API}/teams/{made.json()['id']}", headers=tenant.headers)

    assert (deleted.status_code, gone.status_code) == (204, 404)
    assert client.get(channels, headers=tenant.headers).json()["team_id"] is None
