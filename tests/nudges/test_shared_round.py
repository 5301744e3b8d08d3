"""The nudge round runs once per minute per database, not once per engine thread: the engines of
two worker processes on one database (built as sync/worker.py builds them) share its turn
(sync/check_turns.py), on SQLite and PostgreSQL, with the clock the test moves. Nudges still go
out, held ones are released, and a round whose engine failed mid-round is run at the next
interval."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

import sync.engine
from app.models import NudgeState
from app.services.nudge_round import run_nudge_round
from app.settings import Settings
from sync.connection_slots import ConnectionSlots
from sync.context import EngineContext
from sync.engine import SyncEngine
from sync.people_loop import PeopleLoop
from tests.execution.factories import at
from tests.nudges.conftest import MovedClock, Team, nudge_subjects


def engines_of_workers(
    team: Team, clock: MovedClock, workers: int = 2, threads: int = 2
) -> list[SyncEngine]:
    """The engine threads of ``workers`` processes: one set of slots per process, as in Worker."""
    built = []
    for worker in range(workers):
        slots = ConnectionSlots(1)
        for index in range(threads):
            context = EngineContext(
                team.engine, team.settings, f"worker{worker}-{index}", clock, slots=slots
            )
            built.append(SyncEngine(context))
    return built


Round = Callable[[Engine, Settings, datetime], int]


def count_rounds(monkeypatch: pytest.MonkeyPatch, fail_first: bool = False) -> list[datetime]:
    """The instants of the nudge rounds the engines run (the first one failing, if asked)."""
    started: list[datetime] = []
    real: Round = run_nudge_round

    def counted(engine: Engine, settings: Settings, now: datetime) -> int:
        started.append(now)
        if fail_first and len(started) == 1:
            raise RuntimeError("the worker died mid-round")
        return real(engine, settings, now)

    monkeypatch.setattr(sync.engine, "run_nudge_round", counted)
    return started


def test_four_engines_of_two_workers_run_one_round_a_minute_and_held_nudges_go_out(
    team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    rounds = count_rounds(monkeypatch)
    evening = at("2027-03-01 21:00")  # quiet hours: Ada's overdue nudge waits for 08:00
    clock = MovedClock(evening)
    engines = engines_of_workers(team, clock)
    people = PeopleLoop(EngineContext(team.engine, team.settings, "worker0-people", clock))

    # Five minutes, each engine running its outbound work after a step every 20 s.
    for minute in range(5):
        for seconds in (0, 20, 40):
            clock.at = evening + timedelta(minutes=minute, seconds=seconds)
            for engine in engines:
                engine.run_outbound()
    assert rounds == [evening + timedelta(minutes=minute) for minute in range(5)]
    [held] = team.nudges()
    assert (held.state, held.hold_until) == (NudgeState.held, at("2027-03-02 08:00"))
    people.step()
    assert nudge_subjects(team, team.ada) == []

    morning = at("2027-03-02 08:00:10")  # an engine of the second worker asks first this time
    clock.at = morning
    for engine in reversed(engines):
        engine.run_outbound()
    people.step()
    assert rounds[5:] == [morning]
    assert nudge_subjects(team, team.ada) == ['"Ship the form" is overdue']
    for context in [*(engine.context for engine in engines), people.context]:
        context.close()


def test_a_round_that_failed_mid_round_is_run_at_the_next_interval(
    team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    rounds = count_rounds(monkeypatch, fail_first=True)
    clock = MovedClock(at("2027-03-01 09:00"))
    first, second = engines_of_workers(team, clock, workers=1)
    people = PeopleLoop(EngineContext(team.engine, team.settings, "worker0-people", clock))

    with pytest.raises(RuntimeError, match="died mid-round"):
        first.run_outbound()
    second.run_outbound()  # the minute's turn is taken: no second round at once
    people.step()
    assert (rounds, team.nudges(), nudge_subjects(team, team.ada)) == (
        [at("2027-03-01 09:00")],
        [],
        [],
    )

    clock.at = at("2027-03-01 09:01")
    second.run_outbound()
    first.run_outbound()
    people.step()
    assert rounds == [at("2027-03-01 09:00"), at("2027-03-01 09:01")]
    assert nudge_subjects(team, team.ada) == ['"Ship the form" is overdue']
    for context in [first.context, second.context, people.context]:
        context.close()
