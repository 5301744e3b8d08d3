"""The worker decides nudges and digests in its engine's outbound work (sync/engine.py) and sends
them from its people loop (sync/people_loop.py), with the clock the test moves."""

from __future__ import annotations

from sqlmodel import Session

from app.models import CheckIn, Confidence
from sync.context import EngineContext
from sync.engine import SyncEngine
from sync.people_loop import PeopleLoop
from tests.execution.factories import at
from tests.nudges.conftest import MovedClock, Team, nudge_subjects


def test_the_worker_nudges_escalates_and_sends_the_digest(team: Team) -> None:
    clock = MovedClock(at("2027-03-01 09:00"))
    engine = SyncEngine(EngineContext(team.engine, team.settings, "worker-0", clock))
    people = PeopleLoop(EngineContext(team.engine, team.settings, "worker-people", clock))
    with Session(team.engine) as session:
        session.add(
            CheckIn(
                workspace_id=team.workspace_id,
                owner_id=team.grace.id,
                goal_id=team.item.goal_id,
                iso_week="2027-W09",
                confidence=Confidence.off_track,
                note="Legal has the form",
                needs_help=True,
            )
        )
        session.commit()

    engine.run_outbound()
    people.step()
    assert nudge_subjects(team, team.ada) == ['"Ship the form" is overdue']

    clock.at = at("2027-03-04 09:00")
    engine.run_outbound()
    people.step()
    assert nudge_subjects(team, team.grace) == ['"Ship the form" is overdue']

    clock.at = at("2027-03-08 00:30")  # last week's review may be frozen now
    engine.run_outbound()
    people.step()
    digests = [m for m in team.smtp.received if "weekly review 2027-W09" in str(m["Subject"])]
    assert sorted(str(m["To"]) for m in digests) == ["grace@example.com", "linus@example.com"]
    engine.context.close()
    people.context.close()
