"""Tracker connections: validated and checked against the tracker before they are saved.

Secrets (API tokens, Trello key/token) and the webhook secret are stored Fernet-encrypted
(app/crypto.py) and never returned; responses list which secret fields are set. The connector's own
config model validates everything before any network call, then ``check()`` proves the credentials
and the target; either failing is a 422 naming the field at fault.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, update
from sqlmodel import Session, col, select

from app.crypto import (
    decrypt_json,
    decrypt_text,
    encrypt_json,
    encrypt_text,
    sqlite_database_path,
)
from app.db import utcnow
from app.errors import InvalidField
from app.models import Connection, ExternalLink
from app.models.sync import ConnectionState
from app.security.urls import check_base_url
from app.services.pagination import PageSlice, creation_order, paginate
from app.services.tenancy import get_in_workspace
from app.settings import Settings
from connectors.addresses import AddressPolicy
from connectors.base import AuthFailed, ConnectorError, NotFound, ScopeLearningConnector
from connectors.memory import store_file_name
from connectors.registry import available_kinds, build_connector, connector_class

# Base URL schemes of connectors that reach no network (the in-memory demo connector).
OFFLINE_SCHEMES = {"memory": ("memory",)}
# The memory trackers' directory beside a SQLite database file, and the setting's "no files".
MEMORY_TRACKER_SUFFIX = ".memory-tracker"
IN_PROCESS_MEMORY = ":memory:"


def webhook_path(connection_id: uuid.UUID) -> str:
    return f"/webhooks/{connection_id}"


def memory_tracker_directory(settings: Settings) -> Path | None:
    """Where memory:// trackers keep their files (None: in process memory); see Settings."""
    if settings.memory_tracker_dir == IN_PROCESS_MEMORY:
        return None
    if settings.memory_tracker_dir:
        return Path(settings.memory_tracker_dir)
    database = sqlite_database_path(settings.database_url) if settings.is_sqlite else None
    return database.with_name(database.name + MEMORY_TRACKER_SUFFIX) if database else None


def credential_fields(settings: Settings, connection: Connection) -> list[str]:
    return sorted(decrypt_json(settings, connection.credentials_encrypted))


def webhook_secrets(settings: Settings, connection: Connection, now: datetime) -> list[str]:
    """The secrets a delivery may be signed with: the current one, and the previous during its
    grace."""
    found = []
    if connection.webhook_secret_encrypted:
        found.append(decrypt_text(settings, connection.webhook_secret_encrypted))
    until = connection.previous_webhook_secret_until
    if connection.previous_webhook_secret_encrypted and until is not None and until > now:
        found.append(decrypt_text(settings, connection.previous_webhook_secret_encrypted))
    return found


def connector_settings(
    settings: Settings, connection: Connection, *, webhook_secret: str | None = None
) -> dict[str, Any]:
    """The dict the connector's config model validates: config, target, secrets."""
    values: dict[str, Any] = dict(connection.config)
    values.update(decrypt_json(settings, connection.credentials_encrypted))
    values["base_url"] = connection.base_url
    values["scope"] = connection.scope
    if connection.kind == "memory" and not values.get("store_path"):
        directory = memory_tracker_directory(settings)
        if directory is not None:
            values["store_path"] = str(directory / store_file_name(connection.base_url))
    # The deployment's rule on addresses, never a connection's own config.
    values["address_policy"] = settings.address_policy
    if webhook_secret is None and connection.webhook_secret_encrypted:
        webhook_secret = decrypt_text(settings, connection.webhook_secret_encrypted)
    if webhook_secret is not None:
        values["webhook_secret"] = webhook_secret
    return values


def _is_secret_field(kind: str, name: str) -> bool:
    field = connector_class(kind).config_model.model_fields.get(name)
    return field is not None and "SecretStr" in str(field.annotation)


def _field_of(kind: str, location: tuple[int | str, ...]) -> list[str | int]:
    """Where a config validation error points in the request body."""
    if not location:
        return ["config"]
    head = str(location[0])
    if head in ("base_url", "scope", "webhook_secret"):
        return [head]
    return ["credentials" if _is_secret_field(kind, head) else "config", *location]


def validate_and_check(settings: Settings, connection: Connection) -> None:
    """Config validation (422 naming the field), then the connector's check() (422 with the
    reason)."""
    if connection.kind not in available_kinds():
        installed = ", ".join(available_kinds()) or "none"
        raise InvalidField(
            "kind", f"unknown connector kind '{connection.kind}' (installed: {installed})"
        )
    if "address_policy" in connection.config:
        raise InvalidField(
            ["config", "address_policy"],
            "config.address_policy is the deployment's setting (PLANBRIDGE_ALLOW_PRIVATE_TRACKERS, "
            "PLANBRIDGE_ALLOWED_TRACKER_NETWORKS), not a connection's",
        )
    schemes = OFFLINE_SCHEMES.get(connection.kind)
    connection.base_url = check_base_url(
        connection.base_url,
        policy=AddressPolicy(allow_private=True) if schemes else settings.address_policy,
        schemes=schemes or ("http", "https"),
    )
    try:
        connector = build_connector(connection.kind, connector_settings(settings, connection))
    except ValidationError as exc:
        first = exc.errors()[0]
        field = _field_of(connection.kind, tuple(first["loc"]))
        raise InvalidField(field, f"{'.'.join(map(str, field))}: {first['msg']}") from exc
    except ConnectorError as exc:
        raise InvalidField("config", str(exc)) from exc
    try:
        connector.check()
        if isinstance(connector, ScopeLearningConnector):
            # E.g. GitHub's repository id: deliveries are matched to the connection by it.
            connection.config = {**connection.config, **connector.learned_config()}
    except AuthFailed as exc:
        raise InvalidField("credentials", f"the tracker refused the credentials: {exc}") from exc
    except NotFound as exc:
        raise InvalidField("scope", f"the tracker target was not found: {exc}") from exc
    except ConnectorError as exc:
        raise InvalidField("base_url", f"the tracker could not be checked: {exc}") from exc
    finally:
        connector.close()


