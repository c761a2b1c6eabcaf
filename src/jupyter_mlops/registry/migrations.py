"""Applying the schema's migrations to a registry, once each, under the write lock.

A registry records the migrations it has applied in ``schema_migrations`` and their
count in ``PRAGMA user_version``, so that opening an up-to-date registry costs one
pragma read. A registry that has applied a migration this version does not know was
written by a newer jupyter-mlops and is refused, untouched.

A migration is SQL, and may add a Python step that gets the same connection as a
``sqlite_utils.Database`` (sqlite-utils 4 joins an open transaction with savepoints;
earlier versions committed it, which would let a second process migrate at the same
time). sqlite-utils is used here, where its table transforms and full-text setup are
worth their import; the hot paths (logging metrics, listing runs) use plain
:mod:`sqlite3`, whose statements cost microseconds and import nothing.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..errors import RegistryError
from .schema import MIGRATIONS, Migration
from .sqlite_errors import newer_schema_error, translate_error

if TYPE_CHECKING:
    from .connection import Registry

logger = logging.getLogger(__name__)


def statements_of(script: str) -> list[str]:
    """Split a migration script into statements (migrations hold no ';' inside strings)."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]


def migrate(registry: Registry, migrations: Sequence[Migration] = MIGRATIONS) -> None:
    """Apply the ``migrations`` (by default the schema's) that ``registry`` lacks, in order."""
    try:
        version = registry.conn.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise translate_error(
            exc, registry.path, "open the registry", busy_timeout=registry.busy_timeout
        ) from exc
    if version == len(migrations):
        return
    if version > len(migrations):
        raise newer_schema_error(registry.path)
    if registry.read_only:
        raise RegistryError(
            f"{registry.path} was written by an older jupyter-mlops and is on a read-only"
            " filesystem, so it cannot be upgraded to be read",
            hint="Open it once where it can be written (or copy it there), then read it anywhere.",
        )
    with registry.transaction("the registry's schema"):
        has_migrations = registry.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='schema_migrations'"
        ).fetchone()
        if not has_migrations:
            registry.conn.execute(
                "CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)"
            )
        applied = {row[0] for row in registry.conn.execute("SELECT name FROM schema_migrations")}
        known = {migration.name for migration in migrations}
        if applied - known:
            raise newer_schema_error(registry.path)
        pending = [migration for migration in migrations if migration.name not in applied]
        if any(migration.step is not None for migration in pending):
            _check_sqlite_utils(registry)
        for migration in pending:
            for statement in statements_of(migration.sql):
                registry.conn.execute(statement)
            if migration.step is not None:
                _run_step(registry, migration)
            registry.conn.execute(
                "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
                (migration.name, time.time()),
            )
            logger.info("Applied migration %s to %s", migration.name, registry.path)
        if not applied:
            from .._version import __version__

            registry.conn.execute(
                "INSERT OR IGNORE INTO registry_info (key, value) VALUES"
                " ('created_at', ?), ('created_by', ?)",
                (str(time.time()), f"jupyter-mlops {__version__}"),
            )
        registry.conn.execute(f"PRAGMA user_version = {len(migrations)}")


def _check_sqlite_utils(registry: Registry) -> None:
    """Refuse, before anything is changed, to run a step with a sqlite-utils older than 4
    (it would commit the migration's transaction half-way)."""
    from importlib.metadata import version

    installed = version("sqlite-utils")
    major = installed.split(".", 1)[0]
    if not major.isdigit() or int(major) < 4:
        raise RegistryError(
            f"Cannot update the schema of {registry.path} with sqlite-utils {installed}",
            hint="Upgrade it with `pip install -U 'sqlite-utils>=4'`; the registry is"
            " left untouched.",
        )


def _run_step(registry: Registry, migration: Migration) -> None:
    """Run a migration's Python step on the registry's own connection and transaction."""
    import sqlite_utils

    assert migration.step is not None
    # recursive_triggers=False: sqlite-utils would otherwise switch it on for this
    # connection, and only in the processes that happened to migrate.
    db = sqlite_utils.Database(registry.conn, recursive_triggers=False, execute_plugins=False)
    migration.step(db)
    if not registry.conn.in_transaction:
        raise RegistryError(
            f"Migration {migration.name} of {registry.path} ended its transaction early",
            hint="Upgrade sqlite-utils (`pip install -U 'sqlite-utils>=4'`) and open the"
            " registry again.",
        )
