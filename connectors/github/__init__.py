"""GitHub Issues: action items as issues, goals as milestones, through PyGithub."""

from connectors.github.config import GitHubConfig
from connectors.github.connector import GitHubConnector

__all__ = ["GitHubConfig", "GitHubConnector"]
