"""The per-token pacer on a fake clock: no window ever holds more than the budget, nobody sleeps."""

from __future__ import annotations

import pytest

from connectors.trello.pacing import RequestPacer


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_a_full_budget_goes_at_once_and_the_next_request_waits_for_the_first_token() -> None:
    clock = FakeClock()
    pacer = RequestPacer(100, 10, clock=clock, sleep=clock.sleep)

    for _ in range(100):
        pacer.acquire()
    assert clock.slept == []
    clock.now += 4
    pacer.acquire()

    # One window plus the 2% margin (10.2 s), counted from the first request's send.
    assert clock.slept == pytest.approx([6.2])


def test_no_ten_second_window_ever_holds_more_than_one_hundred_requests() -> None:
    clock = FakeClock()
    pacer = RequestPacer(100, 10, clock=clock, sleep=clock.sleep)
    sent: list[float] = []

    for number in range(450):
        if number % 7 == 0:
            clock.now += 0.3  # uneven gaps between requests, as real work makes them
        pacer.acquire()
        sent.append(clock.now)

    busiest = max(sum(1 for moment in sent if start <= moment < start + 10) for start in sent)
    assert busiest == 100
    # 450 requests need at least four full windows after the first burst.
    assert sent[-1] - sent[0] >= 30


def test_a_quick_answer_keeps_its_window_from_the_send() -> None:
    clock = FakeClock()
    pacer = RequestPacer(1, 10, clock=clock, sleep=clock.sleep)

    slot = pacer.acquire()
    clock.now += 0.05  # answered within the margin: Trello counted it at most 0.05 s late
    pacer.settle(slot)
    pacer.acquire()

    assert clock.slept == pytest.approx([10.2 - 0.05])


def test_a_slow_answer_starts_its_window_when_it_arrives() -> None:
    clock = FakeClock()
    pacer = RequestPacer(1, 10, clock=clock, sleep=clock.sleep)

    slot = pacer.acquire()
    clock.now += 3  # Trello counted the request somewhere in these three seconds
    pacer.settle(slot)
    pacer.acquire()

    assert clock.slept == pytest.approx([10])
