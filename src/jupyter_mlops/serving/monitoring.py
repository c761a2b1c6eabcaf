"""``jupyter mlops monitor NAME``: a served model's traffic, window by window, judged and
stored, and the retraining pipeline started when a window decides retrain.

1. The prediction log is read as one row per scored row (:func:`live_rows`): when it was
   served, the version that answered, the latency, the prediction, the label if it came
   back, the shadow's prediction for the same row, and the inputs of sampled requests.
2. The rows are cut into windows (:mod:`.windows`); each window's inputs are compared with
   the training snapshot of the version that answered most of its requests (the snapshot
   the version was registered with), its predictions with the previous tested window's, and
   its labelled rows give live metrics per version and the paired comparison with the
   shadow.
3. Each window is stored (``monitor_windows``) with its drift reports (``drift_reports``,
   origin ``monitor``), so the notebook, the terminal and the panel draw the same history.
   A window that ended and gained no request or label since it was stored is not computed
   again.
4. With ``on_retrain``, the newest ended window that decided retrain (and has not started a
   retraining before) runs that pipeline (:func:`..runner.pipeline.run_pipeline`); its gates
   decide whether the alias moves, and a server following the alias picks the new version up.

    report = monitor_model(registry, "churn", window="1h", on_retrain="churn-pipeline")
    report.summary()
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..drift.checks import reference_side
from ..errors import InvalidInputError, MlopsError
from ..models.versions import aliases_of, model_id, resolve_version
from ..registry.connection import Registry
from .comparison import VersionComparison
from .prediction_log import read_predictions
from .windows import MIN_ROWS, MonitorWindow, monitor_windows, parse_window

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)

CLASSIFIER_HINTS = ("Classifier", "Logistic", "SVC", "NB", "NearestCentroid")
REGRESSOR_HINTS = ("Regressor", "Regression", "SVR", "Lasso", "Ridge", "ElasticNet")


@dataclass(frozen=True)
class StoredWindow:
    """A window as the registry keeps it (what views draw)."""

    model: str
    window_seconds: float
    start: float
    end: float
    version: str | None
    n_predictions: int
    n_labelled: int
    decision: str | None
    retrain_columns: tuple[str, ...]
    review_columns: tuple[str, ...]
    input_report_id: str | None
    prediction_report_id: str | None
    latency_p50_ms: float | None
    latency_p99_ms: float | None
    metrics: dict[str, dict[str, float]]
    comparison: dict[str, Any] | None
    note: str
    computed_at: float
    fairness: tuple[dict[str, Any], ...] = ()

    @property
    def fairness_failed(self) -> tuple[str, ...]:
        """The fairness rules the window broke."""
        return tuple(str(check["rule"]) for check in self.fairness if check["passed"] is False)

    def to_dict(self) -> dict[str, Any]:
        return {name: _plain(getattr(self, name)) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class RetrainOutcome:
    """What a retrain decision started: the pipeline, its run and whether the alias moved."""

    window_start: float
    pipeline_dir: str
    pipeline_run_id: str | None
    status: str
    alias: str | None
    alias_before: str | None
    alias_after: str | None
    message: str

    @property
    def alias_moved(self) -> bool:
        return self.alias_before != self.alias_after


@dataclass(frozen=True)
class MonitorReport:
    """The monitor's view of a model: its windows, oldest first, and what retraining did."""

    model: str
    window_seconds: float
    windows: tuple[StoredWindow, ...]
    computed: int  # windows computed now (the others were stored and unchanged)
    retrain: RetrainOutcome | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def decision(self) -> str | None:
        """The newest tested window's decision."""
        tested = [w for w in self.windows if w.decision is not None]
        return tested[-1].decision if tested else None

    def summary(self) -> str:
        lines = [
            f"monitor of {self.model}: {len(self.windows)} window(s) of"
            f" {length_text(self.window_seconds)}, {self.computed} computed now;"
            f" the newest tested decides {self.decision or 'nothing yet'}"
        ]
        lines += [f"  {window_line(w)}" for w in self.windows[-12:]]
        lines += [f"  {note}" for note in self.notes]
        if self.retrain is not None:
            lines.append(f"  retrain: {self.retrain.message}")
        return "\n".join(lines)


