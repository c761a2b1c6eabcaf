"""Workers of the teams benchmark: jupyter-mlops's push and import, and MLflow's own client
logging and reading the same runs, each run in its tool's venv.

The driver, ``bench/teams.py``, starts each worker in a fresh process::

    python bench/_teams_worker.py ours-record STORE EXPERIMENT RUNS STEPS OUT
    python bench/_teams_worker.py ours-push STORE URI RUNS STEPS first|again OUT
    python bench/_teams_worker.py ours-import STORE URI EXPERIMENT RUNS STEPS first|again OUT
    python bench/_teams_worker.py mlflow-log URI EXPERIMENT RUNS STEPS OUT
    python bench/_teams_worker.py mlflow-read URI EXPERIMENT RUNS STEPS OUT
    python bench/_teams_worker.py mlflow-describe URI EXPERIMENT [URI EXPERIMENT ...] OUT

Each side has an experiment of its own (``EXPERIMENT``): on a fresh server per side both are
``teams-bench``; on one borrowed server they get names of their own.

The content is the same seeded content for both tools (:func:`run_content`); each worker
checks the work it timed and raises when it was not done. Only the standard library is
imported at the top: the tools are imported inside the functions, before the clock.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path
from typing import Any

from _harness import write_worker_result


class Clock:
    """Wall-clock and this process's CPU seconds since :meth:`start`, as a figure's dict."""

    def start(self) -> Clock:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def read(self) -> dict[str, float]:
        return {"seconds": time.perf_counter() - self.wall, "cpu": time.process_time() - self.cpu}


SEED = 20261204
METRICS = ("loss", "accuracy")
TAGS_PER_RUN = 3
PARAMS_PER_RUN = 10
BASE_MS = 1_780_000_000_000  # a fixed start time, so both sides send the same timestamps


# -- the content, the same for both tools ----------------------------------------------------


def run_content(
    i: int, steps: int
) -> tuple[str, dict[str, str], dict[str, str], dict[str, list[float]]]:
    """Run ``i``: its name, 10 params, 3 tags and ``steps`` points of each of :data:`METRICS`."""
    rng = random.Random(SEED * 100_003 + i)
    params = {
        "lr": str(round(10 ** rng.uniform(-4, -1), 6)),
        "max_depth": str(rng.randint(2, 12)),
        "n_estimators": str(rng.choice((50, 100, 200, 400))),
        "optimizer": rng.choice(("adam", "sgd", "rmsprop")),
        "batch_size": str(rng.choice((32, 64, 128, 256))),
        "dropout": str(round(rng.uniform(0.0, 0.5), 3)),
        "weight_decay": str(round(10 ** rng.uniform(-6, -2), 8)),
        "scheduler": rng.choice(("cosine", "step", "none")),
        "warmup_steps": str(rng.choice((0, 100, 500))),
        "seed": str(i),
    }
    tags = {"team": "churn", "dataset": f"customers-v{i % 4}", "purpose": "sweep"}
    floor = rng.uniform(0.05, 0.4)
    loss = [floor + 2.0 / (1 + step) + rng.uniform(0, 0.02) for step in range(steps)]
    accuracy = [
        min(0.99, 0.5 + 0.45 * (1 - 1 / (1 + step)) + rng.uniform(0, 0.01)) for step in range(steps)
    ]
    assert len(params) == PARAMS_PER_RUN and len(tags) == TAGS_PER_RUN
    return f"run-{i:05d}", params, tags, {"loss": loss, "accuracy": accuracy}


# -- jupyter-mlops ----------------------------------------------------------------------------


def ours_record(store: Path, experiment: str, runs: int, steps: int) -> dict[str, Any]:
    """The runs recorded through the project's API, as a training script would."""
    import jupyter_mlops as mlops

    registry = mlops.Registry.init(store)
    started = time.perf_counter()
    for i in range(runs):
        name, params, tags, metrics = run_content(i, steps)
        with mlops.start_run(
            name, experiment=experiment, tags=tags, registry=registry, system_metrics=False
        ) as run:
            run.log_params(params)
            for step in range(steps):
                run.log({key: values[step] for key, values in metrics.items()}, step=step)
    elapsed = time.perf_counter() - started
    finished = registry.query_one("SELECT COUNT(*) FROM runs WHERE status = 'finished'")[0]
    points = registry.query_one("SELECT COUNT(*) FROM metrics")[0]
    assert finished == runs, f"{finished} of {runs} runs recorded"
    assert points == runs * steps * len(METRICS), f"{points} metric points recorded"
    return {"seconds": elapsed, "runs": finished, "points": points}


def ours_push(store: Path, uri: str, runs: int, steps: int, again: bool) -> dict[str, Any]:
    """The first push to a fresh server, or (``again``) one after it that finds nothing new."""
    import jupyter_mlops as mlops
    from jupyter_mlops.sharing.mlflow_push import push

    registry = mlops.Registry.open(store / ".mlops" / "registry.db")
    clock = Clock().start()
    report = push(registry, uri)
    figures = clock.read()
    if again:
        assert not report.changed_anything and not report.sent, report.describe()
    else:
        assert report.created.get("runs") == runs, report.describe()
        assert report.sent.get("metric points") == runs * steps * len(METRICS), report.describe()
    assert not report.unmappable, report.describe()
    return {"first": figures, "sent": dict(report.sent), "report": report.describe()}


