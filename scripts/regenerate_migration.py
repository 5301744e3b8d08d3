"""Rewrite the initial migration from the models (before the first release there is one revision).

Usage: python scripts/regenerate_migration.py
After 0.1.0 ships, schema changes become new revisions instead (``alembic revision --autogenerate``).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command

from app.db import make_engine
from app.migrations.runner import MIGRATIONS_DIR, alembic_config

INITIAL = "0001"


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
    print(f"rewrote {next(versions.glob(f'{INITIAL}_*.py'))}")


if __name__ == "__main__":
    main()
