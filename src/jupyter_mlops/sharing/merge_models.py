"""The models of a merge: models by name, versions by content (renumbered when their
number is taken), aliases and every move of them.

A version is the same in both registries when its model's name, its artifact's sha256
and its registration time agree, or, failing that, its model's name, its artifact's
sha256 and its run (the same registration timed by another clock: an MLflow server
registers a version at its own time, in milliseconds); the target's version is taken
once (of two versions of the same bytes from one run, each finds its own, the one of
the same number first). A version new to the target keeps its number when the
target's model has no version of that number, else it takes the model's next free
number and the mapping is reported. ``temp.merge_versions`` maps each source version id
to the target's, for the gate evaluations, drift reports, aliases and predictions that
name versions.

An alias the target lacks is added; one that points at another version in the target
is a conflict: the target keeps its own, the report names both sides with their
history, and the source's moves are still added to ``model_alias_history`` so that no
move is lost.
"""

from __future__ import annotations

import sqlite3
import time

from .merge_conflicts import KEPT, Conflict
from .merge_rows import SourceRows


def merge_models(rows: SourceRows) -> None:
    """Models and their versions into the target; ``temp.merge_versions`` maps them."""
    conn = rows.conn
    rows.insert("models", "name NOT IN (SELECT name FROM main.models)", id="NULL")
    rows.conflicts += _description_conflicts(conn)
    conn.execute("DROP TABLE IF EXISTS temp.merge_versions")
    conn.execute(
        "CREATE TEMP TABLE merge_versions (source_id INTEGER PRIMARY KEY, target_id INTEGER)"
    )
    _merge_versions(rows)


def merge_aliases(rows: SourceRows) -> None:
    """The source's aliases and their history (after the versions and gate evaluations
    they name are merged)."""
    if rows.has("model_aliases"):
        _merge_aliases(rows)
    if rows.has("model_alias_history"):
        _merge_history(rows)


def _description_conflicts(conn: sqlite3.Connection) -> list[Conflict]:
    found = conn.execute(
        "SELECT s.name, s.description, m.description FROM src.models s"
        " JOIN main.models m ON m.name = s.name WHERE s.description IS NOT NULL"
        " AND m.description IS NOT NULL AND s.description != m.description"
    ).fetchall()
    return [Conflict("model", name, repr(ours), repr(theirs), KEPT) for name, theirs, ours in found]


def _merge_versions(rows: SourceRows) -> None:
    conn = rows.conn
    columns = [
        c for c in rows.shared_columns("model_versions") if c not in ("id", "model_id", "version")
    ]
    picked = ", ".join(
        {
            "run_id": "(SELECT id FROM main.runs WHERE id = v.run_id)",
            "snapshot_id": "(SELECT target_id FROM temp.merge_snapshots WHERE source_id ="
            " v.snapshot_id)",
        }.get(c, f"v.{c}")
        for c in columns
    )
    versions = conn.execute(
        "SELECT v.id, m.name, v.version, v.artifact_sha256, v.created_at, v.run_id"
        " FROM src.model_versions v JOIN src.models m ON m.id = v.model_id"
        " ORDER BY m.name, v.version"
    ).fetchall()
    added = 0
    for source_id, name, number, sha, created_at, run_id in versions:
        (model_id,) = conn.execute("SELECT id FROM main.models WHERE name = ?", (name,)).fetchone()
        same = conn.execute(
            "SELECT id FROM main.model_versions WHERE model_id = ? AND artifact_sha256 = ?"
            " AND created_at = ?",
            (model_id, sha, created_at),
        ).fetchone()
        if same is None and run_id is not None:
            same = _same_registration(conn, model_id, sha, run_id, number)
        if same is not None:
            conn.execute("INSERT INTO temp.merge_versions VALUES (?, ?)", (source_id, same[0]))
            continue
        taken = conn.execute(
            "SELECT artifact_sha256 FROM main.model_versions WHERE model_id = ? AND version = ?",
            (model_id, number),
        ).fetchone()
        here = number
        if taken is not None:
            (here,) = conn.execute(
                "SELECT COALESCE(MAX(version), 0) + 1 FROM main.model_versions WHERE model_id = ?",
                (model_id,),
            ).fetchone()
            rows.renumbered.append((name, number, here))
            rows.conflicts.append(
                Conflict(
                    "model version",
                    f"{name} {number}",
                    f"artifact {taken[0][:12]}",
                    f"artifact {sha[:12]}",
                    f"the source's was added as {name} {here}",
                )
            )
        cursor = conn.execute(
            f"INSERT INTO main.model_versions (model_id, version, {', '.join(columns)})"
            f" SELECT ?, ?, {picked} FROM src.model_versions v WHERE v.id = ?",
            (model_id, here, source_id),
        )
        conn.execute("INSERT INTO temp.merge_versions VALUES (?, ?)", (source_id, cursor.lastrowid))
        rows.added_versions.append(f"{name} {here}")
        added += 1
    rows.count("model_versions", added)


