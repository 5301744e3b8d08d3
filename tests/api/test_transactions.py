"""One transaction per request, ended in one place (``app.deps.get_session``): committed when the
route returns, before the answer is sent; rolled back when anything raises."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from app.models import Plan
from tests.api.factories import API, create_plan
from tests.conftest import Tenant

ROOT = Path(__file__).resolve().parents[2]


def _plans(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return [plan.name for plan in session.exec(select(Plan))]


def test_a_write_is_committed_before_its_answer_is_sent(
    client: TestClient, tenant: Tenant, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A commit that fails is the answer (503, nothing kept), never a 201 for a lost write."""

    def refuse(self: Session) -> None:
        raise OperationalError("COMMIT", {}, Exception("the database went away"))

    monkeypatch.setattr(Session, "commit", refuse)
    answer = client.post(
        f"{API}/plans",
        json={"name": "lost", "start_date": "2027-01-01", "end_date": "2027-03-31"},
        headers=tenant.headers,
    )
    monkeypatch.undo()
    assert answer.status_code == 503
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert _plans(engine) == []


def test_a_route_that_raises_after_writing_keeps_nothing(
    client: TestClient, tenant: Tenant, engine: Engine
) -> None:
    """A refused update leaves the plan as it was, although the route changed it in memory
    before a rule refused it."""
    plan = create_plan(client, tenant, name="kept", start_date="2027-01-01", end_date="2027-03-31")
    refused = client.patch(
        f"{API}/plans/{plan['id']}",
        json={"name": "changed", "end_date": "2026-01-01"},
        headers=tenant.headers,
    )
    assert refused.status_code == 422
    assert _plans(engine) == ["kept"]


def test_a_read_leaves_the_session_without_a_write(
    client: TestClient, tenant: Tenant, engine: Engine
) -> None:
    create_plan(client, tenant, name="read", start_date="2027-01-01", end_date="2027-03-31")
    listed = client.get(f"{API}/plans", headers=tenant.headers)
    assert listed.status_code == 200 and [p["name"] for p in listed.json()["items"]] == ["read"]


# The one early commit: a webhook's callback is stored before the tracker is asked to register
# it, since the tracker may deliver before it answers (see app.deps.get_session).
EARLY_COMMITS = {"app/routes/connections.py": 2}


def test_routes_leave_commit_and_rollback_to_the_session_dependency() -> None:
    commits = {
        str(path.relative_to(ROOT)): len(re.findall(r"\.commit\(\)", path.read_text()))
        for folder in ("app/routes", "app/dashboard")
        for path in sorted((ROOT / folder).rglob("*.py"))
    }
    assert {path: count for path, count in commits.items() if count} == EARLY_COMMITS
