"""Applying a plan document: creation, idempotence, updates, all or nothing, prune, events."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import Tenant
from tests.plan_documents.documents import (
    API,
    QUARTER,
    actions,
    applied,
    apply,
    listed,
)


def _item(client: TestClient, tenant: Tenant, title: str) -> dict[str, Any]:
    [item] = [row for row in listed(client, tenant, "items") if row["title"] == title]
    return item


def test_applying_a_document_creates_its_people_plan_goals_and_items(
    client: TestClient, tenant: Tenant
) -> None:
    report = applied(client, tenant, QUARTER)
    assert report["applied"] and report["changed"] and not report["dry_run"]
    assert actions(report) == {"create": 9}  # 2 people, the plan, 2 goals, 4 items
    [plan] = listed(client, tenant, "plans")
    assert plan["id"] == report["plan_id"] and plan["name"] == "2027 Q1"
    assert [g["title"] for g in listed(client, tenant, "goals")] == [
        "Faster onboarding",
        "Fewer support tickets",
    ]
    tagged = _item(client, tenant, "Tag last quarter's tickets")
    assert tagged["start_date"] == "2027-01-18" and tagged["estimate_hours"] == 4
    assert tagged["description"] == (
        "Every ticket gets one of the ten causes.\nStart with the oldest.\n"
    )
    assert _item(client, tenant, "Record the welcome video")["status"] == "in_progress"
    people = {p["email"]: p for p in listed(client, tenant, "people")}
    assert people["grace@example.com"]["weekly_strategic_hours"] == 10


def test_items_created_by_an_import_are_events_by_the_import_and_who_applied_it(
    client: TestClient, tenant: Tenant
) -> None:
    applied(client, tenant, QUARTER)
    item = _item(client, tenant, "Write the onboarding guide")
    events = client.get(f"{API}/items/{item['id']}/events", headers=tenant.headers).json()
    [created] = events["items"]
    assert created["kind"] == "created"
    assert created["actor"] == "import by token:acme-admin"
    assert item["revision"] == 1  # a new item: the engine pushes it (no link yet)


def test_applying_the_same_document_twice_changes_nothing_and_says_so(
    client: TestClient, tenant: Tenant
) -> None:
    applied(client, tenant, QUARTER)
    before = listed(client, tenant, "items")
    again = applied(client, tenant, QUARTER)
    assert not again["changed"] and not again["applied"]
    assert again["message"] == "Nothing to change: the workspace already matches the document."
    assert actions(again) == {"unchanged": 9}
    assert listed(client, tenant, "items") == before
    assert len(listed(client, tenant, "plans")) == 1 and len(listed(client, tenant, "goals")) == 2


def test_a_changed_title_and_estimate_are_one_update_of_that_item(
    client: TestClient, tenant: Tenant
) -> None:
    applied(client, tenant, QUARTER)
    guide = _item(client, tenant, "Write the onboarding guide")
    changed = QUARTER.replace(
        "title: Write the onboarding guide", "title: Write the getting-started guide"
    ).replace("estimate_hours: 6", "estimate_hours: 8")
    report = applied(client, tenant, changed)
    assert actions(report) == {"update": 1, "unchanged": 8}
    [update] = [c for c in report["changes"] if c["action"] == "update"]
    assert update["id"] == guide["id"] and update["key"] == "guide"
    assert update["path"] == "$.goals[0].items[0]" and update["line"] == 23
    assert update["fields"] == [
        {
            "field": "title",
            "old": "Write the onboarding guide",
            "new": "Write the getting-started guide",
        },
        {"field": "estimate_hours", "old": "6", "new": "8"},
    ]
    after = _item(client, tenant, "Write the getting-started guide")
    assert after["id"] == guide["id"] and after["revision"] == 2 and after["estimate_hours"] == 8
    events = client.get(f"{API}/items/{guide['id']}/events", headers=tenant.headers).json()
    planning = {(e["field"], e["from_value"], e["to_value"]) for e in events["items"][1:]}
    assert planning == {
        ("title", "Write the onboarding guide", "Write the getting-started guide"),
        ("estimate_hours", "6", "8"),
    }


def test_dry_run_answers_the_exact_difference_and_changes_nothing(
    client: TestClient, tenant: Tenant
) -> None:
    applied(client, tenant, QUARTER)
    before = listed(client, tenant, "items")
    changed = QUARTER.replace("due_date: 2027-02-26", "due_date: 2027-04-09").replace(
        "      - title: Fix the top three causes",
        "      - title: Write the runbook\n"
        "        owner: grace\n"
        "        due_date: 2027-03-05\n"
        "        estimate_hours: 5\n"
        "      - title: Fix the top three causes",
    )
    report = applied(client, tenant, changed, dry_run=True)
    assert report["dry_run"] and not report["applied"] and report["changed"]
    assert actions(report) == {"create": 1, "update": 1, "unchanged": 8}
    [created] = [c for c in report["changes"] if c["action"] == "create"]
    assert created["kind"] == "item" and created["title"] == "Write the runbook"
    assert created["id"] is None and created["path"] == "$.goals[1].items[1]"
    [update] = [c for c in report["changes"] if c["action"] == "update"]
    assert update["fields"] == [{"field": "due_date", "old": "2027-02-26", "new": "2027-04-09"}]
    # The planning rules' warning, at the item's line: due after the plan's end.
    [warning] = [w for w in report["warnings"] if w["code"] == "due_after_plan_end"]
    assert warning["path"] == "$.goals[0].items[1].due_date" and warning["line"] == 31
    assert listed(client, tenant, "items") == before


def test_capacity_warnings_name_the_item_that_overloads_its_owner(
    client: TestClient, tenant: Tenant
) -> None:
    overloaded = QUARTER.replace("weekly_strategic_hours: 10", "weekly_strategic_hours: 1")
    report = applied(client, tenant, overloaded, dry_run=True)
    over = [w for w in report["warnings"] if w["code"] == "over_capacity"]
    assert over and all(w["severity"] == "warning" for w in over)
    # Tag last quarter's tickets: 4 h in two weeks against 1 h a week.
    tagged = [w for w in over if w["path"] == "$.goals[1].items[0].estimate_hours"]
    assert tagged and tagged[0]["line"] == 41 and "Grace Hopper" in tagged[0]["message"]
    assert listed(client, tenant, "plans") == []


def test_an_error_anywhere_changes_nothing(client: TestClient, tenant: Tenant) -> None:
    applied(client, tenant, QUARTER)
    before = (listed(client, tenant, "goals"), listed(client, tenant, "items"))
    # A good change early in the file, an oversized item late in it.
    broken = QUARTER.replace("estimate_hours: 6", "estimate_hours: 7").replace(
        "estimate_hours: 12", "estimate_hours: 40"
    )
    response = apply(client, tenant, broken)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    [error] = problem["errors"]
    assert error["loc"] == ["body", "goals", 1, "items", 1, "estimate_hours"]
    assert error["msg"].startswith("line 48, column 9 ($.goals[1].items[1].estimate_hours): ")
    assert "split it into steps of at most 16 hours" in error["msg"]
    assert problem["report"]["applied"] is False
    assert (listed(client, tenant, "goals"), listed(client, tenant, "items")) == before


def test_prune_deletes_what_the_document_leaves_out_and_without_it_they_are_kept(
    client: TestClient, tenant: Tenant
) -> None:
    applied(client, tenant, QUARTER)
    shorter = QUARTER[: QUARTER.index("  - title: Fewer support tickets")]
    kept = applied(client, tenant, shorter)
    assert actions(kept) == {"unchanged": 6, "not_in_document": 3}
    assert len(listed(client, tenant, "items")) == 4
    dry = applied(client, tenant, shorter, prune=True, dry_run=True)
    assert actions(dry) == {"unchanged": 6, "delete": 3}
    assert len(listed(client, tenant, "items")) == 4
    pruned = applied(client, tenant, shorter, prune=True)
    assert pruned["applied"] and actions(pruned) == {"unchanged": 6, "delete": 3}
    assert [g["title"] for g in listed(client, tenant, "goals")] == ["Faster onboarding"]
    assert len(listed(client, tenant, "items")) == 2


def test_a_keyed_item_renamed_and_moved_to_another_goal_is_updated_not_recreated(
    client: TestClient, tenant: Tenant
) -> None:
    applied(client, tenant, QUARTER)
    video = _item(client, tenant, "Record the welcome video")
    moved = QUARTER.replace(
        "      - key: video\n"
        "        title: Record the welcome video\n"
        "        owner: grace@example.com\n"
        "        due_date: 2027-02-26\n"
        "        estimate_hours: 3\n"
        "        status: in_progress\n",
        "",
    ).replace(
        "      - title: Fix the top three causes",
        "      - key: video\n"
        "        title: Record the support video\n"
        "        owner: grace@example.com\n"
        "        due_date: 2027-02-26\n"
        "        estimate_hours: 3\n"
        "        status: in_progress\n"
        "      - title: Fix the top three causes",
    )
    report = applied(client, tenant, moved)
    assert actions(report) == {"update": 1, "unchanged": 8}
    after = _item(client, tenant, "Record the support video")
    assert after["id"] == video["id"] and after["goal_id"] != video["goal_id"]


def test_items_without_keys_are_matched_by_title_within_their_goal(
    client: TestClient, tenant: Tenant
) -> None:
    applied(client, tenant, QUARTER)
    tagged = _item(client, tenant, "Tag last quarter's tickets")
    report = applied(client, tenant, QUARTER.replace("estimate_hours: 4", "estimate_hours: 5"))
    [update] = [c for c in report["changes"] if c["action"] == "update"]
    assert update["id"] == tagged["id"] and update["key"] is None


def test_a_plan_is_applied_to_each_workspace_on_its_own(
    client: TestClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    applied(client, tenant, QUARTER)
    report = applied(client, other_tenant, QUARTER)
    assert actions(report) == {"create": 9}
    assert len(listed(client, tenant, "items")) == 4
    assert len(listed(client, other_tenant, "items")) == 4


def test_a_new_key_for_an_item_and_the_plan_is_an_update_of_their_keys(
    client: TestClient, tenant: Tenant
) -> None:
    plan_id = applied(client, tenant, QUARTER)["plan_id"]
    guide = _item(client, tenant, "Write the onboarding guide")
    rekeyed = QUARTER.replace("key: guide", "key: handbook").replace("key: q1", "key: first")
    report = applied(client, tenant, rekeyed)
    assert report["plan_id"] == plan_id
    assert actions(report) == {"update": 2, "unchanged": 7}
    [item] = [c for c in report["changes"] if c["key"] == "handbook"]
    assert item["id"] == guide["id"]
    assert item["fields"] == [{"field": "key", "old": "guide", "new": "handbook"}]
    assert not applied(client, tenant, rekeyed)["changed"]
    # The old keys are free: the plan is found by its new key even under another name.
    renamed = rekeyed.replace("name: 2027 Q1", "name: First quarter")
    assert applied(client, tenant, renamed)["plan_id"] == plan_id
