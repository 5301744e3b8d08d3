"""Trello connector: action items as cards on a board, status from the card's list."""

from connectors.trello.config import TrelloConfig
from connectors.trello.connector import TrelloConnector

__all__ = ["TrelloConfig", "TrelloConnector"]
