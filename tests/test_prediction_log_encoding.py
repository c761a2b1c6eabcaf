"""The prediction log's writer: the rows it stores are the JSON readers always read (numbers,
text, ``null`` for what JSON cannot hold), and the scores of a batch cost one
``predict_proba`` per model, not one per request, while a record the model cannot take loses
only its own scores."""

from __future__ import annotations

import io
import json
import time
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from jupyter_mlops.models.registering import register
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.serving import log_encoding
from jupyter_mlops.serving.inputs_npy import NumericInputs, stored_inputs
from jupyter_mlops.serving.log_encoding import (
    batch_scores,
    columns_json,
    stored_columns,
    values_json,
)
from jupyter_mlops.serving.log_wire import (
    read_message,
    record_wire,
    records_from_wire,
    write_message,
)
from jupyter_mlops.serving.prediction_log import PredictionLog, PredictionRecord, read_predictions


class CountedPipeline:
    """A fitted scikit-learn pipeline that counts its ``predict_proba`` calls and rows."""

    def __init__(self, pipeline: Any) -> None:
        self.pipeline = pipeline
        self.calls: list[int] = []

    def predict(self, rows: Any) -> Any:
        return self.pipeline.predict(rows)

    def predict_proba(self, rows: Any) -> Any:
        self.calls.append(len(rows))
        return self.pipeline.predict_proba(rows)


@pytest.fixture(scope="module")
def cancer() -> tuple[pd.DataFrame, Any]:
    features, target = load_breast_cancer(return_X_y=True, as_frame=True)
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    return features, pipeline.fit(features, target)


def record(number: int, inputs: Any, model: Any = None, version_id: int = 1) -> PredictionRecord:
    return PredictionRecord(
        request_id=f"r{number}",
        model_version_id=version_id,
        role="served",
        served_as="cancer@champion",
        n_rows=0 if inputs is None else len(inputs),
        inputs=inputs,
        outputs=np.zeros(0 if inputs is None else len(inputs), dtype=np.int64),
        latency_ms=1.0,
        served_at=time.time(),
        model=model,
    )


# -- the JSON stored -------------------------------------------------------------------------


def test_a_frame_of_numbers_is_stored_as_the_standard_librarys_json_reads_it() -> None:
    frame = pd.DataFrame(
        np.array([[1.5, np.nan], [np.inf, -2.25], [0.1, -np.inf]]), columns=["fee", 7]
    )

    stored = columns_json(frame)

    assert json.loads(stored) == {"fee": [1.5, None, 0.1], "7": [None, -2.25, None]}
    assert "NaN" not in stored and "Infinity" not in stored  # JSON, not Python's extension


def test_integers_booleans_text_and_missing_values_keep_their_kinds() -> None:
    frame = pd.DataFrame(
        {
            "age": np.array([30, 41], dtype=np.int32),
            "fee": [np.nan, 2.5],
            "plan": ["a", None],
            "active": [True, False],
        }
    )

    stored = json.loads(columns_json(frame))

    assert stored == {
        "age": [30, 41],
        "fee": [None, 2.5],
        "plan": ["a", None],
        "active": [True, False],
    }
    assert json.loads(columns_json(frame[["age"]])) == {"age": [30, 41]}


def test_outputs_of_numbers_labels_and_objects_are_json_lists() -> None:
    assert json.loads(values_json(np.array([1, 0, 1]))) == [1, 0, 1]
    assert json.loads(values_json(np.array([0.25, np.nan]))) == [0.25, None]
    assert json.loads(values_json(np.array(["yes", "no"], dtype=object))) == ["yes", "no"]
    assert json.loads(values_json(np.array([2**70, b"x", None], dtype=object))) == [
        2**70,
        "x",
        None,
    ]
    assert json.loads(values_json(np.arange(6.0).reshape(2, 3)[:, 1])) == [1.0, 4.0]


# -- the scores of a batch -------------------------------------------------------------------


def test_a_batch_is_scored_in_one_call_per_model_with_each_requests_probabilities(
    cancer,
) -> None:
    features, pipeline = cancer
    model, other = CountedPipeline(pipeline), CountedPipeline(pipeline)
    requests = [features.iloc[start : start + 100] for start in range(0, 400, 100)]
    records = [record(n, rows, model) for n, rows in enumerate(requests)]
    records += [record(4, features.iloc[:3], other), record(5, None, model), record(6, requests[0])]

    scores = batch_scores(records)

    assert model.calls == [400] and other.calls == [3]
    for rows, stored in zip(requests, scores[:4]):
        assert stored is not None
        np.testing.assert_allclose(json.loads(stored), pipeline.predict_proba(rows)[:, 1])
    assert scores[4] is not None and scores[5] is None and scores[6] is None


def test_a_request_the_model_cannot_take_loses_only_its_own_scores(cancer) -> None:
    features, pipeline = cancer
    model = CountedPipeline(pipeline)
    good = features.iloc[:10]
    bad = good.rename(columns={good.columns[0]: "unknown"})

    scores = batch_scores([record(0, good, model), record(1, bad, model), record(2, good, model)])

    assert scores[1] is None
    assert scores[0] == scores[2] and scores[0] is not None
    np.testing.assert_allclose(json.loads(scores[0]), pipeline.predict_proba(good)[:, 1])