def live_rows(registry: Registry, model: str, *, since: float | None = None) -> pd.DataFrame:
    """The prediction log of ``model`` as one row per scored row (see the module doc):
    ``time``, ``request_id``, ``version``, ``latency_ms``, ``prediction``, ``label``,
    ``challenger_prediction``, ``challenger_version``, ``sampled``, ``labelled_at`` (when
    the label was given) and the input columns."""
    import pandas as pd

    model_id(registry, model)  # NotFoundError naming the model and its neighbours
    served = read_predictions(registry, model, role="served")
    shadow = read_predictions(registry, model, role="shadow")
    if since is not None:
        cutoff = pd.Timestamp(since, unit="s", tz="UTC")
        served = served[served["served_at"] >= cutoff]
        shadow = shadow[shadow["served_at"] >= cutoff]
    labels = _labels(registry, list(served["request_id"]))
    shadow_by_request = {
        request: (outputs, version)
        for request, outputs, version in zip(
            shadow["request_id"], shadow["outputs"], shadow["version"], strict=True
        )
    }
    columns: dict[str, list[Any]] = {
        name: []
        for name in (
            "time", "request_id", "version", "latency_ms", "prediction", "label",
            "challenger_prediction", "challenger_version", "sampled", "labelled_at",
        )
    }  # fmt: skip
    inputs: dict[str, list[Any]] = {}
    for row in served.itertuples(index=False):
        n = int(row.n_rows)
        outputs = list(row.outputs)
        given, labelled_at = labels.get(row.request_id, ([None] * n, math.nan))
        other, other_version = shadow_by_request.get(row.request_id, (None, None))
        when = row.served_at.timestamp()
        sampled = row.inputs is not None
        for index in range(n):
            columns["time"].append(when)
            columns["request_id"].append(row.request_id)
            columns["version"].append(str(row.version))
            columns["latency_ms"].append(float(row.latency_ms))
            columns["prediction"].append(outputs[index] if index < len(outputs) else None)
            columns["label"].append(given[index] if index < len(given) else None)
            columns["challenger_prediction"].append(
                other[index] if other is not None and index < len(other) else None
            )
            columns["challenger_version"].append(
                None if other_version is None else str(other_version)
            )
            columns["sampled"].append(sampled)
            columns["labelled_at"].append(labelled_at)
        for name in row.inputs or {}:
            inputs.setdefault(name, [None] * (len(columns["time"]) - n))
        for name, values in inputs.items():
            given_values = (row.inputs or {}).get(name)
            values.extend(given_values[:n] if given_values is not None else [None] * n)
    frame = pd.DataFrame(columns)
    for name, values in inputs.items():
        if name not in frame.columns:
            frame[name] = pd.Series(values, index=frame.index, dtype=object).infer_objects()
    return frame


