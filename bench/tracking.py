"""Tracking benchmark: jupyter-mlops against MLflow, the same workloads side by side in one run.

    python bench/tracking.py            # full size, writes the "Tracking" section of RESULTS.md
    python bench/tracking.py --smoke    # tiny sizes, for CI; RESULTS.md is left alone

Each tool lives in its own venv (``bench/.venvs/ours``: this checkout installed with
``pip install -e``; ``bench/.venvs/mlflow``: the latest MLflow from PyPI), created when
missing. Every workload runs in a fresh worker process per tool, in a temporary
directory outside any git checkout, MLflow with its SQLite backend (``sqlite:///...``).
The workloads, in the order they run:

- ``log_point``: inside an open run, log 1,000 points of one metric per "cell", then
  end the cell (ours: ``run.flush()``, which the notebook extension does after each
  cell; MLflow's default logging is synchronous and has nothing to flush). Reported:
  the call alone, and the call plus the flush amortized over the cell. MLflow's
  asynchronous mode (``synchronous=False`` + ``mlflow.flush_async_logging()`` per cell)
  is measured too, since it is what an MLflow user would reach for in a loop.
- ``one_run``: start a run, log 5 parameters and 3 metrics, end it.
- ``population``: build 10,000 finished runs (5 params, 3 metrics each, seeded values);
  ours through the public API, MLflow through ``MlflowClient`` (``create_run`` +
  ``log_batch`` + ``set_terminated``), its fastest public way in. Timed for information.
- ``best_run``: the run with the highest ``accuracy`` among them (ours
  ``queries.best_run``; MLflow ``search_runs(order_by=..., max_results=1)``).
- ``runs_frame``: all of them into a pandas DataFrame (ours ``queries.runs_frame``;
  MLflow ``mlflow.search_runs``).
- ``open``: in a fresh process, import the library and open the population's registry
  (MLflow's client is lazy, so its first read, ``get_experiment_by_name``, is part of
  opening it). Reported as "open" and "import + open", interpreter start excluded.

The workloads themselves, for both tools, are in ``bench/_tracking_workers.py``. Every
worker checks what it measured (points stored, runs finished, the right best run, 10,000
rows) and fails loudly otherwise: a figure for work that was not done is worse than no
figure.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from _harness import (
    MLFLOW_VENV,
    OURS_VENV,
    REPO_ROOT,
    RESULTS_FILE,
    BenchError,
    Timing,
    can_import,
    ensure_venv,
    format_ratio,
    format_seconds,
    git_commit,
    load_average,
    log,
    machine_info,
    markdown_table,
    memory_directory,
    plain_table,
    run_worker,
    update_results_section,
)
from _tracking_workers import (
    OPEN_SNIPPETS,
    STDLIB_IMPORT_SNIPPET,
    STDLIB_NAMES_SNIPPET,
    Sizes,
)

WORKERS_SCRIPT = Path(__file__).resolve().with_name("_tracking_workers.py")
TOOLS = ("ours", "mlflow")
WORKLOADS = ("log_point", "one_run", "population", "best_run", "runs_frame", "open")
NEEDS_POPULATION = frozenset(("best_run", "runs_frame", "open"))


FULL = Sizes(
    points_per_cell=1_000,
    cells=8,
    warmup_points=50,
    runs_timed=200,
    population=10_000,
    query_budget_seconds=15.0,
    open_repeats=7,
)
SMOKE = Sizes(
    points_per_cell=100,
    cells=2,
    warmup_points=5,
    runs_timed=10,
    population=200,
    query_budget_seconds=1.0,
    open_repeats=2,
)


# -- the driver ----------------------------------------------------------------------------------


@dataclass
class Setup:
    """What the driver decided: sizes, where things run, which tools with which Python."""

    sizes: Sizes
    workdir: Path
    memdir: Path | None
    pythons: dict[str, Path]
    skipped: dict[str, str]


def worker_env(tool: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("MLOPS_REGISTRY", None)
    env.pop("MLFLOW_TRACKING_URI", None)
    # MLflow sends usage telemetry from a background thread; this machine has no route
    # for it, and a user who benchmarks would opt out too.
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    env["DO_NOT_TRACK"] = "true"
    if tool == "mlflow":
        env.pop("PYTHONPATH", None)
    return env


def run_one(
    setup: Setup,
    tool: str,
    workload: str,
    *,
    base: Path | None = None,
    store_of: str | None = None,
    config: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One workload of one tool in a fresh worker process; its store is ``base/tool/store_of``."""
    store = (base or setup.workdir) / tool / (store_of or workload)
    store.mkdir(parents=True, exist_ok=True)
    argv = [
        str(WORKERS_SCRIPT),
        tool,
        workload,
        "--store",
        str(store),
        "--sizes",
        json.dumps(asdict(setup.sizes)),
        "--config",
        json.dumps(config or {}),
        "--out",
    ]
    started = time.perf_counter()
    result = run_worker(setup.pythons[tool], argv, cwd=store, env=worker_env(tool))
    where = "" if base is None or base == setup.workdir else " (memory)"
    log(
        f"  {tool:7} {workload:11}{where:9} {json.dumps(config) if config else '':22}"
        f" {time.perf_counter() - started:6.1f} s"
    )
    return result


