"""Merging one registry file into another: the source attached, its files checked and
copied, its rows merged in one transaction.

The source is only read (attached read-only to the target's connection, never
migrated or written; a kernel may keep writing to it meanwhile): a registry made by an
older jupyter-mlops merges as it is, one made by a newer one is refused. Its artifact files are all checked before anything is written; they are
copied into the target's store before the rows (a stored file no row names is harmless,
a row whose file is missing is not), then every row is merged in one write transaction,
so an interrupted merge leaves the target as it was. A dry run does the same work and
rolls the transaction back, copying no file.

    report = merge_registry_file(registry, Path("../colleague/.mlops/registry.db"),
                                 ArtifactStore(Path("../colleague/.mlops/artifacts")))
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path

from ..errors import InvalidInputError
from ..registry.artifacts import ArtifactStore
from ..registry.connection import Registry
from ..registry.schema import MIGRATIONS
from .merge_artifacts import check_files, copy_files, missing_artifacts
from .merge_models import merge_aliases, merge_models
from .merge_report import MergeProgress, MergeReport, ProgressCallback
from .merge_rows import (
    TEMP_TABLES,
    SourceRows,
    merge_gates_and_drift,
    merge_monitoring,
    merge_names,
    merge_notes,
    merge_pipelines,
    merge_reproductions,
    merge_runs,
    merge_snapshots,
)

logger = logging.getLogger(__name__)

# In this order: each stage needs the ids the ones before it mapped.
STAGES: tuple[tuple[str, Callable[[SourceRows], None]], ...] = (
    ("experiments, environments, artifacts", merge_names),
    ("snapshots", merge_snapshots),
    ("runs", merge_runs),
    ("models", merge_models),
    ("gate evaluations and drift reports", merge_gates_and_drift),
    ("aliases", merge_aliases),
    ("pipelines", merge_pipelines),
    ("reproductions", merge_reproductions),
    ("notes", merge_notes),
    ("monitoring and predictions", merge_monitoring),
)


class _DryRun(Exception):
    """Raised inside a dry run's transaction so that it rolls back."""


def merge_registry_file(
    target: Registry,
    source: Path,
    source_artifacts: ArtifactStore,
    *,
    label: str | None = None,
    dry_run: bool = False,
    progress: ProgressCallback | None = None,
) -> MergeReport:
    """Merge the registry file ``source`` (its files in ``source_artifacts``) into
    ``target``; see the module docstring."""
    name = label or str(source)
    conn = target.conn
    _attach_read_only(conn, source)
    try:
        _check_schema(conn, source)
        needed = missing_artifacts(conn, target.artifacts)
        size = check_files(source_artifacts, needed)
        if not dry_run:
            copy_files(source_artifacts, target.artifacts, needed)
        rows = _merge_rows(target, name, dry_run, progress)
    finally:
        for table in TEMP_TABLES:
            conn.execute(f"DROP TABLE IF EXISTS temp.{table}")
        conn.execute("DETACH DATABASE src")
    logger.info("Merged %s into %s: %s", name, target.path, rows.added)
    return MergeReport(
        source=name,
        dry_run=dry_run,
        added={table: count for table, count in rows.added.items() if count},
        conflicts=tuple(rows.conflicts),
        renumbered=tuple(rows.renumbered),
        runs_added=tuple(rows.new_runs),
        model_versions_added=tuple(rows.added_versions),
        artifacts_copied=len(needed),
        artifact_bytes=size,
    )


def _attach_read_only(conn: sqlite3.Connection, source: Path) -> None:
    """Attach ``source`` as ``src``, read-only: the merge's write transaction then takes
    only a read lock on it (a plain attach would take the write lock of both files, and
    wait for a kernel writing to the source), and reads one moment of it throughout."""
    from urllib.parse import quote

    resolved = source.resolve()
    try:
        conn.execute("ATTACH DATABASE ? AS src", (f"file:{quote(str(resolved))}?mode=ro",))
        attached = {row[1]: row[2] for row in conn.execute("PRAGMA database_list")}
        if attached.get("src") == str(resolved):
            return
        conn.execute("DETACH DATABASE src")  # an SQLite that reads no URI here
    except sqlite3.DatabaseError:
        pass
    try:
        conn.execute("ATTACH DATABASE ? AS src", (str(source),))
    except sqlite3.DatabaseError as exc:
        raise InvalidInputError(
            f"Cannot read {source} as a registry: {exc}",
            hint="Give a registry file (.mlops/registry.db) or the folder that holds .mlops.",
        ) from exc


def _merge_rows(
    target: Registry, name: str, dry_run: bool, progress: ProgressCallback | None
) -> SourceRows:
    rows: SourceRows | None = None
    try:
        with target.transaction(f"the merge of {name}") as conn:
            rows = SourceRows.attached(conn)
            for done, (stage, merge) in enumerate(STAGES, start=1):
                merge(rows)
                if progress is not None:
                    added = sum(rows.added.values())
                    progress(MergeProgress(name, stage, done, len(STAGES), added))
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    assert rows is not None
    return rows


def _check_schema(conn: sqlite3.Connection, source: Path) -> None:
    """Refuse a file that is not a registry, or one a newer jupyter-mlops wrote."""
    try:
        tables = {
            row[0] for row in conn.execute("SELECT name FROM src.sqlite_master WHERE type='table'")
        }
    except sqlite3.DatabaseError as exc:
        raise InvalidInputError(
            f"Cannot read {source} as a registry: {exc}",
            hint="Give a registry file (.mlops/registry.db) or the folder that holds .mlops.",
        ) from exc
    if "runs" not in tables or "schema_migrations" not in tables:
        raise InvalidInputError(
            f"{source} is not a jupyter-mlops registry (it has no runs)",
            hint="Give a registry file (.mlops/registry.db) or the folder that holds .mlops.",
        )
    applied = {row[0] for row in conn.execute("SELECT name FROM src.schema_migrations")}
    unknown = sorted(applied - {migration.name for migration in MIGRATIONS})
    if unknown:
        raise InvalidInputError(
            f"{source} was written by a newer jupyter-mlops (it has migration {unknown[0]})",
            hint="Upgrade jupyter-mlops here (pip install -U jupyter-mlops), then merge again.",
        )
