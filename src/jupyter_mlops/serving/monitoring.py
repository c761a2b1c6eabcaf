"""``jupyter mlops monitor NAME``: a served model's traffic, window by window, judged and
stored, and the retraining pipeline started when a window decides retrain.

1. The prediction log is read as one row per scored row (:mod:`.live_rows`): when it was
   served, the version that answered, the latency, the prediction, the label if it came
   back, the shadow's prediction for the same row, and the inputs of sampled requests.
2. The rows are cut into windows (:mod:`.windows`); each window's inputs are compared with
   the training snapshot of the version that answered most of its requests (the snapshot
   the version was registered with), its predictions with the previous tested window's, and
   its labelled rows give live metrics per version and the paired comparison with the
   shadow.
3. Each window is stored (:mod:`.window_store`, ``monitor_windows``) with its drift reports (``drift_reports``,
   origin ``monitor``), so the notebook, the terminal and the panel draw the same history.
   A window that ended and gained no request or label since it was stored is not computed
   again; which windows changed is counted in SQL (:mod:`.window_counts`), and the log is
   read from the first of them only.
4. With ``on_retrain`` (:mod:`.retraining`), the newest ended window that decided retrain (and has not started a
   retraining before) runs that pipeline (:func:`..runner.pipeline.run_pipeline`); its gates
   decide whether the alias moves, and a server following the alias picks the new version up.

    report = monitor_model(registry, "churn", window="1h", on_retrain="churn-pipeline")
    report.summary()

(:func:`live_rows`, :func:`stored_windows` and :func:`window_line` are imported here too.)
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..drift.checks import reference_side
from ..errors import MlopsError
from ..models.versions import resolve_version
from ..registry.connection import Registry
from .live_rows import LOG_COLUMNS, live_rows
from .retraining import RetrainOutcome, retrain_if_decided
from .window_counts import WindowCounts, still_holds, window_counts
from .window_store import (
    StoredWindow,
    length_text,
    store_window,
    stored_windows,
    time_text,
    window_line,
)
from .windows import MIN_ROWS, MonitorWindow, monitor_windows, parse_window

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)

CLASSIFIER_HINTS = ("Classifier", "Logistic", "SVC", "NB", "NearestCentroid")
REGRESSOR_HINTS = ("Regressor", "Regression", "SVR", "Lasso", "Ridge", "ElasticNet")


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
    stored = {w.start: w for w in stored_windows(registry, model, window=length)}
    counts = window_counts(registry, model, length, since=since)
    if not counts:
        return MonitorReport(model, length, tuple(stored.values()), 0,
                             notes=(f"no prediction of {model} is logged yet",))  # fmt: skip
    changed = [
        start for start, count in counts.items() if not still_holds(stored.get(start), count)
    ]
    computed = 0
    notes: tuple[str, ...] = ()
    if changed:
        computed, notes = _judge_changed(registry, model, length, stored, changed, since=since,
                                         kind=kind, min_rows=min_rows, alpha=alpha,
                                         fairness=tuple(fairness), say=say)  # fmt: skip
    windows = tuple(stored[s] for s in sorted(stored))
    retrain = None
    if on_retrain is not None:
        retrain = retrain_if_decided(
            registry, model, length, windows, Path(on_retrain), retrain_alias, current_time, say
        )
    return MonitorReport(model, length, windows, computed, retrain, notes)


def _judge_changed(
    registry: Registry,
    model: str,
    length: float,
    stored: dict[float, StoredWindow],
    changed: list[float],
    *,
    since: float | None,
    kind: str | None,
    min_rows: int,
    alpha: float,
    fairness: tuple[str, ...],
    say: Callable[[str], None],
) -> tuple[int, tuple[str, ...]]:
    """Read the log from the first window that ``changed`` (and the decided window before it,
    whose predictions the first one's are compared with), judge each window that changed and
    store it in ``stored``; the number judged, and what kept some from being tested."""
    first = min(changed)
    decided_before = [
        start for start, kept in stored.items() if start < first and kept.decision is not None
    ]
    read_from = max(decided_before) if decided_before else first
    rows = live_rows(registry, model, since=read_from if since is None else max(since, read_from))
    input_columns = [c for c in rows.columns if c not in LOG_COLUMNS]
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
    for start, window_rows in rows.groupby(starts, sort=True):
        counted = WindowCounts(
            start,
            len(window_rows),
            int(window_rows["label"].notna().sum()),
            float(window_rows["labelled_at"].max()),
        )
        kept = stored.get(start)
        if still_holds(kept, counted):
            assert kept is not None
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
        stored[start] = store_window(registry, model, length, version, judged, time.time())
        computed += 1
        if judged.decision is not None:
            previous_outputs = window_rows[["prediction"]].reset_index(drop=True)
    return computed, tuple(notes)


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


__all__ = [
    "MonitorReport",
    "RetrainOutcome",
    "StoredWindow",
    "length_text",
    "live_rows",
    "monitor_model",
    "stored_windows",
    "time_text",
    "window_line",
]