def monitor_model(
    registry: Registry,
    model: str,
    *,
    window: str | float = "1h",
    since: float | None = None,
    kind: str | None = None,
    min_rows: int = MIN_ROWS,
    alpha: float = 0.05,
    on_retrain: str | Path | None = None,
    retrain_alias: str = "champion",
    fairness: tuple[str, ...] | list[str] = (),
    progress: Callable[[str], None] | None = None,
    now: float | None = None,
) -> MonitorReport:
    """Judge and store ``model``'s windows (see the module doc); retrain with
    ``on_retrain`` (a pipeline directory) when the newest ended window decides it."""
    say = progress or (lambda line: None)
    length = parse_window(window)
    current_time = time.time() if now is None else now
    rows = live_rows(registry, model, since=since)
    stored = {w.start: w for w in stored_windows(registry, model, window=length)}
    if rows.empty:
        return MonitorReport(model, length, tuple(stored.values()), 0,
                             notes=(f"no prediction of {model} is logged yet",))  # fmt: skip
    input_columns = [c for c in rows.columns if c not in _LOG_COLUMNS]
    model_kind = kind or _kind(registry, model, rows)
    references: dict[str, Any] = {}
    notes: list[str] = []

    def reference_for(version: str) -> Any:
        if version not in references:
            try:
                side = reference_side(registry, f"{model}@{version}")
                references[version] = side.data
            except MlopsError as exc:
                references[version] = None
                notes.append(f"{model}@{version}: {exc.message} (its windows are not tested)")
        return references[version]

    import numpy as np

    starts = np.floor(rows["time"].to_numpy(dtype=float) / length) * length
    computed = 0
    previous_outputs = None
    for start in sorted(set(starts.tolist())):
        window_rows = rows[starts == start]
        labelled = int(window_rows["label"].notna().sum())
        kept = stored.get(start)
        newest_label = float(window_rows["labelled_at"].max())
        if (
            kept is not None
            and kept.end <= kept.computed_at  # it had ended when it was computed
            and (kept.n_predictions, kept.n_labelled) == (len(window_rows), labelled)
            and not newest_label > kept.computed_at  # no label given since (NaN: none)
        ):
            if kept.decision is not None:
                previous_outputs = window_rows[["prediction"]].reset_index(drop=True)
            continue
        version = Counter(window_rows["version"]).most_common(1)[0][0]
        reference = reference_for(version)
        say(
            f"window {time_text(start, length)}: {len(window_rows)} prediction(s), version {version}"
        )
        if reference is None:
            judged = _untested(window_rows, start, length, model_kind, "no training snapshot")
        else:
            (judged,) = monitor_windows(
                window_rows,
                reference,
                input_columns=input_columns,
                window=length,
                kind=model_kind,
                reference_predictions=(
                    None if previous_outputs is None else previous_outputs["prediction"]
                ),
                min_rows=min_rows,
                alpha=alpha,
                fairness=tuple(fairness),
            )
        stored[start] = _store_window(registry, model, length, version, judged, time.time())
        computed += 1
        if judged.decision is not None:
            previous_outputs = window_rows[["prediction"]].reset_index(drop=True)
    windows = tuple(stored[s] for s in sorted(stored))
    retrain = None
    if on_retrain is not None:
        retrain = _retrain_if_decided(
            registry, model, length, windows, Path(on_retrain), retrain_alias, current_time, say
        )
    return MonitorReport(model, length, windows, computed, retrain, tuple(notes))


def stored_windows(
    registry: Registry, model: str, *, window: str | float | None = None
) -> tuple[StoredWindow, ...]:
    """The stored windows of ``model`` (of one length, or every length), oldest first."""
    sql = (
        "SELECT model, window_seconds, start, end, version, n_predictions, n_labelled,"
        " decision, retrain_columns, review_columns, input_report_id, prediction_report_id,"
        " latency_p50_ms, latency_p99_ms, metrics, comparison, note, computed_at, fairness"
        " FROM monitor_windows WHERE model = ?"
    )
    params: list[Any] = [model]
    if window is not None:
        sql += " AND window_seconds = ?"
        params.append(parse_window(window))
    rows = registry.query_tuples(sql + " ORDER BY window_seconds, start", params)
    return tuple(
        StoredWindow(
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            row[5],
            row[6],
            row[7],
            tuple(json.loads(row[8])),
            tuple(json.loads(row[9])),
            row[10],
            row[11],
            row[12],
            row[13],
            json.loads(row[14]),
            None if row[15] is None else json.loads(row[15]),
            row[16],
            row[17],
            tuple(json.loads(row[18])),
        )
        for row in rows
    )


def window_line(window: StoredWindow) -> str:
    """One line for a stored window, as the terminal and the notebook print it."""
    head = f"{time_text(window.start, window.window_seconds)}  {window.n_predictions:>6} req  v{window.version or '-'}"
    if window.decision is None:
        return f"{head}  {window.note}"
    parts = [f"{head}  {window.decision}"]
    if window.retrain_columns:
        parts.append(f"retrain for {', '.join(window.retrain_columns)}")
    if window.review_columns:
        parts.append(f"review {', '.join(window.review_columns)}")
    if window.fairness_failed:
        parts.append(f"unfair: {'; '.join(window.fairness_failed)}")
    if window.latency_p50_ms is not None and window.latency_p99_ms is not None:
        parts.append(f"p50 {window.latency_p50_ms:.1f} ms, p99 {window.latency_p99_ms:.1f} ms")
    for version, values in sorted(window.metrics.items()):
        shown = ", ".join(f"{k} {v:.3f}" for k, v in values.items())
        parts.append(f"v{version}: {shown}")
    if window.comparison is not None:
        parts.append(str(window.comparison.get("verdict")))
    return "; ".join(parts)


