"""Workers of the tracking benchmark: one function per tool and workload, run in its venv.

The driver, ``bench/tracking.py``, starts each worker in a fresh process with the Python
of the tool's venv::

    python bench/_tracking_workers.py ours best_run --store DIR --sizes JSON --out FILE

The functions for the three tools (jupyter-mlops, MLflow, trackio) sit next to each other
and have the same shape, so the workloads can be compared line by line; the data is the
same seeded data for all of them.
Each function checks the work it timed and raises when it was not done. Only the
standard library is imported at the top: the tools are imported inside the functions.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _harness import Timing, repeat_timed, write_worker_result

EXPERIMENT = "bench"
POPULATION_EXPERIMENT = "population"
SEED = 20240611


@dataclass(frozen=True)
class Sizes:
    """How much work each workload does; the same for every tool."""

    points_per_cell: int
    cells: int
    warmup_points: int
    runs_timed: int
    population: int
    query_budget_seconds: float
    open_repeats: int
    live_seconds: float = 10.0  # how long the live loop logs (log_live)


# -- the data, the same for every tool -----------------------------------------------------------


def point_values(count: int, seed: int) -> list[float]:
    """The metric values a training loop logs (seeded)."""
    rng = random.Random(seed)
    return [rng.random() for _ in range(count)]


def run_params(i: int, rng: random.Random) -> dict[str, Any]:
    return {
        "lr": round(10 ** rng.uniform(-4, -1), 6),
        "max_depth": rng.randint(2, 12),
        "n_estimators": rng.choice((50, 100, 200, 400)),
        "optimizer": rng.choice(("adam", "sgd", "rmsprop")),
        "seed": i,
    }


def run_metrics(rng: random.Random) -> dict[str, float]:
    return {
        "accuracy": rng.uniform(0.5, 0.99),
        "loss": rng.uniform(0.01, 2.0),
        "f1": rng.uniform(0.4, 0.98),
    }


def population_rows(count: int, seed: int) -> list[tuple[str, dict[str, Any], dict[str, float]]]:
    """``count`` runs as (name, 5 params, 3 metrics), the same on every call with ``seed``."""
    rng = random.Random(seed)
    return [(f"run-{i:05d}", run_params(i, rng), run_metrics(rng)) for i in range(count)]


def expected_best(count: int, seed: int) -> str:
    """The name of the run with the highest accuracy in the population."""
    return max(population_rows(count, seed), key=lambda row: row[2]["accuracy"])[0]


# -- workers: jupyter-mlops ----------------------------------------------------------------------


def ours_version() -> dict[str, str]:
    import sqlite3

    import jupyter_mlops

    return {"jupyter-mlops": jupyter_mlops.__version__, "sqlite": sqlite3.sqlite_version}


def ours_registry(store: Path) -> Any:
    from jupyter_mlops import Registry

    return Registry.init(store)


def ours_log_point(store: Path, sizes: Sizes, config: dict[str, Any]) -> dict[str, Any]:
    import jupyter_mlops as mlops

    registry = ours_registry(store)
    n = sizes.points_per_cell
    values = point_values(sizes.warmup_points + n * sizes.cells, SEED)
    calls, flushes = [], []
    with mlops.start_run("log-point", experiment=EXPERIMENT, registry=registry) as run:
        for step in range(sizes.warmup_points):
            mlops.log(accuracy=values[step], step=step)
        run.flush()
        for cell in range(sizes.cells):
            first = sizes.warmup_points + cell * n
            cell_values = values[first : first + n]
            started = time.perf_counter()
            for offset, value in enumerate(cell_values):
                mlops.log(accuracy=value, step=first + offset)
            logged = time.perf_counter()
            run.flush()
            flushed = time.perf_counter()
            calls.append(logged - started)
            flushes.append(flushed - logged)
    stored = registry.query_one("SELECT COUNT(*) FROM metrics WHERE key = 'accuracy'")[0]
    expected = sizes.warmup_points + n * sizes.cells
    assert stored == expected, f"{stored} points stored, {expected} logged"
    return point_figures(calls, flushes, n) | {"points_stored": stored}


def ours_log_live(store: Path, sizes: Sizes, config: dict[str, Any]) -> dict[str, Any]:
    """A training loop that logs for ``live_seconds`` with no cell end: the background
    flush (every second) writes the points while it runs, and system metrics are sampled
    every second. The call's cost includes what both take from the loop."""
    import jupyter_mlops as mlops

    registry = ours_registry(store)
    mlops.configure(flush_interval=1.0, system_metrics=True, system_metrics_interval=1.0)
    n = sizes.points_per_cell
    values = point_values(n, SEED)
    chunks, step = [], 0
    with mlops.start_run("log-live", experiment=EXPERIMENT, registry=registry) as run:
        deadline = time.perf_counter() + sizes.live_seconds
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            for value in values:
                mlops.log(accuracy=value, step=step)
                step += 1
            chunks.append(time.perf_counter() - started)
        written_live = registry.query_one(
            "SELECT COUNT(*) FROM metrics WHERE run_id = ? AND key = 'accuracy'", (run.id,)
        )[0]
        ending = time.perf_counter()
        run.end()
        ended = time.perf_counter() - ending
    stored = registry.query_one("SELECT COUNT(*) FROM metrics WHERE key = 'accuracy'")[0]
    system = registry.query_one("SELECT COUNT(*) FROM metrics WHERE key LIKE 'system/%'")[0]
    assert stored == step, f"{stored} points stored, {step} logged"
    assert written_live > 0, "the background flush wrote nothing while the loop ran"
    assert system > 0, "no system metrics were sampled"
    return {
        # the whole loop over its points: the stalls the background work causes count
        "call": sum(chunks) / step,
        "call_per_chunk": Timing(tuple(c / n for c in chunks)).to_dict(),
        "points": step,
        "written_while_logging": written_live,
        "system_points": system,
        "end": ended,
    }


