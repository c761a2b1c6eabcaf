"""Live metrics per version: how each served (and shadow) version did on the requests it
scored, from the prediction log and the labels that came back.

    live_metrics(registry, "churn")             # a DataFrame, one row per version and role
    live_metrics(registry, "churn", since=time.time() - 3600)

Columns: ``version``, ``role`` (served / shadow), ``requests``, ``rows``, ``labelled_rows``,
``accuracy`` (the share of labelled rows whose output equals the label), ``f1`` (when they are
classes: of the positive class for two, the mean over classes for more), ``auc`` (a binary
classifier's, on the sampled requests' rows, whose scores the log keeps) and, when outputs and
labels are numbers, ``mae`` and ``rmse``; ``latency_p50_ms`` and ``latency_p99_ms``; ``first``
and ``last`` (when it scored). A version with no labels yet has NaN where labels are needed.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ..models.versions import model_id
from ..registry.connection import Registry
from .comparison import VersionComparison, compare_paired
from .label_metrics import binary_auc, classification_metrics

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = [
    "version", "role", "requests", "rows", "labelled_rows", "accuracy", "f1", "auc", "mae",
    "rmse",
    "latency_p50_ms", "latency_p99_ms", "first", "last",
]  # fmt: skip


def live_metrics(registry: Registry, model: str, *, since: float | None = None) -> pd.DataFrame:
    """One row per version of ``model`` and role that scored requests (since ``since``, unix
    seconds), newest version first, served before shadow."""
    import numpy as np
    import pandas as pd

    model_row_id = model_id(registry, model)
    rows = registry.query_tuples(
        "SELECT model_versions.version, predictions.role, predictions.n_rows,"
        " predictions.outputs, predictions.latency_ms, predictions.served_at,"
        " prediction_labels.labels, predictions.scores FROM predictions"
        " JOIN model_versions ON model_versions.id = predictions.model_version_id"
        " LEFT JOIN prediction_labels ON prediction_labels.request_id = predictions.request_id"
        " WHERE model_versions.model_id = ?" + (" AND predictions.served_at >= ?" if since else ""),
        (model_row_id, since) if since else (model_row_id,),
    )
    groups: dict[tuple[int, str], list[tuple[Any, ...]]] = {}
    for row in rows:
        groups.setdefault((int(row[0]), str(row[1])), []).append(row)
    found = []
    for (version, role), members in groups.items():
        latencies = np.array([m[4] for m in members], dtype=float)
        matches = labelled = 0
        errors: list[float] = []
        pairs: list[tuple[Any, Any]] = []
        scored: list[tuple[Any, float]] = []
        for member in members:
            if member[6] is None:
                continue
            outputs, labels = json.loads(member[3]), json.loads(member[6])
            scores = json.loads(member[7]) if member[7] is not None else [None] * len(outputs)
            for output, label, score in zip(outputs, labels, scores):
                if label is None:
                    continue
                labelled += 1
                pairs.append((label, output))
                if score is not None:
                    scored.append((label, float(score)))
                matches += int(_same(output, label))
                if _number(output) and _number(label):
                    errors.append(float(output) - float(label))
        found.append(
            {
                "version": version,
                "role": role,
                "requests": len(members),
                "rows": int(sum(m[2] for m in members)),
                "labelled_rows": labelled,
                "accuracy": matches / labelled if labelled else math.nan,
                "f1": _f1(pairs),
                "auc": _auc(scored),
                "mae": float(np.mean(np.abs(errors))) if errors else math.nan,
                "rmse": float(np.sqrt(np.mean(np.square(errors)))) if errors else math.nan,
                "latency_p50_ms": float(np.percentile(latencies, 50)),
                "latency_p99_ms": float(np.percentile(latencies, 99)),
                "first": pd.Timestamp(min(m[5] for m in members), unit="s", tz="UTC"),
                "last": pd.Timestamp(max(m[5] for m in members), unit="s", tz="UTC"),
            }
        )
    found.sort(key=lambda r: (-r["version"], r["role"] != "served"))
    return pd.DataFrame(found, columns=COLUMNS)


def _f1(pairs: list[tuple[Any, Any]]) -> float:
    """F1 of the labelled rows when they are classes (of the positive class for two, the
    mean over classes for more); NaN for numbers that are not whole (a regressor's)."""
    if not pairs or any(_number(v) and float(v) != int(v) for pair in pairs for v in pair):
        return math.nan
    labels, outputs = zip(*pairs)
    return classification_metrics(
        np.asarray(labels, dtype=object), np.asarray(outputs, dtype=object)
    )["f1"]


def _auc(scored: list[tuple[Any, float]]) -> float:
    """AUC of the labelled rows that have a score (sampled requests of a binary
    classifier): NaN unless both classes are among their labels."""
    classes = sorted({str(label) for label, _ in scored})
    if len(classes) != 2:
        return math.nan
    labels = np.array([str(label) == classes[-1] for label, _ in scored])
    if all(_number(label) for label, _ in scored):  # 0/1 or 1.0/0.0: the greater is positive
        greatest = max(float(label) for label, _ in scored)
        labels = np.array([float(label) == greatest for label, _ in scored])
    return binary_auc(labels, np.array([score for _, score in scored]))


def compare_live(
    registry: Registry, model: str, *, since: float | None = None, alpha: float = 0.05
) -> VersionComparison | None:
    """The served versions against the shadow's on the same labelled rows (the paired test
    of :mod:`.comparison`); None when no shadow scored a labelled request."""
    from .live_rows import live_rows

    rows = live_rows(registry, model, since=since)
    paired = rows[rows["challenger_prediction"].notna() & rows["label"].notna()]
    if paired.empty:
        return None
    kind = _kind_of(paired)
    return compare_paired(
        kind,
        paired["label"].to_numpy(),
        paired["prediction"].to_numpy(),
        paired["challenger_prediction"].to_numpy(),
        alpha=alpha,
    )


def _kind_of(rows: pd.DataFrame) -> str:
    values = rows["prediction"].tolist() + rows["label"].tolist()
    if any(_number(v) and float(v) != int(v) for v in values):
        return "regressor"
    return "classifier"


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _same(output: Any, label: Any) -> bool:
    if _number(output) and _number(label):
        return math.isclose(float(output), float(label), rel_tol=0, abs_tol=1e-9)
    return bool(output == label) or str(output) == str(label)
