"""Configuration of one Trello connection: board, status lists, key + token, webhook secret."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from connectors.base import ConnectorConfig, RemoteStatus

DEFAULT_LIST_NAMES: dict[RemoteStatus, str] = {
    RemoteStatus.todo: "To Do",
    RemoteStatus.in_progress: "Doing",
    RemoteStatus.blocked: "Blocked",
    RemoteStatus.done: "Done",
}


class TrelloConfig(ConnectorConfig):
    """``scope`` is the board id; ``webhook_secret`` is the app (OAuth 1.0) secret that signs."""

    base_url: str = "https://api.trello.com"
    api_key: SecretStr
    api_token: SecretStr
    # The callback URL exactly as registered: Trello signs body + callbackURL.
    callback_url: str | None = None
    # planbridge status -> the board list that means it. "dropped" has no list: it is archiving.
    list_names: dict[RemoteStatus, str] = Field(default_factory=lambda: dict(DEFAULT_LIST_NAMES))
    # A ticked due-date checkbox means the work is done, wherever the card sits.
    due_complete_means_done: bool = True
    # Cards or actions per page; Trello answers at most 1,000 (and API_TOO_MANY_CARDS_REQUESTED past
    # that on big boards, so card listings always page).
    page_size: int = Field(default=1000, ge=1, le=1000)
    # Trello's documented budget per token (300 / 10 s per key is shared by every token of the key).
    requests_per_window: int = Field(default=100, gt=0)
    window_seconds: float = Field(default=10.0, gt=0)

    @field_validator("list_names")
    @classmethod
    def _lists_cover_the_workflow(cls, value: dict[RemoteStatus, str]) -> dict[RemoteStatus, str]:
        if RemoteStatus.dropped in value:
            raise ValueError("'dropped' is archiving a card, not a list; remove it from list_names")
        for required in (RemoteStatus.todo, RemoteStatus.done):
            if not value.get(required, "").strip():
                raise ValueError(f"list_names needs a list for '{required.value}'")
        names = [name.strip().casefold() for name in value.values()]
        if len(set(names)) != len(names):
            raise ValueError("list_names maps two statuses to the same list")
        return {status: name.strip() for status, name in value.items()}