def ours_one_run(store: Path, sizes: Sizes, config: dict[str, Any]) -> dict[str, Any]:
    import jupyter_mlops as mlops

    registry = ours_registry(store)
    rows = population_rows(sizes.runs_timed + 1, SEED)

    def one(name: str, params: dict[str, Any], metrics: dict[str, float]) -> None:
        with mlops.start_run(name, experiment=EXPERIMENT, registry=registry) as run:
            run.log_params(params)
            run.log(metrics)

    first = timed(lambda: one(*rows[0]))  # the first run in a process captures the environment
    samples = [timed(lambda row=row: one(*row)) for row in rows[1:]]
    finished = registry.query_one("SELECT COUNT(*) FROM runs WHERE status = 'finished'")[0]
    params = registry.query_one("SELECT COUNT(*) FROM params")[0]
    metrics = registry.query_one("SELECT COUNT(*) FROM metric_summaries")[0]
    assert (finished, params, metrics) == (len(rows), 5 * len(rows), 3 * len(rows)), (
        f"{finished} runs, {params} params, {metrics} metrics stored for {len(rows)} runs"
    )
    return {"run": Timing(tuple(samples)).to_dict(), "first_run": first}


def ours_population(store: Path, sizes: Sizes, config: dict[str, Any]) -> dict[str, Any]:
    import jupyter_mlops as mlops

    registry = ours_registry(store)
    rows = population_rows(sizes.population, SEED)
    started = time.perf_counter()
    for name, params, metrics in rows:
        with mlops.start_run(name, experiment=POPULATION_EXPERIMENT, registry=registry) as run:
            run.log_params(params)
            run.log(metrics)
    elapsed = time.perf_counter() - started
    finished = registry.query_one("SELECT COUNT(*) FROM runs WHERE status = 'finished'")[0]
    assert finished == sizes.population, f"{finished} of {sizes.population} runs stored"
    return {"setup": elapsed, "runs": finished, "method": "start_run + log_params + log, per run"}


