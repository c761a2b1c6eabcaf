"""Benchmark what running the example pipeline costs beyond its steps' own code.

    PYTHONPATH=src python bench/pipeline.py [--repeat 3] [--baseline-src ../main/src] [--write]

The pipeline is the one notebooks/03-pipeline.ipynb exports of itself (the one
tests/test_pipeline_example.py runs): the notebook is executed once in a real kernel,
which records its run, exports ``cancer-pipeline/`` and runs it. Then, in worker
processes of their own, each measurement runs that pipeline with ``run_pipeline``:

- every step, uncached (``use_cache=False``), its steps spawned (each a new
  ``python -m jupyter_mlops.runner.step`` that imports the setup code again) and forked
  from the warm worker, alternately, ``--repeat`` times each;
- a second, unchanged run with the cache: how long it takes and how many steps it ran.

A step's overhead is its wall time as the runner saw it (from starting it to its exit)
minus the time of its own code. The code's time is what the forked step reports
(``code_s`` in its result file): there the step's ``from pipeline_setup import ...`` finds
the module imported already, so only the cell's code is timed. In a spawned step that
import is part of the code (the setup runs in it), hence the forked figure for both.

``--baseline-src`` times another checkout's runner (e.g. main, before the warm worker)
on a copy of the same folder: its wall times per step against the same code times, and
its fully cached run. Targets (the issue): overhead < 100 ms per step with the warm
worker; a second unchanged run executes no step. ``--write`` replaces the "## Pipeline"
section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import (  # noqa: E402
    REPO_ROOT,
    RESULTS_FILE,
    git_commit,
    load_average,
    log,
    machine_info,
    markdown_table,
    run_worker,
    update_results_section,
    write_worker_result,
)

NOTEBOOK = REPO_ROOT / "notebooks" / "03-pipeline.ipynb"
PIPELINE_DIRNAME = "cancer-pipeline"
MODES = ("spawned", "forked")


# -- workers (run with the Python and source tree under test) --------------------------------


def prepare(workdir: Path) -> dict[str, Any]:
    """Execute the example notebook in a real kernel in ``workdir``, as the tests do."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
    )
    env = {key: value for key, value in os.environ.items() if key != "MLOPS_REGISTRY"}
    started = time.perf_counter()
    client.execute(env={**env, "JPY_SESSION_NAME": str(NOTEBOOK)})
    return {"seconds": time.perf_counter() - started}


def run_once(workdir: Path, mode: str, use_cache: bool) -> dict[str, Any]:
    """One run of the pipeline: each step's status, wall time and own code's time."""
    import inspect

    from jupyter_mlops.runner.pipeline import run_pipeline

    options: dict[str, Any] = {"check": False, "use_cache": use_cache}
    if "warm_worker" in inspect.signature(run_pipeline).parameters:
        options["warm_worker"] = mode == "forked"
    started = time.perf_counter()
    result = run_pipeline(
        workdir / PIPELINE_DIRNAME, workdir=workdir, registry=workdir / ".mlops", **options
    )
    wall = time.perf_counter() - started
    run_dir = Path(result.run_dir)
    steps = []
    for step in result.steps:
        reported = run_dir / f"{step.name}.result.json"
        data = json.loads(reported.read_text()) if reported.exists() else {}
        steps.append({"name": step.name, "status": step.status, "wall": step.duration_s,
                      "code": data.get("code_s"), "process": data.get("duration_s"),
                      "cpu": data.get("cpu_s"), "code_cpu": data.get("code_cpu_s")})  # fmt: skip
    worker_log = run_dir / "worker.log"
    # the runner's figure (the worker's start, its imports, the setup code), else the worker's
    text = worker_log.read_text() if worker_log.exists() else ""
    warmed = re.search(r"worker was ready ([0-9.]+) s", text) or re.search(
        r"warmed up in ([0-9.]+) s", text
    )
    return {
        "status": result.status,
        "wall": wall,
        "steps": steps,
        "warm_up": float(warmed.group(1)) if warmed else None,
        "files": sorted(p.name for p in run_dir.iterdir()),
    }


def worker_main(argv: list[str]) -> None:
    what, out = argv[0], argv[-1]
    workdir = Path(argv[1])
    if what == "prepare":
        write_worker_result(out, prepare(workdir))
    else:
        write_worker_result(out, run_once(workdir, argv[2], argv[3] == "cache"))