def test_inputs_that_are_not_a_frame_leave_the_scores_out_and_the_writer_running(
    cancer,
) -> None:
    features, pipeline = cancer
    rows = features.iloc[:4]
    odd = record(1, {"not": "a frame"}, pipeline)

    scores = batch_scores([record(0, rows, pipeline), odd, record(2, rows, pipeline)])

    assert scores[1] is None and scores[0] == scores[2] is not None


def test_scores_are_kept_for_binary_classifiers_only() -> None:
    features, target = load_iris(return_X_y=True, as_frame=True)
    three_classes = DecisionTreeClassifier(random_state=0).fit(features, target)
    rows = features.iloc[:5]

    assert batch_scores([record(0, rows, three_classes), record(1, rows, three_classes)]) == [
        None,
        None,
    ]


def test_a_large_batch_is_scored_in_calls_of_bounded_rows(cancer, monkeypatch) -> None:
    features, pipeline = cancer
    model = CountedPipeline(pipeline)
    monkeypatch.setattr(log_encoding, "SCORE_CHUNK_ROWS", 250)
    records = [record(n, features.iloc[n * 100 : n * 100 + 100], model) for n in range(5)]
    records.append(record(5, features.iloc[:300], model))  # alone past the bound: one call

    scores = batch_scores(records)

    assert model.calls == [200, 200, 100, 300]
    assert all(stored is not None for stored in scores)


def test_the_log_writes_each_requests_scores_from_one_call_per_batch(
    registry: Registry, cancer
) -> None:
    features, pipeline = cancer
    version = register(registry, pipeline, "cancer", alias="champion")
    model = CountedPipeline(pipeline)
    log = PredictionLog(registry.another_connection(), flush_seconds=3600).start()
    requests = [features.iloc[start : start + 100] for start in range(0, 500, 100)]

    for number, rows in enumerate(requests):
        log.submit(record(number, rows, model, version_id=version.id))
    assert log.flush(timeout=30)  # one batch: every record was waiting
    log.close()

    assert model.calls == [500]
    logged = read_predictions(registry, "cancer")
    assert logged["request_id"].tolist() == [f"r{n}" for n in range(5)]
    for rows, inputs, scores in zip(requests, logged["inputs"], logged["scores"]):
        assert inputs == {str(name): rows[name].tolist() for name in rows.columns}
        np.testing.assert_allclose(scores, pipeline.predict_proba(rows)[:, 1])


# -- numeric inputs stored as .npy --------------------------------------------------------------


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame({"age": [30.0, np.nan, np.inf], "fee": [1.5, 2.5, -np.inf]}),
        pd.DataFrame({"age": np.array([30, 41, -2], dtype=np.int64), "n": [1, 2, 3]}),
        pd.DataFrame({"a": np.array([1, 2, 3], dtype=np.uint8), "b": [4, 5, 6]}).astype("uint8"),
        pd.DataFrame({"yes": [True, False, True], "no": [False, False, True]}),
        pd.DataFrame(np.arange(6.0).reshape(3, 2)),  # columns 0 and 1: a model fitted on an array
    ],
    ids=["float64 with NaN and infinities", "int64", "uint8", "bool", "unnamed columns"],
)
def test_numeric_inputs_are_stored_as_npy_and_read_as_their_json_would_be(
    registry, frame: pd.DataFrame
) -> None:
    stored = stored_columns(frame)

    assert isinstance(stored, bytes)
    assert stored_inputs(stored) == json.loads(columns_json(frame))  # what readers always had
    # anyone's NumPy reads it, with the columns' names and dtype
    array = np.load(io.BytesIO(stored), allow_pickle=False)
    assert array.dtype.names == tuple(map(str, frame.columns))
    for name, column in zip(array.dtype.names, frame.columns):
        np.testing.assert_array_equal(array[name], frame[column].to_numpy())
        assert array[name].dtype == frame[column].dtype


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame({"age": [30, 41], "plan": ["a", "b"]}),  # text
        pd.DataFrame({"age": [30, 41], "ok": [True, False]}),  # numbers and booleans
        pd.DataFrame({"x": np.array([0.1, 0.2], dtype=np.float32)}),  # JSON keeps 0.1
        pd.DataFrame([[1.0, 2.0]], columns=["x", "x"]),  # a name twice
    ],
    ids=["text", "numbers and booleans", "float32", "repeated name"],
)
def test_other_inputs_stay_json(frame: pd.DataFrame) -> None:
    stored = stored_columns(frame)

    assert isinstance(stored, str) and stored == columns_json(frame)


def test_integers_beside_floats_are_stored_as_floats_as_their_json_has_them() -> None:
    frame = pd.DataFrame({"age": [30, 41], "fee": [1.5, 2.5]})

    stored = stored_columns(frame)

    assert isinstance(stored, bytes)
    assert (
        stored_inputs(stored)
        == json.loads(columns_json(frame))
        == {
            "age": [30.0, 41.0],
            "fee": [1.5, 2.5],
        }
    )