def ours_best_run(store: Path, sizes: Sizes, config: dict[str, Any]) -> dict[str, Any]:
    from jupyter_mlops import Registry
    from jupyter_mlops.tracking.queries.listing import best_run

    registry = Registry.open(store / ".mlops" / "registry.db")
    timing, best = first_then_repeats(lambda: best_run(registry, "accuracy"), sizes)
    expected = expected_best(sizes.population, SEED)
    assert best.name == expected, f"best run {best.name}, expected {expected}"
    return timing | {"best": best.name}


def ours_runs_frame(store: Path, sizes: Sizes, config: dict[str, Any]) -> dict[str, Any]:
    import pandas  # noqa: F401  (in a notebook pandas is already imported)

    from jupyter_mlops import Registry
    from jupyter_mlops.tracking.queries.listing import runs_frame

    registry = Registry.open(store / ".mlops" / "registry.db")
    timing, frame = first_then_repeats(lambda: runs_frame(registry), sizes)
    check_frame(frame, sizes, ("params.lr", "metrics.accuracy"))
    return timing | {"shape": list(frame.shape)}


# -- workers: MLflow ----------------------------------------------------------------------------


def mlflow_version() -> dict[str, str]:
    import sqlite3

    import mlflow
    import sqlalchemy

    return {
        "mlflow": mlflow.__version__,
        "sqlalchemy": sqlalchemy.__version__,
        "sqlite": sqlite3.sqlite_version,
    }


def mlflow_uri(store: Path) -> str:
    return f"sqlite:///{store / 'mlflow.db'}"


def mlflow_client(store: Path) -> Any:
    import mlflow

    mlflow.set_tracking_uri(mlflow_uri(store))
    return mlflow.MlflowClient()


def mlflow_log_point(store: Path, sizes: Sizes, config: dict[str, Any]) -> dict[str, Any]:
    import mlflow

    client = mlflow_client(store)
    mlflow.set_experiment(EXPERIMENT)
    asynchronous = bool(config.get("asynchronous"))
    n = sizes.points_per_cell
    values = point_values(sizes.warmup_points + n * sizes.cells, SEED)
    calls, flushes = [], []
    with mlflow.start_run(run_name="log-point") as run:
        for step in range(sizes.warmup_points):
            mlflow.log_metric("accuracy", values[step], step=step, synchronous=not asynchronous)
        if asynchronous:
            mlflow.flush_async_logging()
        for cell in range(sizes.cells):
            first = sizes.warmup_points + cell * n
            cell_values = values[first : first + n]
            started = time.perf_counter()
            for offset, value in enumerate(cell_values):
                mlflow.log_metric(
                    "accuracy", value, step=first + offset, synchronous=not asynchronous
                )
            logged = time.perf_counter()
            if asynchronous:
                mlflow.flush_async_logging()
            flushed = time.perf_counter()
            calls.append(logged - started)
            flushes.append(flushed - logged)
    stored = len(client.get_metric_history(run.info.run_id, "accuracy"))
    expected = sizes.warmup_points + n * sizes.cells
    assert stored == expected, f"{stored} points stored, {expected} logged"
    return point_figures(calls, flushes, n) | {
        "points_stored": stored,
        "asynchronous": asynchronous,
    }


