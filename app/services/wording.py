"""Counts in sentences a person reads: "1 item", "3 items", never "item(s)"."""

from __future__ import annotations


def count_of(count: int, noun: str, plural: str | None = None) -> str:
    """``count_of(1, "item")`` is "1 item", ``count_of(2, "item")`` "2 items"."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def is_are(count: int) -> str:
    return "is" if count == 1 else "are"
