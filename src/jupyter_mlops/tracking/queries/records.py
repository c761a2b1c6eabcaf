"""What reading runs returns: frozen records of runs, their values and comparisons."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..closure import Closure
    from ..reproductions import ReproductionRecord


@dataclass(frozen=True)
class RunRow:
    """One run in a list: its fields, parameters and the last value of each metric."""

    id: str
    name: str
    experiment: str
    status: str
    kind: str
    started_at: float
    ended_at: float | None
    notebook_path: str | None
    previous_run_id: str | None
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float | None] = field(default_factory=dict)
    parent_run_id: str | None = None  # the run this one is a child of (a sweep's trial...)
    children: int = 0  # how many runs have this one as parent

    @property
    def duration(self) -> float | None:
        return None if self.ended_at is None else self.ended_at - self.started_at


@dataclass(frozen=True)
class ExperimentSummary:
    """An experiment as a list shows it: its number of runs and when the last one started."""

    name: str
    runs: int
    last_started_at: float | None


@dataclass(frozen=True)
class RunsPage:
    """A page of runs and what is needed to show it (total, the keys present), with the
    cursors of the pages around it: pass ``next_cursor`` as ``after`` for the next page,
    ``previous_cursor`` as ``before`` for the previous one (None: there is none)."""

    runs: tuple[RunRow, ...]
    total: int
    offset: int
    limit: int | None
    param_keys: tuple[str, ...]
    metric_keys: tuple[str, ...]
    next_cursor: str | None = None
    previous_cursor: str | None = None
    # The order of the runs, as sorts write it: "-metrics.auc", "-started_at"...
    sort: str = "-started_at"


@dataclass(frozen=True)
class MetricSummary:
    key: str
    last: float | None
    last_step: int
    min: float | None
    min_step: int | None
    max: float | None
    max_step: int | None
    count: int


@dataclass(frozen=True)
class ParamRecord:
    key: str
    value: Any
    type: str
    source: str


@dataclass(frozen=True)
class CodeCell:
    seq: int
    execution_count: int | None
    cell_id: str | None
    source: str
    executed_at: float


@dataclass(frozen=True)
class SnapshotLink:
    id: str
    name: str
    role: str
    variable: str | None
    fingerprint: str
    kind: str
    n_rows: int
    n_columns: int
    materialized: bool


@dataclass(frozen=True)
class ArtifactRecord:
    """A file linked to a run: logged (``mlops.log_figure``...), shown by one of its cells,
    or stored by the registry (a model, a pipeline value).

    ``kind`` is file, figure, image, table, text or model; ``sha256`` names its bytes in the
    artifact store; ``execution_count`` and ``cell_id`` the cell that logged it, when known;
    ``preview_sha256`` a small artifact a page shows instead (a table's first rows, JSON).
    Rows recorded before kinds existed have the kind their format implies.
    """

    run_id: str
    name: str
    kind: str
    media_type: str
    size: int
    sha256: str
    created_at: float | None = None
    execution_count: int | None = None
    cell_id: str | None = None
    preview_sha256: str | None = None


@dataclass(frozen=True)
class RunDetail:
    """Everything recorded about one run.

    ``series`` maps each metric logged more than once to its (step, value) points in
    step order (``None`` for NaN). A curve of up to 2,048 points is there whole; a longer
    one is its preview, the lowest and highest point of each of at most 1,024 step ranges
    and the last point (so a spike shows), and its key is in ``downsampled``: its full
    length is the ``count`` of its entry in ``metrics``. Before previews existed ``series``
    held every point; ``get_run(run, full_series=True)`` (``run_detail(...,
    full_series=True)``) still does, and ``mlops.metrics(run, key)`` gives every point
    as a DataFrame.
    """

    run: RunRow
    error: str | None
    git_commit: str | None
    git_branch: str | None
    git_dirty: bool | None
    params: tuple[ParamRecord, ...]
    metrics: tuple[MetricSummary, ...]
    series: dict[str, tuple[tuple[int, float | None], ...]]
    code: tuple[CodeCell, ...]
    environment: dict[str, Any] | None
    snapshots: tuple[SnapshotLink, ...]
    tags: dict[str, str]
    note: str | None = None  # free text written with run.note() or %mlops note
    downsampled: frozenset[str] = frozenset()  # keys of the curves given as previews
    artifacts: tuple[ArtifactRecord, ...] = ()  # files, figures, tables... by name
    archived_at: float | None = None  # when the run was archived; None: it is not
    # the earlier cells the run depended on (None: not recorded), and its reproductions
    # (and the one it is, if it is one), oldest first
    closure: Closure | None = None
    reproductions: tuple[ReproductionRecord, ...] = ()

    def points_logged(self, key: str) -> int:
        """How many points the metric ``key`` logged (its curve may show fewer); 0 if none."""
        return next((m.count for m in self.metrics if m.key == key), 0)


@dataclass(frozen=True)
class Comparison:
    """Runs side by side: which parameters differ, each metric's values, curves to overlay."""

    runs: tuple[RunDetail, ...]
    params: tuple[tuple[str, tuple[Any, ...], bool], ...]  # (key, values per run, differs)
    metrics: tuple[tuple[str, tuple[float | None, ...]], ...]  # (key, last value per run)

    @property
    def differing_params(self) -> tuple[str, ...]:
        return tuple(key for key, _, differs in self.params if differs)
