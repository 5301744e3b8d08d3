from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.settings import Settings


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_defaults_run_on_one_box_with_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "SECRET_KEY", "MAX_ITEM_HOURS", "PORT", "HOST"):
        monkeypatch.delenv(f"PLANBRIDGE_{name}", raising=False)
    settings = _settings()
    assert settings.database_url == "sqlite:///./planbridge.db" and settings.is_sqlite
    assert settings.max_item_hours == 16
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.secret_key is None


def test_settings_come_from_planbridge_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLANBRIDGE_MAX_ITEM_HOURS", "8")
    monkeypatch.setenv("PLANBRIDGE_PORT", "9000")
    monkeypatch.setenv("PLANBRIDGE_MAX_BODY_BYTES", "4096")
    settings = _settings()
    assert (settings.max_item_hours, settings.port, settings.max_body_bytes) == (8, 9000, 4096)


def test_postgresql_without_a_secret_key_is_refused_with_one_line() -> None:
    with pytest.raises(ValidationError) as caught:
        _settings(database_url="postgresql+psycopg://u@db/planbridge")
    message = caught.value.errors()[0]["msg"]
    assert "PLANBRIDGE_SECRET_KEY must be set" in message and "\n" not in message


def test_short_secret_key_is_refused() -> None:
    with pytest.raises(ValidationError, match="at least 16 characters"):
        _settings(secret_key="short")


def test_postgresql_with_a_secret_key_is_accepted() -> None:
    settings = _settings(database_url="postgresql://u@db/pb", secret_key="0123456789abcdef0123")
    assert not settings.is_sqlite


@pytest.mark.parametrize(
    "field, value", [("max_item_hours", 0), ("port", 70000), ("max_body_bytes", 10)]
)
def test_out_of_range_values_are_refused(field: str, value: object) -> None:
    with pytest.raises(ValidationError):
        _settings(**{field: value})


def test_readme_documents_every_setting() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    missing = [
        name for name in Settings.model_fields if f"`PLANBRIDGE_{name.upper()}`" not in readme
    ]
    assert missing == [], f"add these to the README's configuration table: {missing}"


def test_allowed_tracker_networks_are_read_as_a_comma_separated_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PLANBRIDGE_ALLOWED_TRACKER_NETWORKS", "10.20.0.0/16, fd00:1::/64")
    policy = _settings().address_policy
    assert not policy.allow_private
    assert [str(network) for network in policy.allowed_networks] == ["10.20.0.0/16", "fd00:1::/64"]
    assert policy.refusal("10.20.3.4") is None and policy.refusal("10.21.3.4") is not None


def test_a_malformed_allowed_tracker_network_is_refused_at_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PLANBRIDGE_ALLOWED_TRACKER_NETWORKS", "10.20.0.1/16")
    with pytest.raises(ValidationError, match="allowed_tracker_networks"):
        _settings()
