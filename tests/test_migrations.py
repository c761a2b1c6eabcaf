"""Migrations: named, ordered, once only, with Python steps that use sqlite-utils inside the
migration's transaction."""

from __future__ import annotations

from typing import Any

import pytest
import sqlite_utils

from jupyter_mlops.errors import RegistryCorruptError
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.registry.migrations import migrate
from jupyter_mlops.registry.schema import MIGRATIONS, Migration


def scratch_migration(step: Any) -> tuple[Migration, ...]:
    """The schema's migrations and one more, whose SQL makes a table its step then changes."""
    return (
        *MIGRATIONS,
        Migration(
            "9001_scratch",
            "CREATE TABLE scratch (id INTEGER PRIMARY KEY, size TEXT, unused TEXT);"
            " INSERT INTO scratch (size) VALUES ('3')",
            step=step,
        ),
    )


def test_a_migration_step_transforms_a_table_inside_the_migration(registry: Registry) -> None:
    seen: list[bool] = []

    def step(db: sqlite_utils.Database) -> None:
        db.table("scratch").transform(types={"size": int}, drop={"unused"})
        seen.append(db.conn.in_transaction)

    migrate(registry, scratch_migration(step))

    assert seen == [True]  # sqlite-utils joined the migration's transaction
    table = sqlite_utils.Database(registry.conn).table("scratch")
    assert table.columns_dict == {"id": int, "size": int}
    assert registry.query_one("SELECT size, typeof(size) FROM scratch")[:] == (3, "integer")
    assert registry.query_one("PRAGMA user_version")[0] == len(MIGRATIONS) + 1
    assert not registry.conn.in_transaction
    with pytest.raises(RegistryCorruptError, match="newer version"):
        Registry.open(registry.path)  # this version does not know 9001_scratch


def test_a_failing_migration_step_leaves_the_registry_as_it_was(registry: Registry) -> None:
    def step(db: sqlite_utils.Database) -> None:
        db.table("scratch").transform(types={"size": int})
        raise ValueError("the step broke")

    with pytest.raises(ValueError, match="the step broke"):
        migrate(registry, scratch_migration(step))

    assert registry.query_one("SELECT 1 FROM sqlite_master WHERE name = 'scratch'") is None
    assert registry.query_one("PRAGMA user_version")[0] == len(MIGRATIONS)
    assert "9001_scratch" not in {
        r[0] for r in registry.query("SELECT name FROM schema_migrations")
    }


def test_a_step_that_ends_the_transaction_is_reported(registry: Registry) -> None:
    from jupyter_mlops.errors import RegistryError

    def step(db: sqlite_utils.Database) -> None:
        db.conn.execute("COMMIT")  # what sqlite-utils 3 did inside enable_fts and transform

    with pytest.raises(RegistryError, match="ended its transaction early") as caught:
        migrate(registry, scratch_migration(step))
    assert "sqlite-utils>=4" in (caught.value.hint or "")
