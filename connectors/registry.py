"""Connector discovery through the ``planbridge.connectors`` entry-point group."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

from connectors.base import Connector, ConnectorConfig, Invalid

GROUP = "planbridge.connectors"


def available_kinds() -> list[str]:
    return sorted({ep.name for ep in entry_points(group=GROUP)})


def connector_class(kind: str) -> type[Connector]:
    """The connector class registered under ``kind``; Invalid if none is."""
    matches = [ep for ep in entry_points(group=GROUP) if ep.name == kind]
    if not matches:
        known = ", ".join(available_kinds()) or "none"
        raise Invalid(f"unknown connector kind '{kind}' (installed: {known})")
    loaded: type[Connector] = matches[0].load()
    return loaded


def build_connector(kind: str, settings: dict[str, Any]) -> Connector:
    """Validate ``settings`` against the connector's config model, then build it (no network)."""
    cls = connector_class(kind)
    config: ConnectorConfig = cls.config_model.model_validate(settings)
    connector: Connector = cls(config)  # type: ignore[call-arg]
    return connector
