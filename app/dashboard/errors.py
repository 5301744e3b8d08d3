"""How a dashboard page says "not here": one 404 for unknown, malformed and foreign ids alike."""

from __future__ import annotations

import uuid


class PageNotFound(Exception):
    """Unknown, malformed or another workspace's id: the same 404 page for all three."""


def parse_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError as exc:
        raise PageNotFound() from exc
