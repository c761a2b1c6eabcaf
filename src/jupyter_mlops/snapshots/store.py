"""The snapshot store: each snapshot recorded once per name and content, linked to the
runs that read it with a role, and read back by record, id or name, or as a list.

    record = record_snapshot(registry, train_df, name="churn-train", role="train", run_id=run.id)
    load_snapshot(registry, "churn-train").profile      # a drift reference, data not loaded
    list_snapshots(registry, limit=100).total

Every value is bound as an SQL parameter; nothing from the caller is spliced into SQL.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import InvalidInputError, NotFoundError
from ..registry.connection import Registry
from ..tracking.values import check_key, new_id
from .hashing import SCHEME, SCHEMES

if TYPE_CHECKING:
    import pandas as pd

    from .snapshot import DataSnapshot

ROLES = ("train", "test", "reference", "input")


@dataclass(frozen=True)
class SnapshotRecord:
    """A snapshot as stored: its id, and whether this call computed it or found it recorded.

    ``fingerprint_scheme`` is the scheme of ``fingerprint``: a snapshot found recorded
    under an older scheme keeps the fingerprint it was recorded with.
    """

    id: str
    name: str
    fingerprint: str
    n_rows: int
    n_columns: int
    reused: bool
    artifact_sha256: str | None
    fingerprint_scheme: str = SCHEME


def record_snapshot(
    registry: Registry,
    data: object,
    *,
    name: str | None = None,
    role: str = "input",
    run_id: str | None = None,
    variable: str | None = None,
    materialize: bool = False,
    index: str = "auto",
) -> SnapshotRecord:
    """Store a data snapshot (once per name and content) and link it to ``run_id``.

    Data already recorded under the same name with the same fingerprint is not
    profiled again: the existing snapshot is linked (and materialized if asked). A
    snapshot recorded under an older fingerprint scheme is compared under its own scheme.
    """
    from . import materialized, snapshot

    if role not in ROLES:
        raise InvalidInputError(
            f'"{role}" is not a snapshot role',
            hint=f"Use one of: {', '.join(ROLES)}.",
        )
    name = name or variable
    if name is not None:
        check_key("snapshot", name)
        existing = _recorded(registry, name, data, index, snapshot.fingerprint(data, index=index))
        if existing is not None:
            return _link_existing(
                registry, existing, data, name, role, run_id, variable, materialize, index
            )
    taken = snapshot.take_snapshot(data, name=name, index=index)
    existing = _recorded(
        registry, taken.name, data, index, taken.fingerprint, older_schemes=name is None
    )
    if existing is not None:  # an unnamed input whose default name was seen with this data
        return _link_existing(
            registry, existing, data, taken.name, role, run_id, variable, materialize, index
        )
    artifact = (
        materialized.materialize(data, registry.artifacts, index=index) if materialize else None
    )
    stored = taken.to_dict()
    snapshot_id = new_id()
    with registry.transaction(f'snapshot "{taken.name}"') as conn:
        if artifact is not None:
            _record_artifact(conn, registry, artifact, "parquet")
        conn.execute(
            "INSERT INTO snapshots (id, name, fingerprint, kind, n_rows, n_columns, schema, profile,"
            " index_policy, index_hashed, index_schema, fingerprint_scheme, source_path,"
            " source_sha256, artifact_sha256, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                snapshot_id,
                taken.name,
                taken.fingerprint,
                taken.kind,
                taken.n_rows,
                taken.n_columns,
                json.dumps(stored["schema"]),
                json.dumps(stored["profile"]),
                taken.index_policy,
                int(taken.index_hashed),
                json.dumps(stored["index_schema"]),
                taken.fingerprint_scheme,
                taken.source_path,
                taken.source_sha256,
                artifact,
                time.time(),
            ),
        )
        if run_id is not None:
            _link_snapshot(conn, run_id, snapshot_id, role, variable)
    return SnapshotRecord(
        snapshot_id,
        taken.name,
        taken.fingerprint,
        taken.n_rows,
        taken.n_columns,
        False,
        artifact,
        taken.fingerprint_scheme,
    )


def _recorded(
    registry: Registry,
    name: str,
    data: object,
    index: str,
    digest: str,
    *,
    older_schemes: bool = True,
) -> sqlite3.Row | None:
    """The snapshot recorded as ``name`` with the content of ``data`` (``digest`` under
    the current scheme), or None.

    With ``older_schemes``, a snapshot recorded under an older scheme is compared under
    that scheme, which costs a second pass over the data: only when one of the same shape
    is recorded under the name. Schemes this version does not know never match here.
    """
    columns = "SELECT id, n_rows, n_columns, artifact_sha256 FROM snapshots"
    found = registry.query_one(
        columns + " WHERE name = ? AND fingerprint = ? AND fingerprint_scheme = ?",
        (name, digest, SCHEME),
    )
    if found is not None or not older_schemes:
        return found
    if not registry.query_one(
        "SELECT 1 FROM snapshots WHERE name = ? AND fingerprint_scheme != ? LIMIT 1",
        (name, SCHEME),
    ):
        return None
    from .inputs import resolve_input
    from .snapshot import fingerprint

    frame = resolve_input(data).frame
    older = registry.query(
        "SELECT DISTINCT fingerprint_scheme FROM snapshots WHERE name = ?"
        " AND fingerprint_scheme != ? AND n_rows = ? AND n_columns = ?",
        (name, SCHEME, len(frame), frame.shape[1]),
    )
    for (scheme,) in older:
        if scheme not in SCHEMES:
            continue
        found = registry.query_one(
            columns + " WHERE name = ? AND fingerprint = ? AND fingerprint_scheme = ?",
            (name, fingerprint(frame, index=index, scheme=scheme), scheme),
        )
        if found is not None:
            return found
    return None


def _link_existing(
    registry: Registry,
    existing: sqlite3.Row,
    data: object,
    name: str,
    role: str,
    run_id: str | None,
    variable: str | None,
    materialize: bool,
    index: str,
) -> SnapshotRecord:
    from . import materialized

    snapshot_id = existing["id"]
    artifact = existing["artifact_sha256"]
    stored_now = False
    if materialize and artifact is None:
        artifact = materialized.materialize(data, registry.artifacts, index=index)
        stored_now = True
    with registry.transaction(f'snapshot "{name}"') as conn:
        if stored_now:
            _record_artifact(conn, registry, artifact, "parquet")
            conn.execute(
                "UPDATE snapshots SET artifact_sha256 = ? WHERE id = ?", (artifact, snapshot_id)
            )
        if run_id is not None:
            _link_snapshot(conn, run_id, snapshot_id, role, variable)
    recorded = registry.query_one(
        "SELECT fingerprint, fingerprint_scheme FROM snapshots WHERE id = ?", (snapshot_id,)
    )
    assert recorded is not None
    return SnapshotRecord(
        snapshot_id,
        name,
        recorded["fingerprint"],
        existing["n_rows"],
        existing["n_columns"],
        True,
        artifact,
        recorded["fingerprint_scheme"],
    )


def _link_snapshot(
    conn: sqlite3.Connection, run_id: str, snapshot_id: str, role: str, variable: str | None
) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO run_snapshots (run_id, snapshot_id, role, variable) VALUES (?, ?, ?, ?)",
        (run_id, snapshot_id, role, variable),
    )


def _record_artifact(conn: sqlite3.Connection, registry: Registry, sha: str, fmt: str) -> None:
    size = registry.artifacts.path_of(sha).stat().st_size
    conn.execute(
        "INSERT OR IGNORE INTO artifacts (sha256, size, format, created_at) VALUES (?, ?, ?, ?)",
        (sha, size, fmt, time.time()),
    )


def resolve_snapshot(registry: Registry, snapshot: object) -> str:
    """The id of a snapshot given as a record (anything with ``.id``), an id, or a name.

    A name that several snapshots share means the most recent of them.
    """
    ref = getattr(snapshot, "id", snapshot)
    if not isinstance(ref, str) or not ref:
        raise InvalidInputError(
            f"{snapshot!r} does not name a snapshot",
            hint="Give a snapshot record, its id, or its name.",
        )
    row = registry.query_one("SELECT id FROM snapshots WHERE id = ?", (ref,))
    if row is None:
        row = registry.query_one(
            "SELECT id FROM snapshots WHERE name = ? ORDER BY created_at DESC LIMIT 1", (ref,)
        )
    if row is None:
        names = [r[0] for r in registry.query("SELECT DISTINCT name FROM snapshots LIMIT 20")]
        raise NotFoundError(
            f'No snapshot with id or name "{ref}"',
            hint=f"Snapshots: {', '.join(names) or 'none yet'}. Take one with %mlops snapshot.",
        )
    return str(row[0])


def load_snapshot(registry: Registry, snapshot: object) -> DataSnapshot:
    """A stored snapshot (by record, id or name) as a :class:`DataSnapshot`, profile included.

    This is what a drift check or a data gate needs as its reference: the data itself is
    not loaded.
    """

    from .snapshot import DataSnapshot

    snapshot_id = resolve_snapshot(registry, snapshot)
    row = registry.query_one("SELECT * FROM snapshots WHERE id = ?", (snapshot_id,))
    assert row is not None
    return DataSnapshot.from_dict(
        {
            "name": row["name"],
            "kind": row["kind"],
            "fingerprint": row["fingerprint"],
            "fingerprint_scheme": row["fingerprint_scheme"],
            "n_rows": row["n_rows"],
            "n_columns": row["n_columns"],
            "schema": json.loads(row["schema"]),
            "profile": json.loads(row["profile"]),
            "index_policy": row["index_policy"],
            "index_hashed": bool(row["index_hashed"]),
            "index_schema": json.loads(row["index_schema"] or "[]"),
            "source_path": row["source_path"],
            "source_sha256": row["source_sha256"],
        }
    )


def load_snapshot_data(registry: Registry, snapshot: object) -> pd.DataFrame | None:
    """The data a snapshot was stored with (``materialize``), checked against the hash of
    its file and against the snapshot's fingerprint; None when it keeps only its profile."""
    from .materialized import load_materialized

    snapshot_id = resolve_snapshot(registry, snapshot)
    row = registry.query_one(
        "SELECT fingerprint, fingerprint_scheme, index_policy, artifact_sha256"
        " FROM snapshots WHERE id = ?",
        (snapshot_id,),
    )
    assert row is not None
    if row["artifact_sha256"] is None:
        return None
    return load_materialized(
        row["artifact_sha256"],
        registry.artifacts,
        expected_fingerprint=row["fingerprint"],
        index=row["index_policy"],
        scheme=row["fingerprint_scheme"],
    )