def mlflow_log_live(store: Path, sizes: Sizes, config: dict[str, Any]) -> dict[str, Any]:
    """The live loop as an MLflow user would write it: asynchronous logging (its own
    background writer) and ``log_system_metrics=True``, sampled every second."""
    import mlflow
    from mlflow.system_metrics import set_system_metrics_sampling_interval

    client = mlflow_client(store)
    mlflow.set_experiment(EXPERIMENT)
    set_system_metrics_sampling_interval(1)
    n = sizes.points_per_cell
    values = point_values(n, SEED)
    chunks, step = [], 0
    with mlflow.start_run(run_name="log-live", log_system_metrics=True) as run:
        deadline = time.perf_counter() + sizes.live_seconds
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            for value in values:
                mlflow.log_metric("accuracy", value, step=step, synchronous=False)
                step += 1
            chunks.append(time.perf_counter() - started)
        written_live = len(client.get_metric_history(run.info.run_id, "accuracy"))
        ending = time.perf_counter()
        mlflow.flush_async_logging()
    ended = time.perf_counter() - ending
    stored = len(client.get_metric_history(run.info.run_id, "accuracy"))
    system = sum(
        1 for key in client.get_run(run.info.run_id).data.metrics if key.startswith("system/")
    )
    assert stored == step, f"{stored} points stored, {step} logged"
    return {
        # the whole loop over its points: the stalls the background work causes count
        "call": sum(chunks) / step,
        "call_per_chunk": Timing(tuple(c / n for c in chunks)).to_dict(),
        "points": step,
        "written_while_logging": written_live,
        "system_keys": system,
        "end": ended,
    }


def mlflow_one_run(store: Path, sizes: Sizes, config: dict[str, Any]) -> dict[str, Any]:
    import mlflow

    client = mlflow_client(store)
    experiment_id = mlflow.set_experiment(EXPERIMENT).experiment_id
    rows = population_rows(sizes.runs_timed + 1, SEED)

    def one(name: str, params: dict[str, Any], metrics: dict[str, float]) -> None:
        with mlflow.start_run(run_name=name):
            mlflow.log_params(params)
            mlflow.log_metrics(metrics)

    first = timed(lambda: one(*rows[0]))
    samples = [timed(lambda row=row: one(*row)) for row in rows[1:]]
    runs = client.search_runs([experiment_id], max_results=len(rows) + 10)
    finished = [
        r
        for r in runs
        if r.info.status == "FINISHED" and len(r.data.params) == 5 and len(r.data.metrics) == 3
    ]
    assert len(finished) == len(rows), f"{len(finished)} complete runs stored for {len(rows)}"
    return {"run": Timing(tuple(samples)).to_dict(), "first_run": first}


def mlflow_population(store: Path, sizes: Sizes, config: dict[str, Any]) -> dict[str, Any]:
    from mlflow.entities import Metric, Param

    client = mlflow_client(store)
    experiment_id = client.create_experiment(POPULATION_EXPERIMENT)
    rows = population_rows(sizes.population, SEED)
    started = time.perf_counter()
    for name, params, metrics in rows:
        now = int(time.time() * 1000)
        run_id = client.create_run(experiment_id, run_name=name, start_time=now).info.run_id
        client.log_batch(
            run_id,
            metrics=[Metric(k, v, now, 0) for k, v in metrics.items()],
            params=[Param(k, str(v)) for k, v in params.items()],
        )
        client.set_terminated(run_id)
    elapsed = time.perf_counter() - started
    runs = client.search_runs([experiment_id], max_results=sizes.population + 10)
    finished = sum(1 for r in runs if r.info.status == "FINISHED")
    assert finished == sizes.population, f"{finished} of {sizes.population} runs stored"
    return {
        "setup": elapsed,
        "runs": finished,
        "method": "MlflowClient create_run + log_batch + set_terminated, per run",
    }


def mlflow_best_run(store: Path, sizes: Sizes, config: dict[str, Any]) -> dict[str, Any]:
    client = mlflow_client(store)
    experiment_id = client.get_experiment_by_name(POPULATION_EXPERIMENT).experiment_id

    def best() -> Any:
        return client.search_runs(
            [experiment_id], order_by=["metrics.accuracy DESC"], max_results=1
        )[0]

    timing, run = first_then_repeats(best, sizes)
    expected = expected_best(sizes.population, SEED)
    assert run.info.run_name == expected, f"best run {run.info.run_name}, expected {expected}"
    return timing | {"best": run.info.run_name}


