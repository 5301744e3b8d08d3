"""The cyclic garbage collector held off while a weekly review is built, as one explicit step.

A large plan's review builds a few hundred thousand short-lived objects (rows, items, lists,
the answer's items); none of them forms a cycle, so a collection finds nothing among them, but
with the collector running, every ~700 allocations start a pass and each full pass walks all of
them again. Measured on the roll-up benchmark (bench/RESULTS.md, issue #17): 90 to 190 ms of
collection per review, 10 to 50 % of its CPU time, even with the rows flat and the items slotted.
Held off for the review only; the collector runs again at the next allocations after it.

The switch is process-wide (Python has no other), so another thread allocating during a review
is not collected either, for at most the review's duration. It is turned back on only by the
caller that turned it off: two reviews overlapping in two threads never leave it off.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_held_off() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