def run_snippet(setup: Setup, tool: str, code: str, args: list[str]) -> dict[str, Any]:
    store = setup.workdir / tool / "population"
    return run_worker(setup.pythons[tool], ["-c", code, *args], cwd=store, env=worker_env(tool))


def read_through(folder: Path) -> None:
    """Read every file under ``folder`` once, so that it sits in the page cache."""
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            with path.open("rb") as handle:
                while handle.read(1 << 20):
                    pass


def build_population(setup: Setup, tools: list[str]) -> dict[str, Any]:
    """The runs the queries read, built in memory when possible and copied to the disk.

    Building is setup, not a figure we compare on, and MLflow needs minutes for it on a
    disk whose fsync is slow; the queries then read the copy on disk.
    """
    results = {}
    for tool in tools:
        results[tool] = run_one(setup, tool, "population", base=setup.memdir)
        results[tool]["built_in_memory"] = setup.memdir is not None
        if setup.memdir is not None:
            shutil.copytree(
                setup.memdir / tool / "population",
                setup.workdir / tool / "population",
                dirs_exist_ok=True,
            )
            read_through(setup.workdir / tool / "population")
    return results


def measure_open(setup: Setup, tools: list[str]) -> dict[str, Any]:
    """Import + open in fresh processes, the tools alternating; and ours' stdlib floor."""
    samples: dict[str, list[dict[str, Any]]] = {tool: [] for tool in tools}
    floor: list[float] = []
    names = run_snippet(setup, "ours", STDLIB_NAMES_SNIPPET, [])["names"]
    for _ in range(setup.sizes.open_repeats):
        for tool in tools:
            store = str(setup.workdir / tool / "population")
            sample = run_snippet(setup, tool, OPEN_SNIPPETS[tool], [store])
            if sample["runs"] != setup.sizes.population:
                raise BenchError(
                    f"{tool} opened a store with {sample['runs']} runs,"
                    f" not {setup.sizes.population}"
                )
            samples[tool].append(sample)
        floor.append(run_snippet(setup, "ours", STDLIB_IMPORT_SNIPPET, [",".join(names)])["import"])
    log(f"  opened each store {setup.sizes.open_repeats} times in fresh processes")
    results: dict[str, Any] = {}
    for tool in tools:
        results[tool] = {
            key: Timing(tuple(s[key] for s in samples[tool])).to_dict()
            for key in ("import", "open")
        }
        results[tool]["import_and_open"] = Timing(
            tuple(s["import"] + s["open"] for s in samples[tool])
        ).to_dict()
    results["ours"]["stdlib_floor"] = Timing(tuple(floor)).to_dict()
    results["ours"]["stdlib_modules"] = len(names)
    return results


