"""Serving's core, without a server: a request's columns checked against the signature,
the served version swapped when its alias moves (and a changed file refused), the plan
checked before a server starts, the prediction log written off the request path while
the registry is locked, and the shadow scoring the same rows for the log only."""

from __future__ import annotations

import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.tree import DecisionTreeClassifier

import jupyter_mlops
from jupyter_mlops.errors import ArtifactIntegrityError, InvalidInputError, NotFoundError
from jupyter_mlops.gates.evaluation import promote
from jupyter_mlops.models.refs import parse_ref
from jupyter_mlops.models.registering import register
from jupyter_mlops.models.signatures import ModelSignature, SignatureColumn
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.registry.schema import MIGRATIONS
from jupyter_mlops.serving.inputs import rows_for_signature
from jupyter_mlops.serving.plan import ServePlan, check_plan, free_port
from jupyter_mlops.serving.prediction_log import (
    PredictionLog,
    PredictionRecord,
    read_predictions,
)
from jupyter_mlops.serving.scoring import RequestScorer
from jupyter_mlops.serving.served_version import ServedModel


@pytest.fixture(scope="module")
def cancer() -> tuple[pd.DataFrame, pd.Series]:
    features, target = load_breast_cancer(return_X_y=True, as_frame=True)
    return features, target


@pytest.fixture
def connection(registry: Registry) -> Iterator[Callable[[], Registry]]:
    """Connections of their own to the registry (what a server's threads use), closed when
    the test ends."""
    made: list[Registry] = []

    def another() -> Registry:
        made.append(registry.another_connection())
        return made[-1]

    yield another
    for opened in made:
        opened.close()


@pytest.fixture
def two_versions(registry: Registry, cancer) -> tuple[object, object]:
    """cancer@1 (champion, a stump) and cancer@2 (challenger, a deeper tree)."""
    features, target = cancer
    stump = DecisionTreeClassifier(max_depth=1, random_state=0).fit(features, target)
    deeper = DecisionTreeClassifier(max_depth=6, random_state=0).fit(features, target)
    register(registry, stump, "cancer", alias="champion")
    register(registry, deeper, "cancer", alias="challenger")
    return stump, deeper


def tamper(registry: Registry, ref: str) -> Path:
    """Change one byte of the stored file of ``ref``; return its path."""
    from jupyter_mlops.models.versions import resolve_version

    path = registry.artifacts.path_of(resolve_version(registry, ref).artifact_sha256)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.chmod(0o644)
    path.write_bytes(bytes(data))
    return path


# -- the request's columns against the signature -------------------------------------------

SIGNATURE = ModelSignature(
    (
        SignatureColumn("age", "int64"),
        SignatureColumn("plan", "object"),
        SignatureColumn("fee", "float64"),
    ),
    3,
    "given",
)


def test_rows_for_signature_orders_the_columns_and_drops_the_others() -> None:
    frame = pd.DataFrame({"fee": [1.5], "extra": [0], "plan": ["a"], "age": [30]})

    rows = rows_for_signature(SIGNATURE, frame, model_ref="churn@3")

    assert list(rows.columns) == ["age", "plan", "fee"]
    assert rows.iloc[0].tolist() == [30, "a", 1.5]


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"plan": ["a"], "fee": [1.0]}), 'churn@3 lacks the input column "age"'),
        (pd.DataFrame({"plan": ["a"]}), 'lacks the input columns "age", "fee"'),
        (
            pd.DataFrame({"age": ["thirty"], "plan": ["a"], "fee": [1.0]}),
            "The input column \"age\" of the request to churn@3 holds 'thirty', not a number",
        ),
    ],
)
def test_rows_for_signature_names_the_column_that_is_wrong(frame, message) -> None:
    with pytest.raises(InvalidInputError, match=message) as caught:
        rows_for_signature(SIGNATURE, frame, model_ref="churn@3")

    assert caught.value.hint


def test_rows_for_signature_reads_numbers_sent_as_text() -> None:
    frame = pd.DataFrame({"age": ["30"], "plan": ["a"], "fee": ["2.5"]})

    rows = rows_for_signature(SIGNATURE, frame, model_ref="churn@3")

    assert rows["age"].dtype.kind in "if" and rows["fee"].iloc[0] == 2.5


def test_rows_for_signature_checks_the_width_of_an_unnamed_signature() -> None:
    signature = ModelSignature((), 4, "n_features_in_")

    with pytest.raises(InvalidInputError, match="churn@1 takes 4 input columns, the request has 2"):
        rows_for_signature(signature, pd.DataFrame([[1, 2]]), model_ref="churn@1")