def mlflow_runs_frame(store: Path, sizes: Sizes, config: dict[str, Any]) -> dict[str, Any]:
    import mlflow
    import pandas  # noqa: F401  (in a notebook pandas is already imported)

    client = mlflow_client(store)
    experiment_id = client.get_experiment_by_name(POPULATION_EXPERIMENT).experiment_id
    timing, frame = first_then_repeats(
        lambda: mlflow.search_runs([experiment_id], max_results=sizes.population + 10), sizes
    )
    check_frame(frame, sizes, ("params.lr", "metrics.accuracy"))
    return timing | {"shape": list(frame.shape)}


# -- workers: trackio ---------------------------------------------------------------------------

# trackio.init() options for a plain local run: no dashboard embedded in a notebook, no
# background sampling of CPU or GPU (neither other tool samples anything meanwhile).
TRACKIO_INIT = {"embed": False, "auto_log_cpu": False, "auto_log_gpu": False}

# trackio has no best-run query; the closest it has is its read-only SQL over a project's
# database (`trackio query project --sql ...`). Every run of the population logged
# accuracy once, so its highest and its last accuracy are the same.
TRACKIO_BEST_SQL = (
    "SELECT run_name, json_extract(metrics, '$.accuracy') AS accuracy FROM metrics"
    " WHERE accuracy IS NOT NULL ORDER BY accuracy DESC LIMIT 1"
)


def trackio_version() -> dict[str, str]:
    import sqlite3

    import trackio

    return {"trackio": trackio.__version__, "sqlite": sqlite3.sqlite_version}


def trackio_flush(run: Any) -> None:
    """Write what ``run`` has queued, as trackio's own writer thread does.

    A local trackio run queues each ``log`` in memory and a background thread writes
    the queue every 0.5 s; it has no public flush short of ``finish()``, which ends the
    run. This is the thread's own step, under the thread's own lock.
    """
    with run._client_lock:
        run._flush_queues_inline()


def trackio_count(project: str, sql: str) -> int:
    from trackio.sqlite_storage import SQLiteStorage

    return SQLiteStorage.query_project(project, sql)["rows"][0]["n"]


def trackio_log_point(store: Path, sizes: Sizes, config: dict[str, Any]) -> dict[str, Any]:
    import trackio

    run = trackio.init(project=EXPERIMENT, name="log-point", **TRACKIO_INIT)
    n = sizes.points_per_cell
    values = point_values(sizes.warmup_points + n * sizes.cells, SEED)
    calls, flushes = [], []
    for step in range(sizes.warmup_points):
        trackio.log({"accuracy": values[step]}, step=step)
    trackio_flush(run)
    for cell in range(sizes.cells):
        first = sizes.warmup_points + cell * n
        cell_values = values[first : first + n]
        started = time.perf_counter()
        for offset, value in enumerate(cell_values):
            trackio.log({"accuracy": value}, step=first + offset)
        logged = time.perf_counter()
        trackio_flush(run)
        flushed = time.perf_counter()
        calls.append(logged - started)
        flushes.append(flushed - logged)
    trackio.finish()
    stored = trackio_count(
        EXPERIMENT,
        "SELECT COUNT(*) AS n FROM metrics WHERE run_name = 'log-point'"
        " AND json_extract(metrics, '$.accuracy') IS NOT NULL",
    )
    expected = sizes.warmup_points + n * sizes.cells
    assert stored == expected, f"{stored} points stored, {expected} logged"
    return point_figures(calls, flushes, n) | {"points_stored": stored}


def trackio_one_run(store: Path, sizes: Sizes, config: dict[str, Any]) -> dict[str, Any]:
    import trackio

    rows = population_rows(sizes.runs_timed + 1, SEED)

    def one(name: str, params: dict[str, Any], metrics: dict[str, float]) -> None:
        trackio.init(project=EXPERIMENT, name=name, config=params, **TRACKIO_INIT)
        trackio.log(metrics)
        trackio.finish()

    first = timed(lambda: one(*rows[0]))
    samples = [timed(lambda row=row: one(*row)) for row in rows[1:]]
    check_trackio_runs(EXPERIMENT, len(rows))
    return {"run": Timing(tuple(samples)).to_dict(), "first_run": first}


