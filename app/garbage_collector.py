"""Python's cyclic garbage collector, set once for a long-running planbridge process.

Two settings, applied by ``tuned_garbage_collector`` around the life of the web service
(``app.main``'s lifespan) and of ``planbridge worker``, and nowhere else; no request touches
the collector.

- **What startup loaded is frozen** (``gc.freeze``): the modules, the app and its settings,
  about 160,000 objects that live as long as the process. A full collection no longer rescans
  them (it took 50 to 90 ms, once every few heavy requests: most of the roll-ups' p95).
- **A young collection runs every 100,000 new container objects instead of every 700.** A
  large plan's weekly review, dashboard or plan import builds a few hundred thousand
  short-lived objects (rows, items, the answer) that form no cycle. With Python's default, a
  pass starts every 700 of them and walks every one that is still alive, and the passes
  that follow walk them again: a weekly review cost 8 to 17 % more than with the collector
  off (bench/RESULTS.md, "Before and after issue #17"). With 100,000, most of a request's
  objects are freed by reference counting before a pass starts, and the review is as fast as
  with the collector off. The older generations keep Python's thresholds. The cost is memory:
  garbage that does form a cycle waits for up to 100,000 allocations before it is freed.

Both settings are process-wide. Leaving the context restores what was there before, so a test
process that starts many apps ends as it began.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_GENERATION_THRESHOLD = 100_000


@contextmanager
def tuned_garbage_collector() -> Iterator[None]:
    """Freeze what is loaded and raise the young generation's threshold until the block ends."""
    previous = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, *previous[1:])
    try:
        yield
    finally:
        gc.set_threshold(*previous)
        gc.unfreeze()
