"""Worker of ``bench/lists.py``, run with the Python of the tool it measures.

    python _lists_worker.py ours build DIR N_RUNS OUT      # N_RUNS runs in DIR/.mlops
    python _lists_worker.py ours lists DIR BUDGET OUT      # time the lists of DIR's runs
    python _lists_worker.py mlflow lists DIR BUDGET OUT    # the same lists of DIR/mlflow.db

The runs are the tracking benchmark's seeded population (``_tracking_workers``: 5
params, 3 metrics each), so MLflow's store built by ``_tracking_workers.py mlflow
population`` holds the same runs. Each list is checked: 50 runs, in order, all matching.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _harness import Timing, write_worker_result
from _tracking_workers import POPULATION_EXPERIMENT, SEED, mlflow_client, population_rows

PAGE = 50
# The filter of the "filtered" lists: about 13 % of the runs (accuracy is uniform in
# 0.5-0.99, optimizer one of three), written in each tool's language.
OURS_FILTER = "accuracy > 0.7 and optimizer == 'adam'"
MLFLOW_FILTER = "metrics.accuracy > 0.7 and params.optimizer = 'adam'"
# A filter that keeps few runs (about 1 %): the page is then read from the filter's index.
OURS_RARE_FILTER = "max_depth == 12 and optimizer == 'adam'"
MLFLOW_RARE_FILTER = "params.max_depth = '12' and params.optimizer = 'adam'"


def expected_matches(n_runs: int, rare: bool) -> int:
    rows = population_rows(n_runs, SEED)
    if rare:
        return sum(1 for _, p, _ in rows if p["max_depth"] == 12 and p["optimizer"] == "adam")
    return sum(1 for _, p, m in rows if m["accuracy"] > 0.7 and p["optimizer"] == "adam")


def build(directory: Path, n_runs: int) -> dict[str, Any]:
    """The population recorded through the public API, in one transaction."""
    import jupyter_mlops as mlops
    from jupyter_mlops.registry.connection import Registry
    from jupyter_mlops.tracking.session import use_registry

    registry = Registry.init(directory)
    use_registry(registry)
    started = time.perf_counter()
    with registry.transaction(f"{n_runs} runs"):
        for name, params, metrics in population_rows(n_runs, SEED):
            with mlops.start_run(name, experiment=POPULATION_EXPERIMENT) as run:
                run.log_params(params)
                run.log(metrics)
    seconds = time.perf_counter() - started
    count = registry.query_one("SELECT COUNT(*) FROM runs")
    registry.close()
    assert count is not None and count[0] == n_runs, "the population is incomplete"
    return {"seconds": seconds, "runs": n_runs}


def timed(action: Callable[[], Any], budget: float, slow: bool = False) -> tuple[dict, Any]:
    """Wall-clock samples of ``action`` after one untimed call (which pays one-time work:
    statements, the page cache), and the process's CPU time of each call under "cpu":
    on a shared machine the wall clock also counts the time spent waiting for a core."""
    action()
    walls: list[float] = []
    cpus: list[float] = []
    result: Any = None
    least, most = (3, 10) if slow else (5, 100)
    while len(walls) < most and (len(walls) < least or sum(walls) < budget):
        wall, cpu = time.perf_counter(), time.process_time()
        result = action()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return Timing(tuple(walls)).to_dict() | {"cpu": Timing(tuple(cpus)).to_dict()}, result


def ours_lists(directory: Path, budget: float) -> dict[str, Any]:
    import pandas  # noqa: F401  (in a notebook pandas is already imported)

    from jupyter_mlops.registry.connection import Registry
    from jupyter_mlops.tracking.queries.listing import list_runs, runs_frame

    registry = Registry.open(directory / ".mlops" / "registry.db")
    n_runs = registry.query_one("SELECT COUNT(*) FROM runs")[0]
    results: dict[str, Any] = {"runs": n_runs}

    def check(page: Any, total: int, key: str = "accuracy") -> None:
        values = [run.metrics[key] for run in page.runs]
        assert len(page.runs) == min(PAGE, total) and page.total == total, (page.total, total)
        assert values == sorted(values, reverse=True), "not sorted by accuracy"

    def by_metric() -> Any:
        return list_runs(registry, sort="-metrics.accuracy", limit=PAGE)

    results["by_metric"], page = timed(by_metric, budget)
    check(page, n_runs)
    cursor = page.next_cursor

    def next_by_metric() -> Any:
        return list_runs(registry, sort="-metrics.accuracy", limit=PAGE, after=cursor)

    results["next_by_metric"], following = timed(next_by_metric, budget)
    check(following, n_runs)
    assert following.runs[0].metrics["accuracy"] <= page.runs[-1].metrics["accuracy"]

    def by_param() -> Any:
        return list_runs(registry, sort="params.max_depth", limit=PAGE)

    results["by_param"], page = timed(by_param, budget)
    assert [run.params["max_depth"] for run in page.runs] == [2] * PAGE

    for key, where, rare in (("filtered", OURS_FILTER, False), ("rare", OURS_RARE_FILTER, True)):

        def filtered(where: str = where) -> Any:
            return list_runs(registry, where=where, sort="-metrics.accuracy", limit=PAGE)

        results[key], page = timed(filtered, budget)
        check(page, expected_matches(n_runs, rare))
        assert all(run.params["optimizer"] == "adam" for run in page.runs)

    results["frame"], frame = timed(lambda: runs_frame(registry), budget, slow=True)
    assert len(frame) == n_runs and frame["metrics.accuracy"].notna().all()
    assert frame["params.max_depth"].dtype == "int64", frame["params.max_depth"].dtype
    return results


def mlflow_lists(directory: Path, budget: float) -> dict[str, Any]:
    import mlflow
    import pandas  # noqa: F401

    client = mlflow_client(directory)
    experiment_id = client.get_experiment_by_name(POPULATION_EXPERIMENT).experiment_id
    n_runs = len(client.search_runs([experiment_id], max_results=50_000))
    results: dict[str, Any] = {"runs": n_runs}
    order = ["metrics.accuracy DESC"]

    def check(page: Any) -> None:
        values = [run.data.metrics["accuracy"] for run in page]
        assert len(page) == PAGE and values == sorted(values, reverse=True)

    def by_metric() -> Any:
        return client.search_runs([experiment_id], order_by=order, max_results=PAGE)

    results["by_metric"], page = timed(by_metric, budget, slow=True)
    check(page)
    token = page.token

    def next_by_metric() -> Any:
        return client.search_runs(
            [experiment_id], order_by=order, max_results=PAGE, page_token=token
        )

    results["next_by_metric"], following = timed(next_by_metric, budget, slow=True)
    check(following)

    def by_param() -> Any:  # params are text in MLflow: '10' sorts before '2'
        return client.search_runs(
            [experiment_id], order_by=["params.max_depth ASC"], max_results=PAGE
        )

    results["by_param"], _ = timed(by_param, budget, slow=True)
    for key, where in (("filtered", MLFLOW_FILTER), ("rare", MLFLOW_RARE_FILTER)):

        def filtered(where: str = where) -> Any:
            return client.search_runs(
                [experiment_id], filter_string=where, order_by=order, max_results=PAGE
            )

        results[key], page = timed(filtered, budget, slow=True)
        check(page)

    def frame() -> Any:
        return mlflow.search_runs([experiment_id], max_results=n_runs + 10)

    results["frame"], data = timed(frame, budget, slow=True)
    assert len(data) == n_runs
    return results


def main(argv: list[str]) -> int:
    tool, action, directory, number, out = argv
    if action == "build":
        result = build(Path(directory), int(number))
    elif tool == "ours":
        result = ours_lists(Path(directory), float(number))
    else:
        result = mlflow_lists(Path(directory), float(number))
    write_worker_result(out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
