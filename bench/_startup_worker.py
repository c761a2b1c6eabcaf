"""Builds a run population for ``bench/startup.py``, in the tool's venv.

    python bench/_startup_worker.py ours|mlflow STORE RUNS OUT

The populations are those of the tracking benchmark (the same seeded 5 params and 3
metrics per run, ours through the public API, MLflow through ``MlflowClient``), built
by its workers, so that both benchmarks query the same data. For MLflow the result also
names the experiment's id, which ``mlflow runs list`` asks for.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from _harness import write_worker_result
from _tracking_workers import POPULATION_EXPERIMENT, WORKERS, Sizes, mlflow_client


def main() -> None:
    tool, store, runs, out = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    # Only the population size matters to the population workload.
    sizes = Sizes(**{field.name: 0 for field in dataclasses.fields(Sizes)} | {"population": runs})
    result = WORKERS[(tool, "population")](store, sizes, {})
    if tool == "mlflow":
        experiment = mlflow_client(store).get_experiment_by_name(POPULATION_EXPERIMENT)
        result["experiment_id"] = experiment.experiment_id
    write_worker_result(out, result)


if __name__ == "__main__":
    main()
