"""Turns at a check shared by every worker on one database (sync/check_turns.py), on SQLite and
PostgreSQL: one taker per interval however many engines ask at once, and a due time left by a
clock far ahead does not hold the others back."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy.engine import Engine

from sync.check_turns import Turn, take_turn
from tests.execution.factories import at

MINUTE = timedelta(minutes=1)


def test_engines_asking_at_the_same_moment_get_one_turn_per_interval(engine: Engine) -> None:
    """Eight threads ask together (the first time the row is inserted, then it is moved forward):
    one runs the check, the others learn when it is due next."""
    askers = 8
    for minute in range(3):
        now = at("2027-03-01 09:00") + minute * MINUTE
        together = threading.Barrier(askers)

        def ask(_: int, now=now, together=together) -> Turn:  # type: ignore[no-untyped-def]
            together.wait()
            return take_turn(engine, "nudge_round", now, MINUTE)

        with ThreadPoolExecutor(askers) as pool:
            turns = list(pool.map(ask, range(askers)))
        assert sum(turn.won for turn in turns) == 1
        assert {turn.next_check for turn in turns} == {now + MINUTE}


def test_a_turn_is_not_due_again_before_its_interval_ends(engine: Engine) -> None:
    assert take_turn(engine, "nudge_round", at("2027-03-01 09:00"), MINUTE).won
    later = take_turn(engine, "nudge_round", at("2027-03-01 09:00:59"), MINUTE)
    assert later == Turn(won=False, next_check=at("2027-03-01 09:01"))
    assert take_turn(engine, "nudge_round", at("2027-03-01 09:01"), MINUTE).won
    # Another check has a due time of its own.
    assert take_turn(engine, "other_check", at("2027-03-01 09:01:30"), MINUTE).won


def test_a_due_time_more_than_an_interval_ahead_counts_as_due(engine: Engine) -> None:
    """A host whose clock ran an hour ahead (or a clock set back) holds the others back for one
    interval at most."""
    assert take_turn(engine, "nudge_round", at("2027-03-01 10:00"), MINUTE).won
    assert take_turn(engine, "nudge_round", at("2027-03-01 09:00"), MINUTE).won
    assert take_turn(engine, "nudge_round", at("2027-03-01 09:00:30"), MINUTE) == Turn(
        won=False, next_check=at("2027-03-01 09:01")
    )