def ours_import(
    store: Path, uri: str, experiment: str, runs: int, steps: int, again: bool
) -> dict[str, Any]:
    """An import of the pushed experiment into a fresh registry, or (``again``) a re-import
    into it that finds nothing new."""
    import jupyter_mlops as mlops
    from jupyter_mlops.sharing.mlflow_import import import_from_mlflow

    registry = mlops.Registry.init(store)
    clock = Clock().start()
    report = import_from_mlflow(registry, uri, experiments=[experiment])
    figures = clock.read()
    if again:
        assert not report.changed, report.summary()
    else:
        assert report.counts["runs"].added == runs, report.summary()
    points = registry.query_one("SELECT COUNT(*) FROM metrics")[0]
    assert points == runs * steps * len(METRICS), f"{points} metric points imported"
    params = registry.query_one("SELECT COUNT(*) FROM params")[0]
    assert params >= runs * PARAMS_PER_RUN, f"{params} params imported"
    return {"first": figures, "points": points, "report": report.summary()}


# -- MLflow's own client ----------------------------------------------------------------------


def mlflow_log(uri: str, experiment: str, runs: int, steps: int) -> dict[str, Any]:
    """What a user logging the same runs efficiently does: ``log_batch`` once per run."""
    import mlflow
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param

    client = MlflowClient(uri)
    contents = [run_content(i, steps) for i in range(runs)]  # made before the clock
    clock = Clock().start()
    experiment_id = client.create_experiment(experiment)
    for name, params, tags, metrics in contents:
        run = client.create_run(experiment_id, run_name=name, tags=tags)
        points = [
            Metric(key, value, BASE_MS + step, step)
            for key, values in metrics.items()
            for step, value in enumerate(values)
        ]
        client.log_batch(
            run.info.run_id, metrics=points, params=[Param(k, v) for k, v in params.items()]
        )
        client.set_terminated(run.info.run_id)
    figures = clock.read()
    finished = client.search_runs([experiment_id], max_results=runs + 10)
    assert len(finished) == runs, f"{len(finished)} of {runs} runs logged"
    assert all(r.info.status == "FINISHED" for r in finished)
    return {"first": figures, "mlflow": mlflow.__version__}


def mlflow_read(uri: str, experiment: str, runs: int, steps: int) -> dict[str, Any]:
    """The import's peer: every run of the experiment and every metric's full history."""
    from mlflow import MlflowClient

    client = MlflowClient(uri)
    clock = Clock().start()
    found_experiment = client.get_experiment_by_name(experiment)
    assert found_experiment is not None, f"no experiment {experiment} on {uri}"
    found, token = [], None
    while True:
        page = client.search_runs(
            [found_experiment.experiment_id], max_results=1000, page_token=token
        )
        found.extend(page)
        token = page.token
        if not token:
            break
    histories = {
        (run.info.run_id, key): client.get_metric_history(run.info.run_id, key)
        for run in found
        for key in run.data.metrics
    }
    figures = clock.read()
    assert len(found) == runs, f"{len(found)} of {runs} runs read"
    points = sum(len(history) for history in histories.values())
    assert points == runs * steps * len(METRICS), f"{points} metric points read"
    return {"first": figures, "points": points}


def mlflow_describe(places: list[tuple[str, str]]) -> dict[str, Any]:
    """What one run of each ``(uri, experiment)`` holds (params, tags, metric keys, files),
    as a check that both sides sent the same content."""
    from mlflow import MlflowClient

    described = []
    for uri, experiment in places:
        client = MlflowClient(uri)
        found = client.get_experiment_by_name(experiment)
        assert found is not None, f"no experiment {experiment} on {uri}"
        run = client.search_runs([found.experiment_id], max_results=1)[0]
        described.append(
            {
                "params": len(run.data.params),
                "tags": sorted(run.data.tags),
                "metrics": sorted(run.data.metrics),
                "files": [item.path for item in client.list_artifacts(run.info.run_id)],
            }
        )
    return {"runs": described}


def main(argv: list[str]) -> None:
    kind, *args, out = argv
    if kind == "ours-record":
        result = ours_record(Path(args[0]), args[1], int(args[2]), int(args[3]))
    elif kind == "ours-push":
        again = args[4] == "again"
        result = ours_push(Path(args[0]), args[1], int(args[2]), int(args[3]), again)
    elif kind == "ours-import":
        again = args[5] == "again"
        result = ours_import(Path(args[0]), args[1], args[2], int(args[3]), int(args[4]), again)
    elif kind == "mlflow-log":
        result = mlflow_log(args[0], args[1], int(args[2]), int(args[3]))
    elif kind == "mlflow-read":
        result = mlflow_read(args[0], args[1], int(args[2]), int(args[3]))
    elif kind == "mlflow-describe":
        result = mlflow_describe(list(zip(args[::2], args[1::2], strict=True)))
    else:
        raise SystemExit(f"unknown worker {kind!r}")
    write_worker_result(out, result)


if __name__ == "__main__":
    main(sys.argv[1:])
