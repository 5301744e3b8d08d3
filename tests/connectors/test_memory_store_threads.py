"""The in-memory tracker store shared by threads of one process (the embedded worker's threads and
a test or demo reading it) never answers "database table is locked"."""

from __future__ import annotations

import threading
import uuid

from connectors.memory_store import MemoryTracker


def test_threads_read_and_write_the_in_memory_store_without_table_locks() -> None:
    tracker = MemoryTracker(f"threads-{uuid.uuid4().hex}")
    errors: list[BaseException] = []
    done = threading.Event()

    def write() -> None:
        try:
            for number in range(300):
                tracker.create(
                    {
                        "item_id": str(uuid.uuid4()),
                        "kind": "item",
                        "scope": "S",
                        "title": f"Item {number}",
                        "description": "",
                    }
                )
        except BaseException as exc:
            errors.append(exc)
        finally:
            done.set()

    writers = [threading.Thread(target=write) for _ in range(2)]
    for writer in writers:
        writer.start()
    reads = 0
    while not done.is_set() or any(writer.is_alive() for writer in writers):
        try:
            tracker.marker_counts()
            tracker.object_count()
        except BaseException as exc:
            errors.append(exc)
            break
        reads += 1
    for writer in writers:
        writer.join()
    assert errors == []
    assert reads > 0 and tracker.object_count() == 600