# -- the served version --------------------------------------------------------------------


def test_served_model_swaps_in_the_version_the_alias_moves_to(
    registry, connection, two_versions
) -> None:
    served = ServedModel(connection(), parse_ref("cancer@champion"))
    before = served.current

    assert served.refresh() is None
    promote(registry, "cancer@2", "champion")
    after = served.refresh()

    assert before.ref == "cancer@1" and after is not None and after.ref == "cancer@2"
    assert served.current is after
    assert before.model is not after.model  # a request holding `before` finishes on it


def test_served_model_refuses_a_changed_file_and_keeps_serving(
    registry, connection, two_versions, caplog
) -> None:
    served = ServedModel(connection(), parse_ref("cancer@champion"))
    tamper(registry, "cancer@2")
    promote(registry, "cancer@2", "champion")

    with caplog.at_level("ERROR", logger="jupyter_mlops.serving"):
        assert served.refresh() is None
        assert served.refresh() is None  # said once, not at every look

    assert served.current.ref == "cancer@1"
    refusals = [r.getMessage() for r in caplog.records if "cancer@2" in r.getMessage()]
    assert len(refusals) == 1
    assert (
        "does not match the hash recorded" in refusals[0]
        and "serving cancer@1 still" in refusals[0]
    )


def test_a_changed_file_is_refused_at_start_naming_the_version(registry, two_versions) -> None:
    path = tamper(registry, "cancer@1")

    with pytest.raises(
        ArtifactIntegrityError, match="The stored file of cancer@1 does not match"
    ) as caught:
        ServedModel(registry, parse_ref("cancer@champion"))

    assert str(path) in (caught.value.hint or "")


# -- the plan ----------------------------------------------------------------------------------


def test_check_plan_finds_the_versions_and_refuses_a_changed_file(registry, two_versions) -> None:
    plan = ServePlan(
        str(registry.path), "cancer@champion", shadow="cancer@challenger", port=free_port()
    )

    served, shadow = check_plan(registry, plan)
    assert (served.ref, shadow.ref if shadow else None) == ("cancer@1", "cancer@2")

    tamper(registry, "cancer@2")
    with pytest.raises(ArtifactIntegrityError, match="cancer@2"):
        check_plan(registry, plan)


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"ref": "cancer@staging"}, NotFoundError, 'no alias "staging"'),
        ({"ref": "nothing@champion"}, NotFoundError, 'No model named "nothing"'),
        ({"shadow": "other@1"}, InvalidInputError, 'not a version of "cancer"'),
        ({"sample_rate": 1.5}, InvalidInputError, "sample rate 1.5 is not between 0 and 1"),
    ],
)
def test_check_plan_refuses_what_cannot_be_served(
    registry, two_versions, changes, error, message
) -> None:
    plan = ServePlan(**{"registry_path": str(registry.path), "ref": "cancer@champion",
                        "port": free_port(), **changes})  # fmt: skip

    with pytest.raises(error, match=message):
        check_plan(registry, plan)


def test_check_plan_refuses_a_port_in_use(registry, two_versions) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        plan = ServePlan(str(registry.path), "cancer@champion", port=port)

        with pytest.raises(InvalidInputError, match=f"Cannot serve on 127.0.0.1:{port} \\(HTTP\\)"):
            check_plan(registry, plan)


# -- the prediction log -------------------------------------------------------------------------


def record(version_id: int, request_id: str, *, inputs: object = None) -> PredictionRecord:
    return PredictionRecord(
        request_id=request_id,
        model_version_id=version_id,
        role="served",
        served_as="cancer@champion",
        n_rows=2,
        inputs=inputs,
        outputs=np.array([1, 0]),
        latency_ms=0.5,
        served_at=time.time(),
    )


def test_prediction_log_writes_inputs_outputs_and_version(
    registry, connection, two_versions
) -> None:
    log = PredictionLog(registry.another_connection(), flush_seconds=0.01).start()
    inputs = pd.DataFrame({"age": [30, 41], "fee": [np.nan, 2.5], "plan": ["a", None]})

    log.submit(record(1, "r1", inputs=inputs))
    log.submit(record(1, "r2"))
    log.close()

    logged = jupyter_mlops.predictions("cancer")  # the session's registry, as in a notebook
    assert logged["request_id"].tolist() == ["r1", "r2"]
    assert logged["version"].tolist() == [1, 1]
    assert logged["outputs"].tolist() == [[1, 0], [1, 0]]
    assert logged["inputs"].iloc[0] == {"age": [30, 41], "fee": [None, 2.5], "plan": ["a", None]}
    assert logged["inputs"].iloc[1] is None
    # since: unix seconds or a datetime, the requests served from then on
    second = logged["served_at"].iloc[1]
    assert jupyter_mlops.predictions("cancer", since=second)["request_id"].tolist() == [
        r for r, t in zip(logged["request_id"], logged["served_at"]) if t >= second
    ]
    tomorrow = datetime.now(timezone.utc) + timedelta(days=1)
    assert jupyter_mlops.predictions("cancer", since=tomorrow).empty


