"""Rewrite the initial migration from the models (before the first release there is one revision).

Usage: python scripts/regenerate_migration.py
After 0.1.0 ships, schema changes become new revisions (``alembic revision --autogenerate``).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from sqlmodel import SQLModel

import app.models  # noqa: F401  (all tables on the metadata)
from app.db import make_engine
from app.migrations.runner import MIGRATIONS_DIR, alembic_config

INITIAL = "0001"
END_MARK = "    # ### end Alembic commands ###\n"


def enum_type_names() -> list[str]:
    names = {
        column.type.name
        for table in SQLModel.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, sa.Enum) and column.type.name
    }
    return sorted(names)


def drop_enum_types_on_downgrade(path: Path) -> None:
    """Autogenerate leaves PostgreSQL's enum types behind on downgrade; drop them too."""
    text = path.read_text()
    head, mark, tail = text.rpartition(END_MARK)
    names = ", ".join(repr(name) for name in enum_type_names())
    addition = (
        "    # Autogenerate leaves PostgreSQL's enum types behind: drop them too.\n"
        '    if op.get_bind().dialect.name == "postgresql":\n'
        f"        for name in ({names},):\n"
        "            op.execute(f'DROP TYPE IF EXISTS \"{name}\"')\n"
    )
    path.write_text(head + mark + addition + tail)


def main() -> None:
    versions = MIGRATIONS_DIR / "versions"
    versions.mkdir(exist_ok=True)
    for old in versions.glob(f"{INITIAL}_*.py"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'empty.db'}")
        config = alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.revision(config, message="initial schema", autogenerate=True, rev_id=INITIAL)
    path = next(versions.glob(f"{INITIAL}_*.py"))
    drop_enum_types_on_downgrade(path)
    print(f"rewrote {path}")


if __name__ == "__main__":
    main()
