"""Runs: start one, log to it, end it with a status.

    import jupyter_mlops as mlops

    with mlops.start_run("baseline", experiment="churn") as run:
        run.log_params(lr=0.1, depth=6)
        for epoch in range(10):
            mlops.log(loss=train_one_epoch(), step=epoch)
        mlops.log(accuracy=model.score(X_test, y_test))

Logging a metric appends to an in-memory buffer (microseconds); the buffer is written
in one transaction when the notebook cell ends, when the run ends, and, in long
scripts, every 30 seconds or 50,000 points. If a write fails the buffered values
are kept and written at the next flush, so nothing already logged is lost.

A run ends ``finished``, ``failed`` (an exception left the ``with`` block or the
cell), or ``killed`` (KeyboardInterrupt). A run whose process died is marked
``crashed`` the next time any process opens the registry (see
:meth:`Registry.mark_crashed_runs`); a heartbeat every minute keeps a live run on
another host (a container) from being taken for dead.
"""

from __future__ import annotations

import json
import logging
import math
import numbers
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .capture import GitProbe, current_environment, environment_ready, warm_environment
from .errors import InvalidInputError, MlopsError, NoActiveRunError
from .registry import Registry, hostname, locate, process_token

logger = logging.getLogger(__name__)

STATUSES = ("running", "finished", "failed", "killed", "crashed")
ROLES = ("train", "test", "reference", "input")
DEFAULT_EXPERIMENT = "default"
FLUSH_EVERY_POINTS = 50_000
FLUSH_EVERY_SECONDS = 30.0
HEARTBEAT_SECONDS = 60.0
_MAX_KEY_LENGTH = 250


def new_id() -> str:
    """A fresh 12-hex-digit run id (48 random bits)."""
    return os.urandom(6).hex()


# -- values ---------------------------------------------------------------------------------


def metric_value(key: str, value: object) -> float:
    """``value`` as a float, or :class:`InvalidInputError` naming the metric.

    Numbers of any kind (int, float, bool, numpy scalars, 0-d arrays, tensors with one
    element) are accepted; NaN and infinities are kept as they are.
    """
    kind = type(value)
    if kind is float:
        return value  # type: ignore[return-value]
    if kind is int:
        return float(value)  # type: ignore[arg-type]
    if isinstance(value, (str, bytes)) or value is None:
        raise InvalidInputError(
            f'Metric "{key}" must be a number, got {kind.__name__} {value!r:.60}',
            hint="Log numbers only; record text with tags (%mlops tag) or params.",
        )
    if isinstance(value, numbers.Real):
        return float(value)
    to_float = getattr(value, "__float__", None)
    if to_float is not None:
        try:
            return float(to_float())
        except (TypeError, ValueError):
            pass
    raise InvalidInputError(
        f'Metric "{key}" must be a number, got {kind.__name__}',
        hint="Log a single number per key, e.g. mlops.log(accuracy=float(acc)).",
    )


def check_key(kind: str, key: object) -> str:
    if not isinstance(key, str) or not key.strip():
        raise InvalidInputError(
            f"A {kind} name must be a non-empty string, got {key!r}",
            hint=f"Name the {kind}, e.g. accuracy=0.9.",
        )
    if len(key) > _MAX_KEY_LENGTH:
        raise InvalidInputError(f"The {kind} name {key[:40]!r}... is longer than {_MAX_KEY_LENGTH}")
    return key


def encode_param(value: Any) -> tuple[Any, str]:
    """(value as stored in SQLite, its type name); see :func:`decode_param`."""
    if (
        hasattr(value, "item")
        and type(value).__module__ == "numpy"
        and getattr(value, "ndim", 1) == 0
    ):
        value = value.item()
    if value is None:
        return None, "none"
    if isinstance(value, bool):
        return int(value), "bool"
    if isinstance(value, int):
        return (value, "int") if -(2**63) <= value < 2**63 else (str(value), "int")
    if isinstance(value, float):
        return (value, "float") if not math.isnan(value) else ("nan", "float")
    if isinstance(value, str):
        return value, "str"
    if isinstance(value, (list, tuple)):
        try:
            return json.dumps(list(value)), "list"
        except (TypeError, ValueError):
            pass
    if isinstance(value, dict):
        try:
            return json.dumps(value), "dict"
        except (TypeError, ValueError):
            pass
    return repr(value)[:2000], "other"