def _same_registration(
    conn: sqlite3.Connection, model_id: int, sha: str, run_id: str, number: int
) -> tuple[int] | None:
    """The target's version of the same model, bytes and run that no other source
    version was taken for (the one of the same number first): the same registration,
    timed by another clock (an MLflow server's, for a registry imported before pushes
    carried the time)."""
    found = conn.execute(
        "SELECT id FROM main.model_versions WHERE model_id = ? AND artifact_sha256 = ?"
        " AND run_id = ? AND id NOT IN (SELECT target_id FROM temp.merge_versions)"
        " ORDER BY version != ?, version LIMIT 1",
        (model_id, sha, run_id, number),
    ).fetchone()
    return None if found is None else (int(found[0]),)


def _version_label(conn: sqlite3.Connection, schema: str, version_id: int | None) -> str:
    if version_id is None:
        return "none"
    row = conn.execute(
        f"SELECT m.name, v.version FROM {schema}.model_versions v JOIN {schema}.models m"
        " ON m.id = v.model_id WHERE v.id = ?",
        (version_id,),
    ).fetchone()
    return f"{row[0]} {row[1]}" if row else "a removed version"


def _history(conn: sqlite3.Connection, schema: str, name: str, alias: str) -> list[str]:
    found = conn.execute(
        f"SELECT h.from_version_id, h.to_version_id, h.reason, h.moved_at"
        f" FROM {schema}.model_alias_history h JOIN {schema}.models m ON m.id = h.model_id"
        " WHERE m.name = ? AND h.alias = ? ORDER BY h.moved_at",
        (name, alias),
    ).fetchall()
    return [
        f"{_version_label(conn, schema, old)} -> {_version_label(conn, schema, new)}"
        f" ({reason}, {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(moved_at))} UTC)"
        for old, new, reason, moved_at in found
    ]


def _merge_aliases(rows: SourceRows) -> None:
    conn = rows.conn
    aliases = conn.execute(
        "SELECT m.name, a.alias, a.version_id, a.updated_at,"
        " (SELECT target_id FROM temp.merge_versions WHERE source_id = a.version_id)"
        " FROM src.model_aliases a JOIN src.models m ON m.id = a.model_id ORDER BY m.name, a.alias"
    ).fetchall()
    added = 0
    for name, alias, source_version, updated_at, mapped in aliases:
        (model_id,) = conn.execute("SELECT id FROM main.models WHERE name = ?", (name,)).fetchone()
        current = conn.execute(
            "SELECT version_id FROM main.model_aliases WHERE model_id = ? AND alias = ?",
            (model_id, alias),
        ).fetchone()
        if current is None:
            conn.execute(
                "INSERT INTO main.model_aliases (model_id, alias, version_id, updated_at)"
                " VALUES (?, ?, ?, ?)",
                (model_id, alias, mapped, updated_at),
            )
            added += 1
        elif current[0] != mapped:
            ours = _version_label(conn, "main", current[0])
            theirs = _version_label(conn, "src", source_version)
            here = _version_label(conn, "main", mapped)
            rows.conflicts.append(
                Conflict(
                    "alias",
                    f"{name}@{alias}",
                    ours,
                    theirs + ("" if here == theirs else f" ({here} here)"),
                    "the target's alias is kept; the source's moves are in its history",
                    (
                        *(
                            f"target history: {line}"
                            for line in _history(conn, "main", name, alias)
                        ),
                        *(f"source history: {line}" for line in _history(conn, "src", name, alias)),
                    ),
                )
            )
    rows.count("model_aliases", added)


def _merge_history(rows: SourceRows) -> None:
    """Every move of the source's aliases the target has not recorded, versions mapped."""
    version = "(SELECT target_id FROM temp.merge_versions WHERE source_id = h.{})"
    model = "(SELECT id FROM main.models WHERE name = (SELECT name FROM src.models WHERE id ="
    model += " h.model_id))"
    cursor = rows.conn.execute(
        "INSERT INTO main.model_alias_history (model_id, alias, from_version_id, to_version_id,"
        " evaluation_id, reason, moved_at)"
        f" SELECT {model}, h.alias, {version.format('from_version_id')},"
        f" {version.format('to_version_id')},"
        " (SELECT id FROM main.gate_evaluations WHERE id = h.evaluation_id), h.reason, h.moved_at"
        " FROM src.model_alias_history h WHERE NOT EXISTS (SELECT 1 FROM main.model_alias_history t"
        f" WHERE t.model_id = {model} AND t.alias = h.alias AND t.moved_at = h.moved_at"
        " AND t.reason = h.reason"
        f" AND t.from_version_id IS {version.format('from_version_id')}"
        f" AND t.to_version_id IS {version.format('to_version_id')})"
        " ORDER BY h.moved_at"
    )
    rows.count("model_alias_history", cursor.rowcount)
