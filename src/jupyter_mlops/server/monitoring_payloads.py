"""``GET models/NAME/monitoring``: a served model's stored monitor windows, as the panel's
Monitoring view draws them (see :mod:`.monitoring_route`; conventions in :mod:`.payloads`).

The answer is grouped by window length, since a model can be monitored in hours and in days;
each length carries its windows newest first, each with the line the terminal prints for it
(the tooltip of its cell in the decision strip) and the fairness rules it broke, and the
series of the latency and live metric charts already laid out on one x axis (the time since
the first window, in hours for windows of an hour, minutes for windows of minutes), so the
panel draws what it gets::

    {"model": "churn", "aliases": {"champion": 1}, "window": null,
     "decision": "retrain", "decided_by": "1h window of 2026-12-04 13:00",
     "choices": ["15m", "1h", "1d"],
     "lengths": [{"window": "1h", "window_seconds": 3600, "decision": "retrain",
                  "total": 4, "shown": 4, "x_label": "hours since 2026-12-04 10:00 UTC",
                  "x_name": "hour",
                  "windows": [{...StoredWindow.to_dict(), "line", "start_text", "x"}, ...],
                  "latency": [{"name": "p50 ms", "points": [[0, 2.0], ...]}, ...],
                  "metrics": [{"name": "v1 accuracy", "points": [...]}, ...]}]}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInputError
from ..models.versions import aliases_of, model_id
from ..registry.connection import Registry
from ..serving.monitoring import (
    MonitorReport,
    StoredWindow,
    length_text,
    monitor_model,
    stored_windows,
    time_text,
    window_line,
)
from ..serving.windows import parse_window
from .payloads import json_safe

WINDOW_CHOICES = ("15m", "1h", "6h", "1d")
"""The window lengths the panel offers for "Run monitor now" (any length is accepted)."""

MAX_WINDOWS = 240
"""The newest windows of each length the answer carries (``total`` counts them all)."""

_EXAMPLE = '{"window": "1h"}'


def monitoring_payload(
    registry: Registry, model: str, *, window: str | None = None
) -> dict[str, Any]:
    """``GET models/NAME/monitoring[?window=1h]``: the stored windows of ``model`` (of every
    length stored, or of ``window`` alone), its aliases and the newest decision.

    Raises NotFoundError naming the model when there is none, InvalidInputError for a
    window length that cannot be read.
    """
    model_id(registry, model)  # NotFoundError naming the model and its neighbours
    length = None if window is None else parse_window(window)
    windows = stored_windows(registry, model, window=length)
    by_length: dict[float, list[StoredWindow]] = {}
    for stored in windows:
        by_length.setdefault(stored.window_seconds, []).append(stored)
    tested = [w for w in windows if w.decision is not None]
    newest = max(tested, key=lambda w: (w.end, w.computed_at), default=None)
    payload = {
        "model": model,
        "aliases": aliases_of(registry, model),
        "window": None if length is None else length_text(length),
        "decision": None if newest is None else newest.decision,
        "decided_by": None
        if newest is None
        else f"{length_text(newest.window_seconds)} window of"
        f" {time_text(newest.start, newest.window_seconds)}",
        "choices": list(WINDOW_CHOICES),
        "lengths": [_length_json(seconds, group) for seconds, group in sorted(by_length.items())],
    }
    return json_safe(payload)


def run_monitor_payload(registry: Registry, model: str, body: Any) -> dict[str, Any]:
    """``POST models/NAME/monitoring`` with ``{"window": "1h"}``: judge and store the model's
    windows of that length now (:func:`~jupyter_mlops.serving.monitoring.monitor_model`, no
    retraining), then answer as GET does, with ``run``: what this monitoring did."""
    window = _posted_window(body)
    report = monitor_model(registry, model, window=window)
    return {**monitoring_payload(registry, model), "run": _run_json(report)}


def _posted_window(body: Any) -> str:
    if body is None:
        return "1h"
    if not isinstance(body, Mapping) or set(body) - {"window"}:
        raise InvalidInputError(
            "The monitor takes one setting, the window length", hint=f"Send {_EXAMPLE}."
        )
    window = body.get("window", "1h")
    if not isinstance(window, str):
        raise InvalidInputError(
            f"The window length must be text such as 1h, got {window!r}", hint=f"Send {_EXAMPLE}."
        )
    parse_window(window)  # the 400 names the length before any work is done
    return window


def _run_json(report: MonitorReport) -> dict[str, Any]:
    return {
        "window": length_text(report.window_seconds),
        "computed": report.computed,
        "decision": report.decision,
        "notes": list(report.notes),
        "message": report.summary().splitlines()[0],
    }


def _length_json(seconds: float, windows: list[StoredWindow]) -> dict[str, Any]:
    """One length's windows (``windows`` oldest first) with its charts' series."""
    shown = windows[-MAX_WINDOWS:]
    axis = _TimeAxis.of(shown[0].start, seconds)
    tested = [w for w in windows if w.decision is not None]
    return {
        "window": length_text(seconds),
        "window_seconds": seconds,
        "decision": tested[-1].decision if tested else None,
        "total": len(windows),
        "shown": len(shown),
        "x_label": axis.label,
        "x_name": axis.unit.rstrip("s"),
        "windows": [_window_json(w, axis) for w in reversed(shown)],
        "latency": [
            {"name": name, "points": [[axis.at(w.start), getattr(w, key)] for w in shown]}
            for name, key in (("p50 ms", "latency_p50_ms"), ("p99 ms", "latency_p99_ms"))
        ],
        "metrics": _metric_series(shown, axis),
    }


def _window_json(window: StoredWindow, axis: _TimeAxis) -> dict[str, Any]:
    return {
        **window.to_dict(),
        "window": length_text(window.window_seconds),
        "start_text": time_text(window.start, window.window_seconds),
        "x": axis.at(window.start),
        "fairness_failed": list(window.fairness_failed),
        "line": window_line(window),
        "verdict": None if window.comparison is None else window.comparison.get("verdict"),
    }


def _metric_series(windows: list[StoredWindow], axis: _TimeAxis) -> list[dict[str, Any]]:
    """Each live metric of each version over the windows (a gap where a window has none)."""
    names = sorted({(v, m) for w in windows for v, values in w.metrics.items() for m in values})
    return [
        {
            "name": f"v{version} {metric}",
            "points": [[axis.at(w.start), w.metrics.get(version, {}).get(metric)] for w in windows],
        }
        for version, metric in names
    ]


@dataclass(frozen=True)
class _TimeAxis:
    """The charts' x axis: the time since the first window, in the unit the windows' length
    reads best in (hours for windows of an hour, minutes for windows of 15 minutes)."""

    origin: float
    unit: str
    size: float
    label: str

    @classmethod
    def of(cls, origin: float, length: float) -> _TimeAxis:
        unit, size = next(
            (u, s) for u, s in (("days", 86400), ("hours", 3600), ("minutes", 60), ("seconds", 1))
            if length >= s
        )  # fmt: skip
        return cls(origin, unit, size, f"{unit} since {time_text(origin, length)} UTC")

    def at(self, start: float) -> float:
        return round((start - self.origin) / self.size, 6)