def create_connection(
    session: Session, settings: Settings, workspace_id: uuid.UUID, values: dict[str, Any]
) -> tuple[Connection, str]:
    """Check and store a connection; returns it and its webhook secret (shown once)."""
    webhook_secret = values.pop("webhook_secret", None) or secrets.token_urlsafe(32)
    credentials = values.pop("credentials", {})
    connection = Connection(workspace_id=workspace_id, **values)
    connection.credentials_encrypted = encrypt_json(settings, credentials)
    connection.webhook_secret_encrypted = encrypt_text(settings, webhook_secret)
    validate_and_check(settings, connection)
    session.add(connection)
    session.flush()
    return connection, webhook_secret


def get_connection(
    session: Session, workspace_id: uuid.UUID, connection_id: uuid.UUID
) -> Connection:
    return get_in_workspace(session, Connection, connection_id, workspace_id)


def list_connections(
    session: Session, workspace_id: uuid.UUID, *, limit: int, offset: int
) -> PageSlice[Connection]:
    statement = select(Connection).where(Connection.workspace_id == workspace_id)
    return paginate(
        session,
        statement,
        creation_order(Connection),
        limit=limit,
        offset=offset,
    )


def update_connection(
    session: Session, settings: Settings, connection: Connection, values: dict[str, Any]
) -> Connection:
    """Apply a partial update; anything the tracker depends on is checked again before saving."""
    credentials_change = values.pop("credentials", None)
    if credentials_change is not None:
        stored = decrypt_json(settings, connection.credentials_encrypted)
        for key, value in credentials_change.items():
            if value is None:
                stored.pop(key, None)
            else:
                stored[key] = value
        connection.credentials_encrypted = encrypt_json(settings, stored)
    registered_callback = connection.config.get("callback_url")
    if (
        values.get("config") is not None
        and registered_callback
        and "callback_url" not in values["config"]
    ):
        # Registering the webhook stored it (Trello signs over it); a config edit keeps it.
        values["config"] = {**values["config"], "callback_url": registered_callback}
    for key, value in values.items():
        setattr(connection, key, value)
    if credentials_change is not None or {"base_url", "scope", "config"} & set(values):
        validate_and_check(settings, connection)
    connection.updated_at = utcnow()
    session.add(connection)
    session.flush()
    return connection


def remember_callback_url(connection: Connection, callback_url: str | None) -> str | None:
    """Keep the webhook callback URL in the config of a connector that signs over it (Trello).

    Trello signs body + callback URL exactly as registered, so verifying a delivery needs that
    very string. Returns the value it replaces, to put back if the registration fails; connectors
    without a ``callback_url`` setting are left alone.
    """
    if "callback_url" not in connector_class(connection.kind).config_model.model_fields:
        return None
    previous = connection.config.get("callback_url")
    config = {key: value for key, value in connection.config.items() if key != "callback_url"}
    if callback_url is not None:
        config["callback_url"] = callback_url
    connection.config = config
    connection.updated_at = utcnow()
    return previous


def rotate_webhook_secret(
    session: Session, settings: Settings, connection: Connection, grace: timedelta
) -> tuple[str, datetime]:
    """A new current secret; the old one keeps verifying deliveries until the grace ends."""
    new_secret = secrets.token_urlsafe(32)
    now = utcnow()
    connection.previous_webhook_secret_encrypted = connection.webhook_secret_encrypted
    connection.previous_webhook_secret_until = now + grace
    connection.webhook_secret_encrypted = encrypt_text(settings, new_secret)
    connection.updated_at = now
    session.add(connection)
    session.flush()
    return new_secret, now + grace


def request_resync(session: Session, connection: Connection) -> int:
    """Full reconcile: forget the pull cursor and let every link be pushed again; returns links.

    Transactions that change several links lock them in id order, then the connection (the pull's
    pages, the webhook batches): so does this one, or two resyncs, or a resync and a pull, each
    holding links the other waits for, deadlock on PostgreSQL.
    """
    with session.no_autoflush:
        session.exec(
            select(ExternalLink.id)
            .where(col(ExternalLink.connection_id) == connection.id)
            .order_by(col(ExternalLink.id))
            .with_for_update()
        ).all()
    result = session.execute(
        update(ExternalLink)
        .where(col(ExternalLink.connection_id) == connection.id)
        .values(pushed_revision=0, dead=False, attempts=0, next_attempt_at=None, last_error=None)
        .execution_options(synchronize_session=False)
    )
    now = utcnow()
    connection.cursor = {}
    connection.next_poll_at = now
    connection.updated_at = now
    session.add(connection)
    session.flush()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def resume_connection(session: Session, connection: Connection) -> Connection:
    connection.state = ConnectionState.active
    connection.paused_reason = None
    connection.consecutive_failures = 0
    connection.backoff_until = None
    connection.next_poll_at = utcnow()
    connection.updated_at = utcnow()
    session.add(connection)
    session.flush()
    return connection


def count_links(session: Session, connection_id: uuid.UUID, *conditions: Any) -> int:
    statement = (
        select(func.count())
        .select_from(ExternalLink)
        .where(col(ExternalLink.connection_id) == connection_id, *conditions)
    )
    return int(session.exec(statement).one())