# -- the driver -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lane:
    """One way of running the pipeline: a source tree, its folder, spawned or forked."""

    name: str
    src: Path
    workdir: Path
    mode: str


def measure(python: str, lanes: list[Lane], repeat: int, loads: list[str]):
    """Every lane ``repeat`` times, alternating (the machine's load moves); then each
    folder's second run with the cache. Returns the runs by lane, the cached run by lane."""
    runs: dict[str, list[dict[str, Any]]] = {lane.name: [] for lane in lanes}
    for number in range(repeat):
        for lane in lanes:
            env = {**os.environ, "PYTHONPATH": str(lane.src.resolve())}
            argv = [__file__, "--worker", "run", str(lane.workdir), lane.mode, "nocache"]
            done = run_worker(python, argv, cwd=lane.workdir, env=env)
            if done["status"] != "ok":
                raise SystemExit(f"the {lane.name} run failed: {done}")
            runs[lane.name].append(done)
            log(f"{lane.name} run {number + 1}/{repeat}: {done['wall']:.2f} s")
        loads.append(load_average())
    cached: dict[str, dict[str, Any]] = {}
    for lane in lanes:
        if lane.mode != "forked" and lane.name != "baseline":
            continue
        env = {**os.environ, "PYTHONPATH": str(lane.src.resolve())}
        for _ in range(2):  # the first may fill what use_cache=False did not
            argv = [__file__, "--worker", "run", str(lane.workdir), lane.mode, "cache"]
            cached[lane.name] = run_worker(python, argv, cwd=lane.workdir, env=env)
    return runs, cached


def per_step(runs: list[dict[str, Any]], key: str) -> dict[str, float]:
    values: dict[str, list[float]] = {}
    for run in runs:
        for step in run["steps"]:
            if step.get(key) is not None:
                values.setdefault(step["name"], []).append(step[key])
    return {name: statistics.median(found) for name, found in values.items()}


def warm_overheads(runs: list[dict[str, Any]], code: dict[str, float]) -> dict[str, float]:
    """Per step, the forked overhead without the worker's one warm-up (which the first
    step that runs waits for)."""
    values: dict[str, list[float]] = {}
    for run in runs:
        for index, step in enumerate(run["steps"]):
            warm_up = run["warm_up"] if index == 0 and run["warm_up"] else 0.0
            values.setdefault(step["name"], []).append(step["wall"] - code[step["name"]] - warm_up)
    return {name: statistics.median(found) for name, found in values.items()}


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.0f} ms"


