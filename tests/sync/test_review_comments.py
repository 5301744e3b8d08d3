"""Progress in the trackers: with ``post_reviews_to_trackers`` on, last week's review is posted
once as a comment on each goal mirror (Jira Cloud epic, Trello goal card); GitHub milestones are
skipped."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.models import Goal, ItemEvent, Plan
from app.schemas.weeks import IsoWeek
from app.services.review_markdown import render_review_markdown
from app.services.reviews import weekly_review
from connectors.jira.adf import markdown_to_adf, markdown_to_wiki
from sync.engine import SyncEngine
from sync.review_comments import REVIEW_POSTED, goal_review, post_review_comments
from tests.conftest import Tenant
from tests.sync.conftest import run_until_idle
from tests.sync.e2e import (
    SeededPlan,
    create_connection,
    create_github_connection,
    goal_link,
    seed_plan,
)
from tests.sync.test_end_to_end_jira import connection_body, owner_identities
from tests.trackers.github.harness import GitHubHarness
from tests.trackers.jira.harness import JiraCloudHarness, JiraDataCenterHarness
from tests.trackers.trello.harness import TrelloHarness


def set_plan(engine: Engine, goal_id: str, *, post_reviews: bool) -> Plan:
    """Turn the plan setting on or off; the plan starts a month ago, so last week is in it."""
    with Session(engine) as session:
        goal = session.get(Goal, uuid.UUID(goal_id))
        assert goal is not None
        plan = session.get(Plan, goal.plan_id)
        assert plan is not None
        plan.post_reviews_to_trackers = post_reviews
        plan.start_date = date.today() - timedelta(days=30)
        session.add(plan)
        session.commit()
        session.refresh(plan)
        return plan


def expected_markdown(engine: Engine, sync_engine: SyncEngine, plan: Plan, goal_id: str) -> str:
    """What the comment must say: the goal's part of last week's review, as the API renders it."""
    now = sync_engine.context.clock.now()
    week = IsoWeek.of(now.date()).shifted(-1)
    with Session(engine) as session:
        review = weekly_review(
            session, plan.workspace_id, plan.id, week, sync_engine.context.settings, now=now
        )
    return render_review_markdown(goal_review(review, uuid.UUID(goal_id)))


def posted_events(engine: Engine) -> list[ItemEvent]:
    with Session(engine) as session:
        return list(session.exec(select(ItemEvent).where(ItemEvent.kind == REVIEW_POSTED)).all())


def seed_jira(client: TestClient, tenant: Tenant, jira: JiraCloudHarness) -> SeededPlan:
    connection = create_connection(client, tenant, connection_body(jira))
    return seed_plan(client, tenant, connection, owner_identities(jira), 2, mirror_goal=True)


def test_review_is_posted_once_per_week_on_the_jira_epic(
    client: TestClient,
    tenant: Tenant,
    jira: JiraCloudHarness,
    sync_engine: SyncEngine,
    engine: Engine,
) -> None:
    seeded = seed_jira(client, tenant, jira)
    run_until_idle(sync_engine)
    epic = goal_link(engine, seeded.connection_id, seeded.goal_id)
    plan = set_plan(engine, seeded.goal_id, post_reviews=True)

    # The worker's outbound step posts it (its first check runs at once).
    sync_engine.run_outbound()

    [comment] = jira.emulator.comments_on(str(epic.key))
    markdown = expected_markdown(engine, sync_engine, plan, seeded.goal_id)
    assert "### Launch" in markdown
    # Cloud takes REST v3: the review's Markdown goes as an ADF document.
    assert comment.body == markdown_to_adf(markdown)
    [event] = posted_events(engine)
    last_week = IsoWeek.of(sync_engine.context.clock.now().date()).shifted(-1)
    assert event.goal_id == uuid.UUID(seeded.goal_id)
    assert event.to_value == str(last_week)
    assert event.data["connection_id"] == seeded.connection_id

    # A second check in the same week posts nothing more.
    assert post_review_comments(sync_engine.context, sync_engine.context.clock.now()) == 0
    assert len(jira.emulator.comments_on(str(epic.key))) == 1
    # The next week gets its own comment.
    next_week = sync_engine.context.clock.now() + timedelta(days=7)
    assert post_review_comments(sync_engine.context, next_week) == 1
    assert len(jira.emulator.comments_on(str(epic.key))) == 2


def test_no_comment_when_the_plan_setting_is_off(
    client: TestClient,
    tenant: Tenant,
    jira: JiraCloudHarness,
    sync_engine: SyncEngine,
    engine: Engine,
) -> None:
    seeded = seed_jira(client, tenant, jira)
    run_until_idle(sync_engine)
    epic = goal_link(engine, seeded.connection_id, seeded.goal_id)
    set_plan(engine, seeded.goal_id, post_reviews=False)

    assert post_review_comments(sync_engine.context, sync_engine.context.clock.now()) == 0
    assert jira.emulator.comments_on(str(epic.key)) == []
    assert posted_events(engine) == []


def test_failed_post_is_retried_at_the_next_check(
    client: TestClient,
    tenant: Tenant,
    jira: JiraCloudHarness,
    sync_engine: SyncEngine,
    engine: Engine,
) -> None:
    seeded = seed_jira(client, tenant, jira)
    run_until_idle(sync_engine)
    epic = goal_link(engine, seeded.connection_id, seeded.goal_id)
    set_plan(engine, seeded.goal_id, post_reviews=True)
    now = sync_engine.context.clock.now()

    # Jira refuses the comment once (a 400, not retried within the check).
    jira.inject_fault("server_error", 1, status=400, path_contains="/comment")
    assert post_review_comments(sync_engine.context, now) == 0
    assert posted_events(engine) == []
    assert post_review_comments(sync_engine.context, now) == 1
    assert len(jira.emulator.comments_on(str(epic.key))) == 1


def test_review_is_posted_as_a_comment_on_the_trello_goal_card(
    client: TestClient,
    tenant: Tenant,
    trello: TrelloHarness,
    sync_engine: SyncEngine,
    engine: Engine,
) -> None:
    emulator = trello.emulator
    body: dict[str, Any] = {
        "kind": "trello",
        "name": "Trello",
        "base_url": emulator.url,
        "scope": emulator.board["id"],
        "credentials": {"api_key": emulator.api_key, "api_token": emulator.token},
        "webhook_secret": emulator.app_secret,
    }
    connection = create_connection(client, tenant, body)
    identities = {"trello": emulator.person["id"]}
    seeded = seed_plan(client, tenant, connection, identities, 1, mirror_goal=True)
    run_until_idle(sync_engine)
    card = goal_link(engine, seeded.connection_id, seeded.goal_id)
    plan = set_plan(engine, seeded.goal_id, post_reviews=True)
    now = sync_engine.context.clock.now()

    assert post_review_comments(sync_engine.context, now) == 1
    assert post_review_comments(sync_engine.context, now) == 0

    with emulator.store.lock:
        comments = [action for action in emulator.store.actions if action["type"] == "commentCard"]
    [comment] = comments
    assert comment["data"]["card"]["id"] == card.external_id
    # Trello renders Markdown itself: the text is the review's Markdown as it is.
    assert comment["data"]["text"] == expected_markdown(engine, sync_engine, plan, seeded.goal_id)
    # The comment shows up in the board's actions; the next pull must take it in its stride.
    run_until_idle(sync_engine)


def test_github_milestone_mirrors_are_skipped_without_error(
    client: TestClient,
    tenant: Tenant,
    github: GitHubHarness,
    sync_engine: SyncEngine,
    engine: Engine,
) -> None:
    connection = create_github_connection(client, tenant, github)
    seeded = seed_plan(client, tenant, connection, {"github": "octocat"}, 1, mirror_goal=True)
    run_until_idle(sync_engine)
    goal_link(engine, seeded.connection_id, seeded.goal_id)  # the milestone exists
    set_plan(engine, seeded.goal_id, post_reviews=True)

    assert post_review_comments(sync_engine.context, sync_engine.context.clock.now()) == 0
    assert posted_events(engine) == []


def test_jira_data_center_comment_is_wiki_markup() -> None:
    harness = JiraDataCenterHarness()
    try:
        connector = harness.connector()
        [ref] = harness.seed_items(1)
        markdown = "# Q1: weekly review\n\n- [Plan](https://example.com/plan) moved `2` points"
        connector.add_comment(ref, markdown)
        [comment] = harness.emulator.comments_on(str(ref.key or ref.external_id))
        # REST v2 takes wiki markup as a string, never an ADF document.
        assert comment.body == markdown_to_wiki(markdown)
        assert isinstance(comment.body, str) and "[Plan|https://example.com/plan]" in comment.body
        connector.close()
    finally:
        harness.close()
