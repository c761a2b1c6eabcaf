"""The prediction log of a served model read as one row per scored row, for the monitor:
when it was served, the version that answered, the latency, the prediction, the label if it
came back (and when), the shadow's prediction for the same row, and the inputs of the
requests whose inputs were sampled.

    rows = live_rows(registry, "churn", since=time.time() - 86400)
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

from ..models.versions import model_id
from ..registry.connection import Registry
from .prediction_log import read_predictions

if TYPE_CHECKING:
    import pandas as pd


def live_rows(registry: Registry, model: str, *, since: float | None = None) -> pd.DataFrame:
    """The prediction log of ``model`` as one row per scored row (see the module doc):
    ``time``, ``request_id``, ``version``, ``latency_ms``, ``prediction``, ``label``,
    ``challenger_prediction``, ``challenger_version``, ``sampled``, ``labelled_at`` (when
    the label was given), ``score`` (the positive class's probability, for the sampled
    requests of a binary classifier) and the input columns."""
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
            "challenger_prediction", "challenger_version", "sampled", "labelled_at", "score",
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
            columns["score"].append(
                row.scores[index] if row.scores is not None and index < len(row.scores) else None
            )
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


LOG_COLUMNS = frozenset(  # every column but the inputs
    {
        "time", "request_id", "version", "latency_ms", "prediction", "label",
        "challenger_prediction", "challenger_version", "sampled", "labelled_at", "score",
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
