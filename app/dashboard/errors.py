"""How a dashboard page says "not here": one 404 for unknown, malformed and foreign ids alike."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from app.errors import NotFound


class PageNotFound(Exception):
    """Unknown, malformed or another workspace's id: the same 404 page for all three."""


def parse_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError as exc:
        raise PageNotFound() from exc


@contextmanager
def unknown_id_as_page_not_found() -> Iterator[None]:
    """A service's ``NotFound`` (an unknown or another workspace's id) as the same 404 page."""
    try:
        yield
    except NotFound as exc:
        raise PageNotFound() from exc