def run_all(setup: Setup, workloads: list[str]) -> dict[str, dict[str, Any]]:
    """Every workload, each tool in turn (side by side), each in a fresh process.

    The write workloads run on the disk, then again in memory (``/dev/shm``) when it
    exists, which shows how much of each figure is the disk's fsync.
    """
    tools = [tool for tool in TOOLS if tool in setup.pythons]
    results: dict[str, dict[str, Any]] = {}
    wanted = set(workloads) | ({"population"} if set(workloads) & NEEDS_POPULATION else set())
    for workload in (w for w in WORKLOADS if w in wanted):
        if workload == "population":
            results[workload] = build_population(setup, tools)
            continue
        if workload == "open":
            results[workload] = measure_open(setup, tools)
            continue
        store_of = "population" if workload in NEEDS_POPULATION else None
        results[workload] = {
            tool: run_one(setup, tool, workload, store_of=store_of) for tool in tools
        }
        if workload == "log_point" and "mlflow" in tools:
            results[workload]["mlflow_async"] = run_one(
                setup, "mlflow", workload, store_of="log_point_async", config={"asynchronous": True}
            )
        if workload in ("log_point", "one_run") and setup.memdir is not None:
            results[f"{workload}_memory"] = {
                tool: run_one(setup, tool, workload, base=setup.memdir) for tool in tools
            }
    return results


# -- the report -----------------------------------------------------------------------------------


def figure(results: dict[str, Any], workload: str, tool: str, *path: str) -> dict[str, Any] | None:
    """A measurement as stored (a Timing dict or a number), or ``None`` when not measured."""
    node: Any = results.get(workload, {}).get(tool)
    for key in path:
        node = None if not isinstance(node, dict) else node.get(key)
    if isinstance(node, (int, float)):
        return {"median": float(node), "n": 1}
    return node


def median(results: dict[str, Any], workload: str, tool: str, *path: str) -> float | None:
    found = figure(results, workload, tool, *path)
    return None if found is None else found["median"]


def verdict(value: float | None, limit: float | None) -> str:
    if value is None or limit is None:
        return ""
    return "yes" if value < limit else "**no**"


HEADERS = (
    "what",
    "jupyter-mlops",
    "MLflow",
    "MLflow / ours",
    "target",
    "met",
    "best (samples): ours / MLflow",
)


def report_rows(results: dict[str, Any], sizes: Sizes) -> list[list[str]]:
    """The table: what, ours, MLflow, MLflow / ours, our target, met, sample counts."""
    n = f"{sizes.points_per_cell:,}"
    runs = f"{sizes.population:,}"
    rows: list[list[str]] = []

    def add(
        what: str,
        workload: str,
        path: tuple[str, ...],
        *,
        target: float | None = None,
        peer: str | None = "mlflow",
        needs_peer: bool = False,
    ) -> None:
        ours = figure(results, workload, "ours", *path)
        theirs = figure(results, workload, peer, *path) if peer else None
        if (ours is None and theirs is None) or (needs_peer and theirs is None):
            return
        ours_s = None if ours is None else ours["median"]
        theirs_s = None if theirs is None else theirs["median"]
        best = " / ".join(
            "–"
            if found is None
            else f"{format_seconds(found.get('min', found['median']))} ({found['n']})"
            for found in (ours, theirs)
        )
        rows.append(
            [
                what,
                format_seconds(ours_s),
                format_seconds(theirs_s),
                format_ratio(theirs_s, ours_s),
                f"< {format_seconds(target)}" if target else "",
                verdict(ours_s, target),
                best,
            ]
        )

    add("**log one metric point**, notebook blocked: the call", "log_point", ("call",))
    add(
        f"… the call + the end-of-cell flush, amortized over a {n}-point cell",
        "log_point",
        ("call_and_flush",),
        target=20e-6,
    )
    add(
        "… MLflow asynchronous (`synchronous=False`): the call",
        "log_point",
        ("call",),
        peer="mlflow_async",
        needs_peer=True,
    )
    add(
        f"… MLflow asynchronous: the call + `flush_async_logging()` per {n}-point cell",
        "log_point",
        ("call_and_flush",),
        peer="mlflow_async",
        needs_peer=True,
    )
    add(
        f"… the end-of-cell flush itself, per {n}-point cell (MLflow: asynchronous)",
        "log_point",
        ("flush",),
        peer="mlflow_async",
    )
    add(
        "… call + flush, stores in memory (tmpfs: no fsync cost)",
        "log_point_memory",
        ("call_and_flush",),
    )
    add("**one run**: start, 5 params, 3 metrics, end", "one_run", ("run",), target=2e-3)
    add("… stores in memory (tmpfs: no fsync cost)", "one_run_memory", ("run",))
    add("… the first run in a process", "one_run", ("first_run",))
    add(f"**best run** by a metric among {runs} runs", "best_run", ("repeat",), target=10e-3)
    add("… first call in a fresh process", "best_run", ("first",))
    add(f"**all {runs} runs into a DataFrame**", "runs_frame", ("repeat",), target=200e-3)
    add("… first call in a fresh process (pandas already imported)", "runs_frame", ("first",))
    add(
        f"**open a registry** of {runs} runs, library already imported",
        "open",
        ("open",),
        target=50e-3,
    )
    add("… import the library + open the registry", "open", ("import_and_open",), target=50e-3)
    add(
        "… of which Python's own modules that `import jupyter_mlops` loads (the floor)",
        "open",
        ("stdlib_floor",),
        peer=None,
    )
    add(f"build the {runs}-run population (setup, for information)", "population", ("setup",))
    return rows


