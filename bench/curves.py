"""Curves benchmark: a run's page for a curve of 1,000 to 1,000,000 points, through a real Jupyter server.

    python bench/curves.py                    # 1k, 10k, 100k and 1M points; writes the "Curves" section
    python bench/curves.py --smoke            # 1k and 100k points, short budgets; no RESULTS.md
    python bench/curves.py --python .venv/bin/python   # use that environment's jupyter-mlops

One run per size, each with one metric logged at every step (``mlops.log(loss=...,
step=...)``, a seeded noisy decreasing loss with one one-step spike). For each run:

- **through HTTP**: ``GET /jupyter-mlops/api/runs/ID``, what the panel asks when a run is
  opened and every 2 s while a running run is shown, over one kept-alive connection of a
  Jupyter server started for the benchmark (token authentication), median over repeats;
- **handlers alone** (in a worker process, an open registry, no HTTP): the route's payload
  function, ``mlops.get_run`` (the preview of a long curve) and ``get_run(...,
  full_series=True)`` (every point: what the page read before previews).

Every answer is checked to hold the curve's spike. The peer, side by side on the same
server and connection, is Jupyter server's own ``GET /api/status``. Target (DESIGN.md):
a 1M-point run's page in < 100 ms, as fast as a 1k-point run's.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from _curves_worker import spike_kept
from _harness import (
    RESULTS_FILE,
    BenchError,
    Timing,
    can_import,
    format_seconds,
    git_commit,
    load_average,
    log,
    machine_info,
    markdown_table,
    package_version,
    plain_table,
    repeat_timed,
    run_worker,
    update_results_section,
)
from panel import Server, python_of_ours

WORKER = Path(__file__).resolve().with_name("_curves_worker.py")
TARGET_SECONDS = 0.100
FULL_SIZES = (1_000, 10_000, 100_000, 1_000_000)
SMOKE_SIZES = (1_000, 100_000)


def measure_http(
    python: Path, root: Path, state: Path, runs: dict[str, Any], budget: float
) -> dict[str, Any]:
    server = Server(python, root, state)
    try:
        results: dict[str, Any] = {}
        floor, _ = repeat_timed(
            lambda: server.get("/api/status"), min_repeats=5, max_repeats=200, budget_seconds=budget
        )
        results["floor"] = floor.to_dict()
        for points, run in runs.items():
            path = f"/jupyter-mlops/api/runs/{run['id']}"
            server.get(path)  # the first request opens the registry
            timing, answer = repeat_timed(
                lambda path=path: server.get(path),
                min_repeats=5,
                max_repeats=200,
                budget_seconds=budget,
            )
            loss = answer["series"]["loss"]  # type: ignore[index]
            if not spike_kept(loss, int(points)):
                raise BenchError(f"the page of the {points}-point run lost its spike")
            results[points] = {
                **timing.to_dict(),
                "points_sent": len(loss),
                "downsampled": "loss" in answer["downsampled"],  # type: ignore[index]
                "bytes": len(json.dumps(answer)),
            }
        return results
    finally:
        server.stop()


def report(
    http: dict[str, Any], handlers: dict[str, Any], build: dict[str, Any], facts: dict[str, Any]
) -> str:
    floor = Timing.from_dict(http["floor"]).median
    smallest = min(build["runs"], key=int)
    baseline = Timing.from_dict(http[smallest]).median
    rows = []
    for points in sorted(build["runs"], key=int):
        page = Timing.from_dict(http[points])
        handler = handlers[points]
        largest = int(points) == max(int(p) for p in build["runs"])
        rows.append(
            [
                f"**{int(points):,}**" if largest else f"{int(points):,}",
                f"{http[points]['points_sent']:,}"
                + (" (preview)" if http[points]["downsampled"] else ""),
                f"{http[points]['bytes'] / 1024:,.0f} KiB",
                f"**{format_seconds(page.median)}**" if largest else format_seconds(page.median),
                f"{page.median / baseline:.2g}×",
                f"{page.median / floor:.3g}×",
                format_seconds(Timing.from_dict(handler["payload"]).median),
                format_seconds(Timing.from_dict(handler["get_run"]).median),
                format_seconds(Timing.from_dict(handler["get_run_full"]).median),
                "< 100 ms" if largest else "",
                ("yes" if page.median < TARGET_SECONDS else "**no**") if largest else "",
                f"{build['runs'][points]['log_seconds']:.2f} s",
            ]
        )
    table = markdown_table(
        ["points logged", "points sent", "answer", "page through HTTP", f"vs {int(smallest):,}",
         "vs peer", "payload alone", "get_run", "get_run(full_series=True)", "target", "met",
         "logging them"],
        rows,
    )  # fmt: skip
    machine = facts["machine"]
    return f"""Measured {machine["date"]} by `python bench/curves.py`, on {machine["cpu"]} ({machine["cores"]} cores, {machine["memory"]}), {machine["os"]}, Python {machine["python"]}, SQLite {machine["sqlite"]}; registry on {machine["filesystem"]}; load average {facts["load_before"]} before the run, {facts["load_after"]} after it (the machine is shared: compare the rows, measured side by side, more than absolute times). Versions: jupyter-mlops {facts["versions"]["jupyter-mlops"]}, jupyter_server {facts["versions"]["jupyter_server"]}, tornado {facts["versions"]["tornado"]}; at commit {facts["commit"]}. The peer, Jupyter server's own `GET /api/status` on the same connection: {format_seconds(floor)}.

