"""Worker of ``bench/serving.py``: builds each tool's copy of the model, times the log's submit.

    python _serving_worker.py prepare-ours DIR OUT     # fit, register as cancer@champion in DIR/registry
    python _serving_worker.py prepare-mlflow DIR OUT   # fit, mlflow.sklearn.save_model to DIR/mlflow-model
    python _serving_worker.py log-cost DIR N OUT        # PredictionLog.submit, in-process, per request

Both ``prepare`` commands fit the same pipeline (standard scaling, then a logistic
regression, lbfgs: deterministic) on scikit-learn's breast-cancer data and write what the
model predicts for the request rows, so the driver can check that both servers answer
the same. ``prepare-ours`` also writes the request rows (``DIR/rows.json``): the driver
has only the standard library.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from _harness import write_worker_result

MODEL_NAME = "cancer"
REQUEST_ROWS = 100  # the largest request; smaller ones are its first rows
WARMUP_RECORDS = 100  # logged before the clock, so that the writer has started and loaded the model


def fitted_model() -> tuple[Any, Any]:
    """The model both servers serve, and its data (features as a DataFrame)."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    features, target = load_breast_cancer(return_X_y=True, as_frame=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    return model.fit(features, target), features


def request_rows(features: Any) -> Any:
    """The rows requests send: a fixed spread over the data, both classes present."""
    return features.iloc[:: len(features) // REQUEST_ROWS][:REQUEST_ROWS]


def prepare_ours(directory: Path) -> dict[str, Any]:
    import json

    import sklearn

    from jupyter_mlops.models.registering import register
    from jupyter_mlops.registry.connection import Registry

    model, features = fitted_model()
    rows = request_rows(features)
    registry = Registry.init(directory / "registry")
    version = register(registry, model, MODEL_NAME, alias="champion")
    registry_path = str(registry.path)
    registry.close()
    (directory / "rows.json").write_text(
        json.dumps({"columns": list(rows.columns), "data": rows.to_numpy().tolist()})
    )
    return {
        "ref": f"{MODEL_NAME}@champion",
        "registry": registry_path,
        "version": getattr(version, "version", None),
        "predictions": [int(v) for v in model.predict(rows)],
        "sklearn": sklearn.__version__,
    }


def prepare_mlflow(directory: Path) -> dict[str, Any]:
    import mlflow.sklearn
    import sklearn
    from mlflow.models import infer_signature

    model, features = fitted_model()
    rows = request_rows(features)
    mlflow.sklearn.save_model(
        model,
        str(directory / "mlflow-model"),
        signature=infer_signature(features, model.predict(features)),
    )
    return {
        "predictions": [int(v) for v in model.predict(rows)],
        "sklearn": sklearn.__version__,
        "mlflow": mlflow.__version__,
    }


def logged(
    request_id: str, version_id: int, n_rows: int, inputs: Any, outputs: Any, model: Any
) -> Any:
    """The record a server's runtime makes of one request it answered."""
    from jupyter_mlops.serving.prediction_log import PredictionRecord

    return PredictionRecord(
        request_id=request_id,
        model_version_id=version_id,
        role="served",
        served_as=f"{MODEL_NAME}@champion",
        n_rows=n_rows,
        inputs=inputs,
        outputs=outputs,
        latency_ms=1.0,
        served_at=time.time(),
        model=model,
    )


def log_cost(directory: Path, submits: int) -> dict[str, Any]:
    """What logging one request costs the server's process, as its log works: building the
    record and ``PredictionLogProcess.submit`` (a deque append) in the request's own thread,
    timed in batches of 1,000; the processor time the server's process then spends per
    record handing it to the writer process (pickled in batches, written to a pipe); and the
    writer process's wall time per record (JSON encoding, the scores of the model that
    answered, which it loads from the registry, the SQLite insert)."""
    import json

    import numpy as np
    import pandas as pd

    from jupyter_mlops.registry.connection import Registry
    from jupyter_mlops.serving.log_process import PredictionLogProcess

    request = json.loads((directory / "rows.json").read_text())  # prepare-ours wrote it
    features = pd.DataFrame(request["data"], columns=request["columns"])
    model, _ = fitted_model()  # the model the server answers with, for the scores
    registry = Registry.init(directory / "registry")  # opens the one prepare-ours made
    version_id = registry.query_tuples("SELECT id FROM model_versions LIMIT 1", [])[0][0]
    result: dict[str, Any] = {}
    for n_rows in (1, REQUEST_ROWS):
        inputs = features.iloc[:n_rows]
        outputs = np.zeros(n_rows, dtype=np.int64)
        log = PredictionLogProcess(registry.path, busy_timeout=0.5, flush_seconds=3600)
        log.start()
        request = (version_id, n_rows, inputs, outputs, model)

        # a warm-up: the writer process starts and loads the model for the scores once,
        # which is not what a record costs
        for i in range(WARMUP_RECORDS):
            log.submit(logged(f"{n_rows}-warm-up-{i}", *request))
        if not log.flush(timeout=120):
            raise SystemExit("The log's writer did not take the warm-up records in 120 s")
        batch_seconds = []
        for batch in range(submits // 1000):
            started = time.perf_counter()
            for i in range(1000):
                log.submit(logged(f"{n_rows}-{batch}-{i}", *request))
            batch_seconds.append((time.perf_counter() - started) / 1000)
        started, cpu_started = time.perf_counter(), time.process_time()
        flushed = log.flush(timeout=600)
        written_seconds = time.perf_counter() - started
        # this process meanwhile: the sender pickling and writing, the flush's polling
        handover_seconds = time.process_time() - cpu_started
        log.close()
        if not flushed or log.written != submits + WARMUP_RECORDS:
            raise SystemExit(f"The log wrote {log.written} of {submits} records of {n_rows} rows")
        result[str(n_rows)] = {
            "submit_seconds": batch_seconds,
            "writer_seconds_per_record": written_seconds / submits,
            "handover_cpu_seconds_per_record": handover_seconds / submits,
            "records": submits,
        }
    registry.close()
    return result


def main(argv: list[str]) -> int:
    command, directory, out = argv[1], Path(argv[2]), argv[-1]
    if command == "prepare-ours":
        result = prepare_ours(directory)
    elif command == "prepare-mlflow":
        result = prepare_mlflow(directory)
    elif command == "log-cost":
        result = log_cost(directory, int(argv[3]))
    else:
        raise SystemExit(f"Unknown command {command!r}: prepare-ours, prepare-mlflow or log-cost")
    write_worker_result(out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
