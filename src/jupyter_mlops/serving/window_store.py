"""The monitor's windows as the registry keeps them (``monitor_windows``): stored with their
drift reports, read back, and written as a line.

    stored_windows(registry, "churn", window="1h")     # oldest first
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from typing import Any

from ..registry.connection import Registry
from .comparison import VersionComparison
from .windows import MonitorWindow, finding_parts, parse_window


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
    parts += finding_parts(
        window.retrain_columns,
        window.review_columns,
        window.fairness_failed,
        window.latency_p50_ms,
        window.latency_p99_ms,
    )
    for version, values in sorted(window.metrics.items()):
        shown = ", ".join(f"{k} {v:.3f}" for k, v in values.items())
        parts.append(f"v{version}: {shown}")
    if window.comparison is not None:
        parts.append(str(window.comparison.get("verdict")))
    return "; ".join(parts)


def store_window(
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
