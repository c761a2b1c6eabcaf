"""The prediction log's rows: what its writer turns a batch of records into.

    scores = batch_scores(records)        # one predict_proba per model for the whole batch
    rows = [record_row(record, score) for record, score in zip(records, scores)]

Three choices keep what the writer spends per record small (measured on 100-row requests of
30 columns; see docs/serving.md):

- **Numbers stored as numbers**: inputs of one numeric dtype (float64, integers, booleans)
  are stored as a NumPy ``.npy`` of their bytes (:mod:`.inputs_npy`), about 5 µs where
  their JSON takes about 200.
- **JSON in one call per value**: other inputs, outputs and scores go to orjson as numpy arrays
  (``{column: array}``), which it writes in C, about 15 times faster than ``tolist`` and
  ``json.dumps``: the same JSON values (NaN and infinities as ``null``; float32 numbers in
  their shortest float32 form, 0.1 rather than 0.10000000149011612). Columns of text or
  objects take the plain path, value by value.
- **The scores of a batch at once**: a binary classifier's ``predict_proba`` costs scikit-learn
  a few hundred microseconds of checks per call, whatever the number of rows; the sampled
  rows of every record a model answered in the batch are stacked and scored in one call
  (at most ``SCORE_CHUNK_ROWS`` rows), then cut back per record. A call that fails is
  retried record by record, so one bad request loses only its own scores.

The stored forms: ``inputs`` a ``.npy`` structured array or JSON ``{column: [values]}``
(:func:`.inputs_npy.stored_inputs` reads either as the latter), ``outputs`` and ``scores``
JSON lists.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson

from .inputs_npy import NumericInputs, columns_npy

if TYPE_CHECKING:
    import numpy as np

    from .prediction_log import PredictionRecord

# numpy kinds orjson writes as JSON numbers and booleans: signed and unsigned integers,
# floats (NaN and infinities as null), booleans
_NUMBER_KINDS = frozenset("iufb")
_NUMPY = orjson.OPT_SERIALIZE_NUMPY
# rows scored by one predict_proba call: a batch of 1,000 records of 100 rows is cut in calls
# of this size (about a millisecond each for a linear model), so no one call holds the
# interpreter for long
SCORE_CHUNK_ROWS = 5_000


def record_row(record: PredictionRecord, scores: str | None) -> tuple[Any, ...]:
    """The ``predictions`` row of ``record``, its ``scores`` given (see :func:`batch_scores`)."""
    return (
        record.request_id,
        record.model_version_id,
        record.role,
        record.served_as,
        record.n_rows,
        None if record.inputs is None else stored_columns(record.inputs),
        values_json(record.outputs),
        record.latency_ms,
        record.served_at,
        scores,
    )


def batch_scores(records: Sequence[PredictionRecord]) -> list[str | None]:
    """Per record, JSON of its positive class's probability per row (a binary classifier's,
    for a record with inputs), else ``None``: scores are extra, never a reason to lose a
    record. One ``predict_proba`` per model and per chunk of rows."""
    scores: list[str | None] = [None] * len(records)
    by_model: dict[int, list[int]] = {}
    for index, record in enumerate(records):
        if (
            record.inputs is not None
            and record.model is not None
            and hasattr(record.model, "predict_proba")
        ):
            by_model.setdefault(id(record.model), []).append(index)
    for indexes in by_model.values():
        for chunk in _chunks(indexes, records):
            _score_chunk(chunk, records, scores)
    return scores


def _chunks(indexes: list[int], records: Sequence[PredictionRecord]) -> list[list[int]]:
    """``indexes`` cut into runs of at most ``SCORE_CHUNK_ROWS`` rows (a record alone may
    have more)."""
    chunks: list[list[int]] = [[]]
    rows = 0
    for index in indexes:
        n_rows = records[index].n_rows
        if chunks[-1] and rows + n_rows > SCORE_CHUNK_ROWS:
            chunks.append([])
            rows = 0
        chunks[-1].append(index)
        rows += n_rows
    return chunks


def _score_chunk(
    chunk: list[int], records: Sequence[PredictionRecord], scores: list[str | None]
) -> None:
    import numpy as np

    model = records[chunk[0]].model
    frames = [records[index].inputs for index in chunk]
    try:
        stacked = _stacked(frames)
        positive = None if stacked is None else _positive_probabilities(model, stacked)
    except Exception:  # inputs pandas cannot stack: each record is tried alone
        positive = None
    if positive is None:
        if len(frames) > 1:  # one record may be the one the model cannot take
            for index in chunk:
                _score_chunk([index], records, scores)
        return
    offsets = np.cumsum([0, *(len(frame) for frame in frames)])
    for index, start, end in zip(chunk, offsets[:-1], offsets[1:]):
        scores[index] = values_json(positive[start:end])


def _stacked(frames: list[Any]) -> Any:
    """The rows of ``frames`` (DataFrames or :class:`.NumericInputs`) in one DataFrame, or
    ``None`` if their columns differ. Inputs of one numeric dtype are stacked as arrays
    (pandas' concat costs more than the model)."""
    import numpy as np
    import pandas as pd

    if all(isinstance(frame, NumericInputs) for frame in frames):
        first = frames[0]
        if len(frames) == 1:
            return first.frame()
        if all(
            frame.labels == first.labels and frame.matrix.dtype == first.matrix.dtype
            for frame in frames[1:]
        ):
            stacked = np.vstack([frame.matrix for frame in frames])
            return NumericInputs(first.labels, stacked).frame()
    frames = [frame.frame() if isinstance(frame, NumericInputs) else frame for frame in frames]
    if len(frames) == 1:
        return frames[0]
    if not all(isinstance(frame, pd.DataFrame) for frame in frames):
        return None
    first = frames[0]
    if not all(frame.columns.equals(first.columns) for frame in frames[1:]):
        return None
    matrices = [frame.to_numpy() for frame in frames]  # no copy for a frame of one dtype
    dtypes = set(first.dtypes)
    if (
        len(dtypes) == 1
        and matrices[0].dtype.kind in _NUMBER_KINDS
        and all(matrix.dtype == matrices[0].dtype for matrix in matrices)
    ):
        return pd.DataFrame(np.vstack(matrices), columns=first.columns)
    return pd.concat(frames, ignore_index=True)


def _positive_probabilities(model: Any, rows: Any) -> np.ndarray | None:
    """The probability ``model`` gives its second (positive) class per row, if it is a binary
    classifier whose ``predict_proba`` takes ``rows``; else ``None``."""
    try:
        probabilities = model.predict_proba(rows)
    except Exception:  # a model whose predict_proba fails still had its prediction logged
        return None
    if getattr(probabilities, "ndim", 0) != 2 or probabilities.shape != (len(rows), 2):
        return None
    return probabilities[:, 1]


def stored_columns(frame: Any) -> str | bytes:
    """What ``predictions.inputs`` holds for ``frame`` (a DataFrame or
    :class:`.NumericInputs`): ``.npy`` bytes for inputs of one numeric dtype
    (:mod:`.inputs_npy`, 40 times cheaper than their JSON), else JSON."""
    if isinstance(frame, NumericInputs):
        stored = frame.npy()
        return stored if stored is not None else columns_json(frame.frame())
    stored = columns_npy(frame)
    return stored if stored is not None else columns_json(frame)


def columns_json(frame: Any) -> str:
    """JSON ``{column: [values]}`` of a DataFrame; ``null`` for NaN, infinities and missing."""
    import numpy as np

    names = list(map(str, frame.columns.tolist()))
    matrix = frame.to_numpy()
    if matrix.dtype.kind in _NUMBER_KINDS:  # one block: each column is a row of its transpose
        return orjson.dumps(
            dict(zip(names, np.ascontiguousarray(matrix.T))), option=_NUMPY
        ).decode()
    columns = {name: _plain_values(frame.iloc[:, i].to_numpy()) for i, name in enumerate(names)}
    return _dumps(columns)


def values_json(values: Any) -> str:
    """JSON list of ``values`` (one per row); ``null`` for NaN, infinities and missing."""
    return _dumps(_plain_values(values))


def _plain_values(values: Any) -> Any:
    """A C-contiguous array of numbers or booleans (orjson writes it), else plain values."""
    import numpy as np

    array = np.asarray(values)
    if array.dtype.kind in _NUMBER_KINDS:
        return np.ascontiguousarray(array)
    return [_plain(value) for value in array.tolist()]


def _dumps(value: Any) -> str:
    try:
        return orjson.dumps(value, option=_NUMPY).decode()
    except TypeError:  # integers past 64 bits, numpy types orjson does not take
        return json.dumps(value, allow_nan=False, default=_plain_array)


def _plain_array(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return [_plain(v) for v in value.tolist()]
    raise TypeError(f"{type(value).__name__} is not JSON")


def _plain(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (str, int, bool)):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)