def test_the_log_stores_numeric_inputs_as_blobs_and_reads_them_back(registry) -> None:
    from sklearn.dummy import DummyClassifier

    numbers = pd.DataFrame(
        np.random.default_rng(0).random((50, 30)), columns=[f"c{i}" for i in range(30)]
    )
    numbers.iloc[3, 4] = np.nan
    register(registry, DummyClassifier().fit(numbers.fillna(0), np.arange(50) % 2), "m")
    log = PredictionLog(registry.another_connection(), flush_seconds=3600).start()
    for request_id, inputs in (("numbers", numbers), ("text", pd.DataFrame({"plan": ["a"]}))):
        log.submit(PredictionRecord(request_id, 1, "served", "m@1", len(inputs), inputs,
                                    np.zeros(len(inputs), dtype=np.int64), 1.0, 0.0))  # fmt: skip
    log.close()

    kinds = dict(registry.query_tuples("SELECT request_id, typeof(inputs) FROM predictions", []))
    assert kinds == {"numbers": "blob", "text": "text"}
    logged = read_predictions(registry).set_index("request_id")["inputs"]
    expected = {name: numbers[name].tolist() for name in numbers}
    expected["c4"][3] = None
    assert logged["numbers"] == expected and logged["text"] == {"plan": ["a"]}


# -- the writer process's form of the inputs ----------------------------------------------------


def through_the_pipe(records: list[PredictionRecord]) -> list[PredictionRecord]:
    """``records`` as the log's writer process receives them: pickled by the server's
    sender into a message, read back, made records again (each model loaded as itself)."""
    models = {record.model_version_id: record.model for record in records}
    pipe = io.BytesIO()
    write_message(pipe, ("records", [record_wire(record) for record in records], True))
    pipe.seek(0)
    message = read_message(pipe)
    assert message is not None
    return records_from_wire(message[1], models.__getitem__)


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame({"age": [30.0, np.nan, np.inf], "fee": [1.5, 2.5, -np.inf]}),
        pd.DataFrame({"age": np.array([30, 41, -2], dtype=np.int64), "n": [1, 2, 3]}),
        pd.DataFrame({"yes": [True, False, True], "no": [False, False, True]}),
        pd.DataFrame(np.arange(6.0).reshape(3, 2)),
        pd.DataFrame({"x": np.array([0.1, 0.2], dtype=np.float32)}),
        pd.DataFrame([[1.0, 2.0]], columns=["x", "x"]),
    ],
    ids=["float64", "int64", "bool", "unnamed columns", "float32", "repeated name"],
)
def test_the_writer_stores_numbers_it_never_made_a_frame_of_as_the_server_would(
    frame: pd.DataFrame,
) -> None:
    (received,) = through_the_pipe([record(0, frame)])

    assert isinstance(received.inputs, NumericInputs)  # no DataFrame built in the writer
    assert stored_columns(received.inputs) == stored_columns(frame)
    pd.testing.assert_frame_equal(received.inputs.frame(), frame)


def test_requests_sharing_a_column_index_have_its_labels_read_once() -> None:
    index = pd.Index([f"c{i}" for i in range(30)])
    frames = [pd.DataFrame(np.full((2, 30), float(n)), columns=index) for n in range(3)]

    received = through_the_pipe([record(n, frame) for n, frame in enumerate(frames)])

    labels = [one.inputs.labels for one in received]
    assert labels[0] == tuple(index) and labels[0] is labels[1] is labels[2]


def test_the_writer_scores_its_form_of_the_inputs_in_one_call_as_the_frames_were(
    cancer,
) -> None:
    features, pipeline = cancer
    model = CountedPipeline(pipeline)
    requests = [features.iloc[start : start + 100] for start in range(0, 400, 100)]
    records = [record(n, rows, model) for n, rows in enumerate(requests)]

    received = through_the_pipe(records)
    scores = batch_scores(received)

    assert all(isinstance(one.inputs, NumericInputs) for one in received)
    assert model.calls == [400]
    # equal to the last bits a different memory order of the same numbers may change
    for ours, as_frames in zip(scores, batch_scores(records)):
        assert ours is not None and as_frames is not None
        np.testing.assert_allclose(json.loads(ours), json.loads(as_frames), rtol=1e-12)


def test_the_writers_form_beside_a_frame_of_text_is_scored_record_by_record(cancer) -> None:
    features, pipeline = cancer
    model = CountedPipeline(pipeline)
    numbers = features.iloc[:10]
    text = numbers.astype(str)  # a frame the writer receives as it is

    received = through_the_pipe([record(0, numbers, model), record(1, text, model)])
    scores = batch_scores(received)

    assert isinstance(received[0].inputs, NumericInputs)
    assert isinstance(received[1].inputs, pd.DataFrame)
    assert scores[0] is not None
    np.testing.assert_allclose(json.loads(scores[0]), pipeline.predict_proba(numbers)[:, 1])
