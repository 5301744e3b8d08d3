"""Configuration of a Jira connection (Cloud or Data Center), validated before any network call."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator

from connectors.base import ConnectorConfig, RemoteStatus

# Cloud's search index trails writes by seconds in practice; 30 s leaves a margin before the marker
# lookup of an uncertain create (docs/design-notes.md, crash-safe create).
DEFAULT_CLOUD_INDEX_LAG_SECONDS = 30.0


class JiraConfig(ConnectorConfig):
    """One Jira project (``scope`` is its key) on Jira Cloud or Jira Data Center."""

    deployment: Literal["cloud", "datacenter"] = "cloud"
    # Cloud: basic auth with the account's email and an API token.
    email: str | None = None
    api_token: SecretStr | None = None
    # Data Center: a personal access token, sent as a Bearer token.
    personal_access_token: SecretStr | None = None

    item_issue_type: str = Field(default="Task", min_length=1)
    # The goal mirror; Cloud links children by ``parent``, Data Center by the Epic Link field.
    goal_issue_type: str = Field(default="Epic", min_length=1)
    # Data Center only: the instance's Epic Link custom field id, e.g. "customfield_10006".
    epic_link_field: str | None = Field(default=None, pattern=r"^customfield_\d+$")
    # Resolution name (case-insensitive) -> planbridge status, e.g. {"Won't Do": "dropped"}.
    resolution_overrides: dict[str, RemoteStatus] = Field(
        default_factory=lambda: {"Won't Do": RemoteStatus.dropped}
    )
    # Estimates go to time tracking's original estimate (needs it on the create screen).
    write_estimate: bool = True

    # Search lag after a write; None: Cloud's default, 0 on Data Center (its index is synchronous).
    index_lag_seconds: float | None = Field(default=None, ge=0)
    # JQL compares at minute resolution: re-read this much before the cursor, dedupe by
    # (key, updated). It must exceed the index lag, or a late-indexed change is skipped.
    lookback_seconds: float = Field(default=120.0, ge=60)
    page_size: int = Field(default=100, ge=1, le=100)
    # The API user's time zone (JQL dates are read in it); None: asked from /myself once.
    time_zone: str | None = None

    @model_validator(mode="after")
    def _credentials_match_deployment(self) -> Self:
        if self.deployment == "cloud":
            if not self.email:
                raise ValueError("email is required for Jira Cloud (basic auth with an API token)")
            if self.api_token is None or not self.api_token.get_secret_value():
                raise ValueError("api_token is required for Jira Cloud")
        elif (
            self.personal_access_token is None or not self.personal_access_token.get_secret_value()
        ):
            raise ValueError("personal_access_token is required for Jira Data Center")
        return self

    @property
    def is_cloud(self) -> bool:
        return self.deployment == "cloud"

    @property
    def rest_api_version(self) -> str:
        # Cloud v3 speaks ADF; Data Center only has v2 (wiki markup).
        return "3" if self.is_cloud else "2"

    @property
    def effective_index_lag_seconds(self) -> float:
        if self.index_lag_seconds is not None:
            return self.index_lag_seconds
        return DEFAULT_CLOUD_INDEX_LAG_SECONDS if self.is_cloud else 0.0