def trackio_population(store: Path, sizes: Sizes, config: dict[str, Any]) -> dict[str, Any]:
    import trackio

    rows = population_rows(sizes.population, SEED)
    started = time.perf_counter()
    for name, params, metrics in rows:
        # trackio.init() lists the project's runs to name and resume runs, which makes
        # building 10,000 runs quadratic; a Run made directly with ``existing_runs``
        # skips that lookup (the run names are given and unique).
        run = trackio.Run(
            url=None,
            project=POPULATION_EXPERIMENT,
            client=None,
            name=name,
            config=params,
            existing_runs=[],
        )
        run.log(metrics)
        run.finish()
    elapsed = time.perf_counter() - started
    runs = check_trackio_runs(POPULATION_EXPERIMENT, sizes.population)
    return {"setup": elapsed, "runs": runs, "method": "trackio.Run + log + finish, per run"}


def trackio_best_run(store: Path, sizes: Sizes, config: dict[str, Any]) -> dict[str, Any]:
    from trackio.sqlite_storage import SQLiteStorage

    def best() -> str:
        return SQLiteStorage.query_project(POPULATION_EXPERIMENT, TRACKIO_BEST_SQL)["rows"][0][
            "run_name"
        ]

    timing, name = first_then_repeats(best, sizes)
    expected = expected_best(sizes.population, SEED)
    assert name == expected, f"best run {name}, expected {expected}"
    return timing | {"best": name}


def trackio_runs_frame(store: Path, sizes: Sizes, config: dict[str, Any]) -> dict[str, Any]:
    import pandas
    from trackio.sqlite_storage import SQLiteStorage

    def frame() -> Any:
        # trackio has no DataFrame of runs: these are the three reads its dashboard makes
        # for a project's runs (the run list, every run's config, every run's logs),
        # flattened to the same columns as the other tools' frames.
        project = POPULATION_EXPERIMENT
        records = SQLiteStorage.get_run_records(project)
        configs = SQLiteStorage.get_all_run_configs(project)
        logs = SQLiteStorage.get_logs_batch(
            project, [{"run": r["name"], "run_id": r["id"]} for r in records]
        )
        rows = []
        for record, entry in zip(records, logs, strict=True):
            row: dict[str, Any] = {"run_id": record["id"], "name": record["name"]}
            for key, value in configs.get(record["id"], {}).items():
                if not key.startswith("_"):  # trackio's own: _Username, _Created, _Group
                    row[f"params.{key}"] = value
            for log in entry["logs"]:  # the last value of each metric
                for key, value in log.items():
                    if key not in ("step", "timestamp"):
                        row[f"metrics.{key}"] = value
            rows.append(row)
        return pandas.DataFrame(rows)

    timing, result = first_then_repeats(frame, sizes)
    check_frame(result, sizes, ("params.lr", "metrics.accuracy"))
    return timing | {"shape": list(result.shape)}


def check_trackio_runs(project: str, count: int) -> int:
    """Check that ``project`` holds ``count`` runs, each with its 5 params and 3 metrics."""
    from trackio.sqlite_storage import SQLiteStorage

    runs = len(SQLiteStorage.get_run_records(project))
    complete = trackio_count(
        project,
        "SELECT COUNT(*) AS n FROM metrics JOIN configs USING (run_id)"
        " WHERE json_extract(metrics.metrics, '$.f1') IS NOT NULL"
        " AND json_extract(configs.config, '$.seed') IS NOT NULL",
    )
    assert (runs, complete) == (count, count), (
        f"{runs} runs, {complete} with their params and metrics, stored for {count}"
    )
    return runs


