"""Monitoring windows: the logged predictions of a served model cut into windows of time,
each judged as the drift check judges a pipeline's data.

For each window (aligned to multiples of its length since the epoch, so windows are the
same whenever the monitor runs):

- **input drift**: the window's inputs against the version's training data (a DataFrame or a
  snapshot's profile), column by column with :func:`..drift.deciding.drift_report`; its
  decision (monitor / review / retrain) is the window's, and the columns it retrains or
  reviews for are named;
- **prediction drift**: the window's outputs against the reference predictions when given
  (the model's predictions on its training data), else against the first window's;
- **latency**: p50 and p99 of the answered requests, in milliseconds;
- **live metrics** per version on the rows whose labels came back, and the champion against
  the challenger on the same rows when the shadow scored them (:mod:`.comparison`);
- **fairness rules** (``demographic_parity_difference(sex) <= 0.05``, the gates' language) on
  the window's sampled rows, their sensitive columns among the inputs: a rule that fails
  makes the window's decision at least ``review``, and a rule that cannot be computed on
  the window (no label back yet, one group only) is reported as not checked.

Windows with fewer than ``min_rows`` predictions are listed, with their latency, but not
tested for drift: a handful of rows says nothing about a distribution. With a ``sampled``
column (the server logs the inputs of a share of the requests), only the sampled rows are
tested for drift, and they are what ``min_rows`` counts.

The predictions come as a DataFrame with one row per request: ``time`` (seconds since the
epoch), ``version``, ``latency_ms``, ``prediction``, the input columns, and optionally
``label``, ``score`` (the positive class's probability) and ``challenger_prediction``
(the shadow's output for the same row).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..drift.deciding import drift_report
from ..drift.report import DriftReport
from ..errors import InvalidInputError
from ..runner.spec import parse_duration
from .comparison import VersionComparison, compare_paired
from .label_metrics import metrics_of

if TYPE_CHECKING:
    import pandas as pd

    from ..snapshots.profiles import DataProfile

MIN_ROWS = 50
REQUIRED_COLUMNS = ("time", "version", "latency_ms", "prediction")


@dataclass(frozen=True)
class FairnessCheck:
    """A fairness rule on one window: ``passed`` is None when it could not be computed
    there (``detail`` says why)."""

    rule: str
    passed: bool | None
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "passed": self.passed, "detail": self.detail}


@dataclass(frozen=True)
class MonitorWindow:
    """One window of served predictions and what the monitor found in it."""

    start: float
    end: float
    n_predictions: int
    n_labelled: int
    decision: str | None  # None: too few rows to test
    retrain_columns: tuple[str, ...]
    review_columns: tuple[str, ...]
    input_drift: DriftReport | None
    prediction_drift: DriftReport | None
    latency_p50_ms: float | None
    latency_p99_ms: float | None
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)  # per version
    comparison: VersionComparison | None = None
    note: str = ""
    fairness: tuple[FairnessCheck, ...] = ()

    @property
    def fairness_failed(self) -> tuple[str, ...]:
        """The fairness rules the window broke."""
        return tuple(check.rule for check in self.fairness if check.passed is False)

    def summary(self) -> str:
        import time

        when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(self.start))
        head = f"{when} UTC, {self.n_predictions} prediction(s)"
        if self.decision is None:
            return f"{head}: {self.note}"
        parts = [f"{head}: {self.decision}"]
        parts += finding_parts(
            self.retrain_columns,
            self.review_columns,
            self.fairness_failed,
            self.latency_p50_ms,
            self.latency_p99_ms,
        )
        return "; ".join(parts)


def finding_parts(
    retrain: tuple[str, ...],
    review: tuple[str, ...],
    unfair: tuple[str, ...],
    p50: float | None,
    p99: float | None,
) -> list[str]:
    """What a tested window found, as the parts of its line: the columns it retrains for or
    reviews, the fairness rules it broke, its latency."""
    parts = []
    if retrain:
        parts.append(f"retrain for {', '.join(retrain)}")
    if review:
        parts.append(f"review {', '.join(review)}")
    if unfair:
        parts.append(f"unfair: {'; '.join(unfair)}")
    if p50 is not None and p99 is not None:
        parts.append(f"latency p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    return parts


def parse_window(text: str | float | int) -> float:
    """A window's length in seconds: ``"1h"``, ``"30m"``, ``"90s"``, ``"1d"`` or a number
    of seconds (read as :func:`..runner.spec.parse_duration` reads durations)."""
    try:
        return parse_duration(text, what="the window")
    except InvalidInputError:
        if _is_zero(text):
            raise InvalidInputError(
                f"a window must last longer than 0 s, not {text}", hint='For example "1h".'
            ) from None
        raise InvalidInputError(
            f'"{text}" is not a window length',
            hint='Write a positive number and a unit: "30m", "1h", "1d" (s, m, h or d).',
        ) from None


def _is_zero(text: str | float | int) -> bool:
    number = str(text).strip().rstrip("smhdSMHD").strip()
    try:
        return float(number) == 0
    except ValueError:
        return False


def monitor_windows(
    predictions: pd.DataFrame,
    reference: pd.DataFrame | DataProfile,
    *,
    input_columns: list[str] | tuple[str, ...],
    window: str | float = "1h",
    kind: str = "classifier",
    reference_predictions: Any = None,
    min_rows: int = MIN_ROWS,
    alpha: float = 0.05,
    critical: tuple[str, ...] = (),
    fairness: tuple[str, ...] | list[str] = (),
) -> tuple[MonitorWindow, ...]:
    """The windows of ``predictions`` in time order, each judged (see the module doc)."""
    import pandas as pd

    length = parse_window(window)
    missing = [c for c in (*REQUIRED_COLUMNS, *input_columns) if c not in predictions.columns]
    if missing:
        raise InvalidInputError(
            f"the logged predictions have no column {', '.join(missing)}",
            hint=f"They need {', '.join(REQUIRED_COLUMNS)} and the model's inputs"
            f" ({', '.join(input_columns)}).",
        )
    if predictions.empty:
        return ()
    ordered = predictions.sort_values("time", kind="stable")
    starts = np.floor(ordered["time"].to_numpy(dtype=float) / length) * length
    reference_outputs = (
        None
        if reference_predictions is None
        else pd.DataFrame({"prediction": np.asarray(reference_predictions)})
    )
    windows = []
    for start, rows in ordered.groupby(starts, sort=True):
        window_result = _judge(
            rows,
            float(start),
            float(start) + length,
            reference,
            list(input_columns),
            kind,
            reference_outputs,
            min_rows,
            alpha,
            critical,
            tuple(fairness),
        )
        if reference_outputs is None and window_result.decision is not None:
            reference_outputs = rows[["prediction"]].reset_index(drop=True)
        windows.append(window_result)
    return tuple(windows)


def _judge(
    rows: pd.DataFrame,
    start: float,
    end: float,
    reference: Any,
    input_columns: list[str],
    kind: str,
    reference_outputs: pd.DataFrame | None,
    min_rows: int,
    alpha: float,
    critical: tuple[str, ...],
    fairness: tuple[str, ...] = (),
) -> MonitorWindow:
    latencies = rows["latency_ms"].to_numpy(dtype=float)
    latencies = latencies[~np.isnan(latencies)]
    p50, p99 = (
        (float(np.percentile(latencies, 50)), float(np.percentile(latencies, 99)))
        if len(latencies)
        else (None, None)
    )
    labels = rows["label"] if "label" in rows.columns else None
    n_labelled = 0 if labels is None else int(labels.notna().sum())
    metrics = _metrics_per_version(rows, kind) if labels is not None else {}
    comparison = None
    if (
        labels is not None
        and "challenger_prediction" in rows.columns
        and rows["challenger_prediction"].notna().any()  # a shadow scored these rows
    ):
        comparison = compare_paired(
            kind, rows["label"].to_numpy(), rows["prediction"].to_numpy(),
            rows["challenger_prediction"].to_numpy(), alpha=alpha,
        )  # fmt: skip
    tested = rows[rows["sampled"].astype(bool)] if "sampled" in rows.columns else rows
    checks = _fairness(fairness, tested)
    if len(tested) < min_rows:
        few = "too few predictions" if len(tested) == len(rows) else "too few sampled inputs"
        return MonitorWindow(
            start, end, len(rows), n_labelled, None, (), (), None, None, p50, p99,
            metrics, comparison,
            note=f"{few} to test for drift ({len(tested)}; the monitor needs {min_rows})",
            fairness=checks,
        )  # fmt: skip
    inputs = tested[input_columns].reset_index(drop=True)
    input_drift = drift_report(reference, inputs, columns=input_columns, alpha=alpha,
                               critical=critical)  # fmt: skip
    prediction_drift = None
    if reference_outputs is not None:
        prediction_drift = drift_report(
            reference_outputs, rows[["prediction"]].reset_index(drop=True), alpha=alpha
        )
    decision = input_drift.decision
    if any(check.passed is False for check in checks) and decision == "monitor":
        decision = "review"
    return MonitorWindow(
        start,
        end,
        len(rows),
        n_labelled,
        decision,
        tuple(c.column for c in input_drift.columns if c.decision == "retrain"),
        tuple(c.column for c in input_drift.columns if c.decision == "review"),
        input_drift,
        prediction_drift,
        p50,
        p99,
        metrics,
        comparison,
        fairness=checks,
    )


def _fairness(rules: tuple[str, ...], rows: pd.DataFrame) -> tuple[FairnessCheck, ...]:
    """Each rule on the rows (labelled ones for the rules that need labels)."""
    if not rules:
        return ()
    from ..errors import MlopsError
    from ..gates.fairness_rules import fairness_outcomes

    frame = rows.reset_index(drop=True)
    label = "label" if "label" in frame.columns else None
    checks = []
    for rule in rules:
        try:
            (outcome,) = fairness_outcomes(rule, frame, prediction="prediction", label=label)
        except MlopsError as exc:
            checks.append(FairnessCheck(rule, None, exc.message))
            continue
        checks.append(FairnessCheck(rule, bool(outcome.passed), outcome.detail))
    return tuple(checks)


def _metrics_per_version(rows: pd.DataFrame, kind: str) -> dict[str, dict[str, float]]:
    found: dict[str, dict[str, float]] = {}
    for version, group in rows.groupby("version", sort=True):
        labelled = group[group["label"].notna()]
        if labelled.empty:
            continue
        values = metrics_of(
            kind,
            labels=labelled["label"].to_numpy(),
            predictions=labelled["prediction"].to_numpy(),
        )
        if kind == "classifier" and "score" in labelled.columns:
            scored = labelled[labelled["score"].notna()]  # the sampled requests' rows
            if len(scored):
                with_scores = metrics_of(
                    kind,
                    labels=scored["label"].to_numpy(),
                    predictions=scored["prediction"].to_numpy(),
                    scores=scored["score"].to_numpy(dtype=float),
                )
                if "auc" in with_scores:
                    values["auc"] = with_scores["auc"]
        found[str(version)] = {key: value for key, value in values.items() if math.isfinite(value)}
    return found
