"""Settings for one GitHub connection: an API root, a token and one repository."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from connectors.base import ConnectorConfig


class GitHubConfig(ConnectorConfig):
    """Validated before any request; ``base_url`` is https://HOST/api/v3 on Enterprise Server."""

    base_url: str = "https://api.github.com"
    token: SecretStr
    # "owner/repo": GitHub's rules for account and repository names.
    scope: str = Field(min_length=3, pattern=r"^[A-Za-z0-9](?:[A-Za-z0-9-]*)/[A-Za-z0-9._-]+$")
    # The repository's id, learned when the connection is checked: a delivery belongs to the
    # connection when it names this id (a rename keeps it); without one, by the full name.
    repository_id: int | None = None
    # Open issues carrying this label count as in progress; None disables it.
    in_progress_label: str | None = "in progress"
    blocked_label: str | None = "blocked"
    # Teams that never label work: an assigned open issue counts as in progress.
    assigned_means_in_progress: bool = False
    page_size: int = Field(default=100, ge=1, le=100)  # GitHub's maximum per_page is 100
    # Re-read issues updated this long before the newest one seen, against out-of-order updated_at.
    poll_lookback_seconds: float = Field(default=5.0, ge=0, le=3600)

    @field_validator("base_url")
    @classmethod
    def base_url_is_http(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("base_url must start with https:// (or http:// for a local server)")
        return value.rstrip("/")