def decode_param(stored: Any, type_name: str) -> Any:
    """The Python value of a stored parameter."""
    if type_name == "bool":
        return bool(stored)
    if type_name == "int" and isinstance(stored, str):
        return int(stored)
    if type_name == "float" and isinstance(stored, str):
        return float(stored)
    if type_name in ("list", "dict"):
        return json.loads(stored)
    return stored


# -- the run ---------------------------------------------------------------------------------


@dataclass
class _Summary:
    last: float
    last_step: int
    min: float | None
    min_step: int | None
    max: float | None
    max_step: int | None
    count: int

    def add(self, step: int, value: float) -> None:
        self.count += 1
        if step >= self.last_step:
            self.last, self.last_step = value, step
        if value == value:  # not NaN
            if self.min is None or value < self.min:
                self.min, self.min_step = value, step
            if self.max is None or value > self.max:
                self.max, self.max_step = value, step


def _nan_to_none(value: float | None) -> float | None:
    return None if value is None or value != value else value


class Run:
    """A run that is being recorded. Make one with :func:`start_run`."""

    def __init__(
        self,
        registry: Registry,
        *,
        run_id: str,
        name: str,
        experiment: str,
        kind: str,
        git: GitProbe | None,
    ) -> None:
        self.registry = registry
        self.id = run_id
        self.name = name
        self.experiment = experiment
        self.kind = kind
        self.status = "running"
        self._git = git
        self._points: list[tuple[str, int, float, float]] = []
        self._next_step: dict[str, int] = {}
        self._summaries: dict[str, _Summary] = {}
        self._dirty_summaries: set[str] = set()
        self._params: dict[str, tuple[Any, str, str]] = {}
        self._tags: dict[str, str] = {}
        self._cells: list[tuple[int, int | None, str | None, str, float]] = []
        self._cell_seq = 0
        self._cells_seen: set[tuple[int | None, str | None, str]] = set()
        self._last_flush = time.monotonic()
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"<Run {self.id} {self.name!r} ({self.status})>"

    # -- recording -----------------------------------------------------------------

    def log(
        self,
        metrics: Mapping[str, object] | None = None,
        /,
        *,
        step: int | None = None,
        **named: object,
    ) -> None:
        """Buffer metric values: ``run.log(acc=0.9)``, ``run.log({"val-loss": 0.3}, step=2)``.

        Without ``step``, each key counts its own steps from 0.
        """
        items = named if metrics is None else {**metrics, **named}
        if (
            step is not None
            and type(step) is not int
            and (isinstance(step, bool) or not isinstance(step, numbers.Integral))
        ):
            raise InvalidInputError(f"step must be an integer, got {step!r}")
        now = time.time()
        with self._lock:
            if self.status != "running":
                self._check_open()
            points = self._points
            next_step = self._next_step
            for key, raw in items.items():
                summary = self._summaries.get(key)
                if summary is None:
                    check_key("metric", key)
                value = raw if type(raw) is float else metric_value(key, raw)
                if step is None:
                    at = next_step.get(key, 0)
                    next_step[key] = at + 1
                else:
                    at = int(step)
                    if at >= next_step.get(key, 0):
                        next_step[key] = at + 1
                points.append((key, at, value, now))
                if summary is None:
                    finite = value if value == value else None
                    first = at if finite is not None else None
                    self._summaries[key] = _Summary(value, at, finite, first, finite, first, 1)
                else:
                    summary.add(at, value)
                self._dirty_summaries.add(key)
            if len(points) >= FLUSH_EVERY_POINTS or (
                not len(points) & 1023 and time.monotonic() - self._last_flush > FLUSH_EVERY_SECONDS
            ):
                self.flush()

    def log_params(self, params: Mapping[str, object] | None = None, /, **named: object) -> None:
        """Record parameters; a key set twice keeps the last value."""
        self.record_params(named if params is None else {**params, **named}, source="explicit")

    def record_params(self, items: Mapping[str, object], *, source: str) -> None:
        """Record parameters with where they came from: explicit, literal, estimator, pipeline."""
        with self._lock:
            self._check_open()
            for key, value in items.items():
                check_key("parameter", key)
                stored, type_name = encode_param(value)
                self._params[key] = (stored, type_name, source)

    def set_tags(self, tags: Mapping[str, object] | None = None, /, **named: object) -> None:
        """Attach free-form text labels: ``run.set_tags(team="churn")``."""
        items = named if tags is None else {**tags, **named}
        with self._lock:
            for key, value in items.items():
                check_key("tag", key)
                self._tags[key] = str(value)

    def record_cell(
        self, source: str, *, execution_count: int | None = None, cell_id: str | None = None
    ) -> None:
        """Keep the source of a cell that ran as part of this run (once per execution)."""
        with self._lock:
            seen = (execution_count, cell_id, source)
            if seen in self._cells_seen:
                return
            self._cells_seen.add(seen)
            self._cells.append((self._cell_seq, execution_count, cell_id, source, time.time()))
            self._cell_seq += 1

    def snapshot(
        self,
        data: object,
        *,
        name: str | None = None,
        role: str = "input",
        variable: str | None = None,
        materialize: bool = False,
        index: str = "auto",
    ) -> SnapshotRecord:
        """Fingerprint and profile ``data`` and link it to this run with ``role``."""
        with self._lock:
            self._check_open()
            return record_snapshot(
                self.registry,
                data,
                name=name,
                role=role,
                run_id=self.id,
                variable=variable,
                materialize=materialize,
                index=index,
            )

    # -- writing ---------------------------------------------------------------------

    @property
    def pending_points(self) -> int:
        return len(self._points)

    def flush(self) -> None:
        """Write everything buffered in one transaction; on failure keep it for the next try."""
        with self._lock:
            points, self._points = self._points, []
            dirty, self._dirty_summaries = self._dirty_summaries, set()
            params, self._params = self._params, {}
            tags, self._tags = self._tags, {}
            cells, self._cells = self._cells, []
            self._last_flush = time.monotonic()
            if not (points or params or tags or cells or dirty):
                return
            summaries = [(key, self._summaries[key]) for key in dirty]
            try:
                with self.registry.transaction(self._describe(points, params, cells)) as conn:
                    self._write(conn, points, summaries, params, tags, cells)
            except BaseException:
                self._points = points + self._points
                self._dirty_summaries |= dirty
                self._params = {**params, **self._params}
                self._tags = {**tags, **self._tags}
                self._cells = cells + self._cells
                raise

    def _write(
        self,
        conn: sqlite3.Connection,
        points: list[tuple[str, int, float, float]],
        summaries: list[tuple[str, _Summary]],
        params: dict[str, tuple[Any, str, str]],
        tags: dict[str, str],
        cells: list[tuple[int, int | None, str | None, str, float]],
    ) -> None:
        run_id = self.id
        if points:
            conn.executemany(
                "INSERT INTO metrics (run_id, key, step, value, timestamp) VALUES (?, ?, ?, ?, ?)",
                [(run_id, k, s, v if v == v else None, t) for k, s, v, t in points],
            )
        if summaries:
            conn.executemany(
                "INSERT OR REPLACE INTO metric_summaries"
                " (run_id, key, last, last_step, min, min_step, max, max_step, count)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        run_id,
                        key,
                        _nan_to_none(s.last),
                        s.last_step,
                        s.min,
                        s.min_step,
                        s.max,
                        s.max_step,
                        s.count,
                    )
                    for key, s in summaries
                ],
            )
        if params:
            conn.executemany(
                "INSERT OR REPLACE INTO params (run_id, key, value, type, source) VALUES (?, ?, ?, ?, ?)",
                [
                    (run_id, key, value, type_name, source)
                    for key, (value, type_name, source) in params.items()
                ],
            )
        if tags:
            conn.executemany(
                "INSERT OR REPLACE INTO tags (run_id, key, value) VALUES (?, ?, ?)",
                [(run_id, key, value) for key, value in tags.items()],
            )
        if cells:
            conn.executemany(
                "INSERT OR REPLACE INTO code_cells (run_id, seq, execution_count, cell_id, source,"
                " executed_at) VALUES (?, ?, ?, ?, ?, ?)",
                [(run_id, *cell) for cell in cells],
            )
        conn.execute("UPDATE runs SET heartbeat_at = ? WHERE id = ?", (time.time(), run_id))

    @staticmethod
    def _describe(points: list[Any], params: dict[str, Any], cells: list[Any]) -> str:
        parts = []
        if points:
            parts.append(f"{len(points)} metric point(s)")
        if params:
            parts.append(f"{len(params)} parameter(s)")
        if cells:
            parts.append(f"{len(cells)} code cell(s)")
        return ", ".join(parts) or "the run's state"

    # -- ending ----------------------------------------------------------------------------

    def end(self, status: str = "finished", *, error: str | None = None) -> None:
        """Write what is buffered and close the run with ``status``.

        Ending a run that has already ended does nothing.
        """
        if status not in STATUSES or status == "running":
            raise InvalidInputError(
                f'"{status}" is not a final run status',
                hint="Use finished, failed, killed or crashed.",
            )
        with self._lock:
            if self.status != "running":
                return
            git = self._git.state(wait=2.0) if self._git is not None else None
            dirty = None if git is None or git.dirty is None else int(git.dirty)
            self.flush()
            # the environment as it is at the end: packages imported during the run count
            environment = current_environment()
            with self.registry.transaction(f"the end of run {self.id}") as conn:
                environment_id = _environment_id(self.registry, conn, environment)
                conn.execute(
                    "UPDATE runs SET status = ?, ended_at = ?, error = ?, heartbeat_at = ?,"
                    " git_dirty = COALESCE(?, git_dirty), environment_id = ? WHERE id = ?",
                    (status, time.time(), error, time.time(), dirty, environment_id, self.id),
                )
            self.status = status
            _forget(self)

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        try:
            if exc_type is None:
                self.end("finished")
                return
            status = "killed" if issubclass(exc_type, KeyboardInterrupt) else "failed"
            try:
                self.end(status, error=describe_exception(exc))
            except MlopsError as failure:  # never hide the user's own exception behind ours
                logger.error("Could not record the end of run %s: %s", self.id, failure)
        finally:
            _forget(self)

    def _check_open(self) -> None:
        if self.status != "running":
            raise NoActiveRunError(
                f'Run {self.id} ("{self.name}") has already ended ({self.status})',
                hint="Start a new run with %%mlops run or mlops.start_run().",
            )


