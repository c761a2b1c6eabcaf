"""Worker of ``bench/curves.py``, run with the Python that has jupyter-mlops installed.

    python _curves_worker.py build DIR SIZES OUT       # one run per size, a curve of that many points
    python _curves_worker.py handlers DIR BUDGET OUT   # time the run page's payload, and get_run

``build`` logs each run's curve through the public API, a point at a time, as a training
loop does (``mlops.log(loss=..., step=...)``, flushed by the run as it goes), with one
one-step spike; it records how long logging took. ``handlers`` times, on an open
registry and without HTTP, what the run page's route does (``run_payload``) and what
``mlops.get_run`` returns by default and with ``full_series=True`` (every point: what
the page read before previews existed), and checks that each keeps the spike.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path
from typing import Any

from _harness import repeat_timed, write_worker_result

EXPERIMENT = "curves"
SPIKE = 50.0


def run_name(points: int) -> str:
    return f"curve-{points}"


def spike_step(points: int) -> int:
    """Where each curve's one-step spike is: at 61.8% of its length, on no bucket's edge."""
    return int(points * 0.618) | 1


def build(directory: Path, sizes: list[int]) -> dict[str, Any]:
    import jupyter_mlops as mlops
    from jupyter_mlops.registry.connection import Registry
    from jupyter_mlops.tracking.session import use_registry

    rng = random.Random(20261202)
    use_registry(Registry.init(directory))
    runs = {}
    for points in sizes:
        spike = spike_step(points)
        started = time.perf_counter()
        with mlops.start_run(run_name(points), experiment=EXPERIMENT) as run:
            for step in range(points):
                loss = 1 / (1 + step / 1000) + rng.random() * 0.01
                mlops.log(loss=loss + SPIKE if step == spike else loss, step=step)
        runs[str(points)] = {"id": run.id, "log_seconds": time.perf_counter() - started}
    return {"runs": runs}


def spike_kept(series: Any, points: int) -> bool:
    """Whether a curve (``[[step, value], ...]`` or tuples) holds the spike of its run."""
    spike = spike_step(points)
    return any(step == spike and value is not None and value > SPIKE for step, value in series)


def handlers(directory: Path, budget: float) -> dict[str, Any]:
    from jupyter_mlops.registry.connection import Registry
    from jupyter_mlops.server import payloads
    from jupyter_mlops.tracking.queries.detail import run_detail

    root = directory.resolve()
    registry = Registry.open(root / ".mlops" / "registry.db")
    results: dict[str, Any] = {}
    for (name,) in registry.query_tuples("SELECT name FROM runs ORDER BY started_at"):
        points = int(name.removeprefix("curve-"))
        cases = {
            "payload": lambda name=name: payloads.run_payload(registry, name, root_dir=root),
            "get_run": lambda name=name: run_detail(registry, name),
            "get_run_full": lambda name=name: run_detail(registry, name, full_series=True),
        }
        timings: dict[str, Any] = {}
        for case, action in cases.items():
            action()  # warm: statement preparation, the page cache
            repeats = 3 if case == "get_run_full" and points >= 100_000 else 200
            timing, answer = repeat_timed(
                action, min_repeats=3, max_repeats=repeats, budget_seconds=budget
            )
            series = answer["series"]["loss"] if isinstance(answer, dict) else answer.series["loss"]  # type: ignore[attr-defined]
            assert spike_kept(series, points), f"{case} of {name} lost the spike"
            timings[case] = {**timing.to_dict(), "points_returned": len(series)}
        results[str(points)] = timings
    registry.close()
    return results


def main(argv: list[str]) -> int:
    mode, directory, value, out = argv[1], Path(argv[2]), argv[3], argv[4]
    if mode == "build":
        write_worker_result(out, build(directory, [int(size) for size in value.split(",")]))
    elif mode == "handlers":
        write_worker_result(out, handlers(directory, float(value)))
    else:
        raise SystemExit(f"unknown mode {mode!r}: build or handlers")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