{table}

Figures are medians. "Page through HTTP" is `GET /jupyter-mlops/api/runs/ID`, the run page of the panel (asked again every 2 s while a running run is shown); "vs {int(smallest):,}" compares it with the page of the {int(smallest):,}-point run. "get_run(full_series=True)" reads every point, as every view did before previews: that is the cost a page no longer pays.

How it was measured:

- One run per size in one registry, each curve logged through the public API a point at a time (`mlops.log(loss=..., step=...)` in a loop, flushed by the run as it goes, which writes the curve's preview with its points); "logging them" is the wall time of that loop, flushes included. Each curve has one one-step spike of +50, and every answer timed is checked to hold it.
- A Jupyter server (`python -m jupyter_server`, token authentication, the jupyter-mlops extension on) in a temporary directory holding the registry; each run's page is requested once untimed, then over one kept-alive HTTP/1.1 connection for up to the time budget (at least 5 times). The handlers are timed the same way in a separate process on an open registry.
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="1k and 100k points, short budgets")
    parser.add_argument("--python", type=Path, help="a Python with jupyter-mlops installed")
    parser.add_argument("--budget", type=float, help="seconds per measurement (default 5, smoke 1)")
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    write = parser.add_mutually_exclusive_group()
    write.add_argument(
        "--write-results",
        dest="write_results",
        action="store_true",
        default=None,
        help="write the Curves section of RESULTS.md",
    )
    write.add_argument("--no-write-results", dest="write_results", action="store_false")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = SMOKE_SIZES if args.smoke else FULL_SIZES
    budget = args.budget or (1.0 if args.smoke else 5.0)
    write_results = args.write_results if args.write_results is not None else not args.smoke
    python = python_of_ours(args)
    for module in ("jupyter_mlops", "jupyter_server"):
        if not can_import(python, module):
            raise BenchError(f"{python} cannot import {module}; pass --python with one that can")
    work = Path(tempfile.mkdtemp(prefix="mlops-bench-curves-"))
    root = work / "project"
    root.mkdir()
    machine = machine_info(work)
    load_before = load_average()
    try:
        log(f"Logging curves of {', '.join(f'{n:,}' for n in sizes)} points in {root} ...")
        build = run_worker(
            python, [str(WORKER), "build", str(root), ",".join(map(str, sizes))], cwd=work
        )
        log("Timing the handlers ...")
        handlers = run_worker(python, [str(WORKER), "handlers", str(root), str(budget)], cwd=work)
        log("Timing the run pages through a Jupyter server ...")
        http = measure_http(python, root, work / "server", build["runs"], budget)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    facts = {
        "machine": machine,
        "load_before": load_before,
        "load_after": load_average(),
        "commit": git_commit(Path(__file__).resolve().parent),
        "versions": {
            name: package_version(python, name) or "?"
            for name in ("jupyter-mlops", "jupyter_server", "tornado")
        },
    }
    print(
        plain_table(
            ["points", "page through HTTP", "payload alone", "get_run", "get_run(full_series)"],
            [
                [
                    f"{int(points):,}",
                    format_seconds(Timing.from_dict(http[points]).median),
                    format_seconds(Timing.from_dict(handlers[points]["payload"]).median),
                    format_seconds(Timing.from_dict(handlers[points]["get_run"]).median),
                    format_seconds(Timing.from_dict(handlers[points]["get_run_full"]).median),
                ]
                for points in sorted(build["runs"], key=int)
            ],
        )
    )
    print(f"load average {load_before} before, {facts['load_after']} after")
    if args.json:
        args.json.write_text(
            json.dumps({"http": http, "handlers": handlers, "build": build, **facts}, indent=1)
        )
    if write_results:
        update_results_section(RESULTS_FILE, "Curves", report(http, handlers, build, facts))
        log(f"Wrote the Curves section of {RESULTS_FILE}")
    largest = str(max(sizes))
    return 0 if Timing.from_dict(http[largest]).median < TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
