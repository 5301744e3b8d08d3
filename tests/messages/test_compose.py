"""The weekly check-in request says what the person did, what waits, and carries their link."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.db import utcnow
from app.models import Person
from app.services.checkin_drafts import draft_check_in
from app.services.messages.compose import checkin_request
from app.settings import Settings
from tests.api.factories import API
from tests.conftest import Tenant
from tests.dashboard.checkin_seed import seed_check_in

EXPIRES = datetime(2027, 3, 14, 9, 0, tzinfo=UTC)


def test_checkin_request_lists_the_work_and_carries_the_link(
    client: TestClient, tenant: Tenant, engine: Engine, settings: Settings
) -> None:
    seed = seed_check_in(client, tenant)
    renamed = client.patch(
        f"{API}/people/{seed.person['id']}",
        json={"name": "<b>Ada</b> Lovelace"},
        headers=tenant.headers,
    )
    assert renamed.status_code == 200
    url = seed.link["url"]
    with Session(engine) as session:
        person = session.get(Person, uuid.UUID(seed.person["id"]))
        assert person is not None
        draft = draft_check_in(session, person, settings, utcnow())

    message = checkin_request(draft, url, EXPIRES)

    assert message.kind == "checkin_request"
    assert message.subject == f"Your check-in for {draft.week}"
    assert 'you finished "Write the release notes" and started "Record the demo video"' in (
        message.text
    )
    assert '"Sign the hosting contract" is blocked' in message.text
    assert '"Fix the sign-up form" is overdue' in message.text
    assert url in message.text and f'href="{url}"' in message.html
    assert "This link works until 2027-03-14." in message.text
    assert "Hello <b>Ada</b>," in message.text
    assert "Hello &lt;b&gt;Ada&lt;/b&gt;," in message.html
