"""Worker of ``bench/panel.py``, run with the Python that has jupyter-mlops installed.

    python _panel_worker.py build DIR N_RUNS OUT        # a registry of N_RUNS runs in DIR
    python _panel_worker.py handlers DIR BUDGET OUT     # time the routes' payload functions

``build`` records finished runs through the public API in one transaction (5 params,
3 metrics and a 3-step curve each, seeded), the way tests/test_panel_scale.py does.
``handlers`` times what each route's handler does besides HTTP: the payload function
on the registry the server would keep open, and checks what it got.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path
from typing import Any

from _harness import repeat_timed, write_worker_result

EXPERIMENT = "bench"


def deep_page(n_runs: int) -> int:
    """The page halfway through the runs (50 a page): 100 of 200 for 10,000 runs."""
    return max(1, n_runs // 100)


def build(directory: Path, n_runs: int) -> dict[str, Any]:
    import jupyter_mlops as mlops
    from jupyter_mlops.registry.connection import Registry
    from jupyter_mlops.tracking.session import use_registry

    rng = random.Random(20241121)
    registry = Registry.init(directory)
    use_registry(registry)
    started = time.perf_counter()
    with registry.transaction(f"{n_runs} runs"):
        for index in range(n_runs):
            with mlops.start_run(f"run-{index:05d}", experiment=EXPERIMENT) as run:
                run.log_params(
                    lr=rng.choice([0.01, 0.03, 0.1]),
                    depth=rng.randint(2, 12),
                    optimizer=rng.choice(["adam", "sgd"]),
                    batch=rng.choice([32, 64, 128]),
                    seed=index,
                )
                run.log(accuracy=rng.random(), f1=rng.random(), auc=rng.random())
                for step in range(3):
                    run.log(loss=1 / (step + 1), step=step)
    seconds = time.perf_counter() - started
    count = registry.query_one("SELECT COUNT(*) FROM runs")
    last = registry.query_one("SELECT id FROM runs ORDER BY started_at DESC LIMIT 1")
    registry.close()
    assert count is not None and count[0] == n_runs, "the population is incomplete"
    assert last is not None
    return {"seconds": seconds, "runs": n_runs, "last_run_id": last[0]}


def handlers(directory: Path, budget: float) -> dict[str, Any]:
    from jupyter_mlops.registry.connection import Registry
    from jupyter_mlops.server import payloads
    from jupyter_mlops.server.registry_source import RegistrySource

    root = directory.resolve()
    source = RegistrySource(root)
    started = time.perf_counter()
    with source.registry():
        pass
    first_open = time.perf_counter() - started
    registry = Registry.open(root / ".mlops" / "registry.db")
    last = registry.query_one("SELECT id FROM runs ORDER BY started_at DESC LIMIT 1")
    assert last is not None
    total = registry.query_one("SELECT COUNT(*) FROM runs")
    assert total is not None
    n_runs = int(total[0])

    def page(**arguments: Any) -> dict[str, Any]:
        request = payloads.RunsRequest(experiment=EXPERIMENT, **arguments)
        return payloads.runs_payload(registry, request, root_dir=root)

    def check_page(answer: Any, *, first: str | None = None) -> None:
        assert answer["total"] == n_runs and len(answer["runs"]) == 50, "a page of 50 runs"
        if first is not None:
            assert answer["runs"][0]["name"] == first

    cases = {
        "changes": (source.change_marker, lambda answer: None),
        "experiments": (
            lambda: payloads.experiments_payload(registry),
            lambda answer: None,
        ),
        "runs_first_page": (
            lambda: page(),
            lambda answer: check_page(answer, first=f"run-{n_runs - 1:05d}"),
        ),
        "runs_by_metric": (lambda: page(sort="-metrics.accuracy"), check_page),
        "runs_filtered": (
            lambda: page(where="accuracy > 0.5 and params.depth <= 6"),
            lambda answer: None,
        ),
        "runs_deep_page": (lambda: page(page=deep_page(n_runs)), check_page),
        "run_detail": (
            lambda: payloads.run_payload(registry, last[0], root_dir=root),
            lambda answer: None,
        ),
    }
    results: dict[str, Any] = {"first_open": first_open, "runs": n_runs}
    for name, (action, check) in cases.items():
        action()  # warm: the first call of each shape pays SQLite's statement preparation
        timing, answer = repeat_timed(action, min_repeats=5, max_repeats=200, budget_seconds=budget)
        check(answer)
        results[name] = timing.to_dict()
    source.close()
    registry.close()
    return results


def main(argv: list[str]) -> int:
    mode, directory, value, out = argv[1], Path(argv[2]), argv[3], argv[4]
    if mode == "build":
        write_worker_result(out, build(directory, int(value)))
    elif mode == "handlers":
        write_worker_result(out, handlers(directory, float(value)))
    else:
        raise SystemExit(f"unknown mode {mode!r}: build or handlers")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
