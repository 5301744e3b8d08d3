"""The weekly digest once the week's review is frozen: to the plan's owner and its goals' owners,
"needs help" first, missing check-ins named, once per plan and week; SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from email.message import Message as Email

from sqlmodel import Session, col, select

from app.models import CheckIn, Confidence, Goal, MessageDelivery, Plan, PlanDigest
from app.services.digest import send_weekly_digests
from app.services.reviews import freeze_last_week_reviews
from tests.execution.factories import at, make_goal, make_item
from tests.nudges.conftest import Team

WEEK = "2027-W09"  # Monday 2027-03-01 to Sunday 2027-03-07
AFTER_THE_WEEK = at("2027-03-08 00:30")


def parts(mail: Email) -> dict[str, str]:
    found = {}
    for part in mail.walk():
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            found[part.get_content_type()] = payload.decode()
    return found


def seed_check_ins(team: Team) -> None:
    """Ada asks for help on Onboarding; nobody checks in on Grace's second goal, "Hiring"."""
    with Session(team.engine) as session:
        onboarding = session.get(Goal, team.item.goal_id)
        assert onboarding is not None
        plan = session.get(Plan, onboarding.plan_id)
        assert plan is not None
        make_goal(session, plan, team.grace, title="Hiring")
        hiring = session.exec(select(Goal).where(col(Goal.title) == "Hiring")).one()
        make_item(session, hiring, team.grace, title="Post the job", created=at("2027-03-01 08:00"))
        session.add(
            CheckIn(
                workspace_id=team.workspace_id,
                owner_id=team.grace.id,
                goal_id=onboarding.id,
                iso_week=WEEK,
                confidence=Confidence.at_risk,
                note="The form waits on legal",
                blockers="Legal review of the consent text",
                needs_help=True,
                created_at=at("2027-03-05 15:00"),
            )
        )
        session.commit()


def freeze(team: Team, now: datetime) -> None:
    """What the engine's review check does shortly after a week ends."""
    with Session(team.engine) as session:
        freeze_last_week_reviews(session, team.settings, now=now)
        session.commit()


def test_no_digest_before_the_review_is_frozen(team: Team) -> None:
    seed_check_ins(team)

    assert send_weekly_digests(team.engine, team.settings, AFTER_THE_WEEK) == 0
    assert team.smtp.received == []


def test_the_digest_goes_once_to_the_plan_owner_and_goal_owners_needs_help_first(
    team: Team,
) -> None:
    seed_check_ins(team)
    freeze(team, AFTER_THE_WEEK)

    team.tick(AFTER_THE_WEEK)
    team.tick(at("2027-03-08 09:00"))
    freeze(team, at("2027-03-09 00:30"))
    team.tick(at("2027-03-09 09:00"))

    digests = [mail for mail in team.smtp.received if "weekly review" in str(mail["Subject"])]
    assert sorted(str(mail["To"]) for mail in digests) == ["grace@example.com", "linus@example.com"]
    mail = digests[0]
    assert mail["Subject"] == f"2027 Q1: weekly review {WEEK}"
    assert mail["List-Unsubscribe"] is None  # not a nudge: the opt-out does not stop it
    text, html = parts(mail)["text/plain"], parts(mail)["text/html"]
    assert text.index("## Needs help") < text.index("## Goals")
    assert "**Onboarding** (Grace Hopper, at risk): The form waits on legal." in text
    assert "Missing: Hiring (Grace Hopper)" in text
    assert "<h2>Needs help</h2>" in html and "<strong>Onboarding</strong>" in html
    with Session(team.engine) as session:
        [digest] = session.exec(select(PlanDigest)).all()
        assert (digest.iso_week, digest.recipients) == (WEEK, 2)
        kinds = session.exec(
            select(col(MessageDelivery.kind)).where(col(MessageDelivery.kind) == "digest")
        ).all()
        assert len(kinds) == 2


def test_an_owner_of_plan_and_goal_gets_one_digest_and_html_in_notes_is_shown_not_run(
    team: Team,
) -> None:
    with Session(team.engine) as session:
        goal = session.get(Goal, team.item.goal_id)
        assert goal is not None
        plan = session.get(Plan, goal.plan_id)
        assert plan is not None
        plan.owner_id = team.grace.id  # Grace owns the plan and its goal: one digest for her
        session.add(plan)
        session.add(
            CheckIn(
                workspace_id=team.workspace_id,
                owner_id=team.grace.id,
                goal_id=goal.id,
                iso_week=WEEK,
                confidence=Confidence.off_track,
                note="<script>alert(1)</script>",
                needs_help=True,
                created_at=at("2027-03-05 15:00"),
            )
        )
        session.commit()
    freeze(team, AFTER_THE_WEEK)

    team.tick(AFTER_THE_WEEK)

    [mail] = [m for m in team.smtp.received if "weekly review" in str(m["Subject"])]
    assert mail["To"] == "grace@example.com"
    html = parts(mail)["text/html"]
    assert "<script>" not in html and "&lt;script&gt;" in html
