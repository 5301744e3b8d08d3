"""The People page's check-in loop on SQLite and PostgreSQL: who checked in this week, who was
reminded, who cannot be reached, and the admin's button that sends a person their link again."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.models import MessageDelivery, Scope
from app.settings import Settings
from tests.conftest import Tenant
from tests.dashboard.conftest import sign_in
from tests.dashboard.people_loop_seed import seed_people_loop, with_mail
from tests.dashboard.seed import csrf_from


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return with_mail(settings)


def row_of(html: str, person_id: str) -> str:
    start = html.index(f'<tr data-person-id="{person_id}" data-testid="checkin-row">')
    return html[start : html.index("</tr>", start)]


def test_the_page_says_who_checked_in_was_reminded_and_cannot_be_reached(
    signed_in: TestClient, tenant: Tenant, engine: Engine
) -> None:
    seed = seed_people_loop(signed_in, tenant, engine)

    html = signed_in.get("/people").text

    ada, grace, linus = (row_of(html, seed.__dict__[n]["id"]) for n in ("ada", "grace", "linus"))
    assert "<strong>yes</strong>" in ada and "not this week" in ada
    assert (
        "not yet" in grace
        and "unreachable</strong>: no e-mail address and no chat webhook" in grace
    )
    assert "not yet" in linus and "(failed)" in linus
    assert "unreachable</strong>: refused: email: SMTP 550 5.1.1 No such user here" in linus
    assert 'action="/people/' in ada and "Send link again" in ada


def test_an_admin_sends_a_fresh_link_again(
    signed_in: TestClient, tenant: Tenant, engine: Engine
) -> None:
    seed = seed_people_loop(signed_in, tenant, engine)
    page = signed_in.get("/people")
    path = f"/people/{seed.ada['id']}/checkin-link"

    forged = signed_in.post(path, data={"csrf_token": "forged"}, follow_redirects=False)
    sent = signed_in.post(path, data={"csrf_token": csrf_from(page.text)}, follow_redirects=False)
    again = signed_in.post(path, data={"csrf_token": csrf_from(page.text)}, follow_redirects=False)
    unreachable = signed_in.post(
        f"/people/{seed.grace['id']}/checkin-link",
        data={"csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )

    assert forged.status_code == 403
    assert (sent.status_code, sent.headers["location"]) == (
        303,
        "/people?notice=checkin-link-sent#checkins",
    )
    assert unreachable.headers["location"] == "/people?notice=checkin-link-unreachable#checkins"
    with Session(engine) as session:
        resent = session.exec(
            select(MessageDelivery).where(col(MessageDelivery.topic).startswith("resent:"))
        ).all()
    assert len(resent) == 2 and again.status_code == 303  # each press is a new link
    assert {row.kind for row in resent} == {"checkin_request"}
    assert all("http://plans.example.com/checkin/" in row.text_body for row in resent)
    reminded = row_of(signed_in.get("/people").text, seed.ada["id"])
    assert "(queued)" in reminded


def test_only_an_admin_may_send_a_link_and_only_to_their_own_people(
    client: TestClient, tenant: Tenant, other_tenant: Tenant, make_tenant: Any, engine: Engine
) -> None:
    seed = seed_people_loop(client, tenant, engine)
    writer = make_tenant("acme", Scope.write)
    assert sign_in(client, writer.token).status_code == 303
    page = client.get("/people")
    assert "Send link again" not in page.text
    refused = client.post(
        f"/people/{seed.ada['id']}/checkin-link",
        data={"csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert refused.status_code == 403

    assert sign_in(client, other_tenant.token).status_code == 303
    elsewhere = client.post(
        f"/people/{seed.ada['id']}/checkin-link",
        data={"csrf_token": csrf_from(client.get("/people").text)},
        follow_redirects=False,
    )
    assert elsewhere.status_code == 404
