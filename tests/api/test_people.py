from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from tests.api.factories import API, create_item, create_person, create_tree
from tests.conftest import Tenant


def test_person_is_created_read_listed_updated_and_deleted(
    client: TestClient, tenant: Tenant
) -> None:
    person = create_person(
        client, tenant, identities={"jira": "5b10ac8d82e05b22cc7d4ef5", "github": "ada"}
    )
    assert person["identities"] == {"jira": "5b10ac8d82e05b22cc7d4ef5", "github": "ada"}
    assert person["weekly_strategic_hours"] == 8

    fetched = client.get(f"{API}/people/{person['id']}", headers=tenant.headers)
    assert fetched.status_code == 200
    assert fetched.json() == person

    changed = client.patch(
        f"{API}/people/{person['id']}",
        json={"weekly_strategic_hours": 4.5, "identities": {"trello": "5e1f"}},
        headers=tenant.headers,
    )
    assert changed.status_code == 200
    assert changed.json()["weekly_strategic_hours"] == 4.5
    assert changed.json()["identities"] == {"trello": "5e1f"}
    assert changed.json()["name"] == "Ada Lovelace"

    listed = client.get(f"{API}/people", headers=tenant.headers).json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == person["id"]

    assert client.delete(f"{API}/people/{person['id']}", headers=tenant.headers).status_code == 204
    assert client.get(f"{API}/people/{person['id']}", headers=tenant.headers).status_code == 404


def test_people_list_filters_by_email_in_any_case(client: TestClient, tenant: Tenant) -> None:
    create_person(client, tenant, name="Ada", email="ada@example.com")
    create_person(client, tenant, name="Grace", email="grace@example.com")
    found = client.get(
        f"{API}/people", params={"email": "GRACE@example.com"}, headers=tenant.headers
    )
    assert [p["name"] for p in found.json()["items"]] == ["Grace"]


def test_pages_are_stable_and_cover_every_row_once(client: TestClient, tenant: Tenant) -> None:
    created = [create_person(client, tenant, name=f"P{i}")["id"] for i in range(7)]
    seen: list[str] = []
    for offset in range(0, 7, 3):
        page = client.get(
            f"{API}/people", params={"limit": 3, "offset": offset}, headers=tenant.headers
        ).json()
        assert page["total"] == 7 and page["limit"] == 3 and page["offset"] == offset
        seen += [p["id"] for p in page["items"]]
    assert seen == created
    beyond = client.get(f"{API}/people", params={"offset": 50}, headers=tenant.headers).json()
    assert beyond["items"] == [] and beyond["total"] == 7


def test_person_fields_are_validated(client: TestClient, tenant: Tenant) -> None:
    cases = [
        ({"name": ""}, ["body", "name"]),
        ({"name": "   "}, ["body", "name"]),
        ({"name": "A", "email": "not-an-email"}, ["body", "email"]),
        ({"name": "A", "weekly_strategic_hours": -1}, ["body", "weekly_strategic_hours"]),
        ({"name": "A", "weekly_strategic_hours": 200}, ["body", "weekly_strategic_hours"]),
        ({"name": "A", "identities": {"GitHub!": "x"}}, ["body", "identities", "GitHub!", "[key]"]),
        ({"name": "A", "identities": {"github": ""}}, ["body", "identities", "github"]),
        ({"name": "A\x00B"}, ["body", "name"]),
        ({"name": "A", "nickname": "typo"}, ["body", "nickname"]),
    ]
    for body, loc in cases:
        response = client.post(f"{API}/people", json=body, headers=tenant.headers)
        assert response.status_code == 422, body
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["loc"] == loc, body


def test_patch_cannot_null_the_name(client: TestClient, tenant: Tenant) -> None:
    person = create_person(client, tenant)
    response = client.patch(
        f"{API}/people/{person['id']}", json={"name": None}, headers=tenant.headers
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "name"]


def test_deleting_an_owner_is_a_conflict_naming_what_they_own(
    client: TestClient, tenant: Tenant
) -> None:
    tree = create_tree(client, tenant)
    response = client.delete(f"{API}/people/{tree['person']['id']}", headers=tenant.headers)
    assert response.status_code == 409
    assert "owns 1 action item and 1 goal" in response.json()["detail"]
    assert (
        client.get(f"{API}/people/{tree['person']['id']}", headers=tenant.headers).status_code
        == 200
    )


def test_owner_can_be_deleted_after_handing_over(client: TestClient, tenant: Tenant) -> None:
    tree = create_tree(client, tenant)
    heir = create_person(client, tenant, name="Grace")
    create_item(client, tenant, tree["goal"], heir)
    for path in (f"items/{tree['item']['id']}", f"goals/{tree['goal']['id']}"):
        response = client.patch(
            f"{API}/{path}", json={"owner_id": heir["id"]}, headers=tenant.headers
        )
        assert response.status_code == 200
    assert (
        client.delete(f"{API}/people/{tree['person']['id']}", headers=tenant.headers).status_code
        == 204
    )


def test_unknown_person_is_404(client: TestClient, tenant: Tenant) -> None:
    unknown = uuid.uuid4()
    for method in ("get", "patch", "delete"):
        kwargs = {"json": {"name": "X"}} if method == "patch" else {}
        response = client.request(
            method, f"{API}/people/{unknown}", headers=tenant.headers, **kwargs
        )
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
