"""The migrations build the schema the models describe, on empty SQLite and PostgreSQL databases."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from alembic.autogenerate import compare_metadata, produce_migrations, render_python_code
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import app.models  # noqa: F401  (all tables on the metadata)
from app.db import make_engine
from app.migrations.runner import current_matches_head, upgrade
from tests.postgres_server import conninfo, url_for_database


@pytest.fixture(params=["sqlite", "postgres"])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database with no tables at all (not the suite's create_all schema)."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
        yield engine
        engine.dispose()
        return
    admin_url: str = request.getfixturevalue("postgres_admin_url")
    admin = conninfo(admin_url)
    name = f"pb_migrate_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    engine = make_engine(url_for_database(admin_url, name), pool_size=1)
    yield engine
    engine.dispose()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _differences(engine: Engine) -> list[Any]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, SQLModel.metadata))


def test_upgrade_head_on_an_empty_database_creates_every_table(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    tables = set(inspect(empty_engine).get_table_names())
    assert {t.name for t in SQLModel.metadata.sorted_tables} <= tables
    with empty_engine.connect() as connection:
        assert current_matches_head(connection)


def test_migrations_and_models_do_not_differ(empty_engine: Engine) -> None:
    """Autogenerate finds nothing: run ``python scripts/regenerate_migration.py`` if this fails."""
    upgrade(empty_engine)
    assert _differences(empty_engine) == []


def test_upgrade_is_idempotent_and_reversible(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    upgrade(empty_engine)
    from alembic import command

    from app.migrations.runner import alembic_config

    config = alembic_config()
    with empty_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert set(inspect(empty_engine).get_table_names()) <= {"alembic_version"}
    upgrade(empty_engine)
    assert _differences(empty_engine) == []


def test_the_initial_migration_can_be_regenerated_from_the_models(tmp_path: Path) -> None:
    """scripts/regenerate_migration.py renders the models as Python: every index predicate must
    be an expression Alembic can write (a bare ORM attribute came out as its repr)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"render_as_batch": True})
        operations = produce_migrations(context, SQLModel.metadata).upgrade_ops
        assert operations is not None
        code = render_python_code(operations)
    engine.dispose()
    # Rendered as the body of upgrade(); a repr in it is a SyntaxError.
    compile(f"def upgrade():\n{code}", "0001_initial_schema.py", "exec")
    assert "postgresql_where=sa.text('dead')" in code  # the dead deliveries' partial index