def describe_exception(exc: BaseException | None) -> str | None:
    if exc is None:
        return None
    text = str(exc)
    return f"{type(exc).__name__}: {text}"[:2000] if text else type(exc).__name__


# -- starting runs ----------------------------------------------------------------------------

_active: list[Run] = []
_registries: dict[Path, Registry] = {}
_chosen: Registry | None = None


def default_registry(*, create: bool = False) -> Registry:
    """The registry runs record into: the one chosen with :func:`use_registry` (or
    ``mlops.init``), else the one that applies from the working directory, opened once
    per process and kept open.

    With ``create=True`` a missing registry is created in the working directory.
    """
    if _chosen is not None:
        return _chosen
    found = locate()
    if found is None:
        if not create:
            return Registry.open()  # raises RegistryNotFoundError with the hint
        registry = Registry.init()
        _registries[registry.path] = registry
        return registry
    cached = _registries.get(found)
    if cached is None:
        cached = Registry.open(found, create=True)
        _registries[found] = cached
    return cached


def use_registry(registry: Registry | None) -> None:
    """Make ``registry`` the one this process records into; ``None`` goes back to locating."""
    global _chosen
    _chosen = registry
    if registry is not None:
        _registries[registry.path] = registry


def active_run() -> Run | None:
    """The innermost run that is recording, if any."""
    return _active[-1] if _active else None


