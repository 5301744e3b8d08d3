"""The iCalendar feed: parses, recurs in local time across daylight saving, refuses wrong or
revoked tokens."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
from fastapi.testclient import TestClient

from tests.conftest import Tenant
from tests.execution.api_helpers import post, seed_plan

BERLIN = ZoneInfo("Europe/Berlin")


def feed_url(client: TestClient, tenant: Tenant, person_id: str) -> tuple[str, str]:
    created = post(client, tenant.headers, f"/people/{person_id}/calendar-tokens", {})
    return created["url"].split("/api/v1", 1)[1], created["id"]


def test_feed_has_weekly_focus_time_in_local_time_across_dst_and_due_dates(
    client: TestClient, tenant: Tenant
) -> None:
    seeded = seed_plan(client, tenant.headers)
    person_id = seeded["person"]["id"]
    post(
        client,
        tenant.headers,
        f"/people/{person_id}/focus-blocks",
        {"weekday": 0, "start": "09:00", "end": "12:00", "timezone": "Europe/Berlin"},
    )
    path, _token_id = feed_url(client, tenant, person_id)
    response = client.get(f"/api/v1{path}")  # no API token: the feed token is the credential
    assert response.status_code == 200 and response.headers["content-type"].startswith(
        "text/calendar"
    )
    calendar = icalendar.Calendar.from_ical(response.content)
    assert [zone["TZID"] for zone in calendar.walk("VTIMEZONE")] == ["Europe/Berlin"]
    focus = [event for event in calendar.walk("VEVENT") if event["SUMMARY"] == "Strategic work"]
    assert focus[0]["RRULE"]["FREQ"] == ["WEEKLY"] and focus[0]["RRULE"]["BYDAY"] == ["MO"]
    assert (
        focus[0].decoded("DTSTART").tzinfo.key == "Europe/Berlin"
    )  # TZID kept, not flattened to UTC
    # Expand over the spring change of the coming year: 09:00 local stays 09:00, the UTC hour moves.
    year = date.today().year + 1
    occurrences = recurring_ical_events.of(calendar).between(
        datetime(year, 3, 16, tzinfo=BERLIN), datetime(year, 4, 7, tzinfo=BERLIN)
    )
    starts = sorted(
        event.decoded("DTSTART") for event in occurrences if event["SUMMARY"] == "Strategic work"
    )
    assert len(starts) == 3 and {start.astimezone(BERLIN).hour for start in starts} == {9}
    assert {start.utcoffset() for start in starts} == {timedelta(hours=1), timedelta(hours=2)}
    due = [event for event in calendar.walk("VEVENT") if str(event["SUMMARY"]).startswith("Due: ")]
    assert [(str(event["SUMMARY"]), event.decoded("DTSTART")) for event in due] == [
        ("Due: Draft", date.fromisoformat(seeded["item"]["due_date"]))
    ]


def test_wrong_revoked_or_foreign_feed_token_is_refused(
    client: TestClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    seeded = seed_plan(client, tenant.headers)
    person_id = seeded["person"]["id"]
    path, token_id = feed_url(client, tenant, person_id)
    assert (
        client.get(f"/api/v1/people/{person_id}/calendar.ics?token=pbcal_wrong").status_code == 404
    )
    other = seed_plan(client, other_tenant.headers)
    other_path, _ = feed_url(client, other_tenant, other["person"]["id"])
    token = other_path.split("token=")[1]
    assert client.get(f"/api/v1/people/{person_id}/calendar.ics?token={token}").status_code == 404
    assert (
        client.post(
            f"/api/v1/people/{person_id}/calendar-tokens", headers=other_tenant.headers
        ).status_code
        == 404
    )
    assert (
        client.delete(
            f"/api/v1/people/{person_id}/calendar-tokens/{token_id}", headers=other_tenant.headers
        ).status_code
        == 404
    )
    assert client.get(f"/api/v1{path}").status_code == 200
    assert (
        client.delete(
            f"/api/v1/people/{person_id}/calendar-tokens/{token_id}", headers=tenant.headers
        ).status_code
        == 204
    )
    refused = client.get(f"/api/v1{path}")
    assert (
        refused.status_code == 404 and refused.headers["content-type"] == "application/problem+json"
    )
    listed = client.get(
        f"/api/v1/people/{person_id}/calendar-tokens", headers=tenant.headers
    ).json()
    assert listed[0]["revoked_at"] is not None and "token" not in listed[0]


def test_focus_blocks_crud_validates_and_sets_capacity(client: TestClient, tenant: Tenant) -> None:
    person = post(client, tenant.headers, "/people", {"name": "Bo"})
    base = f"/api/v1/people/{person['id']}/focus-blocks"
    bad_zone = client.post(
        base,
        json={"weekday": 1, "start": "09:00", "end": "11:00", "timezone": "Mars/Olympus"},
        headers=tenant.headers,
    )
    assert bad_zone.status_code == 422 and bad_zone.json()["errors"][0]["loc"] == [
        "body",
        "timezone",
    ]
    backwards = client.post(
        base,
        json={"weekday": 1, "start": "11:00", "end": "09:00", "timezone": "UTC"},
        headers=tenant.headers,
    )
    assert backwards.status_code == 422
    block = post(
        client,
        tenant.headers,
        f"/people/{person['id']}/focus-blocks",
        {"weekday": 1, "start": "09:00", "end": "11:00", "timezone": "UTC"},
    )
    changed = client.put(
        f"{base}/{block['id']}",
        json={"weekday": 2, "start": "08:00", "end": "11:30", "timezone": "UTC"},
        headers=tenant.headers,
    )
    assert changed.status_code == 200 and changed.json()["weekday"] == 2
    commitments = client.get(
        f"/api/v1/people/{person['id']}/commitments", headers=tenant.headers
    ).json()
    assert commitments["weeks"][0]["capacity_hours"] == 3.5
    assert client.delete(f"{base}/{block['id']}", headers=tenant.headers).status_code == 204
    assert client.get(base, headers=tenant.headers).json() == []
