"""``planbridge reminders send`` and ``planbridge reminders preview`` against a real SMTP server,
on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from app.cli import cli
from app.db import utcnow
from app.migrations.runner import alembic_config
from app.models import CheckInLink, Person, Workspace
from app.settings import get_settings
from tests.conftest import TEST_SECRET_KEY
from tests.execution.factories import make_goal, make_item, make_plan, make_workspace
from tests.messages.servers import MailServer
from tests.reminders.conftest import mails

runner = CliRunner()


@pytest.fixture
def cli_env(
    engine: Engine, database_url: str, smtp: MailServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """The commands' settings: this test's database (at the newest schema) and mail server."""
    if engine.dialect.name == "sqlite":
        config = alembic_config()
        with engine.begin() as connection:  # the schema is the models': mark it as migrated
            config.attributes["connection"] = connection
            command.stamp(config, "head")
    for name, value in {
        "PLANBRIDGE_DATABASE_URL": database_url,
        "PLANBRIDGE_SECRET_KEY": TEST_SECRET_KEY,
        "PLANBRIDGE_SMTP_URL": smtp.url,
        "PLANBRIDGE_MAIL_FROM": "planbridge <planbridge@example.com>",
        "PLANBRIDGE_PUBLIC_URL": "https://plans.example.com",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def workspace_name(engine: Engine) -> str:
    """Two owners of open work in a plan running now, one person without an e-mail address."""
    today = utcnow().date()
    with Session(engine) as session:
        workspace = make_workspace(session)
        plan = make_plan(session, workspace.id, today - timedelta(days=20), today + timedelta(50))
        people = [
            Person(workspace_id=workspace.id, name=name, email=email, time_zone=zone)
            for name, email, zone in [
                ("Ada Lovelace", "Ada@Example.com", "Europe/Berlin"),
                ("Grace Hopper", "grace@example.com", "America/Los_Angeles"),
                ("Nomail Person", None, None),
            ]
        ]
        session.add_all(people)
        session.flush()
        goal = make_goal(session, plan, people[0], title="Ship the beta")
        for person in people:
            make_item(
                session, goal, person, due=today + timedelta(days=3), title=f"{person.name}'s part"
            )
        session.commit()
        return workspace.name


def test_send_all_reminds_everyone_once_a_week_and_reports_the_unreachable(
    cli_env: None, workspace_name: str, smtp: MailServer
) -> None:
    first = runner.invoke(cli, ["reminders", "send", "--workspace", workspace_name, "--all"])

    assert first.exit_code == 0, first.output
    assert "reminded 3 people (1 unreachable: no e-mail or chat channel)" in first.output
    assert sorted(recipient for recipient, _subject in mails(smtp)) == [
        "Ada@Example.com",
        "grace@example.com",
    ]
    again = runner.invoke(cli, ["reminders", "send", "--all"])
    assert again.exit_code == 0, again.output
    assert "reminded 0 people" in again.output
    assert len(smtp.received) == 2


def test_send_names_a_workspace_that_does_not_exist(cli_env: None) -> None:
    result = runner.invoke(cli, ["reminders", "send", "--workspace", "nope"])

    assert result.exit_code == 2
    assert "no workspace named 'nope'" in result.output


def test_preview_prints_the_message_without_issuing_a_link(
    cli_env: None, workspace_name: str, engine: Engine, smtp: MailServer
) -> None:
    result = runner.invoke(cli, ["reminders", "preview", "--person", "ada@example.com"])

    assert result.exit_code == 0, result.output
    assert "Subject: Your check-in for " in result.output
    assert "Hello Ada," in result.output
    assert 'Your week at a glance:\n- Due in the next 7 days: "Ada Lovelace\'s part"' in (
        result.output
    )
    assert "https://plans.example.com/checkin/<your-personal-link>" in result.output
    with Session(engine) as session:
        assert session.exec(select(CheckInLink)).all() == []
        assert session.exec(select(Workspace)).all() != []
    assert smtp.received == []
    unknown = runner.invoke(cli, ["reminders", "preview", "--person", "who@example.com"])
    assert unknown.exit_code == 2 and "nobody has the e-mail address" in unknown.output