def report(
    runs: dict[str, list[dict[str, Any]]],
    cached: dict[str, dict[str, Any]],
    info: dict[str, str],
    repeat: int,
    loads: list[str],
) -> str:
    baseline = "baseline" in runs
    forked = runs["forked"]
    code = per_step(forked, "code")
    spawned_wall = per_step(runs["spawned"], "wall")
    forked_wall = per_step(forked, "wall")
    forked_process = per_step(forked, "process")
    warm = warm_overheads(forked, code)
    warm_up = statistics.median(r["warm_up"] for r in forked if r["warm_up"] is not None)
    base_wall = per_step(runs["baseline"], "wall") if baseline else {}
    headers = ["step", "own code", "spawned: wall", "overhead", "forked: wall",
               "overhead", "in the step process", "fork, start, exit"]  # fmt: skip
    if baseline:
        headers += ["baseline: wall", "overhead"]
    rows = []
    for name, own in code.items():
        row = [name, ms(own), f"{spawned_wall[name]:.2f} s", ms(spawned_wall[name] - own),
               f"{forked_wall[name]:.2f} s", f"**{ms(warm[name])}**",
               ms(forked_process[name] - own),
               ms(warm[name] - (forked_process[name] - own))]  # fmt: skip
        if baseline:
            row += [f"{base_wall[name]:.2f} s", ms(base_wall[name] - own)]
        rows.append(row)
    mean = ["mean", "", "", ms(statistics.mean(spawned_wall[n] - c for n, c in code.items())),
            "", f"**{ms(statistics.mean(warm.values()))}**", "", ""]  # fmt: skip
    if baseline:
        mean += ["", ms(statistics.mean(base_wall[n] - c for n, c in code.items()))]
    rows.append(mean)
    totals = {mode: statistics.median(r["wall"] for r in runs[mode]) for mode in MODES}
    code_cpu = per_step(forked, "code_cpu")
    cpu = {mode: per_step(runs[mode], "cpu") for mode in MODES}
    cpu_rows = [
        [name, ms(own), *(ms(cpu[mode][name] - own) for mode in MODES)]
        for name, own in code_cpu.items()
        if all(name in cpu[mode] for mode in MODES)
    ]

    def cached_line(label: str, done: dict[str, Any]) -> str:
        ran = [s["name"] for s in done["steps"] if s["status"] != "cached"]
        return (f"- {label}: {done['wall']:.2f} s, steps executed: {len(ran)}"
                f" ({', '.join(ran) or 'none'}); files in the run's folder:"
                f" {', '.join(done['files'])}")  # fmt: skip

    lines = [
        f"`python bench/pipeline.py --repeat {repeat}"
        + (" --baseline-src ../main/src" if baseline else "")
        + "`: the pipeline notebooks/03-pipeline.ipynb exports of itself, every step"
        f" uncached, median of {repeat} runs per mode, alternating. Commit"
        f" {git_commit(REPO_ROOT)}; {info['cpu']}, {info['cores']} cores, Python"
        f" {info['python']}, {info['date']}; 1-minute load average before and after each"
        f" round: {', '.join(loads)}.",
        "",
        "Overhead = the step's wall time as the runner saw it minus its own code's time"
        " (`code_s`, timed in the forked step, where the setup is imported already). The"
        " forked overhead leaves out the worker's start and its one import of the setup code"
        f" ({warm_up:.2f} s, median), which the first step to run waits for; a spawned step"
        " pays that import every time. Its two parts: in the step process (opening the"
        " registry, the step's run, loading its inputs, saving its outputs) and the rest"
        " (fork, starting, exiting, the runner's bookkeeping). Target: < 100 ms per step"
        " with the warm worker."
        + (" Baseline: the other checkout's runner (spawned steps)." if baseline else ""),
        "",
        markdown_table(headers, rows),
        "",
        f"Whole run, uncached: spawned {totals['spawned']:.2f} s, forked"
        f" {totals['forked']:.2f} s (the worker's warm-up included)"
        + (
            f", baseline {statistics.median(r['wall'] for r in runs['baseline']):.2f} s"
            if baseline
            else ""
        )
        + ".",
        "",
        "CPU time of each step process beyond its code's (less sensitive to the machine's"
        " load than wall time; a forked step's counts from the fork to its result, without"
        " the worker's fork and the exit):",
        "",
        markdown_table(
            ["step", "own code, CPU", "spawned, CPU beyond", "forked, CPU beyond"], cpu_rows
        ),  # fmt: skip
        "",
        "A second, unchanged run (target: no step executed, the run recorded):",
        "",
        cached_line("this checkout", cached["forked"]),
    ]
    if baseline:
        lines.append(cached_line("baseline", cached["baseline"]))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--src", type=Path, default=REPO_ROOT / "src")
    parser.add_argument("--baseline-src", type=Path, default=None)
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--worker", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    if args.worker:
        worker_main(args.worker)
        return
    base = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    try:
        ours_dir = base / "ours"
        ours_dir.mkdir()
        env = {**os.environ, "PYTHONPATH": str(args.src.resolve())}
        done = run_worker(args.python, [__file__, "--worker", "prepare", str(ours_dir)],
                          cwd=ours_dir, env=env)  # fmt: skip
        log(f"the notebook ran in {done['seconds']:.1f} s")
        loads = [load_average()]
        lanes = [Lane(mode, args.src, ours_dir, mode) for mode in MODES]
        if args.baseline_src:
            baseline_dir = base / "baseline"
            shutil.copytree(ours_dir, baseline_dir, symlinks=True)
            lanes.append(Lane("baseline", args.baseline_src, baseline_dir, "spawned"))
        runs, cached = measure(args.python, lanes, args.repeat, loads)
        info = machine_info(base)
        body = report(runs, cached, info, args.repeat, loads)
        print(body)
        if args.write:
            update_results_section(RESULTS_FILE, "Pipeline", body)
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
