"""Tracker connectors behind one interface; see connectors/base.py and docs/connectors.md."""
