"""The personal check-in page through its link, on SQLite and PostgreSQL: the draft from real
work, saving and correcting through the check-in rules, and links that open nothing."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.db import utcnow
from app.models import CheckInLink
from app.schemas.weeks import IsoWeek
from tests.api.factories import API
from tests.conftest import Tenant
from tests.dashboard.checkin_seed import CheckInSeed, seed_check_in
from tests.dashboard.seed import csrf_from


def section(html: str, label: str) -> str:
    """The list after a <dt> of the work summary."""
    match = re.search(rf"<dt>{label}</dt>\s*<dd>(.*?)</dd>", html, re.S)
    assert match is not None, label
    return match.group(1)


def answers(seed: CheckInSeed, html: str, **values: Any) -> dict[str, str]:
    goal_id = seed.goal["id"]
    form = {
        "csrf_token": csrf_from(html),
        "iso_week": str(IsoWeek.of(utcnow().date())),
        f"confidence:{goal_id}": values.get("confidence", "at_risk"),
        f"note:{goal_id}": values.get("note", "Beta slips a week"),
        f"blockers:{goal_id}": values.get("blockers", "Hosting contract unsigned"),
    }
    if values.get("needs_help"):
        form[f"needs_help:{goal_id}"] = "yes"
    return form


def check_ins(client: TestClient, tenant: Tenant, **query: Any) -> list[dict[str, Any]]:
    response = client.get(f"{API}/checkins", params=query, headers=tenant.headers)
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_page_drafts_the_check_in_from_the_persons_work(client: TestClient, tenant: Tenant) -> None:
    seed = seed_check_in(client, tenant)

    page = client.get(seed.path)

    assert page.status_code == 200
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "Launch the public beta" in page.text
    assert "Write the release notes" in section(page.text, "Finished")
    assert "Record the demo video" in section(page.text, "Started")
    assert "Sign the hosting contract" in section(page.text, "Blocked")
    assert "Fix the sign-up form" in section(page.text, "Overdue")
    assert "Write the release notes" not in section(page.text, "Overdue")
    # One confidence is pre-selected: the suggestion from the goal's computed health.
    assert len(re.findall(r'type="radio"[^>]*checked', page.text)) == 1
    assert "<script" not in page.text


def test_submitting_records_check_ins_and_shows_what_was_saved(
    client: TestClient, tenant: Tenant
) -> None:
    seed = seed_check_in(client, tenant)
    page = client.get(seed.path)

    saved = client.post(seed.path, data=answers(seed, page.text, needs_help=True))

    assert saved.status_code == 200  # after the 303 to the page with ?saved=1
    assert "Saved." in saved.text
    assert "At risk" in saved.text
    [recorded] = check_ins(client, tenant, owner_id=seed.person["id"])
    assert (recorded["confidence"], recorded["needs_help"], recorded["note"]) == (
        "at_risk",
        True,
        "Beta slips a week",
    )
    assert recorded["blockers"] == "Hosting contract unsigned"
    assert recorded["goal_id"] == seed.goal["id"]


def test_a_check_in_can_be_corrected_with_the_same_link(client: TestClient, tenant: Tenant) -> None:
    seed = seed_check_in(client, tenant)
    first = client.get(seed.path)
    client.post(seed.path, data=answers(seed, first.text, confidence="at_risk"))

    again = client.get(seed.path)
    assert "Save corrections" in again.text
    corrected = client.post(seed.path, data=answers(seed, again.text, confidence="off_track"))

    assert corrected.status_code == 200
    [current] = check_ins(client, tenant, owner_id=seed.person["id"])
    assert current["confidence"] == "off_track"
    history = check_ins(client, tenant, owner_id=seed.person["id"], include_replaced=True)
    assert len(history) == 2  # the first answer is kept as history, as with POST /checkins


def test_form_without_the_pages_csrf_token_is_refused(client: TestClient, tenant: Tenant) -> None:
    seed = seed_check_in(client, tenant)
    page = client.get(seed.path)
    form = answers(seed, page.text)
    form["csrf_token"] = "forged"

    refused = client.post(seed.path, data=form)

    assert refused.status_code == 403
    assert "nothing was changed" in refused.text
    assert check_ins(client, tenant) == []


def test_unknown_confidence_is_refused_naming_the_field(client: TestClient, tenant: Tenant) -> None:
    seed = seed_check_in(client, tenant)
    page = client.get(seed.path)

    refused = client.post(seed.path, data=answers(seed, page.text, confidence="great"))

    assert refused.status_code == 422
    assert "Nothing was saved" in refused.text
    assert check_ins(client, tenant) == []


def test_a_frozen_weeks_check_in_is_not_changed(client: TestClient, tenant: Tenant) -> None:
    seed = seed_check_in(client, tenant)
    page = client.get(seed.path)
    form = answers(seed, page.text)
    form["iso_week"] = str(IsoWeek.of(utcnow().date()).shifted(-2))

    refused = client.post(seed.path, data=form)

    assert refused.status_code == 409
    assert "final" in refused.text
    assert check_ins(client, tenant) == []


def test_forged_link_opens_nothing_and_changes_nothing(client: TestClient, tenant: Tenant) -> None:
    seed = seed_check_in(client, tenant)
    page = client.get(seed.path)

    forged = "/checkin/" + "A" * 43
    opened = client.get(forged)
    posted = client.post(forged, data=answers(seed, page.text))

    assert (opened.status_code, posted.status_code) == (404, 404)
    assert "not known" in opened.text
    assert check_ins(client, tenant) == []


def test_expired_link_explains_itself_and_changes_nothing(
    client: TestClient, tenant: Tenant, engine: Engine
) -> None:
    seed = seed_check_in(client, tenant)
    page = client.get(seed.path)
    with Session(engine) as session:
        link = session.exec(select(CheckInLink)).one()
        link.expires_at = utcnow() - timedelta(minutes=1)
        session.add(link)
        session.commit()

    opened = client.get(seed.path)
    posted = client.post(seed.path, data=answers(seed, page.text))

    assert (opened.status_code, posted.status_code) == (410, 410)
    assert "expired" in opened.text
    assert check_ins(client, tenant) == []


def test_revoked_link_explains_itself_and_changes_nothing(
    client: TestClient, tenant: Tenant
) -> None:
    seed = seed_check_in(client, tenant)
    page = client.get(seed.path)
    revoked = client.delete(
        f"{API}/people/{seed.person['id']}/checkin-links/{seed.link['id']}",
        headers=tenant.headers,
    )
    assert revoked.status_code == 204

    opened = client.get(seed.path)
    posted = client.post(seed.path, data=answers(seed, page.text))

    assert (opened.status_code, posted.status_code) == (410, 410)
    assert "revoked" in opened.text
    assert check_ins(client, tenant) == []