def points_per_second(results: dict[str, Any]) -> str:
    parts = []
    for workload, tool, label in (
        ("log_point", "ours", "jupyter-mlops"),
        ("log_point", "mlflow", "MLflow"),
        ("log_point", "mlflow_async", "MLflow asynchronous"),
        ("log_point_memory", "ours", "jupyter-mlops in memory"),
        ("log_point_memory", "mlflow", "MLflow in memory"),
    ):
        value = median(results, workload, tool, "call_and_flush")
        if value:
            parts.append(f"{label} {1 / value:,.0f}")
    return ", ".join(parts)


def versions_line(results: dict[str, Any]) -> str:
    found: dict[str, str] = {}
    for per_tool in results.values():
        for outcome in per_tool.values():
            found.update(outcome.get("versions", {}))
    return ", ".join(f"{name} {version}" for name, version in sorted(found.items()))


def _float_or_zero(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0


def report_markdown(
    results: dict[str, Any], setup: Setup, machine: dict[str, str], elapsed: float
) -> str:
    sizes = setup.sizes
    population = results.get("population", {})
    in_memory = any(p.get("built_in_memory") for p in population.values())
    floor = results.get("open", {}).get("ours", {}).get("stdlib_modules")
    load_after = load_average()
    busy = max(_float_or_zero(machine["load"]), _float_or_zero(load_after)) > 1.0
    lines = [
        f"Measured {machine['date']} by `python bench/tracking.py`, both tools side by side in"
        f" one run of {elapsed / 60:.0f} min, on {machine['cpu']} ({machine['cores']} cores,"
        f" {machine['memory']}), {machine['os']}, Python {machine['python']}; stores on"
        f" {machine['filesystem']} (median fsync {machine['fsync']}); load average"
        f" {machine['load']} before the run, {load_after} after it"
        + (
            " (the machine was shared with other jobs: ratios, measured side by side, are"
            " steadier than absolute times)"
            if busy
            else ""
        )
        + ". Versions:"
        f" {versions_line(results)}; jupyter-mlops at commit {machine.get('commit', '?')}.",
        "",
        "Figures are medians; the last column gives the best sample and the number of"
        ' samples (ours / MLflow). "MLflow / ours" is how many times longer MLflow takes.'
        " Targets are jupyter-mlops' own, from DESIGN.md, judged on the median.",
        "",
        markdown_table(HEADERS, report_rows(results, sizes)),
        "",
        f"Points per second, call + flush: {points_per_second(results)} (target for"
        " jupyter-mlops: > 100,000).",
        "",
        "How it was measured:",
        "",
        "- Each tool in its own venv (`bench/.venvs/ours`: this checkout, `pip install -e .`;"
        " `bench/.venvs/mlflow`: `pip install mlflow`), each workload in a fresh process per"
        " tool, one tool after the other, in a temporary directory outside any git checkout"
        " (so neither tool inspects git). MLflow uses its SQLite backend"
        " (`sqlite:///.../mlflow.db`, its default rollback journal) with telemetry off;"
        " jupyter-mlops its `.mlops/registry.db` (WAL, `synchronous=NORMAL`). The rows"
        ' marked "in memory" repeat the write workloads on tmpfs, where fsync is free, to'
        " show how much of each figure is the disk.",
        f"- Logging: one open run, {sizes.warmup_points} warm-up points, then {sizes.cells}"
        f" cells of {sizes.points_per_cell:,} points of one metric with explicit steps"
        ' (`mlops.log(accuracy=v, step=i)` / `mlflow.log_metric("accuracy", v, step=i)`).'
        " Each cell ends with `run.flush()`, which the notebook extension runs after every"
        " cell; MLflow's default synchronous logging writes each point during the call and"
        " has nothing to flush. Per-point figures are a cell's total divided by its points,"
        " median over the cells.",
        f"- One run: {sizes.runs_timed} runs timed one by one after an untimed first run"
        " (shown on its own line: it pays one-time work such as reading the installed"
        " packages' versions). Ours: `with mlops.start_run(...) as run: run.log_params(5"
        " params); run.log(3 metrics)`; MLflow: `with mlflow.start_run(): mlflow.log_params(...);"
        " mlflow.log_metrics(...)`.",
        f"- Population: {sizes.population:,} finished runs with the same seeded 5 params and"
        " 3 metrics in both stores, jupyter-mlops through its public API run by run, MLflow"
        " through `MlflowClient.create_run` + `log_batch` + `set_terminated` per run (its"
        " fastest public way to record finished runs)"
        + (
            ", built in memory and copied to the disk before the queries; the copies are read"
            " through once, so the queries find them in the page cache, as they would a store"
            " the tool had just written (a copy is otherwise uncached, and reading this"
            " machine's disk cold takes seconds)."
            if in_memory
            else ", built on the disk."
        ),
        '- Best run: ours `queries.best_run(registry, "accuracy")`; MLflow'
        ' `client.search_runs([experiment], order_by=["metrics.accuracy DESC"],'
        " max_results=1)`; both checked to return the seeded best run. DataFrame: ours"
        " `queries.runs_frame(registry)`; MLflow `mlflow.search_runs([experiment])`; both"
        f" checked for {sizes.population:,} rows with `params.*` and `metrics.*` columns. Each"
        " is timed once as the first call in a fresh process, then repeated for up to"
        f" {sizes.query_budget_seconds:.0f} s (at least 3 times).",
        f"- Opening: {sizes.open_repeats} fresh processes per tool, alternating, each a"
        " `python -c` snippet that starts the clock before anything but `sys` and `time` is"
        " imported (interpreter start-up excluded). Ours opens with `Registry.open(path)`"
        " (schema check and crashed-run sweep included). MLflow's client connects lazily,"
        " so its open is `MlflowClient(uri)` plus its first read, `get_experiment_by_name`."
        f" The floor is the time to import only the {floor or '?'} standard-library modules"
        " that `import jupyter_mlops` loads, in the same interpreter.",
    ]
    if setup.skipped:
        lines += [
            "",
            "Not measured: "
            + "; ".join(f"{tool}: {why}" for tool, why in setup.skipped.items())
            + ".",
        ]
    return "\n".join(lines)


# -- entry point ---------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="tiny sizes, jupyter-mlops alone unless --mlflow; for CI",
    )
    peer = parser.add_mutually_exclusive_group()
    peer.add_argument(
        "--mlflow",
        dest="mlflow",
        action="store_true",
        default=None,
        help="measure MLflow too (the default at full size); under --smoke it is"
        " skipped when its venv is missing, and takes 2-3 min when present",
    )
    peer.add_argument(
        "--no-mlflow", dest="mlflow", action="store_false", help="measure jupyter-mlops alone"
    )
    parser.add_argument(
        "--workloads",
        default=",".join(WORKLOADS),
        help=f"comma-separated subset of {', '.join(WORKLOADS)}",
    )
    parser.add_argument(
        "--population",
        type=int,
        help=f"number of runs to query (default {FULL.population:,}; smoke {SMOKE.population})",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        help="where the stores go (default: a new temporary directory, removed at the end)",
    )
    parser.add_argument(
        "--no-memory", action="store_true", help="do not repeat the write workloads in /dev/shm"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directories")
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    write = parser.add_mutually_exclusive_group()
    write.add_argument(
        "--write-results",
        dest="write_results",
        action="store_true",
        default=None,
        help="write bench/RESULTS.md (the default unless --smoke)",
    )
    write.add_argument("--no-write-results", dest="write_results", action="store_false")
    return parser.parse_args(argv)


def choose_pythons(smoke: bool, with_mlflow: bool) -> tuple[dict[str, Path], dict[str, str]]:
    """The Python of each tool's venv, building venvs when missing (not MLflow's under --smoke).

    Under ``--smoke`` without ``bench/.venvs/ours``, the running interpreter measures
    jupyter-mlops when it can import it (a CI job with the package installed).
    """
    pythons: dict[str, Path] = {}
    skipped: dict[str, str] = {}
    ours = OURS_VENV.python if OURS_VENV.exists() else None
    if ours is None and smoke and can_import(sys.executable, "jupyter_mlops"):
        ours = Path(sys.executable)
        log(f"Measuring jupyter-mlops with {sys.executable} ({OURS_VENV.path} does not exist)")
    pythons["ours"] = ours or ensure_venv(OURS_VENV, create=True)  # type: ignore[assignment]
    if not with_mlflow:
        skipped["mlflow"] = "left out (--smoke or --no-mlflow)"
        log(f"Not measuring MLflow: {skipped['mlflow']}")
        return pythons, skipped
    mlflow = ensure_venv(MLFLOW_VENV, create=not smoke)
    if mlflow is None:
        skipped["mlflow"] = f"{MLFLOW_VENV.path} does not exist (a full run creates it)"
        log(f"Not measuring MLflow: {skipped['mlflow']}")
    else:
        pythons["mlflow"] = mlflow
    return pythons, skipped


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    unknown = sorted(set(workloads) - set(WORKLOADS))
    if unknown:
        log(f"Unknown workload(s) {', '.join(unknown)}; choose from {', '.join(WORKLOADS)}")
        return 2
    sizes = SMOKE if args.smoke else FULL
    if args.population is not None:
        sizes = Sizes(**(asdict(sizes) | {"population": args.population}))
    with_mlflow = (not args.smoke) if args.mlflow is None else args.mlflow
    write_results = (not args.smoke) if args.write_results is None else args.write_results
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="tracking-bench-"))
    shm = None if args.no_memory else memory_directory()
    memdir = Path(tempfile.mkdtemp(prefix="tracking-bench-", dir=shm)) if shm else None
    try:
        pythons, skipped = choose_pythons(args.smoke, with_mlflow)
        setup = Setup(sizes, workdir, memdir, pythons, skipped)
        machine = machine_info(workdir) | {"commit": git_commit(REPO_ROOT)}
        log(
            f"Tracking benchmark ({'smoke' if args.smoke else 'full size'}) in {workdir}"
            + (f" and {memdir}" if memdir else "")
        )
        started = time.perf_counter()
        results = run_all(setup, workloads)
        elapsed = time.perf_counter() - started
    except BenchError as exc:
        log(f"Benchmark failed: {exc}")
        return 1
    finally:
        if not args.keep:
            if args.workdir is None:
                shutil.rmtree(workdir, ignore_errors=True)
            if memdir is not None:
                shutil.rmtree(memdir, ignore_errors=True)
    print(plain_table(HEADERS, report_rows(results, sizes)))
    print(f"\npoints/s (call + flush): {points_per_second(results)}")
    if args.json:
        args.json.write_text(
            json.dumps({"sizes": asdict(sizes), "machine": machine, "results": results}, indent=1)
        )
    if write_results:
        update_results_section(
            RESULTS_FILE, "Tracking", report_markdown(results, setup, machine, elapsed)
        )
        log(f"Wrote the Tracking section of {RESULTS_FILE}")
    else:
        log(f"{RESULTS_FILE} left alone ({'--smoke' if args.smoke else '--no-write-results'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