def network_guard() -> list[str]:
    """Refuse, and note, every attempt to open a connection from this process.

    trackio can log to a Hugging Face Space or a server of its own; the bench runs it
    local and offline (the driver's environment says so), and this guard makes sure:
    the worker fails when anything tried the network, whatever the library did with
    the refusal.
    """
    attempts: list[str] = []

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event in ("socket.connect", "socket.getaddrinfo", "socket.sendto"):
            attempts.append(f"{event} {args[1:]!r}")
            raise OSError(f"the tracking bench runs offline: {event} refused")

    sys.addaudithook(hook)
    return attempts


# -- worker helpers -------------------------------------------------------------------------------


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def point_figures(calls: list[float], flushes: list[float], per_cell: int) -> dict[str, Any]:
    """Per-point figures from per-cell totals: the call, the flush, and both amortized."""
    return {
        "call": Timing(tuple(c / per_cell for c in calls)).to_dict(),
        "call_and_flush": Timing(
            tuple((c + f) / per_cell for c, f in zip(calls, flushes, strict=True))
        ).to_dict(),
        "flush": Timing(tuple(flushes)).to_dict(),
        "points_per_cell": per_cell,
    }


def first_then_repeats(action: Callable[[], Any], sizes: Sizes) -> tuple[dict[str, Any], Any]:
    """The first call in a fresh process, then repeated calls (median of as many as fit)."""
    started = time.perf_counter()
    action()
    first = time.perf_counter() - started
    timing, result = repeat_timed(
        action, min_repeats=3, max_repeats=50, budget_seconds=sizes.query_budget_seconds
    )
    return {"first": first, "repeat": timing.to_dict()}, result


def check_frame(frame: Any, sizes: Sizes, columns: tuple[str, ...]) -> None:
    assert len(frame) == sizes.population, f"{len(frame)} rows for {sizes.population} runs"
    missing = [column for column in columns if column not in frame.columns]
    assert not missing, f"columns {missing} missing from {list(frame.columns)[:20]}"
    assert frame["metrics.accuracy"].notna().all(), "runs without accuracy in the frame"


WORKERS: dict[tuple[str, str], Callable[[Path, Sizes, dict[str, Any]], dict[str, Any]]] = {
    ("ours", "log_point"): ours_log_point,
    ("ours", "log_live"): ours_log_live,
    ("ours", "one_run"): ours_one_run,
    ("ours", "population"): ours_population,
    ("ours", "best_run"): ours_best_run,
    ("ours", "runs_frame"): ours_runs_frame,
    ("mlflow", "log_point"): mlflow_log_point,
    ("mlflow", "log_live"): mlflow_log_live,
    ("mlflow", "one_run"): mlflow_one_run,
    ("mlflow", "population"): mlflow_population,
    ("mlflow", "best_run"): mlflow_best_run,
    ("mlflow", "runs_frame"): mlflow_runs_frame,
    ("trackio", "log_point"): trackio_log_point,
    ("trackio", "one_run"): trackio_one_run,
    ("trackio", "population"): trackio_population,
    ("trackio", "best_run"): trackio_best_run,
    ("trackio", "runs_frame"): trackio_runs_frame,
}
VERSIONS = {"ours": ours_version, "mlflow": mlflow_version, "trackio": trackio_version}


def main(argv: list[str] | None = None) -> None:
    """Run one workload of one tool in this process and write its figures to ``--out``."""
    parser = argparse.ArgumentParser(description="One workload of the tracking benchmark.")
    parser.add_argument("tool", choices=sorted({tool for tool, _ in WORKERS}))
    parser.add_argument("workload", choices=sorted({workload for _, workload in WORKERS}))
    parser.add_argument("--store", type=Path, required=True, help="the tool's store directory")
    parser.add_argument("--sizes", required=True, help="a Sizes as JSON")
    parser.add_argument("--config", default="{}", help="workload options as JSON")
    parser.add_argument("--out", required=True, help="where to write the figures (JSON)")
    args = parser.parse_args(argv)
    sizes = Sizes(**json.loads(args.sizes))
    attempts = network_guard() if args.tool == "trackio" else []
    result = WORKERS[(args.tool, args.workload)](args.store, sizes, json.loads(args.config))
    result["versions"] = VERSIONS[args.tool]()
    assert not attempts, f"{args.tool} tried the network: {attempts}"
    write_worker_result(args.out, result)