def require_active_run() -> Run:
    if not _active:
        raise NoActiveRunError(
            "No run is active",
            hint="Start one with %%mlops run NAME (one cell), %mlops start (several cells) "
            "or `with mlops.start_run(NAME):`.",
        )
    return _active[-1]


def log(
    metrics: Mapping[str, object] | None = None, /, *, step: int | None = None, **named: object
) -> None:
    """Log metrics to the active run: ``mlops.log(accuracy=0.93)``, ``mlops.log(loss=l, step=i)``."""
    require_active_run().log(metrics, step=step, **named)


def log_params(params: Mapping[str, object] | None = None, /, **named: object) -> None:
    """Record parameters on the active run: ``mlops.log_params(lr=0.1, depth=6)``."""
    require_active_run().log_params(params, **named)


ContextProvider = Callable[[], Mapping[str, Any]]
_context_provider: ContextProvider | None = None


def set_context_provider(provider: ContextProvider | None) -> None:
    """Let a frontend say where runs come from (notebook path, cell id, cell source).

    The notebook magics install one, so ``mlops.start_run()`` called from a cell knows
    its notebook and records the cell, without the core importing IPython.
    """
    global _context_provider
    _context_provider = provider


def _forget(run: Run) -> None:
    if run in _active:
        _active.remove(run)
    _heartbeat.discard(run)


