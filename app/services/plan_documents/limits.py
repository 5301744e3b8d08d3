"""Limits every reader enforces before it builds anything from a file."""

from __future__ import annotations

# A plan of 50 goals and 2,000 items is about 400 kB of YAML; 2 MB leaves room and refuses the
# hostile file of many megabytes before any parsing (the API's body limit is usually smaller).
MAX_DOCUMENT_BYTES = 2_000_000
# The format nests five levels (document, goals, goal, items, item); deeper is not a plan.
MAX_NESTING_DEPTH = 12
