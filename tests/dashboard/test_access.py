"""Sign-in, sessions, CSRF, scopes and share links, through the routes (no browser)."""

from __future__ import annotations

import uuid

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.dashboard.auth import SESSION_COOKIE
from app.models import ExternalLink, Scope, ShareLink
from app.services.tokens import find_active_token, revoke_token
from tests.conftest import Tenant
from tests.dashboard.conftest import sign_in
from tests.dashboard.seed import add_dead_link, csrf_from, seed_plan


def test_pages_redirect_to_sign_in_without_a_session(client: TestClient) -> None:
    response = client.get("/people", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=/people"


def test_session_cookie_is_httponly_samesite_strict_and_not_the_token(
    client: TestClient, tenant: Tenant
) -> None:
    response = sign_in(client, tenant.token, "/people")
    assert response.status_code == 303
    assert response.headers["location"] == "/people"
    cookie = next(
        header
        for header in response.headers.get_list("set-cookie")
        if header.startswith(f"{SESSION_COOKIE}=")
    )
    flags = cookie.lower()
    assert "httponly" in flags and "samesite=strict" in flags and "path=/" in flags
    # Served over plain HTTP here, so not Secure; over HTTPS it is (next test).
    assert "secure" not in flags
    assert tenant.token not in cookie


def test_session_cookie_is_secure_when_served_over_https(app: FastAPI, tenant: Tenant) -> None:
    with TestClient(app, base_url="https://testserver") as https_client:
        response = sign_in(https_client, tenant.token)
    assert response.status_code == 303
    cookie = next(
        header
        for header in response.headers.get_list("set-cookie")
        if header.startswith(f"{SESSION_COOKIE}=")
    )
    assert "secure" in cookie.lower()


def test_sign_in_refuses_a_wrong_token_and_a_missing_csrf_token(
    client: TestClient, tenant: Tenant
) -> None:
    wrong = sign_in(client, "pb_not-a-real-token")
    assert wrong.status_code == 401
    assert "unknown or revoked" in wrong.text
    client.get("/signin")
    forged = client.post(
        "/signin", data={"token": tenant.token, "csrf_token": "forged"}, follow_redirects=False
    )
    assert forged.status_code == 403
    assert SESSION_COOKIE not in forged.cookies


def test_sign_in_never_redirects_to_another_site(client: TestClient, tenant: Tenant) -> None:
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        response = sign_in(client, tenant.token, target)
        assert response.headers["location"] == "/"


def test_sign_out_ends_the_session_on_the_server(signed_in: TestClient) -> None:
    old_cookie = signed_in.cookies[SESSION_COOKIE]
    csrf = csrf_from(signed_in.get("/").text)
    refused = signed_in.post("/signout", data={"csrf_token": "nope"}, follow_redirects=False)
    assert refused.status_code == 403
    response = signed_in.post("/signout", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/signin"
    # Even a copy of the old cookie no longer opens a page.
    signed_in.cookies.set(SESSION_COOKIE, old_cookie)
    assert signed_in.get("/", follow_redirects=False).status_code == 303


def test_revoking_the_api_token_ends_its_browser_sessions(
    signed_in: TestClient, tenant: Tenant, engine: Engine
) -> None:
    assert signed_in.get("/", follow_redirects=False).status_code == 200
    with Session(engine) as session:
        record = find_active_token(session, tenant.token)
        assert record is not None
        revoke_token(session, record)
        session.commit()
    assert signed_in.get("/", follow_redirects=False).status_code == 303


def test_share_link_shows_one_plan_read_only_until_revoked(
    signed_in: TestClient, tenant: Tenant, engine: Engine
) -> None:
    seeded = seed_plan(signed_in, tenant.headers)
    csrf = csrf_from(signed_in.get(f"/plans/{seeded.plan_id}").text)
    refused = signed_in.post(f"/plans/{seeded.plan_id}/share-links", data={"csrf_token": "x"})
    assert refused.status_code == 403
    created = signed_in.post(
        f"/plans/{seeded.plan_id}/share-links", data={"csrf_token": csrf, "label": "board"}
    )
    assert created.status_code == 200
    share_url = created.text.split('data-testid="new-share-url" href="')[1].split('"')[0]
    share_path = "/" + share_url.split("/", 3)[3]
    with Session(engine) as session:
        stored = session.exec(select(ShareLink)).one()
        # Only the hash is stored, never the token itself.
        assert share_path.rsplit("/", 1)[1] not in (stored.token_hash, stored.prefix)

    anonymous = TestClient(signed_in.app)
    shared = anonymous.get(share_path)
    assert shared.status_code == 200
    assert "Launch the partner portal" in shared.text and "30 %" in shared.text
    assert shared.headers["referrer-policy"] == "no-referrer"
    # Read-only: no forms, no links into the signed-in pages.
    assert "<form" not in shared.text and f'href="/goals/{seeded.goal_ids[0]}"' not in shared.text
    assert anonymous.get(f"/goals/{seeded.goal_ids[0]}", follow_redirects=False).status_code == 303

    revoke = signed_in.post(
        f"/plans/{seeded.plan_id}/share-links/{stored.id}/revoke",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert revoke.status_code == 303
    assert anonymous.get(share_path).status_code == 404
    assert anonymous.get("/share/pbs_guessed").status_code == 404


def test_another_workspace_cannot_revoke_a_share_link(
    client: TestClient, tenant: Tenant, other_tenant: Tenant, engine: Engine
) -> None:
    seeded = seed_plan(client, tenant.headers)
    sign_in(client, tenant.token)
    csrf = csrf_from(client.get(f"/plans/{seeded.plan_id}").text)
    client.post(f"/plans/{seeded.plan_id}/share-links", data={"csrf_token": csrf})
    with Session(engine) as session:
        link_id = session.exec(select(ShareLink)).one().id
    sign_in(client, other_tenant.token)
    other_csrf = csrf_from(client.get("/").text)
    response = client.post(
        f"/plans/{seeded.plan_id}/share-links/{link_id}/revoke", data={"csrf_token": other_csrf}
    )
    assert response.status_code == 404
    with Session(engine) as session:
        assert session.exec(select(ShareLink)).one().revoked_at is None


def test_retry_needs_csrf_then_queues_the_dead_link(
    signed_in: TestClient, tenant: Tenant, engine: Engine
) -> None:
    seeded = seed_plan(signed_in, tenant.headers)
    link_id = add_dead_link(engine, tenant.workspace_id, seeded.item_ids[1])
    refused = signed_in.post(f"/sync/links/{link_id}/retry", data={"csrf_token": "stolen"})
    assert refused.status_code == 403
    with Session(engine) as session:
        assert session.get(ExternalLink, link_id).dead  # type: ignore[union-attr]
    csrf = csrf_from(signed_in.get(f"/goals/{seeded.goal_ids[0]}").text)
    response = signed_in.post(f"/sync/links/{link_id}/retry", data={"csrf_token": csrf})
    assert response.status_code == 200
    assert "Retry queued" in response.text and ">retry queued<" in response.text
    with Session(engine) as session:
        link = session.get(ExternalLink, link_id)
        assert link is not None and not link.dead and link.attempts == 0
    dead = signed_in.get("/api/v1/sync/dead", headers=tenant.headers).json()
    assert dead["total"] == 0


def test_a_read_only_token_can_look_but_not_retry(
    client: TestClient, make_tenant: object, engine: Engine
) -> None:
    writer = make_tenant("acme", Scope.admin)  # type: ignore[operator]
    reader = make_tenant("acme", Scope.read)  # type: ignore[operator]
    seeded = seed_plan(client, writer.headers)
    link_id = add_dead_link(engine, writer.workspace_id, seeded.item_ids[1])
    sign_in(client, reader.token)
    page = client.get(f"/goals/{seeded.goal_ids[0]}")
    assert page.status_code == 200 and "/retry" not in page.text
    response = client.post(
        f"/sync/links/{link_id}/retry", data={"csrf_token": csrf_from(page.text)}
    )
    assert response.status_code == 403
    with Session(engine) as session:
        assert session.get(ExternalLink, link_id).dead  # type: ignore[union-attr]


def test_retry_of_another_workspaces_link_is_a_404(
    client: TestClient, tenant: Tenant, other_tenant: Tenant, engine: Engine
) -> None:
    seeded = seed_plan(client, other_tenant.headers)
    link_id = add_dead_link(engine, other_tenant.workspace_id, seeded.item_ids[1])
    sign_in(client, tenant.token)
    csrf = csrf_from(client.get("/").text)
    for target in (link_id, uuid.uuid4()):
        response = client.post(f"/sync/links/{target}/retry", data={"csrf_token": csrf})
        assert response.status_code == 404
    with Session(engine) as session:
        assert session.get(ExternalLink, link_id).dead  # type: ignore[union-attr]


def test_calendar_links_need_csrf_and_stay_inside_the_workspace(
    client: TestClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    foreign = seed_plan(client, other_tenant.headers)
    mine = seed_plan(client, tenant.headers)
    sign_in(client, tenant.token)
    csrf = csrf_from(client.get("/people").text)
    refused = client.post(f"/people/{mine.person_ids[0]}/calendar-links", data={"csrf_token": "x"})
    assert refused.status_code == 403
    foreign_person = client.post(
        f"/people/{foreign.person_ids[0]}/calendar-links", data={"csrf_token": csrf}
    )
    assert foreign_person.status_code == 404
    created = client.post(f"/people/{mine.person_ids[0]}/calendar-links", data={"csrf_token": csrf})
    assert created.status_code == 200
    feed_url = created.text.split('data-testid="new-feed-url" href="')[1].split('"')[0]
    feed_path = "/" + feed_url.split("/", 3)[3].replace("&amp;", "&")
    assert client.get(feed_path).status_code == 200
    tokens = client.get(
        f"/api/v1/people/{mine.person_ids[0]}/calendar-tokens", headers=tenant.headers
    ).json()
    assert len(tokens) == 1
