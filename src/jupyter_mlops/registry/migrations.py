"""Applying the schema's migrations to a registry, once each, under the write lock.

A registry records the migrations it has applied in ``schema_migrations`` and their
count in ``PRAGMA user_version``, so that opening an up-to-date registry costs one
pragma read. A registry that has applied a migration this version does not know was
written by a newer jupyter-mlops and is refused, untouched.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from typing import TYPE_CHECKING

from ..errors import RegistryError
from .schema import MIGRATIONS
from .sqlite_errors import newer_schema_error, translate_error

if TYPE_CHECKING:
    from .connection import Registry

logger = logging.getLogger(__name__)


def statements_of(script: str) -> list[str]:
    """Split a migration script into statements (migrations hold no ';' inside strings)."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]


def migrate(registry: Registry) -> None:
    try:
        version = registry.conn.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise translate_error(
            exc, registry.path, "open the registry", busy_timeout=registry.busy_timeout
        ) from exc
    if version == len(MIGRATIONS):
        return
    if version > len(MIGRATIONS):
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
        known = {migration.name for migration in MIGRATIONS}
        if applied - known:
            raise newer_schema_error(registry.path)
        for migration in MIGRATIONS:
            if migration.name in applied:
                continue
            for statement in statements_of(migration.sql):
                registry.conn.execute(statement)
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
        registry.conn.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
