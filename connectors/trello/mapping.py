"""Pure functions between Trello cards and planbridge's vocabulary (lists, archive, marker)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from typing import Any

from connectors.base import RemoteRef, RemoteStatus

# Trello renders descriptions as Markdown but escapes raw HTML, so GitHub's hidden
# ``<!-- planbridge:item=... -->`` comment would show as literal text. A short visible footer
# line is honest about what it is; the HTML-comment form a person pastes is found too.
MARKER_PATTERN = re.compile(
    r"planbridge:item=([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
)
# A Trello object id: 24 hex digits, the first 8 its creation second (ids sort by creation time).
TRELLO_ID = re.compile(r"^[0-9a-f]{24}$")
CARD_FIELDS = (
    "id,idShort,shortLink,shortUrl,url,name,desc,due,dueComplete,closed,idList,idBoard,"
    "idMembers,idLabels,labels,dateLastActivity,pos"
)
# Trello's documented maximum description length.
MAX_DESCRIPTION_LENGTH = 16384
# A date-only deadline is sent as noon UTC: every zone from UTC-11 to UTC+11 shows the same day.
DUE_TIME = time(12, 0, tzinfo=UTC)


def marker_line(item_id: uuid.UUID) -> str:
    return f"planbridge:item={item_id}"


def description_with_marker(description: str, item_id: uuid.UUID) -> str:
    """The card description: planbridge's text, a blank line, then the marker as the last line."""
    body = strip_marker(description).rstrip()
    line = marker_line(item_id)
    return f"{body}\n\n{line}" if body else line


def strip_marker(description: str) -> str:
    """The description without any marker line (visible or HTML-comment form)."""
    kept = [line for line in description.splitlines() if not MARKER_PATTERN.search(line)]
    return "\n".join(kept).rstrip()


def item_id_from_description(description: str | None) -> uuid.UUID | None:
    match = MARKER_PATTERN.search(description or "")
    return uuid.UUID(match.group(1)) if match else None


def due_to_trello(due_date: date | None) -> str | None:
    if due_date is None:
        return None
    return datetime.combine(due_date, DUE_TIME).isoformat().replace("+00:00", "Z")


def parse_trello_datetime(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def due_from_trello(value: str | None) -> date | None:
    parsed = parse_trello_datetime(value)
    return parsed.astimezone(UTC).date() if parsed else None


def status_for_list(
    list_name: str | None,
    list_names: Mapping[RemoteStatus, str],
    overrides: Mapping[str, RemoteStatus],
) -> RemoteStatus:
    """A list's status: overrides, then configured names; unknown lists count as started."""
    if list_name is None:
        return RemoteStatus.in_progress
    folded = list_name.strip().casefold()
    for name, status in overrides.items():
        if name.strip().casefold() == folded:
            return status
    for status, name in list_names.items():
        if name.casefold() == folded:
            return status
    # A column nobody mapped ("Review", "QA") sits between start and finish.
    return RemoteStatus.in_progress


def card_status(
    card: Mapping[str, Any],
    list_name: str | None,
    list_names: Mapping[RemoteStatus, str],
    overrides: Mapping[str, RemoteStatus],
    due_complete_means_done: bool = True,
) -> RemoteStatus:
    """Status of a card: archived outside the done list is dropped, a ticked due date is done."""
    by_list = status_for_list(list_name, list_names, overrides)
    if card.get("closed"):
        return RemoteStatus.done if by_list is RemoteStatus.done else RemoteStatus.dropped
    if due_complete_means_done and card.get("dueComplete"):
        return RemoteStatus.done
    return by_list


def card_ref(card: Mapping[str, Any]) -> RemoteRef:
    return RemoteRef(
        external_id=str(card["id"]),
        key=card.get("shortLink") or None,
        url=card.get("shortUrl") or card.get("url") or None,
    )


def list_ids_by_status(
    lists: list[Mapping[str, Any]], list_names: Mapping[RemoteStatus, str]
) -> tuple[dict[RemoteStatus, str], list[str]]:
    """Configured status -> open list id on the board, plus the configured names missing."""
    open_lists = {
        str(item["name"]).strip().casefold(): str(item["id"])
        for item in lists
        if not item.get("closed")
    }
    found: dict[RemoteStatus, str] = {}
    missing: list[str] = []
    for status, name in list_names.items():
        list_id = open_lists.get(name.casefold())
        if list_id is None:
            missing.append(name)
        else:
            found[status] = list_id
    return found, missing