MAX_LIMIT = 1000


@dataclass(frozen=True)
class SnapshotSummary:
    """One stored data snapshot as a list shows it: what it is and how many runs used it."""

    id: str
    name: str
    kind: str
    fingerprint: str
    n_rows: int
    n_columns: int
    created_at: float
    source_path: str | None
    materialized: bool
    n_runs: int


@dataclass(frozen=True)
class SnapshotsPage:
    """A page of snapshots, newest first, and how many there are in all."""

    snapshots: tuple[SnapshotSummary, ...]
    total: int
    offset: int
    limit: int


def list_snapshots(registry: Registry, *, limit: int = 200, offset: int = 0) -> SnapshotsPage:
    """The registry's data snapshots, newest first, each with the number of runs linked to it.

    Example::

        page = list_snapshots(registry, limit=20)
        [(s.name, s.n_rows) for s in page.snapshots], page.total
    """
    _check_window(limit, offset)
    rows = registry.query(
        "SELECT snapshots.id, snapshots.name, snapshots.kind, snapshots.fingerprint,"
        " snapshots.n_rows, snapshots.n_columns, snapshots.created_at, snapshots.source_path,"
        " snapshots.artifact_sha256 IS NOT NULL AS materialized,"
        " (SELECT COUNT(DISTINCT run_id) FROM run_snapshots"
        "   WHERE run_snapshots.snapshot_id = snapshots.id) AS n_runs"
        " FROM snapshots ORDER BY snapshots.created_at DESC, snapshots.name LIMIT ? OFFSET ?",
        (limit, offset),
    )
    total_row = registry.query_one("SELECT COUNT(*) FROM snapshots")
    total = int(total_row[0]) if total_row is not None else 0
    snapshots = tuple(
        SnapshotSummary(
            id=row["id"],
            name=row["name"],
            kind=row["kind"],
            fingerprint=row["fingerprint"],
            n_rows=int(row["n_rows"]),
            n_columns=int(row["n_columns"]),
            created_at=float(row["created_at"]),
            source_path=row["source_path"],
            materialized=bool(row["materialized"]),
            n_runs=int(row["n_runs"]),
        )
        for row in rows
    )
    return SnapshotsPage(snapshots, total, offset, limit)


def _check_window(limit: object, offset: object) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInputError(
            f"limit must be a whole number from 1 to {MAX_LIMIT}, got {limit!r}",
            hint="Ask for fewer items at a time and page with offset.",
        )
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidInputError(f"offset must be zero or more, got {offset!r}")
