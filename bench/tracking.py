"""Tracking benchmark: jupyter-mlops against MLflow and trackio, the same workloads side by side.

    python bench/tracking.py            # full size, writes the "Tracking" section of RESULTS.md
                                        # (--workloads A,B: a "Tracking: A, B" section)
    python bench/tracking.py --smoke    # tiny sizes, for CI; RESULTS.md is left alone
    python bench/tracking.py --smoke --trackio   # trackio too at tiny sizes (about a minute)

Each tool lives in its own venv (``bench/.venvs/ours``: this checkout installed with
``pip install -e``; ``bench/.venvs/mlflow``: the latest MLflow from PyPI;
``bench/.venvs/trackio``: the latest trackio and pandas), created when missing. Every
workload runs in a fresh worker process per tool, in a temporary directory outside any
git checkout, MLflow with its SQLite backend (``sqlite:///...``), trackio with its local
SQLite database (one ``PROJECT.db`` per project in ``TRACKIO_DIR``).

trackio runs offline, as it does for a local project: the driver gives its workers an
environment with ``TRACKIO_DIR`` in the workload's store, ``HF_HUB_OFFLINE=1`` and
``HF_HUB_DISABLE_TELEMETRY=1``, ``HF_HOME`` in the store (so no Hugging Face token of the
user's is found: trackio asks the Hub who the user is when it finds one),
``TRACKIO_STORAGE_MODE=sqlite``, and no other ``TRACKIO_*`` or ``HF_*`` variable (such
as ``HF_TOKEN``, ``TRACKIO_SPACE_ID``, ``TRACKIO_SERVER_URL``, ``TRACKIO_BUCKET_ID``,
which would send the runs to a Space or a server, or its SQLite pragma settings);
``trackio.init`` gets ``embed=False`` and no CPU or GPU sampling. Each trackio worker
also installs an audit hook that refuses every socket connection and name lookup, and
fails when one was tried.

The workloads, in the order they run:

- ``log_point``: inside an open run, log 1,000 points of one metric per "cell", then
  end the cell (ours: ``run.flush()``, which the notebook extension does after each
  cell; MLflow's default logging is synchronous and has nothing to flush; trackio
  queues each point and a thread writes the queue every 0.5 s: its flush is that
  thread's own write, run at the end of the cell, since trackio has no public flush
  short of ``finish()``). Reported: the call alone, and the call plus the flush
  amortized over the cell. MLflow's asynchronous mode (``synchronous=False`` +
  ``mlflow.flush_async_logging()`` per cell) is measured too, since it is what an
  MLflow user would reach for in a loop.
- ``log_live``: a loop that logs one metric for 10 s (smoke: 2.5 s) with no cell end,
  the points reaching the store while it runs: ours with the background flush (every
  second) and system metrics (every second) on; MLflow with asynchronous logging and
  ``log_system_metrics=True`` (every second), what an MLflow user would reach for to
  see a curve move. Reported: the call, whatever the background work takes from the
  loop included, and the points written before the loop ended. trackio is left out
  (its logging is already a background queue, measured by ``log_point``).
- ``one_run``: start a run, log 5 parameters and 3 metrics, end it (trackio:
  ``init(config=params)``, ``log``, ``finish``).
- ``population``: build 10,000 finished runs (5 params, 3 metrics each, seeded values);
  ours through the public API, MLflow through ``MlflowClient`` (``create_run`` +
  ``log_batch`` + ``set_terminated``), its fastest public way in, trackio through
  ``trackio.Run(..., existing_runs=[])`` + ``log`` + ``finish`` (``trackio.init`` lists
  every run of the project each time). Timed for information.
- ``best_run``: the run with the highest ``accuracy`` among them (ours
  ``queries.best_run``; MLflow ``search_runs(order_by=..., max_results=1)``). trackio
  has no such query; the closest it has is its read-only SQL over the project's
  database (``trackio query project --sql``), which the table marks as such.
- ``runs_frame``: all of them into a pandas DataFrame (ours ``queries.runs_frame``;
  MLflow ``mlflow.search_runs``). trackio has no DataFrame of runs; the closest is the
  three reads its dashboard makes for a project's runs (run list, configs, logs)
  flattened into one, which the table marks as such.
- ``open``: in a fresh process, import the library and open the population's registry
  (MLflow's client is lazy, so its first read, ``get_experiment_by_name``, is part of
  opening it; trackio opens its database on every call, and its ``Api().runs`` handle
  is lazy too: its first read, the list of runs, is part of opening it). Reported as
  "open" and "import + open", interpreter start excluded.

The workloads themselves, for every tool, are in ``bench/_tracking_workers.py``. Every
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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from _harness import (
    MLFLOW_VENV,
    OURS_VENV,
    REPO_ROOT,
    RESULTS_FILE,
    TRACKIO_VENV,
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
    guarded,
)

WORKERS_SCRIPT = Path(__file__).resolve().with_name("_tracking_workers.py")
TOOLS = ("ours", "mlflow", "trackio")
WORKLOADS = ("log_point", "log_live", "one_run", "population", "best_run", "runs_frame", "open")
LIVE_TOOLS = ("ours", "mlflow")  # the tools with a log_live worker
NEEDS_POPULATION = frozenset(("best_run", "runs_frame", "open"))


FULL = Sizes(
    points_per_cell=1_000,
    cells=8,
    warmup_points=50,
    runs_timed=200,
    population=10_000,
    query_budget_seconds=15.0,
    open_repeats=7,
    live_seconds=10.0,
)
SMOKE = Sizes(
    points_per_cell=100,
    cells=2,
    warmup_points=5,
    runs_timed=10,
    population=200,
    query_budget_seconds=1.0,
    open_repeats=2,
    live_seconds=2.5,
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
    # The 1-minute load average as each worker starts: the machine may be shared.
    loads: list[float] = field(default_factory=list)


# What would send trackio's runs to a Space, a server or the Hub rather than its local
# database; none of it is set for its workers.
TRACKIO_REMOTE_VARIABLES = (
    "HF_TOKEN",
    "HUGGING_FACE_HUB_TOKEN",
    "TRACKIO_SPACE_ID",
    "TRACKIO_SERVER_URL",
    "TRACKIO_WRITE_TOKEN",
    "TRACKIO_BUCKET_ID",
    "TRACKIO_DATASET_ID",
    "TRACKIO_WEBHOOK_URL",
    "SPACE_ID",
    "SYSTEM",
)


def worker_env(tool: str, store: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("MLOPS_REGISTRY", None)
    env.pop("MLFLOW_TRACKING_URI", None)
    # MLflow sends usage telemetry from a background thread; this machine has no route
    # for it, and a user who benchmarks would opt out too.
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    env["DO_NOT_TRACK"] = "true"
    # pip compiled the peers' modules to bytecode when it installed them; ours is an
    # editable install, compiled by the first process that imports it. Without this, a
    # shell that forbids writing bytecode makes every process of ours compile its source.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if tool != "ours":
        env.pop("PYTHONPATH", None)
    if tool == "trackio":
        # Local and offline (see the module's docstring): the database in the store, no
        # token to find (trackio asks the Hub who its owner is), the Hub client offline.
        # Any other TRACKIO_ or HF_ setting of the shell (SQLite pragmas, storage mode,
        # endpoints) goes too, so trackio runs with its defaults for a local project.
        for name in list(env):
            if name in TRACKIO_REMOTE_VARIABLES or name.startswith(("TRACKIO_", "HF_")):
                env.pop(name)
        env["TRACKIO_DIR"] = str(store / "trackio")
        # What trackio picks itself on a local disk; said here so that a temporary
        # directory it took for a network file system cannot switch it to JSONL files.
        env["TRACKIO_STORAGE_MODE"] = "sqlite"
        env["HF_HOME"] = str(store / "huggingface")
        env["HF_HUB_OFFLINE"] = "1"
        env["HF_HUB_DISABLE_TELEMETRY"] = "1"
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
    setup.loads.append(_float_or_zero(load_average()))
    started = time.perf_counter()
    result = run_worker(setup.pythons[tool], argv, cwd=store, env=worker_env(tool, store))
    where = "" if base is None or base == setup.workdir else " (memory)"
    log(
        f"  {tool:7} {workload:11}{where:9} {json.dumps(config) if config else '':22}"
        f" {time.perf_counter() - started:6.1f} s"
    )
    return result


def run_snippet(setup: Setup, tool: str, code: str, args: list[str]) -> dict[str, Any]:
    store = setup.workdir / tool / "population"
    setup.loads.append(_float_or_zero(load_average()))
    return run_worker(
        setup.pythons[tool], ["-c", code, *args], cwd=store, env=worker_env(tool, store)
    )


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
    for tool in tools:  # once each, untimed: opening stays offline (and warms every tool alike)
        run_snippet(
            setup, tool, guarded(OPEN_SNIPPETS[tool]), [str(setup.workdir / tool / "population")]
        )
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
            tool: run_one(setup, tool, workload, store_of=store_of)
            for tool in tools
            if workload != "log_live" or tool in LIVE_TOOLS
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
    "trackio",
    "MLflow / ours",
    "trackio / ours",
    "target",
    "met",
    "best (samples): ours / MLflow / trackio",
)

# Where trackio has no equivalent of a workload, its cell holds the closest thing it has,
# with one of these marks; the notes go under the table.
TRACKIO_NOTES = {
    "¹": "trackio has no public flush for a local run: a thread writes its queue every"
    " 0.5 s and `finish()` ends the run; its flush here is that thread's own write"
    " (`Run._flush_queues_inline`, under the thread's lock), run at the end of each cell.",
    "²": "trackio has no best-run query; the closest it has is its read-only SQL over the"
    " project's database, `trackio query project --sql` (`SQLiteStorage.query_project`):"
    " `SELECT run_name, json_extract(metrics, '$.accuracy') AS accuracy FROM metrics"
    " WHERE accuracy IS NOT NULL ORDER BY accuracy DESC LIMIT 1`.",
    "³": "trackio has no DataFrame of runs; the closest is the three reads its dashboard"
    " makes for a project's runs (`SQLiteStorage.get_run_records`, `get_all_run_configs`,"
    " `get_logs_batch`), flattened by the bench into a DataFrame with the same `params.*`"
    " and `metrics.*` columns (the last value of each metric).",
    "⁴": "trackio has no open step: it opens its database on every call. Its open here is"
    " `trackio.Api().runs(project)` and that handle's first read, the project's list of"
    " runs.",
}


def report_rows(results: dict[str, Any], sizes: Sizes) -> list[list[str]]:
    """The table: what, ours, MLflow, trackio, the two ratios, our target, met, samples."""
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
        trackio: bool = True,
        note: str = "",
    ) -> None:
        ours = figure(results, workload, "ours", *path)
        theirs = figure(results, workload, peer, *path) if peer else None
        other = figure(results, workload, "trackio", *path) if trackio else None
        if (ours is None and theirs is None and other is None) or (needs_peer and theirs is None):
            return
        ours_s, theirs_s, other_s = (
            None if found is None else found["median"] for found in (ours, theirs, other)
        )
        best = " / ".join(
            "–"
            if found is None
            else f"{format_seconds(found.get('min', found['median']))} ({found['n']})"
            for found in (ours, theirs, other)
        )
        rows.append(
            [
                what,
                format_seconds(ours_s),
                format_seconds(theirs_s),
                format_seconds(other_s) + (f" {note}" if note and other_s is not None else ""),
                format_ratio(theirs_s, ours_s),
                format_ratio(other_s, ours_s),
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
        note="¹",
    )
    add(
        "… MLflow asynchronous (`synchronous=False`): the call",
        "log_point",
        ("call",),
        peer="mlflow_async",
        needs_peer=True,
        trackio=False,
    )
    add(
        f"… MLflow asynchronous: the call + `flush_async_logging()` per {n}-point cell",
        "log_point",
        ("call_and_flush",),
        peer="mlflow_async",
        needs_peer=True,
        trackio=False,
    )
    add(
        f"… the end-of-cell flush itself, per {n}-point cell (MLflow: asynchronous)",
        "log_point",
        ("flush",),
        peer="mlflow_async",
        note="¹",
    )
    add(
        "… call + flush, stores in memory (tmpfs: no fsync cost)",
        "log_point_memory",
        ("call_and_flush",),
        note="¹",
    )
    live = f"{sizes.live_seconds:g} s"
    add(
        f"**log one metric point, live** over a {live} loop, background flush and system"
        " metrics every 1 s (MLflow: asynchronous, `log_system_metrics=True`): the call,"
        " the loop's whole time over its points",
        "log_live",
        ("call",),
        target=20e-6,
        trackio=False,
    )
    add(
        "… the end of the run: the points not yet written, the environment and git state"
        " (MLflow: `flush_async_logging()` only)",
        "log_live",
        ("end",),
        trackio=False,
    )
    add("**one run**: start, 5 params, 3 metrics, end", "one_run", ("run",), target=2e-3)
    add("… stores in memory (tmpfs: no fsync cost)", "one_run_memory", ("run",))
    add("… the first run in a process", "one_run", ("first_run",))
    add(
        f"**best run** by a metric among {runs} runs",
        "best_run",
        ("repeat",),
        target=10e-3,
        note="²",
    )
    add("… first call in a fresh process", "best_run", ("first",), note="²")
    add(
        f"**all {runs} runs into a DataFrame**",
        "runs_frame",
        ("repeat",),
        target=200e-3,
        note="³",
    )
    add(
        "… first call in a fresh process (pandas already imported)",
        "runs_frame",
        ("first",),
        note="³",
    )
    add(
        f"**open a registry** of {runs} runs, library already imported",
        "open",
        ("open",),
        target=50e-3,
        note="⁴",
    )
    add(
        "… import the library + open the registry",
        "open",
        ("import_and_open",),
        target=50e-3,
        note="⁴",
    )
    add(
        "… of which Python's own modules that `import jupyter_mlops` loads (the floor)",
        "open",
        ("stdlib_floor",),
        peer=None,
        trackio=False,
    )
    add(f"build the {runs}-run population (setup, for information)", "population", ("setup",))
    return rows


def trackio_notes(rows: list[list[str]]) -> list[str]:
    """The notes of the marks that ``rows`` use, in order."""
    cells = " ".join(row[HEADERS.index("trackio")] for row in rows)
    return [f"{mark} {text}" for mark, text in TRACKIO_NOTES.items() if mark in cells]


def points_per_second(results: dict[str, Any]) -> str:
    parts = []
    for workload, tool, label in (
        ("log_point", "ours", "jupyter-mlops"),
        ("log_point", "mlflow", "MLflow"),
        ("log_point", "mlflow_async", "MLflow asynchronous"),
        ("log_point", "trackio", "trackio"),
        ("log_point_memory", "ours", "jupyter-mlops in memory"),
        ("log_point_memory", "mlflow", "MLflow in memory"),
        ("log_point_memory", "trackio", "trackio in memory"),
    ):
        value = median(results, workload, tool, "call_and_flush")
        if value:
            parts.append(f"{label} {1 / value:,.0f}")
    return ", ".join(parts)


def behind_line(rows: list[list[str]]) -> str:
    """Which rows a peer is ahead on (a ratio below 1), said plainly; or that there are none."""
    behind, compared = [], 0
    for row in rows:
        for peer in ("MLflow", "trackio"):
            ratio = row[HEADERS.index(f"{peer} / ours")]
            if ratio == "–":
                continue
            compared += 1
            if float(ratio.rstrip("×").replace(",", "")) < 1:
                behind.append(f"{row[0]} ({peer} / ours {ratio})")
    if not compared:
        return "No peer was measured."
    if not behind:
        return f"jupyter-mlops is ahead on all {compared} comparisons with a peer."
    return "**jupyter-mlops is not ahead** on: " + "; ".join(behind) + "."


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
    rows = report_rows(results, sizes)
    population = results.get("population", {})
    in_memory = any(p.get("built_in_memory") for p in population.values())
    floor = results.get("open", {}).get("ours", {}).get("stdlib_modules")
    load_after = load_average()
    load_peak = max([_float_or_zero(machine["load"]), _float_or_zero(load_after), *setup.loads])
    cores = int(machine["cores"]) if str(machine["cores"]).isdigit() else 0
    if load_peak > 3:
        load_note = (
            f" (the machine, {cores or '?'} cores, was shared with other jobs: the absolute"
            " figures are inflated by them; the ratios, each tool measured side by side in"
            " the same run, are the figures to read)"
        )
    elif load_peak > 1:
        load_note = (
            " (the machine was shared with other jobs: ratios, measured side by side, are"
            " steadier than absolute times)"
        )
    else:
        load_note = ""
    lines = [
        f"Measured {machine['date']} by `python bench/tracking.py`, the tools side by side in"
        f" one run of {elapsed / 60:.0f} min, on {machine['cpu']} ({machine['cores']} cores,"
        f" {machine['memory']}), {machine['os']}, Python {machine['python']}; stores on"
        f" {machine['filesystem']} (median fsync {machine['fsync']}); load average"
        f" {machine['load']} before the run, {load_after} after it, at most {load_peak:.2f} as"
        " a workload started" + load_note + ". Versions:"
        f" {versions_line(results)}; jupyter-mlops at commit {machine.get('commit', '?')}.",
        "",
        "Figures are medians; the last column gives the best sample and the number of"
        ' samples (ours / MLflow / trackio). "MLflow / ours" and "trackio / ours" are how'
        " many times longer the peer takes. Targets are jupyter-mlops' own, from DESIGN.md,"
        " judged on the median. A marked trackio figure is the closest thing trackio has"
        " to the workload (notes under the table).",
        "",
        markdown_table(HEADERS, rows),
        "",
        *trackio_notes(rows),
        "",
        behind_line(rows),
        "",
        f"Points per second, call + flush: {points_per_second(results)} (target for"
        " jupyter-mlops: > 100,000).",
        "",
        "How it was measured:",
        "",
        "- Each tool in its own venv (`bench/.venvs/ours`: this checkout, `pip install -e .`;"
        " `bench/.venvs/mlflow`: `pip install mlflow`; `bench/.venvs/trackio`: `pip install"
        " trackio pandas`), each workload in a fresh process per tool, one tool after the"
        " other, in a temporary directory outside any git checkout (so no tool inspects"
        " git). MLflow uses its SQLite backend (`sqlite:///.../mlflow.db`, its default"
        " rollback journal) with telemetry off; trackio its local SQLite database"
        " (`TRACKIO_DIR/PROJECT.db`, WAL, `synchronous=NORMAL`), offline: no Hugging Face"
        " token, `HF_HUB_OFFLINE=1`, no Space or server configured, no dashboard, no CPU or"
        " GPU sampling, and an audit hook in each worker that refuses any connection and"
        " fails the worker if one was tried; jupyter-mlops its `.mlops/registry.db` (WAL,"
        " `synchronous=NORMAL`). The rows"
        ' marked "in memory" repeat the write workloads on tmpfs, where fsync is free, to'
        " show how much of each figure is the disk.",
        f"- Logging: one open run, {sizes.warmup_points} warm-up points, then {sizes.cells}"
        f" cells of {sizes.points_per_cell:,} points of one metric with explicit steps"
        ' (`mlops.log(accuracy=v, step=i)` / `mlflow.log_metric("accuracy", v, step=i)` /'
        ' `trackio.log({"accuracy": v}, step=i)`). Each cell ends with `run.flush()`, which'
        " the notebook extension runs after every cell; MLflow's default synchronous logging"
        " writes each point during the call and has nothing to flush; trackio queues each"
        " point for a thread that writes every 0.5 s, and its flush is that thread's write,"
        " run at the end of the cell (note ¹). Per-point figures are a cell's total divided"
        " by its points, median over the cells.",
        f"- One run: {sizes.runs_timed} runs timed one by one after an untimed first run"
        " (shown on its own line: it pays one-time work such as reading the installed"
        " packages' versions). Ours: `with mlops.start_run(...) as run: run.log_params(5"
        " params); run.log(3 metrics)`; MLflow: `with mlflow.start_run(): mlflow.log_params(...);"
        " mlflow.log_metrics(...)`; trackio: `trackio.init(project, name, config=params);"
        " trackio.log(metrics); trackio.finish()`.",
        f"- Population: {sizes.population:,} finished runs with the same seeded 5 params and"
        " 3 metrics in every store, jupyter-mlops through its public API run by run, MLflow"
        " through `MlflowClient.create_run` + `log_batch` + `set_terminated` per run (its"
        " fastest public way to record finished runs), trackio through `trackio.Run(...,"
        " config=params, existing_runs=[])` + `log` + `finish` per run (`trackio.init` lists"
        " every run of the project each time, which makes the build quadratic)"
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
        " max_results=1)`; trackio its read-only SQL (note ²); each checked to return the"
        " seeded best run. DataFrame: ours `queries.runs_frame(registry)`; MLflow"
        " `mlflow.search_runs([experiment])`; trackio its dashboard's reads (note ³); each"
        f" checked for {sizes.population:,} rows with `params.*` and `metrics.*` columns. Each"
        " is timed once as the first call in a fresh process, then repeated for up to"
        f" {sizes.query_budget_seconds:.0f} s (at least 3 times).",
        f"- Opening: {sizes.open_repeats} fresh processes per tool, alternating, each a"
        " `python -c` snippet that starts the clock before anything but `sys` and `time` is"
        " imported (interpreter start-up excluded). Ours opens with `Registry.open(path)`"
        " (schema check and crashed-run sweep included). MLflow's client connects lazily,"
        " so its open is `MlflowClient(uri)` plus its first read, `get_experiment_by_name`;"
        " trackio's is `trackio.Api().runs(project)` plus its first read (note ⁴)."
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
        help="tiny sizes, jupyter-mlops alone unless --mlflow or --trackio; for CI",
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
    peer.add_argument("--no-mlflow", dest="mlflow", action="store_false", help="leave MLflow out")
    trackio = parser.add_mutually_exclusive_group()
    trackio.add_argument(
        "--trackio",
        dest="trackio",
        action="store_true",
        default=None,
        help="measure trackio too (the default at full size); under --smoke it is"
        " skipped when its venv is missing",
    )
    trackio.add_argument(
        "--no-trackio", dest="trackio", action="store_false", help="leave trackio out"
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


def choose_pythons(
    smoke: bool, with_mlflow: bool, with_trackio: bool
) -> tuple[dict[str, Path], dict[str, str]]:
    """The Python of each tool's venv, building venvs when missing (not the peers' under --smoke).

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
    for tool, label, venv, wanted in (
        ("mlflow", "MLflow", MLFLOW_VENV, with_mlflow),
        ("trackio", "trackio", TRACKIO_VENV, with_trackio),
    ):
        python = ensure_venv(venv, create=not smoke) if wanted else None
        if python is not None:
            pythons[tool] = python
            continue
        skipped[tool] = (
            f"{venv.path} does not exist (a full run creates it)"
            if wanted
            else f"left out (--smoke or --no-{tool})"
        )
        log(f"Not measuring {label}: {skipped[tool]}")
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
    with_trackio = (not args.smoke) if args.trackio is None else args.trackio
    write_results = (not args.smoke) if args.write_results is None else args.write_results
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="tracking-bench-"))
    shm = None if args.no_memory else memory_directory()
    memdir = Path(tempfile.mkdtemp(prefix="tracking-bench-", dir=shm)) if shm else None
    try:
        pythons, skipped = choose_pythons(args.smoke, with_mlflow, with_trackio)
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
    rows = report_rows(results, sizes)
    print(plain_table(HEADERS, rows))
    for note in trackio_notes(rows):
        print(note)
    print(behind_line(rows))
    print(f"\npoints/s (call + flush): {points_per_second(results)}")
    print(
        f"load average: {machine['load']} before, {load_average()} after,"
        f" at most {max(setup.loads, default=0):.2f} as a workload started"
    )
    if args.json:
        args.json.write_text(
            json.dumps({"sizes": asdict(sizes), "machine": machine, "results": results}, indent=1)
        )
    if write_results:
        # a run of some workloads writes a section of its own, leaving the full table be
        section = (
            "Tracking"
            if set(workloads) == set(WORKLOADS)
            else "Tracking: " + ", ".join(w for w in WORKLOADS if w in workloads)
        )
        update_results_section(
            RESULTS_FILE, section, report_markdown(results, setup, machine, elapsed)
        )
        log(f"Wrote the {section} section of {RESULTS_FILE}")
    else:
        log(f"{RESULTS_FILE} left alone ({'--smoke' if args.smoke else '--no-write-results'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
