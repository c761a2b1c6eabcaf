"""Rows that runs share, created once and their ids remembered per opened registry."""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from ..errors import NotFoundError
from ..registry.connection import Registry


def experiment_id(registry: Registry, conn: sqlite3.Connection, name: str) -> int:
    """The id of experiment ``name``, created on first use."""
    key = ("experiment", name)
    cached = registry.recall(key)
    if cached is not None:
        return int(cached)
    conn.execute(
        "INSERT OR IGNORE INTO experiments (name, created_at) VALUES (?, ?)", (name, time.time())
    )
    experiment_id = conn.execute("SELECT id FROM experiments WHERE name = ?", (name,)).fetchone()[0]
    registry.remember(key, int(experiment_id))
    return int(experiment_id)


def environment_id(registry: Registry, conn: sqlite3.Connection, environment: Any) -> int:
    """The id of ``environment`` (an :class:`Environment`), stored once per content hash."""
    digest = environment.hash
    key = ("environment", digest)
    cached = registry.recall(key)
    if cached is not None:
        return int(cached)
    conn.execute(
        "INSERT OR IGNORE INTO environments (hash, python, platform, packages) VALUES (?, ?, ?, ?)",
        (digest, environment.python, environment.platform, json.dumps(dict(environment.packages))),
    )
    environment_id = conn.execute(
        "SELECT id FROM environments WHERE hash = ?", (digest,)
    ).fetchone()[0]
    registry.remember(key, int(environment_id))
    return int(environment_id)


def preceding_run_id(
    conn: sqlite3.Connection,
    experiment_id: int,
    name: str,
    notebook_path: str | None,
    cell_id: str | None,
) -> str | None:
    """The run a new top-level run follows: the latest top-level run from the same
    notebook cell, or else the latest of the same name in the same experiment (the
    children of a run, started from its cell after it, are never what a rerun follows)."""
    if cell_id:
        row = conn.execute(
            "SELECT id FROM runs WHERE cell_id = ? AND notebook_path IS ?"
            " AND parent_run_id IS NULL ORDER BY started_at DESC LIMIT 1",
            (cell_id, notebook_path),
        ).fetchone()
    else:
        row = conn.execute(
            "SELECT id FROM runs WHERE name = ? AND experiment_id = ? AND parent_run_id IS NULL"
            " ORDER BY started_at DESC LIMIT 1",
            (name, experiment_id),
        ).fetchone()
    return row[0] if row else None


def check_parent(conn: sqlite3.Connection, parent_run_id: str) -> None:
    """Refuse a parent that is not a run of this registry, with what to do instead."""
    if conn.execute("SELECT 1 FROM runs WHERE id = ?", (parent_run_id,)).fetchone() is None:
        raise NotFoundError(
            f'No run with id "{parent_run_id}" to be the parent of a new run',
            hint="Give the id of a run of this registry (mlops.runs() lists them), or no parent.",
        )
