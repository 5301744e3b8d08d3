"""Jira Cloud and Data Center connector (entry point ``jira``)."""

from connectors.jira.config import JiraConfig
from connectors.jira.connector import JiraConnector

__all__ = ["JiraConfig", "JiraConnector"]