def test_the_scorer_logs_a_binary_classifiers_scores_for_sampled_requests(
    registry, connection, two_versions, cancer
) -> None:
    stump, _ = two_versions
    features = cancer[0]
    log = PredictionLog(connection(), flush_seconds=0.01).start()
    scorer = RequestScorer(ServedModel(connection(), parse_ref("cancer@champion")), log=log)
    batch = features.iloc[:20]
    scorer.record("kept", batch, scorer.score(batch), latency_ms=1.0)
    scorer.sample_rate = 0.0
    scorer.record("not-sampled", batch, scorer.score(batch), latency_ms=1.0)
    log.close()

    logged = read_predictions(registry).set_index("request_id")
    np.testing.assert_allclose(logged.loc["kept", "scores"], stump.predict_proba(batch)[:, 1])
    assert (
        logged.loc["not-sampled", "scores"] is None and logged.loc["not-sampled", "inputs"] is None
    )


def test_prediction_log_never_blocks_while_the_registry_is_locked(registry, two_versions) -> None:
    log = PredictionLog(registry.another_connection(busy_timeout=0.05), flush_seconds=0.01).start()
    blocker = sqlite3.connect(registry.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        waits = []
        for number in range(300):
            started = time.perf_counter()
            log.submit(record(1, f"r{number}"))
            waits.append(time.perf_counter() - started)
            time.sleep(0.001)
        time.sleep(0.3)
        assert log.failed_writes >= 1 and log.pending == 300
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert log.flush(timeout=10)
    log.close()

    # a deque append: a submit that waited for the lock would take the busy timeout (0.05 s)
    # or more, every one of them; the slowest few can be the machine's load (other suites
    # run beside this one, and a thread may wait for a core that long), so the bound is on
    # the 95th percentile
    waits.sort()
    assert waits[len(waits) // 2] < 0.005 and waits[int(len(waits) * 0.95)] < 0.04, waits[-10:]
    assert read_predictions(registry)["request_id"].tolist() == [f"r{n}" for n in range(300)]


def test_prediction_log_bounds_what_waits(registry, connection, two_versions) -> None:
    log = PredictionLog(connection(), max_pending=5)  # never started

    for number in range(8):
        log.submit(record(1, f"r{number}"))

    assert log.pending == 5 and log.dropped == 3


# -- scoring and the shadow ----------------------------------------------------------------------


def test_scorer_answers_with_the_served_version_and_logs_the_shadow(
    registry, connection, two_versions, cancer
) -> None:
    stump, deeper = two_versions
    features = cancer[0]
    log = PredictionLog(registry.another_connection(), flush_seconds=0.01).start()
    scorer = RequestScorer(
        ServedModel(connection(), parse_ref("cancer@champion")),
        log=log,
        shadow=ServedModel(connection(), parse_ref("cancer@challenger")),
        sample_rate=0.0,
    )
    batches = [features.iloc[i : i + 40] for i in range(0, 200, 40)]
    for number, batch in enumerate(batches):
        scored = scorer.score(batch)
        np.testing.assert_array_equal(scored.outputs, stump.predict(batch))
        scorer.record(f"r{number}", batch, scored, latency_ms=1.0)
    assert scorer.wait_for_shadow()
    scorer.close()
    log.close()

    logged = read_predictions(registry, "cancer")
    served = logged[logged["role"] == "served"]
    shadow = logged[logged["role"] == "shadow"]
    assert (
        sorted(shadow["request_id"]) == sorted(served["request_id"]) == [f"r{n}" for n in range(5)]
    )
    assert set(served["version"]) == {1} and set(shadow["version"]) == {2}
    for number, batch in enumerate(batches):
        row = shadow[shadow["request_id"] == f"r{number}"].iloc[0]
        assert row["outputs"] == deeper.predict(batch).tolist()
    assert logged["inputs"].isna().all()  # a sample rate of 0 keeps no inputs


def test_predictions_table_comes_with_the_schema(registry) -> None:
    columns = [row[1] for row in registry.query("PRAGMA table_info(predictions)")]

    assert columns == [
        "id", "request_id", "model_version_id", "role", "served_as", "n_rows", "inputs",
        "outputs", "scores", "latency_ms", "served_at",
    ]  # fmt: skip


def test_concurrent_scoring_during_a_move_never_mixes_versions(
    registry, connection, two_versions, cancer
) -> None:
    stump, deeper = two_versions
    features = cancer[0].iloc[:50]
    served = ServedModel(connection(), parse_ref("cancer@champion"))
    scorer = RequestScorer(served)
    answers: list[tuple[str, list[int]]] = []
    stop = threading.Event()

    def client() -> None:
        while not stop.is_set():
            scored = scorer.score(features)
            answers.append((scored.loaded.ref, scored.outputs.tolist()))

    thread = threading.Thread(target=client)
    thread.start()
    time.sleep(0.05)
    promote(registry, "cancer@2", "champion")
    served.refresh()
    time.sleep(0.05)
    stop.set()
    thread.join()

    expected = {
        "cancer@1": stump.predict(features).tolist(),
        "cancer@2": deeper.predict(features).tolist(),
    }
    assert {ref for ref, _ in answers} == {"cancer@1", "cancer@2"}
    assert all(outputs == expected[ref] for ref, outputs in answers)
    assert answers[-1][0] == "cancer@2"


# -- reading a V2 request (MLServer's types) ---------------------------------------------------


def v2_request(inputs: list[dict[str, object]]) -> object:
    types = pytest.importorskip("mlserver.types", reason="the serve extra is not installed")
    return types.InferenceRequest.model_validate({"inputs": inputs})


def test_request_columns_reads_numbers_text_and_a_matrix() -> None:
    request = v2_request([
        {"name": "age", "shape": [2], "datatype": "INT64", "data": [30, 41]},
        {"name": "plan", "shape": [2, 1], "datatype": "BYTES", "data": ["a", "b"]},
        {"name": "fee", "shape": [2], "datatype": "FP64", "data": [1.5, 2.5]},
    ])  # fmt: skip
    from jupyter_mlops.serving.runtime import request_columns

    rows = rows_for_signature(SIGNATURE, request_columns(request, SIGNATURE), model_ref="c@1")

    assert rows.to_dict(orient="list") == {"age": [30, 41], "plan": ["a", "b"], "fee": [1.5, 2.5]}
    matrix = v2_request([{"name": "x", "shape": [1, 3], "datatype": "FP64", "data": [1, 2, 3]}])
    numeric = ModelSignature(tuple(SignatureColumn(n, "float64") for n in "abc"), 3, "given")
    assert request_columns(matrix, numeric).keys() == {"a", "b", "c"}


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        (
            [{"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [1, 2]}],
            'The input "x" has 2 columns, the model takes 3',
        ),
        (
            [
                {"name": "age", "shape": [2], "datatype": "INT64", "data": [1, 2]},
                {"name": "fee", "shape": [3], "datatype": "FP64", "data": [1, 2, 3]},
            ],
            'The input "fee" has 3 values, the others 2',
        ),
    ],
)
def test_request_columns_refuses_inputs_that_are_not_rows(inputs, message) -> None:
    request = v2_request(inputs)
    from jupyter_mlops.serving.runtime import request_columns

    with pytest.raises(InvalidInputError, match=message):
        request_columns(request, SIGNATURE)


def test_a_registry_from_before_the_prediction_log_gets_it_when_opened(tmp_path: Path) -> None:
    older = Registry.init(tmp_path / "older")
    older.conn.executescript(
        "DROP TABLE predictions; DROP TABLE prediction_labels;"
        " DELETE FROM schema_migrations WHERE name = '0014_predictions';"
        f" PRAGMA user_version = {len(MIGRATIONS) - 1};"
    )
    older.close()

    reopened = Registry.open(tmp_path / "older" / ".mlops" / "registry.db")
    tables = {
        row[0] for row in reopened.query("SELECT name FROM sqlite_master WHERE type = 'table'")
    }
    reopened.close()

    assert {"predictions", "prediction_labels"} <= tables


def test_serve_without_mlserver_says_how_to_install_it(registry, two_versions, monkeypatch) -> None:
    import sys

    from jupyter_mlops.cli import main

    from .conftest import cli_runner

    monkeypatch.setitem(sys.modules, "mlserver", None)  # as where the serve extra is missing
    monkeypatch.delitem(sys.modules, "jupyter_mlops.serving.runtime", raising=False)

    result = cli_runner().invoke(
        main, ["serve", "cancer@champion", "--registry", str(registry.path)]
    )

    assert result.exit_code == 1
    assert "Serving needs MLServer, which is not installed" in result.stderr
    assert "pip install 'jupyter-mlops[serve]'" in result.stderr
