"""Three people for the People page's check-in loop, in this week (the real clock): Ada checked
in, Linus was reminded but not, and his address was refused; Grace has no e-mail address."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.db import utcnow
from app.models import MessageChannel, MessageDelivery, MessageState, Person
from app.schemas.weeks import IsoWeek
from app.services.messages.channels import mark_unreachable
from app.settings import Settings
from tests.api.factories import API, create_goal, create_item, create_person, create_plan
from tests.conftest import Tenant


def with_mail(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "smtp_url": SecretStr("smtp://planbridge:secret@127.0.0.1:2525"),
            "mail_from": "planbridge <planbridge@example.com>",
            # http: for an https public URL the dashboard's cookies are Secure-only.
            "public_url": "http://plans.example.com",
        }
    )


@dataclass
class PeopleLoopSeed:
    ada: dict[str, Any]
    grace: dict[str, Any]
    linus: dict[str, Any]


def seed_people_loop(client: TestClient, tenant: Tenant, engine: Engine) -> PeopleLoopSeed:
    week = str(IsoWeek.of(utcnow().date()))
    ada = create_person(client, tenant, name="Ada Lovelace", email="ada@example.com")
    grace = create_person(client, tenant, name="Grace Hopper", email=None)
    linus = create_person(client, tenant, name="Linus Torvalds", email="linus@example.com")
    plan = create_plan(client, tenant)
    goal = create_goal(client, tenant, plan, ada, title="Launch the public beta")
    for person in (ada, grace, linus):
        create_item(client, tenant, goal, person, title=f"Work of {person['name']}")
    checked_in = client.post(
        f"{API}/checkins",
        json={
            "owner_id": ada["id"],
            "goal_id": goal["id"],
            "iso_week": week,
            "confidence": "on_track",
        },
        headers=tenant.headers,
    )
    assert checked_in.status_code == 201, checked_in.text
    now = utcnow()
    with Session(engine) as session:
        session.add(
            MessageDelivery(
                workspace_id=tenant.workspace_id,
                person_id=uuid.UUID(linus["id"]),
                channel=MessageChannel.email,
                kind="checkin_request",
                iso_week=week,
                subject=f"Your check-in for {week}",
                text_body="Hello Linus",
                state=MessageState.failed,
                attempts=1,
                last_error="SMTP 550 5.1.1 No such user here",
                created_at=now,
            )
        )
        person = session.get(Person, uuid.UUID(linus["id"]))
        assert person is not None
        mark_unreachable(session, person, "email: SMTP 550 5.1.1 No such user here", now)
        session.commit()
    return PeopleLoopSeed(ada=ada, grace=grace, linus=linus)
