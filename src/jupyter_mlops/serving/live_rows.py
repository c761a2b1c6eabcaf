"""The prediction log of a served model read as one row per scored row, for the monitor:
when it was served, the version that answered, the latency, the prediction, the label if it
came back (and when), the shadow's prediction for the same row, and the inputs of the
requests whose inputs were sampled.

    rows = live_rows(registry, "churn", since=time.time() - 86400)
"""

from __future__ import annotations

import json
import math
from itertools import chain
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
    requests of a binary classifier) and the input columns. Only the requests served at or
    after ``since`` are read; a request's values become its rows by whole lists, not one
    row at a time (400,000 rows in about a second)."""
    import numpy as np
    import pandas as pd

    model_id(registry, model)  # NotFoundError naming the model and its neighbours
    served = read_predictions(registry, model, role="served", since=since)
    shadow = read_predictions(registry, model, role="shadow", since=since, with_inputs=False)
    labels = _labels(registry, list(served["request_id"]))
    shadow_by_request = {
        request: (outputs, version)
        for request, outputs, version in zip(
            shadow["request_id"], shadow["outputs"], shadow["version"], strict=True
        )
    }
    counts = served["n_rows"].to_numpy(dtype=np.int64)
    given = [labels.get(request) for request in served["request_id"]]
    others = [shadow_by_request.get(request) for request in served["request_id"]]
    sampled = [inputs is not None for inputs in served["inputs"]]

    def each_row(values: Any) -> list[Any]:
        """A value per request, repeated for each of its rows."""
        return list(np.repeat(np.asarray(values, dtype=object), counts))

    def rows_of(lists: Any) -> list[Any]:
        """A list per request (``None``: none), cut or filled to its rows, end to end."""
        return list(
            chain.from_iterable(_fitted(values, int(n)) for values, n in zip(lists, counts))
        )

    columns: dict[str, Any] = {
        "time": np.repeat(
            ((served["served_at"] - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(1, "s")).to_numpy(
                dtype=float
            ),
            counts,
        ),
        "request_id": each_row(served["request_id"]),
        "version": each_row([str(version) for version in served["version"]]),
        "latency_ms": np.repeat(served["latency_ms"].to_numpy(dtype=float), counts),
        "prediction": rows_of(served["outputs"]),
        "label": rows_of(None if found is None else found[0] for found in given),
        "challenger_prediction": rows_of(None if other is None else other[0] for other in others),
        "challenger_version": each_row(
            [None if other is None else str(other[1]) for other in others]
        ),
        "sampled": np.repeat(np.asarray(sampled, dtype=bool), counts),
        "labelled_at": np.repeat(
            np.asarray([math.nan if found is None else found[1] for found in given], dtype=float),
            counts,
        ),
        "score": rows_of(served["scores"]),
    }  # fmt: skip
    frame = pd.DataFrame(columns)
    names: dict[str, None] = {}  # the input columns in the order they first appear
    for inputs in served["inputs"]:
        names.update(dict.fromkeys(inputs or ()))
    for name in names:
        if name in frame.columns:
            continue
        values = rows_of(
            None if inputs is None else inputs.get(name) for inputs in served["inputs"]
        )
        frame[name] = pd.Series(values, index=frame.index, dtype=object).infer_objects()
    return frame


def _fitted(values: Any, n: int) -> list[Any]:
    """``values`` (a list, or ``None``) as exactly ``n`` values: cut, or filled with ``None``."""
    if values is None:
        return [None] * n
    if len(values) == n:
        return values if isinstance(values, list) else list(values)
    return list(values[:n]) + [None] * (n - len(values))


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