_LOG_COLUMNS = frozenset(
    {
        "time", "request_id", "version", "latency_ms", "prediction", "label",
        "challenger_prediction", "challenger_version", "sampled", "labelled_at",
    }
)  # fmt: skip


def _labels(registry: Registry, request_ids: list[str]) -> dict[str, tuple[list[Any], float]]:
    found: dict[str, tuple[list[Any], float]] = {}
    for offset in range(0, len(request_ids), 500):
        chunk = request_ids[offset : offset + 500]
        marks = ", ".join("?" for _ in chunk)
        for request_id, labels, recorded_at in registry.query_tuples(
            "SELECT request_id, labels, recorded_at FROM prediction_labels"
            f" WHERE request_id IN ({marks})",
            chunk,
        ):
            found[request_id] = (json.loads(labels), float(recorded_at))
    return found


def _kind(registry: Registry, model: str, rows: pd.DataFrame) -> str:
    """classifier or regressor: from the newest version's class name, else from the
    predictions (whole numbers, strings or booleans make a classifier)."""
    try:
        model_class = resolve_version(registry, model).model_class
    except MlopsError:
        model_class = ""
    name = model_class.rsplit(".", 1)[-1]
    if any(hint in name for hint in CLASSIFIER_HINTS):
        return "classifier"
    if any(hint in name for hint in REGRESSOR_HINTS):
        return "regressor"
    values = [v for v in rows["prediction"].tolist() if v is not None]
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if len(numbers) == len(values) and any(float(v) != int(v) for v in numbers if math.isfinite(v)):
        return "regressor"
    return "classifier"


def _untested(
    rows: pd.DataFrame, start: float, length: float, kind: str, reason: str
) -> MonitorWindow:
    (window,) = monitor_windows(
        rows, _nothing(), input_columns=[], window=length, kind=kind, min_rows=len(rows) + 1
    )
    return replace(window, note=f"not tested for drift: {reason}")


def _nothing() -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame()


def _store_window(
    registry: Registry,
    model: str,
    length: float,
    version: str,
    window: MonitorWindow,
    computed_at: float,
) -> StoredWindow:
    from ..drift.store import record_drift_report

    old = registry.query_one(
        "SELECT input_report_id, prediction_report_id FROM monitor_windows"
        " WHERE model = ? AND window_seconds = ? AND start = ?",
        (model, length, window.start),
    )
    label = f"{model} {time_text(window.start, length)}"
    input_id = prediction_id = None
    if window.input_drift is not None:
        input_id = record_drift_report(
            registry, window.input_drift, reference_name=f"{model}@{version} training",
            current_name=f"live inputs {label}", model=f"{model}@{version}",
            name=f"monitor {label}", origin="monitor",
        )  # fmt: skip
    if window.prediction_drift is not None:
        prediction_id = record_drift_report(
            registry, window.prediction_drift, reference_name="the previous window's predictions",
            current_name=f"predictions {label}", model=f"{model}@{version}",
            name=f"monitor {label} predictions", origin="monitor",
        )  # fmt: skip
    stored = StoredWindow(
        model,
        length,
        window.start,
        window.end,
        version,
        window.n_predictions,
        window.n_labelled,
        window.decision,
        window.retrain_columns,
        window.review_columns,
        input_id,
        prediction_id,
        window.latency_p50_ms,
        window.latency_p99_ms,
        window.metrics,
        _comparison(window.comparison),
        window.note,
        computed_at,
        tuple(check.to_dict() for check in window.fairness),
    )
    with registry.transaction("the monitor's window") as connection:
        connection.execute(
            "INSERT OR REPLACE INTO monitor_windows (model, window_seconds, start, end, version,"
            " n_predictions, n_labelled, decision, retrain_columns, review_columns,"
            " input_report_id, prediction_report_id, latency_p50_ms, latency_p99_ms, metrics,"
            " comparison, note, computed_at, fairness)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                model, length, stored.start, stored.end, version, stored.n_predictions,
                stored.n_labelled, stored.decision, json.dumps(list(stored.retrain_columns)),
                json.dumps(list(stored.review_columns)), input_id, prediction_id,
                stored.latency_p50_ms, stored.latency_p99_ms, json.dumps(stored.metrics),
                None if stored.comparison is None else json.dumps(stored.comparison),
                stored.note, computed_at, json.dumps(list(stored.fairness)),
            ),
        )  # fmt: skip
        for report_id in old or ():
            if report_id is not None:  # the window's earlier reports, replaced
                connection.execute("DELETE FROM drift_reports WHERE id = ?", (report_id,))
    return stored


