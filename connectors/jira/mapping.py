"""Pure mapping between Jira's formats and planbridge's vocabulary (no I/O).

Status is read from ``statusCategory.key`` (new / indeterminate / done), which Jira fixes for every
workflow, with per-connection overrides by status name and by resolution; names differ per workflow.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from connectors.base import MARKER_LABEL, RemoteStatus

CATEGORY_STATUS: dict[str, RemoteStatus] = {
    "new": RemoteStatus.todo,
    "indeterminate": RemoteStatus.in_progress,
    "done": RemoteStatus.done,
}

# The category a transition must lead to for each planbridge status (unless an override names one).
STATUS_CATEGORY: dict[RemoteStatus, str] = {
    RemoteStatus.todo: "new",
    RemoteStatus.in_progress: "indeterminate",
    RemoteStatus.blocked: "indeterminate",
    RemoteStatus.done: "done",
    RemoteStatus.dropped: "done",
}

MARKER_PREFIX = f"{MARKER_LABEL}-"
# What says "dropped" on an issue planbridge closed through a transition whose screen holds no
# resolution (Jira then sets its default one, usually "Done"): a label, read only while the issue
# is in the done category (docs/connectors.md, Jira specifics).
DROPPED_LABEL = f"{MARKER_PREFIX}dropped"


def marker_label(item_id: uuid.UUID) -> str:
    """The label that finds an issue again after a crash: ``planbridge-<item id>``."""
    return f"{MARKER_PREFIX}{item_id}"


def item_id_from_labels(labels: Iterable[str]) -> uuid.UUID | None:
    for label in labels:
        if label.startswith(MARKER_PREFIX):
            try:
                return uuid.UUID(label[len(MARKER_PREFIX) :])
            except ValueError:
                continue
    return None


def issue_labels(item_id: uuid.UUID, labels: Iterable[str]) -> list[str]:
    """The user's labels plus both marker labels; Jira labels cannot hold spaces."""
    wanted = ["-".join(label.split()) for label in labels if label.strip()]
    result: list[str] = []
    for label in [*wanted, MARKER_LABEL, marker_label(item_id)]:
        if label not in result:
            result.append(label)
    return result


def _lookup(overrides: Mapping[str, RemoteStatus], name: str | None) -> RemoteStatus | None:
    if not name:
        return None
    folded = name.casefold()
    for override_name, status in overrides.items():
        if override_name.casefold() == folded:
            return status
    return None


def status_from_jira(
    status_name: str | None,
    category_key: str | None,
    resolution_name: str | None,
    status_overrides: Mapping[str, RemoteStatus],
    resolution_overrides: Mapping[str, RemoteStatus],
    dropped_label: bool = False,
) -> RemoteStatus:
    """planbridge status: status-name override, then resolution override, then the dropped label
    in the done category, then category."""
    by_name = _lookup(status_overrides, status_name)
    if by_name is not None:
        return by_name
    by_resolution = _lookup(resolution_overrides, resolution_name)
    if by_resolution is not None:
        return by_resolution
    if dropped_label and category_key == "done":
        return RemoteStatus.dropped
    return CATEGORY_STATUS.get(category_key or "", RemoteStatus.todo)


def status_from_fields(
    fields: Mapping[str, Any],
    status_overrides: Mapping[str, RemoteStatus],
    resolution_overrides: Mapping[str, RemoteStatus],
) -> tuple[RemoteStatus, str | None]:
    """(planbridge status, Jira status name) from an issue's ``fields``."""
    status = fields.get("status") or {}
    category = status.get("statusCategory") or {}
    resolution = fields.get("resolution") or {}
    mapped = status_from_jira(
        status.get("name"),
        category.get("key"),
        resolution.get("name"),
        status_overrides,
        resolution_overrides,
        dropped_label=DROPPED_LABEL in (fields.get("labels") or ()),
    )
    return mapped, status.get("name")


def override_name_for(overrides: Mapping[str, RemoteStatus], target: RemoteStatus) -> str | None:
    """The Jira name an override map assigns to ``target`` (e.g. the "Blocked" status), if any."""
    for name, status in overrides.items():
        if status == target:
            return name
    return None


def choose_transition(
    transitions: Iterable[Mapping[str, Any]],
    target: RemoteStatus,
    status_overrides: Mapping[str, RemoteStatus],
) -> Mapping[str, Any] | None:
    """The transition reaching ``target``: to the status an override names for it, else by category.

    A status an override claims for another planbridge status (say "Blocked" in the In Progress
    category) is never chosen by category, so "in progress" does not land on "Blocked".
    """
    candidates = list(transitions)
    named = override_name_for(status_overrides, target)
    if named is not None:
        for transition in candidates:
            if _target_name(transition).casefold() == named.casefold():
                return transition
    claimed = {name.casefold() for name, status in status_overrides.items() if status != target}
    category = STATUS_CATEGORY[target]
    for transition in candidates:
        to = transition.get("to") or {}
        in_category = (to.get("statusCategory") or {}).get("key") == category
        if in_category and _target_name(transition).casefold() not in claimed:
            return transition
    return None


def screen_offers_resolution(transition: Mapping[str, Any], resolution: str) -> bool:
    """Whether the transition's screen (``expand=transitions.fields``) takes this resolution.

    Jira refuses (400) any field the screen does not hold, so a resolution goes only where the
    screen has the field and, when it lists them, the value among its allowed values.
    """
    field = (transition.get("fields") or {}).get("resolution")
    if not isinstance(field, Mapping):
        return False
    allowed = field.get("allowedValues")
    if not allowed:
        return True
    names = {
        str(value.get("name", "")).casefold() for value in allowed if isinstance(value, Mapping)
    }
    return resolution.casefold() in names


def _target_name(transition: Mapping[str, Any]) -> str:
    return str((transition.get("to") or {}).get("name", ""))


def assignee_value(identity: str | None, is_cloud: bool) -> dict[str, str] | None:
    """The ``assignee`` field: accountId on Cloud (no usernames there), username on Data Center."""
    if identity is None:
        return None
    return {"accountId": identity} if is_cloud else {"name": identity}


def assignee_identity(user: Mapping[str, Any] | None) -> str | None:
    if not user:
        return None
    identity = user.get("accountId") or user.get("name")
    return str(identity) if identity else None


def parse_jira_datetime(value: str) -> datetime:
    """Jira's ``2026-11-25T10:31:18.000+0000`` (and the ISO forms) as an aware datetime."""
    text = value.strip()
    if len(text) >= 5 and text[-5] in "+-" and text[-4:].isdigit():
        text = f"{text[:-2]}:{text[-2:]}"
    text = text.replace("Z", "+00:00")
    return datetime.fromisoformat(text)


def jql_datetime(moment: datetime, time_zone: str) -> str:
    """A JQL date literal: minute resolution, in the searching user's time zone."""
    local = moment.astimezone(ZoneInfo(time_zone))
    return local.strftime("%Y/%m/%d %H:%M")


def parse_due_date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def estimate_text(hours: float) -> str:
    """Time tracking's duration format; whole minutes, since Jira rounds to minutes anyway."""
    minutes = max(1, round(hours * 60))
    return f"{minutes}m"


def floor_to_minute(moment: datetime) -> datetime:
    return moment - timedelta(seconds=moment.second, microseconds=moment.microsecond)
