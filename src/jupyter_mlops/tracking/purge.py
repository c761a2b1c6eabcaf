"""Purging a run: deleting it for good, with the artifacts only it used.

Archiving hides a run and can be undone; purging cannot, so it asks for an explicit
confirmation (``confirm=True``; ``--yes`` or a prompt in the CLI, ``--yes`` in the magic)
and refuses otherwise, saying how to confirm. What goes and what stays:

- the run and its child runs (a sweep goes whole), with everything they recorded:
  parameters, metrics and their series and previews, tags, notes, code cells, links to
  data snapshots, artifact links, pipeline-run records;
- artifact files in the content-addressed store that nothing else uses: an artifact
  another run links to, a registered model version, a materialized snapshot or the step
  cache of a pipeline uses stays;
- what other records keep stays, without the link: snapshots (shared by content),
  registered model versions, gate evaluations, drift reports and pipeline step records
  no longer name the run (their ``run_id`` becomes NULL); a later run that named the
  purged one as its previous run no longer does.

A run that is still running is refused (end it first): its process would go on writing
into a run that no longer exists.

    plan = purge_plan(registry, "baseline")      # what would go, nothing written
    result = purge_run(registry, "baseline", confirm=True)
"""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import dataclass

from ..errors import InvalidInputError
from ..registry.connection import Registry
from .housekeeping import descendants
from .queries.refs import resolve_run

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PurgePlan:
    """What purging a run would delete: the runs (the run first, then its descendants),
    the artifacts only they use (and their total size) and those others keep."""

    run_id: str
    name: str
    run_ids: tuple[str, ...]
    unique_artifacts: tuple[str, ...]
    shared_artifacts: tuple[str, ...]
    bytes_freed: int

    def describe(self) -> str:
        children = len(self.run_ids) - 1
        return (
            f'run "{self.name}" ({self.run_id})'
            + (f" and its {children} child run(s)" if children else "")
            + f", {len(self.unique_artifacts)} artifact(s) only it uses"
            + f" ({self.bytes_freed:,} bytes)"
        )


@dataclass(frozen=True)
class PurgeResult:
    """What a purge deleted: the runs, the artifacts removed from the store, the artifacts
    kept because something else uses them, and the bytes freed."""

    run_id: str
    name: str
    run_ids: tuple[str, ...]
    removed_artifacts: tuple[str, ...]
    kept_artifacts: tuple[str, ...]
    bytes_freed: int
    message: str


def purge_plan(registry: Registry, ref: str) -> PurgePlan:
    """What :func:`purge_run` would delete for the run ``ref`` names; nothing is written."""
    with registry.reading():
        return _plan(registry, resolve_run(registry, ref))


def purge_run(registry: Registry, ref: str, *, confirm: bool = False) -> PurgeResult:
    """Delete the run ``ref`` names for good (see the module's docstring); ``confirm``
    must be True::

        purge_run(registry, "baseline", confirm=True)
    """
    if confirm is not True:
        plan = purge_plan(registry, ref)
        raise InvalidInputError(
            f"Purging deletes {plan.describe()} for good; it was not confirmed",
            hint=f"Confirm with mlops.purge({plan.run_id!r}, confirm=True),"
            f" %mlops purge {plan.run_id} --yes or jupyter mlops purge {plan.run_id} --yes;"
            " or archive it instead (it can be restored).",
        )
    with registry.transaction(f"the purge of run {ref}") as conn:
        run_id = resolve_run(registry, ref)
        plan = _plan(registry, run_id)
        running = conn.execute(
            "SELECT id, name FROM runs WHERE status = 'running' AND id IN"
            " (SELECT value FROM json_each(?))",
            (json.dumps(plan.run_ids),),
        ).fetchone()
        if running is not None:
            raise InvalidInputError(
                f'Run "{running[1]}" ({running[0]}) is still running; it cannot be purged',
                hint="End it first (%mlops end, or run.end()), then purge it.",
            )
        ids = json.dumps(plan.run_ids)
        inside = "IN (SELECT value FROM json_each(?))"
        # Links that would point at nothing; the foreign keys delete or clear the rest.
        conn.execute(
            f"UPDATE runs SET previous_run_id = NULL WHERE previous_run_id {inside}"
            f" AND id NOT {inside}",
            (ids, ids),
        )
        conn.execute(f"UPDATE runs SET previous_run_id = NULL WHERE id {inside}", (ids,))
        # Children before their parents: parent_run_id has no ON DELETE action.
        for child in reversed(plan.run_ids):
            conn.execute("DELETE FROM runs WHERE id = ?", (child,))
        removed = tuple(sha for sha in plan.unique_artifacts if not _used(conn, sha))
        conn.executemany("DELETE FROM artifacts WHERE sha256 = ?", [(sha,) for sha in removed])
        # Files go while the write lock is held: no run can link them meanwhile.
        for sha in removed:
            try:
                registry.artifacts.path_of(sha).unlink(missing_ok=True)
            except OSError as exc:  # the rows are gone either way; the file is only space
                logger.warning("jupyter-mlops: could not remove artifact %s: %s", sha, exc)
    children = len(plan.run_ids) - 1
    message = (
        f'Purged run "{plan.name}" ({plan.run_id})'
        + (f" and its {children} child run(s)" if children else "")
        + f"; removed {len(removed)} artifact(s) ({plan.bytes_freed:,} bytes)"
        + (
            f", kept {len(plan.shared_artifacts)} that other records use"
            if plan.shared_artifacts
            else ""
        )
        + "."
    )
    return PurgeResult(
        plan.run_id,
        plan.name,
        plan.run_ids,
        removed,
        plan.shared_artifacts,
        plan.bytes_freed,
        message,
    )


def _plan(registry: Registry, run_id: str) -> PurgePlan:
    family = descendants(registry, run_id)
    ids = json.dumps(family)
    name = registry.query_tuples("SELECT name FROM runs WHERE id = ?", (run_id,))[0][0]
    linked = [
        str(row[0])
        for row in registry.query_tuples(
            "SELECT sha256 FROM run_artifacts WHERE run_id IN (SELECT value FROM json_each(?))"
            " UNION SELECT preview_sha256 FROM run_artifacts WHERE preview_sha256 IS NOT NULL"
            " AND run_id IN (SELECT value FROM json_each(?))",
            (ids, ids),
        )
    ]
    unique: list[str] = []
    shared: list[str] = []
    for sha in sorted(set(linked)):
        (unique if not _used(registry.conn, sha, outside=ids) else shared).append(sha)
    size = 0
    if unique:
        size = int(
            registry.query_tuples(
                "SELECT COALESCE(SUM(size), 0) FROM artifacts WHERE sha256 IN"
                " (SELECT value FROM json_each(?))",
                (json.dumps(unique),),
            )[0][0]
        )
    return PurgePlan(run_id, str(name), family, tuple(unique), tuple(shared), size)


def _used(conn: sqlite3.Connection, sha: str, *, outside: str = "[]") -> bool:
    """Whether anything but the runs ``outside`` (a JSON list of ids) uses artifact ``sha``."""
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM run_artifacts WHERE (sha256 = ?1 OR preview_sha256 = ?1)"
        " AND run_id NOT IN (SELECT value FROM json_each(?2)))"
        " OR EXISTS (SELECT 1 FROM model_versions WHERE artifact_sha256 = ?1)"
        " OR EXISTS (SELECT 1 FROM snapshots WHERE artifact_sha256 = ?1)"
        " OR EXISTS (SELECT 1 FROM step_cache WHERE instr(outputs, ?1) > 0)",
        (sha, outside),
    ).fetchone()
    return bool(row[0])