# -- opening: snippets run with ``python -c`` so nothing is imported before the clock starts -----

# Only ``sys`` and ``time`` (loaded by every interpreter) come before the clock: a worker
# script would import argparse, json, pathlib... first, and the libraries would then
# find part of their own import already done.
OPEN_SNIPPETS = {
    "ours": """
import sys, time
started = time.perf_counter()
import jupyter_mlops
imported = time.perf_counter()
registry = jupyter_mlops.Registry.open(sys.argv[1] + "/.mlops/registry.db")
opened = time.perf_counter()
runs = registry.query_one("SELECT COUNT(*) FROM runs")[0]
import json
with open(sys.argv[-1], "w") as out:
    json.dump({"import": imported - started, "open": opened - imported, "runs": runs}, out)
""",
    "mlflow": """
import sys, time
started = time.perf_counter()
import mlflow
imported = time.perf_counter()
client = mlflow.MlflowClient(tracking_uri="sqlite:///" + sys.argv[1] + "/mlflow.db")
experiment = client.get_experiment_by_name("population")
opened = time.perf_counter()
runs = len(client.search_runs([experiment.experiment_id], max_results=50000))
import json
with open(sys.argv[-1], "w") as out:
    json.dump({"import": imported - started, "open": opened - imported, "runs": runs}, out)
""",
    # trackio opens its database on each call (TRACKIO_DIR, set by the driver, says where)
    # and ``Api().runs`` is lazy: its first read, the project's list of runs, is the open.
    "trackio": """
import sys, time
started = time.perf_counter()
import trackio
imported = time.perf_counter()
runs = len(trackio.Api().runs("population"))
opened = time.perf_counter()
import json
with open(sys.argv[-1], "w") as out:
    json.dump({"import": imported - started, "open": opened - imported, "runs": runs}, out)
""",
}


def guarded(snippet: str) -> str:
    """``snippet`` behind the workers' refusal of the network, failing if it was tried.

    The timed open snippets go without it (an audit hook is called on every import and
    file opened, and would slow the imports it times); each is run once this way,
    untimed, to show that opening a store stays offline too.
    """
    return (
        """
import sys
tried = []
def refuse(event, args):
    if event in ("socket.connect", "socket.getaddrinfo", "socket.sendto"):
        tried.append(event)
        raise OSError("the tracking bench runs offline: " + event + " refused")
sys.addaudithook(refuse)
"""
        + snippet
        + """
if tried:
    raise SystemExit("tried the network: " + ", ".join(tried))
"""
    )


# Python's own modules that ``import jupyter_mlops`` loads, and the time to import just
# them: the floor under "import + open" on this machine, whatever the library does.
STDLIB_NAMES_SNIPPET = """
import sys
before = set(sys.modules)
import jupyter_mlops
names = sorted(name for name in set(sys.modules) - before
               if name.split(".")[0] in sys.stdlib_module_names)
import json
with open(sys.argv[-1], "w") as out:
    json.dump({"names": names}, out)
"""
STDLIB_IMPORT_SNIPPET = """
import sys, time
names = sys.argv[1].split(",")
started = time.perf_counter()
for name in names:
    try:
        __import__(name)
    except Exception:
        pass
elapsed = time.perf_counter() - started
import json
with open(sys.argv[-1], "w") as out:
    json.dump({"import": elapsed, "modules": len(names)}, out)
"""


if __name__ == "__main__":
    main()