def start_run(
    name: str | None = None,
    *,
    experiment: str | None = None,
    tags: Mapping[str, object] | None = None,
    kind: str = "script",
    registry: Registry | None = None,
    notebook_path: str | None = None,
    cell_id: str | None = None,
    previous_run_id: str | None = None,
    workdir: Path | None = None,
) -> Run:
    """Start recording a run and make it the active one; use it as a context manager.

    ``kind`` is ``script`` unless a frontend says otherwise: called from a notebook cell
    with the extension loaded, the run learns its notebook, cell and source from the
    frontend. ``name`` defaults to the notebook's or script's name with a short suffix. A run
    started from the same notebook cell (or, without a cell id, with the same name in
    the same experiment) as an earlier run is linked to it as ``previous_run_id``.

        with mlops.start_run("baseline", experiment="churn", tags={"team": "growth"}):
            ...
    """
    registry = registry or default_registry()
    context: Mapping[str, Any] = {}
    if _context_provider is not None and kind == "script" and notebook_path is None:
        context = _context_provider()
        notebook_path, cell_id = context.get("notebook_path"), context.get("cell_id")
        kind = context.get("kind", kind)
    experiment = experiment or os.environ.get("MLOPS_EXPERIMENT") or DEFAULT_EXPERIMENT
    check_key("experiment", experiment)
    run_id = new_id()
    if name is None:
        stem = Path(notebook_path).stem if notebook_path else Path(_script_name()).stem
        name = f"{stem or 'run'}-{run_id[:6]}"
    check_key("run", name)
    git = GitProbe(workdir or Path.cwd())
    warm_environment()  # versions are read in the background and attached when known
    environment = current_environment() if environment_ready() else None
    now = time.time()
    pid = os.getpid()
    with registry.transaction(f'the start of run "{name}"') as conn:
        experiment_id = _experiment_id(registry, conn, experiment)
        environment_id = (
            None if environment is None else _environment_id(registry, conn, environment)
        )
        if previous_run_id is None:
            previous_run_id = _previous_run(conn, experiment_id, name, notebook_path, cell_id)
        conn.execute(
            "INSERT INTO runs (id, experiment_id, name, status, kind, previous_run_id, started_at,"
            " heartbeat_at, host, pid, process_token, notebook_path, cell_id, git_commit,"
            " git_branch, environment_id) VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?,"
            " ?, ?, ?)",
            (
                run_id,
                experiment_id,
                name,
                kind,
                previous_run_id,
                now,
                now,
                hostname(),
                pid,
                process_token(pid),
                notebook_path,
                cell_id,
                git.commit,
                git.branch,
                environment_id,
            ),
        )
    run = Run(registry, run_id=run_id, name=name, experiment=experiment, kind=kind, git=git)
    if tags:
        run.set_tags(tags)
    if context.get("cell_source"):
        run.record_cell(
            context["cell_source"], execution_count=context.get("execution_count"), cell_id=cell_id
        )
    _active.append(run)
    _heartbeat.add(run)
    return run


def end_run(status: str = "finished") -> Run:
    """End the active run (``%mlops end``) and return it."""
    run = require_active_run()
    run.end(status)
    return run


def _script_name() -> str:
    import sys

    main = sys.modules.get("__main__")
    return getattr(main, "__file__", None) or "run"


def _experiment_id(registry: Registry, conn: sqlite3.Connection, name: str) -> int:
    key = ("experiment", name)
    cached = registry.memo.get(key)
    if cached is not None:
        return int(cached)
    conn.execute(
        "INSERT OR IGNORE INTO experiments (name, created_at) VALUES (?, ?)", (name, time.time())
    )
    experiment_id = conn.execute("SELECT id FROM experiments WHERE name = ?", (name,)).fetchone()[0]
    registry.memo[key] = experiment_id
    return int(experiment_id)


def _environment_id(registry: Registry, conn: sqlite3.Connection, environment: Any) -> int:
    digest = environment.hash
    key = ("environment", digest)
    cached = registry.memo.get(key)
    if cached is not None:
        return int(cached)
    conn.execute(
        "INSERT OR IGNORE INTO environments (hash, python, platform, packages) VALUES (?, ?, ?, ?)",
        (digest, environment.python, environment.platform, json.dumps(dict(environment.packages))),
    )
    environment_id = conn.execute(
        "SELECT id FROM environments WHERE hash = ?", (digest,)
    ).fetchone()[0]
    registry.memo[key] = environment_id
    return int(environment_id)