def _retrain_if_decided(
    registry: Registry,
    model: str,
    length: float,
    windows: tuple[StoredWindow, ...],
    pipeline_dir: Path,
    alias: str,
    now: float,
    say: Callable[[str], None],
) -> RetrainOutcome | None:
    from ..runner.pipeline import run_pipeline

    if not (pipeline_dir / "pipeline.json").is_file():
        raise InvalidInputError(
            f"--on-retrain {pipeline_dir} is not a pipeline directory (it has no pipeline.json)",
            hint="Give the folder jupyter mlops export wrote for the training notebook.",
        )
    ended = [w for w in windows if w.end <= now and w.decision is not None]
    if not ended or ended[-1].decision != "retrain":
        return None
    deciding = ended[-1]
    done = registry.query_one(
        "SELECT pipeline_run_id, status FROM monitor_retrains"
        " WHERE model = ? AND window_seconds = ? AND window_start = ?",
        (model, length, deciding.start),
    )
    if done is not None:
        return None  # this window started its retraining already
    before = aliases_of(registry, model).get(alias)
    say(
        f"the window of {time_text(deciding.start, length)} decided retrain"
        f" ({', '.join(deciding.retrain_columns)}): running {pipeline_dir}"
    )
    started = time.time()
    try:
        result = run_pipeline(
            pipeline_dir, registry=registry, workdir=pipeline_dir.parent, check=False,
            on_progress=lambda step: say(f"  {step.name} {step.status}"),
        )  # fmt: skip
        run_id, status = result.run_id, result.status
    except MlopsError as exc:
        run_id, status = None, "failed"
        say(f"  the pipeline could not run: {exc.message}")
    after = aliases_of(registry, model).get(alias)
    with registry.transaction("the monitor's retraining") as connection:
        connection.execute(
            "INSERT INTO monitor_retrains (model, window_seconds, window_start, pipeline_dir,"
            " pipeline_run_id, status, alias_before, alias_after, started_at, ended_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (model, length, deciding.start, str(pipeline_dir), run_id, status,
             None if before is None else str(before), None if after is None else str(after),
             started, time.time()),
        )  # fmt: skip
    moved = before != after
    message = f"pipeline {pipeline_dir.name} ran ({status}); {model}@{alias} " + (
        f"moved from version {before} to {after}" if moved else f"stays on version {before}"
    )
    return RetrainOutcome(
        deciding.start,
        str(pipeline_dir),
        run_id,
        status,
        alias,
        None if before is None else str(before),
        None if after is None else str(after),
        message,
    )


def _comparison(comparison: VersionComparison | None) -> dict[str, Any] | None:
    return None if comparison is None else _plain(comparison.to_dict())


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def time_text(start: float, length: float = 3600.0) -> str:
    """A window's start as people read it, in UTC: ``2026-12-04 13:00``, with the seconds
    for windows shorter than a minute."""
    shape = "%Y-%m-%d %H:%M:%S" if length < 60 or start % 60 else "%Y-%m-%d %H:%M"
    return time.strftime(shape, time.gmtime(start))


def length_text(seconds: float) -> str:
    """A window's length as it is written: ``1h``, ``30m``, ``1d``."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
