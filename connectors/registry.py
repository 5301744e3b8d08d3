"""Connector discovery through the ``planbridge.connectors`` entry-point group."""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points
from typing import Any

from connectors.base import Connector, ConnectorConfig, Invalid

GROUP = "planbridge.connectors"


def available_kinds() -> list[str]:
    return sorted({ep.name for ep in entry_points(group=GROUP)})


def connector_class(kind: str) -> type[Connector]:
    """The connector class registered under ``kind``; Invalid if none is."""
    loaded = _load_connector_class(kind)
    if loaded is None:
        known = ", ".join(available_kinds()) or "none"
        raise Invalid(f"unknown connector kind '{kind}' (installed: {known})")
    return loaded


@cache
def _load_connector_class(kind: str) -> type[Connector] | None:
    # Scanning every installed distribution's entry points costs tens of milliseconds, and the
    # webhook path and the worker look a class up per delivery and per step: load each kind once.
    # An unknown kind is remembered as unknown too: installing a connector package means
    # restarting the service anyway.
    matches = [ep for ep in entry_points(group=GROUP) if ep.name == kind]
    if not matches:
        return None
    loaded: type[Connector] = matches[0].load()
    return loaded


def build_connector(kind: str, settings: dict[str, Any]) -> Connector:
    """Validate ``settings`` against the connector's config model, then build it (no network)."""
    cls = connector_class(kind)
    config: ConnectorConfig = cls.config_model.model_validate(settings)
    connector: Connector = cls(config)  # type: ignore[call-arg]
    return connector