def _previous_run(
    conn: sqlite3.Connection,
    experiment_id: int,
    name: str,
    notebook_path: str | None,
    cell_id: str | None,
) -> str | None:
    if cell_id:
        row = conn.execute(
            "SELECT id FROM runs WHERE cell_id = ? AND notebook_path IS ? "
            "ORDER BY started_at DESC LIMIT 1",
            (cell_id, notebook_path),
        ).fetchone()
    else:
        row = conn.execute(
            "SELECT id FROM runs WHERE name = ? AND experiment_id = ? ORDER BY started_at DESC LIMIT 1",
            (name, experiment_id),
        ).fetchone()
    return row[0] if row else None


# -- snapshots ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SnapshotRecord:
    """A snapshot as stored: its id, and whether this call computed it or found it recorded."""

    id: str
    name: str
    fingerprint: str
    n_rows: int
    n_columns: int
    reused: bool
    artifact_sha256: str | None


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
    profiled again: the existing snapshot is linked (and materialized if asked).
    """
    from . import snapshots

    if role not in ROLES:
        raise InvalidInputError(
            f'"{role}" is not a snapshot role',
            hint=f"Use one of: {', '.join(ROLES)}.",
        )
    name = name or variable
    if name is not None:
        check_key("snapshot", name)
        existing = registry.query_one(
            "SELECT id, n_rows, n_columns, artifact_sha256 FROM snapshots"
            " WHERE name = ? AND fingerprint = ?",
            (name, snapshots.fingerprint(data, index=index)),
        )
        if existing is not None:
            return _link_existing(
                registry, existing, data, name, role, run_id, variable, materialize, index
            )
    taken = snapshots.take_snapshot(data, name=name, index=index)
    existing = registry.query_one(
        "SELECT id, n_rows, n_columns, artifact_sha256 FROM snapshots"
        " WHERE name = ? AND fingerprint = ?",
        (taken.name, taken.fingerprint),
    )
    if existing is not None:  # an unnamed input whose default name was seen with this data
        return _link_existing(
            registry, existing, data, taken.name, role, run_id, variable, materialize, index
        )
    artifact = snapshots.materialize(data, registry.artifacts, index=index) if materialize else None
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
        snapshot_id, taken.name, taken.fingerprint, taken.n_rows, taken.n_columns, False, artifact
    )


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
    from . import snapshots

    snapshot_id = existing["id"]
    artifact = existing["artifact_sha256"]
    stored_now = False
    if materialize and artifact is None:
        artifact = snapshots.materialize(data, registry.artifacts, index=index)
        stored_now = True
    with registry.transaction(f'snapshot "{name}"') as conn:
        if stored_now:
            _record_artifact(conn, registry, artifact, "parquet")
            conn.execute(
                "UPDATE snapshots SET artifact_sha256 = ? WHERE id = ?", (artifact, snapshot_id)
            )
        if run_id is not None:
            _link_snapshot(conn, run_id, snapshot_id, role, variable)
    fingerprint = registry.query_one(
        "SELECT fingerprint FROM snapshots WHERE id = ?", (snapshot_id,)
    )[0]  # type: ignore[index]
    return SnapshotRecord(
        snapshot_id, name, fingerprint, existing["n_rows"], existing["n_columns"], True, artifact
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


# -- heartbeat --------------------------------------------------------------------------------


class _Heartbeat:
    """Every minute, stamp the active runs as alive, from a thread with its own connection."""

    def __init__(self) -> None:
        self._runs: dict[str, Path] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, run: Run) -> None:
        with self._lock:
            self._runs[run.id] = run.registry.path
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._loop, name="mlops-heartbeat", daemon=True
                )
                self._thread.start()

    def discard(self, run: Run) -> None:
        with self._lock:
            self._runs.pop(run.id, None)

    def _loop(self) -> None:
        while not self._wake.wait(HEARTBEAT_SECONDS):
            with self._lock:
                by_path: dict[Path, list[str]] = {}
                for run_id, path in self._runs.items():
                    by_path.setdefault(path, []).append(run_id)
            for path, run_ids in by_path.items():
                try:
                    conn = sqlite3.connect(path, timeout=5.0, isolation_level=None)
                    try:
                        conn.executemany(
                            "UPDATE runs SET heartbeat_at = ? WHERE id = ?",
                            [(time.time(), run_id) for run_id in run_ids],
                        )
                    finally:
                        conn.close()
                except sqlite3.Error as exc:
                    logger.debug("Heartbeat for %s skipped: %s", path, exc)


_heartbeat = _Heartbeat()
