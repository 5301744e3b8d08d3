"""``planbridge memory-tracker``: look at the demo tracker beside the database and act in it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.settings import get_settings
from connectors.memory_store import MemoryTracker

runner = CliRunner()


@pytest.fixture
def demo_tracker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryTracker]:
    """memory://demo where ``planbridge serve`` keeps it: beside ``demo.db``."""
    monkeypatch.setenv("PLANBRIDGE_DATABASE_URL", f"sqlite:///{tmp_path / 'demo.db'}")
    monkeypatch.delenv("PLANBRIDGE_MEMORY_TRACKER_DIR", raising=False)
    get_settings.cache_clear()
    tracker = MemoryTracker("demo", str(tmp_path / "demo.db.memory-tracker" / "demo.sqlite"))
    tracker.create(
        {
            "item_id": "0b7c3f0e-0000-4000-8000-000000000001",
            "kind": "item",
            "scope": "ONB",
            "title": "Write the onboarding guide",
            "description": "",
        }
    )
    yield tracker
    get_settings.cache_clear()


def test_set_status_changes_the_object_as_a_person_in_the_tracker(
    demo_tracker: MemoryTracker,
) -> None:
    result = runner.invoke(cli, ["memory-tracker", "set-status", "demo", "MEM-1", "done"])

    assert result.exit_code == 0, result.output
    assert demo_tracker.get(1).status == "done"  # type: ignore[union-attr]
    shown = runner.invoke(cli, ["memory-tracker", "show", "demo"])
    assert shown.output.split("\n")[0].split("\t") == [
        "MEM-1",
        "done",
        "item",
        "Write the onboarding guide",
    ]


def test_set_status_of_an_unknown_key_or_tracker_says_so(demo_tracker: MemoryTracker) -> None:
    unknown_key = runner.invoke(cli, ["memory-tracker", "set-status", "demo", "MEM-9", "done"])
    unknown_tracker = runner.invoke(cli, ["memory-tracker", "show", "other"])
    unknown_status = runner.invoke(cli, ["memory-tracker", "set-status", "demo", "MEM-1", "fine"])

    assert unknown_key.exit_code == 2
    assert "memory://demo has no object MEM-9" in unknown_key.output
    assert unknown_tracker.exit_code == 2
    assert "no memory tracker memory://other" in unknown_tracker.output
    assert unknown_status.exit_code == 2
    assert demo_tracker.get(1).status == "todo"  # type: ignore[union-attr]
