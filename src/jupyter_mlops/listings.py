"""Registry-wide lists for overviews: the data snapshots, and each model version's latest
gate verdict.

:mod:`jupyter_mlops.queries` reads runs, :mod:`jupyter_mlops.models` and
:mod:`jupyter_mlops.gates` read one model or one evaluation at a time; a view of the
whole registry (the JupyterLab panel, a report) needs these two lists as well::

    page = list_snapshots(registry, limit=100)            # newest first, with page.total
    versions_of_run(registry, run.id)                     # what a run was registered as
    models = list_models(registry)
    verdicts = latest_gate_verdicts(registry, [v for m in models for v in m.versions])
    verdicts[version.id].passed                           # the latest evaluation's verdict

Every value is bound as an SQL parameter; nothing from the caller is spliced into SQL.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import InvalidInputError
from .registry import Registry

if TYPE_CHECKING:
    from .gates import GateEvaluation
    from .models import ModelVersion

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


def latest_gate_verdicts(
    registry: Registry, versions: Iterable[ModelVersion]
) -> dict[int, GateEvaluation]:
    """The most recent gate evaluation that concerns each version, by version id.

    An evaluation concerns a version when it was made to promote that version, or when
    it checked the run that trained the version (for that model, or for no model in
    particular). Versions never evaluated are left out of the answer.

    Example::

        model = list_models(registry, "churn")[0]
        verdicts = latest_gate_verdicts(registry, model.versions)
        {v.version: verdicts[v.id].passed for v in model.versions if v.id in verdicts}
    """
    from .gates import get_evaluation

    wanted = {version.id: version for version in versions}
    if not wanted:
        return {}
    marks = ", ".join("?" for _ in wanted)
    rows = registry.query(
        "SELECT model_versions.id AS version_id, gate_evaluations.id AS evaluation_id,"
        " gate_evaluations.evaluated_at AS evaluated_at"
        " FROM model_versions JOIN models ON models.id = model_versions.model_id"
        " JOIN gate_evaluations ON gate_evaluations.model_version_id = model_versions.id"
        "  OR (gate_evaluations.model_version_id IS NULL"
        "      AND gate_evaluations.run_id = model_versions.run_id"
        "      AND COALESCE(json_extract(gate_evaluations.inputs, '$.model'), models.name)"
        "          = models.name)"
        f" WHERE model_versions.id IN ({marks})"
        " ORDER BY gate_evaluations.evaluated_at, gate_evaluations.id",
        list(wanted),
    )
    latest: dict[int, str] = {}
    for row in rows:  # ordered by time: the last one seen for a version is its latest
        latest[int(row["version_id"])] = str(row["evaluation_id"])
    loaded: dict[str, GateEvaluation] = {}
    verdicts: dict[int, GateEvaluation] = {}
    for version_id, evaluation_id in latest.items():
        if evaluation_id not in loaded:
            loaded[evaluation_id] = get_evaluation(registry, evaluation_id)
        verdicts[version_id] = loaded[evaluation_id]
    return verdicts


@dataclass(frozen=True)
class VersionRef:
    """A model version named from elsewhere (a run's page): model, number, aliases."""

    model: str
    version: int
    aliases: tuple[str, ...]

    @property
    def ref(self) -> str:
        return f"{self.model}@{self.version}"


def versions_of_run(registry: Registry, run_id: str) -> tuple[VersionRef, ...]:
    """The model versions registered from the run ``run_id``, with their aliases.

    Example::

        [v.ref for v in versions_of_run(registry, run.id)]      # ['churn@3']
    """
    rows = registry.query(
        "SELECT models.name AS model, model_versions.version AS version,"
        " (SELECT group_concat(alias, ',') FROM (SELECT alias FROM model_aliases"
        "   WHERE model_aliases.version_id = model_versions.id ORDER BY alias)) AS aliases"
        " FROM model_versions JOIN models ON models.id = model_versions.model_id"
        " WHERE model_versions.run_id = ? ORDER BY models.name, model_versions.version",
        (run_id,),
    )
    return tuple(
        VersionRef(
            row["model"],
            int(row["version"]),
            tuple(row["aliases"].split(",")) if row["aliases"] else (),
        )
        for row in rows
    )


def _check_window(limit: object, offset: object) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInputError(
            f"limit must be a whole number from 1 to {MAX_LIMIT}, got {limit!r}",
            hint="Ask for fewer items at a time and page with offset.",
        )
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidInputError(f"offset must be zero or more, got {offset!r}")
