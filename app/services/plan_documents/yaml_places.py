"""The place of every key and value of a YAML file that ``yaml_reader`` has read: a second walk
over the parser's events, made only when a problem first asks for a place.

A mapping's value is placed at its key (``owner: ada`` is named at ``owner``), a list's value at
its start. The file has passed the reader's checks, so none are repeated here, and no value but
the keys is built.
"""

from __future__ import annotations

import yaml

from app.services.plan_documents.places import Path, Place
from app.services.plan_documents.yaml_events import LOADER, Level, Scalars, place_of


def locate(text: str) -> dict[Path, Place]:
    scalars = Scalars()
    found: dict[Path, Place] = {}
    open_levels: list[Level] = []
    for event in yaml.parse(text, Loader=LOADER):
        kind = type(event)
        level = open_levels[-1] if open_levels else None
        if isinstance(event, yaml.ScalarEvent) and level is not None and level.awaits_key():
            level.key = str(scalars.value(event))
            found.setdefault(level.next_path(), place_of(event.start_mark))
        elif kind is yaml.ScalarEvent:
            found.setdefault(level.next_path() if level else (), place_of(event.start_mark))
            if level is not None:
                level.took_value()
        elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
            path = level.next_path() if level else ()
            found.setdefault(path, place_of(event.start_mark))
            open_levels.append(Level(path, kind is yaml.MappingStartEvent))
        elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
            open_levels.pop()
            if open_levels:
                open_levels[-1].took_value()
    return found
