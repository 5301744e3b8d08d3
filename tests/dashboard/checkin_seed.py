"""A person with a goal and items in several states, and a check-in link to their page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from tests.api.factories import API, create_goal, create_item, create_person, create_plan, past
from tests.conftest import Tenant


@dataclass
class CheckInSeed:
    person: dict[str, Any]
    goal: dict[str, Any]
    link: dict[str, Any]

    @property
    def path(self) -> str:
        return "/checkin/" + self.link["url"].rsplit("/checkin/", 1)[1]


def set_status(client: TestClient, tenant: Tenant, item: dict[str, Any], status: str) -> None:
    response = client.patch(
        f"{API}/items/{item['id']}", json={"status": status}, headers=tenant.headers
    )
    assert response.status_code == 200, response.text


def seed_check_in(client: TestClient, tenant: Tenant) -> CheckInSeed:
    person = create_person(client, tenant, name="Ada Lovelace")
    plan = create_plan(client, tenant)
    goal = create_goal(client, tenant, plan, person, title="Launch the public beta")
    finished = create_item(client, tenant, goal, person, title="Write the release notes")
    started = create_item(client, tenant, goal, person, title="Record the demo video")
    blocked = create_item(client, tenant, goal, person, title="Sign the hosting contract")
    create_item(client, tenant, goal, person, title="Fix the sign-up form", due_date=past(2))
    set_status(client, tenant, finished, "done")
    set_status(client, tenant, started, "in_progress")
    set_status(client, tenant, blocked, "blocked")
    link = client.post(f"{API}/people/{person['id']}/checkin-links", headers=tenant.headers)
    assert link.status_code == 201, link.text
    return CheckInSeed(person=person, goal=goal, link=link.json())
