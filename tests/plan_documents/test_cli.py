"""``planbridge plan apply`` and ``planbridge plan export`` on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.settings import get_settings
from tests.conftest import TEST_SECRET_KEY
from tests.plan_documents.documents import QUARTER

runner = CliRunner()


@pytest.fixture
def cli_database(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """SQLite: a new file the command migrates itself; PostgreSQL: the suite's empty schema."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'cli.db'}"
    else:
        url = request.getfixturevalue("database_url")
    monkeypatch.setenv("PLANBRIDGE_DATABASE_URL", url)
    monkeypatch.setenv("PLANBRIDGE_SECRET_KEY", TEST_SECRET_KEY)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_plan_apply_dry_run_then_apply_then_export_round_trips(
    cli_database: str, tmp_path: Path
) -> None:
    document = tmp_path / "quarter.yaml"
    document.write_text(QUARTER)
    dry = runner.invoke(cli, ["plan", "apply", str(document), "--workspace", "acme", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "create item 'Write the onboarding guide' [guide] (line 23)" in dry.output
    assert dry.output.rstrip().endswith(
        "Dry run: these changes would be made; nothing was changed. (9 to create, 0 to update, "
        "0 unchanged, 0 to delete, 0 not in the file)"
    )
    applied = runner.invoke(cli, ["plan", "apply", str(document), "--workspace", "acme"])
    assert applied.exit_code == 0 and "Applied. (9 to create" in applied.output

    changed = tmp_path / "changed.yaml"
    changed.write_text(QUARTER.replace("estimate_hours: 6", "estimate_hours: 8"))
    update = runner.invoke(cli, ["plan", "apply", str(changed), "--workspace", "acme"])
    assert "update item 'Write the onboarding guide' [guide] (line 23)\n" in update.output
    assert "    estimate_hours: '6' -> '8'\n" in update.output

    from sqlmodel import Session, select

    from app.db import make_engine
    from app.models import Plan

    with Session(make_engine(cli_database)) as session:
        plan_id = str(session.exec(select(Plan.id)).one())
    exported = runner.invoke(cli, ["plan", "export", plan_id, "--workspace", "acme"])
    assert exported.exit_code == 0 and "estimate_hours: 8" in exported.output
    again = tmp_path / "exported.yaml"
    again.write_text(exported.output)
    same = runner.invoke(cli, ["plan", "apply", str(again), "--workspace", "acme"])
    assert "Nothing to change: the workspace already matches the document." in same.output


def test_plan_apply_of_a_broken_document_names_the_place_and_exits_1(
    cli_database: str, tmp_path: Path
) -> None:
    document = tmp_path / "quarter.yaml"
    document.write_text(QUARTER.replace("owner: grace@example.com", "owenr: grace@example.com"))
    result = runner.invoke(cli, ["plan", "apply", str(document), "--workspace", "acme"])
    assert result.exit_code == 1
    assert (
        "error: line 30, column 9 ($.goals[0].items[1].owenr): Unknown key 'owenr' "
        "(did you mean 'owner'?)." in result.output
    )
