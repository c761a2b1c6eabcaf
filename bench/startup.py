"""Start-up benchmark: whole ``jupyter mlops`` processes against MLflow's command line and nbconvert.

    python bench/startup.py                  # 1,000 and 10,000 runs; writes the Start-up section
    python bench/startup.py --smoke          # 200 runs, 3 samples; RESULTS.md left alone
    python bench/startup.py --python .venv/bin/python      # that environment's interpreter
    python bench/startup.py --baseline-src ../main/src     # also time another checkout's code

What a person waits for after typing a command: from starting the process to its exit,
so the interpreter's start-up, the imports, opening the store, the query and printing.
Each command runs as a child process of this driver with its output captured and
checked (the right number of runs listed, the pipeline written); the figure is the wall
time around it, with the CPU time of the process (user + system) beside it. Commands
take turns, one sample of each per round, after one untimed round that fills the page
cache and compiles bytecode, so a burst of load on the shared machine falls on all.

- Listing runs, on populations of 1,000 and 10,000 runs (the tracking benchmark's seeded
  runs, 5 params and 3 metrics each): ``jupyter mlops runs --limit 20``, as typed, through
  the ``jupyter`` launcher, and ``jupyter-mlops`` itself with each output format and a
  filter; peer ``mlflow runs list --experiment-id ID`` (it has no limit option and prints
  one page of its search, up to 1,000 runs, which is what it offers) with
  ``MLFLOW_TRACKING_URI`` on the SQLite store. ``jupyter mlops status`` against ``mlflow experiments search``: the smallest
  command of each that opens the store and prints what it holds.
- Export of the example notebook ``notebooks/03-pipeline.ipynb``: ``jupyter mlops export``
  (local and docker targets, in a directory with a registry, as scripts/demo does)
  against ``jupyter nbconvert --to script`` of the same notebook.
- The floor: ``python -c pass`` with the same interpreter.
- What is left: ``python -X importtime`` of the listing and of the export, in-process
  the way the ``jupyter-mlops`` script runs them: the modules loaded and the largest
  import costs, grouped by package, and a check that pandas, numpy, IPython, nbformat
  and jsonschema are not among them.

jupyter-mlops runs from this checkout's ``src/`` (``PYTHONPATH``) with ``--python``'s
environment (its ``jupyter``, ``jupyter-mlops`` and ``jupyter-nbconvert`` scripts),
else ``bench/.venvs/ours``; MLflow from ``bench/.venvs/mlflow``. ``--baseline-src DIR``
adds a column with the same commands on another checkout's sources, for before/after.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _harness import (
    MLFLOW_VENV,
    OURS_VENV,
    REPO_ROOT,
    RESULTS_FILE,
    BenchError,
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
    package_version,
    plain_table,
    run_worker,
    update_results_section,
)

WORKER = Path(__file__).resolve().with_name("_startup_worker.py")
EXAMPLE = REPO_ROOT / "notebooks" / "03-pipeline.ipynb"
EXAMPLE_STEPS = ["load", "features", "train", "train_gate", "register"]
HEAVY = ("pandas", "numpy", "pyarrow", "scipy", "IPython", "nbformat", "jsonschema")
SIZES = (1_000, 10_000)
SMOKE_SIZES = (200,)
LIMIT = 20
TARGETS = {"runs": 0.4, "export": 1.5}

# ``main`` of jupyter-mlops run in-process as its script does, for ``-X importtime``.
RUN_MAIN = (
    "import sys; sys.argv = ['jupyter-mlops', *sys.argv[1:]]\n"
    "from jupyter_mlops.cli import main\n"
    "main()\n"
)


# -- one command, timed as a whole process -------------------------------------------------------


@dataclass
class Command:
    """A command line, where and how it runs, and how to tell it did its work."""

    label: str
    argv: list[str]
    cwd: Path
    env: dict[str, str]
    check: Callable[[str], None]
    prepare: Callable[[int], None] | None = None  # called before each sample with its index
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def run(self, sample: int, *, timed: bool = True) -> None:
        if self.prepare is not None:
            self.prepare(sample)
        argv = [arg.replace("{sample}", str(sample)) for arg in self.argv]
        before = _children_cpu()
        started = time.perf_counter()
        done = subprocess.run(
            argv, cwd=self.cwd, env=self.env, capture_output=True, text=True, check=False
        )
        elapsed = time.perf_counter() - started
        cpu = _children_cpu() - before
        if done.returncode != 0:
            tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
            raise BenchError(f"`{' '.join(argv)}` exited with {done.returncode}:\n{tail}")
        try:
            self.check(done.stdout)
        except AssertionError as exc:
            raise BenchError(f"`{' '.join(argv)}` did not do its work: {exc}") from exc
        if timed:
            self.wall.append(elapsed)
            self.cpu.append(cpu)

    def figures(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "argv": self.argv,
            "wall": self.wall,
            "cpu": self.cpu,
            "median": statistics.median(self.wall),
            "cpu_median": statistics.median(self.cpu),
            "best": min(self.wall),
        }


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def take_turns(commands: list[Command], samples: int) -> None:
    """One untimed round, then ``samples`` rounds of every command in turn."""
    for command in commands:
        command.run(0, timed=False)
    for sample in range(1, samples + 1):
        for command in commands:
            command.run(sample)


# -- checks of what each command printed ---------------------------------------------------------


def table_rows(total: int) -> Callable[[str], None]:
    def check(out: str) -> None:
        lines = out.splitlines()
        assert lines and lines[0].split()[:2] == ["id", "name"], f"no table: {out[:200]!r}"
        rows = [line for line in lines[2:] if not line.startswith("(")]
        assert len(rows) == min(LIMIT, total), f"{len(rows)} rows listed"
        if total > LIMIT:
            assert f"of {total} runs" in lines[-1], lines[-1]

    return check


def csv_rows(total: int) -> Callable[[str], None]:
    def check(out: str) -> None:
        lines = out.splitlines()
        assert lines[0].startswith("run_id,name,"), lines[0]
        assert "metrics.accuracy" in lines[0] and len(lines) == 1 + min(LIMIT, total)

    return check


def json_rows(total: int) -> Callable[[str], None]:
    def check(out: str) -> None:
        data = json.loads(out)
        assert data["total"] == total and len(data["runs"]) == min(LIMIT, total), data["total"]

    return check


def best_first(out: str) -> None:
    lines = out.splitlines()
    header = lines[0].split()
    rows = [line.split() for line in lines[2:] if not line.startswith("(")]
    column = header.index("accuracy") + 2  # the started column is two words: date and time
    values = [float(row[column]) for row in rows]
    assert values and values == sorted(values, reverse=True) and values[0] > 0.9, values[:3]


def status_lists(total: int) -> Callable[[str], None]:
    def check(out: str) -> None:
        assert f"{total} runs" in out, out

    return check


# `mlflow runs list` prints one page of its search: up to 1,000 runs (MLflow 3.x)
MLFLOW_LIST_PAGE = 1_000


def mlflow_rows(total: int) -> Callable[[str], None]:
    def check(out: str) -> None:
        names = re.findall(r"\brun-\d{5}\b", out)
        expected = min(total, MLFLOW_LIST_PAGE)
        assert len(names) == expected, f"{len(names)} of {expected} runs listed"

    return check


def mlflow_experiments(out: str) -> None:
    assert "population" in out, out


def exported(folder: Path) -> Callable[[str], None]:
    def check(out: str) -> None:
        specs = sorted(folder.glob("pipeline-*/pipeline.json"), key=lambda p: p.stat().st_mtime)
        assert specs, f"no pipeline.json in {folder}"
        steps = [step["name"] for step in json.loads(specs[-1].read_text())["steps"]]
        assert steps == EXAMPLE_STEPS, steps

    return check


def script_written(folder: Path) -> Callable[[str], None]:
    def check(out: str) -> None:
        scripts = list(folder.glob("script-*/03-pipeline.*"))  # .txt: no language_info
        assert scripts and "load_breast_cancer" in scripts[-1].read_text()

    return check


def nothing(out: str) -> None:
    pass


# -- environments --------------------------------------------------------------------------------


def ours_env(bin_dir: Path, src: Path) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("MLOPS_REGISTRY", "MLOPS_EXPERIMENT", "MLFLOW_TRACKING_URI"):
        env.pop(name, None)
    env["PYTHONPATH"] = str(src)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"  # `jupyter` finds its subcommands
    return env


def mlflow_env(store: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("PYTHONPATH", "MLOPS_REGISTRY", "MLFLOW_TRACKING_URI"):
        env.pop(name, None)
    # MLflow sends usage telemetry from a background thread; a user who benchmarks opts out.
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    env["DO_NOT_TRACK"] = "true"
    if store is not None:
        env["MLFLOW_TRACKING_URI"] = f"sqlite:///{store / 'mlflow.db'}"
    return env


@dataclass(frozen=True)
class Tools:
    ours_python: Path
    mlflow_python: Path | None
    baseline_src: Path | None

    @property
    def ours_bin(self) -> Path:
        return self.ours_python.parent

    def ours_sources(self) -> list[tuple[str, Path]]:
        found = [("ours", REPO_ROOT / "src")]
        if self.baseline_src is not None:
            found.append(("baseline", self.baseline_src))
        return found


# -- populations ---------------------------------------------------------------------------------


def build_population(tools: Tools, tool: str, runs: int, workdir: Path) -> dict[str, Any]:
    """``runs`` finished runs in ``workdir/TOOL-RUNS``, built in memory when /dev/shm is a
    tmpfs (MLflow's SQLite store commits three times per run) and copied to the disk."""
    store = workdir / f"{tool}-{runs}"
    shm = memory_directory()
    build = Path(tempfile.mkdtemp(prefix="startup-bench-", dir=shm)) / store.name if shm else store
    python = tools.ours_python if tool == "ours" else tools.mlflow_python
    assert python is not None
    env = ours_env(tools.ours_bin, REPO_ROOT / "src") if tool == "ours" else mlflow_env(None)
    log(f"  building {runs:,} {tool} runs ...")
    started = time.perf_counter()
    result = run_worker(
        python, [str(WORKER), tool, str(build), str(runs)], cwd=build.parent, env=env
    )
    if build != store:
        shutil.copytree(build, store)
        shutil.rmtree(build.parent, ignore_errors=True)
    for path in store.rglob("*"):  # read through once: the queries find it in the page cache
        if path.is_file():
            path.read_bytes()
    log(f"  ... {time.perf_counter() - started:.0f} s")
    return result | {"store": str(store)}


# -- the measurements ----------------------------------------------------------------------------


def listing_commands(
    tools: Tools, runs: int, stores: dict[str, dict[str, Any]]
) -> dict[str, Command]:
    ours_store = Path(stores["ours"]["store"])
    commands: dict[str, Command] = {}
    for who, src in tools.ours_sources():
        env = ours_env(tools.ours_bin, src)
        jupyter_mlops = str(tools.ours_bin / "jupyter-mlops")
        limit = ["--limit", str(LIMIT)]
        shapes = {
            "runs": ([str(tools.ours_bin / "jupyter"), "mlops", "runs", *limit], table_rows(runs)),
            "runs-script": ([jupyter_mlops, "runs", *limit], table_rows(runs)),
            "runs-csv": ([jupyter_mlops, "runs", *limit, "--format", "csv"], csv_rows(runs)),
            "runs-json": ([jupyter_mlops, "runs", *limit, "--format", "json"], json_rows(runs)),
            "runs-where": (
                [jupyter_mlops, "runs", *limit, "--where", "accuracy > 0.9", "--sort", "-accuracy"],
                best_first,
            ),
            "status": ([str(tools.ours_bin / "jupyter"), "mlops", "status"], status_lists(runs)),
        }
        for key, (argv, check) in shapes.items():
            commands[f"{who}:{key}"] = Command(f"{who}:{key}", argv, ours_store, env, check)
    if tools.mlflow_python is not None and "mlflow" in stores:
        store = Path(stores["mlflow"]["store"])
        env = mlflow_env(store)
        mlflow = str(tools.mlflow_python.parent / "mlflow")
        experiment = stores["mlflow"]["experiment_id"]
        commands["mlflow:runs"] = Command(
            "mlflow:runs",
            [mlflow, "runs", "list", "--experiment-id", experiment],
            store,
            env,
            mlflow_rows(runs),
        )
        commands["mlflow:status"] = Command(
            "mlflow:status", [mlflow, "experiments", "search"], store, env, mlflow_experiments
        )
    return commands


def export_commands(tools: Tools, workdir: Path) -> dict[str, Command]:
    folder = workdir / "export"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(EXAMPLE, folder / EXAMPLE.name)
    init = subprocess.run(
        [str(tools.ours_bin / "jupyter-mlops"), "init", "."],
        cwd=folder,
        env=ours_env(tools.ours_bin, REPO_ROOT / "src"),
        capture_output=True,
        text=True,
        check=False,
    )
    if init.returncode != 0:
        raise BenchError(f"jupyter-mlops init failed in {folder}: {init.stderr}")
    commands: dict[str, Command] = {}
    for who, src in tools.ours_sources():

        def fresh(sample: int, who: str = who) -> None:
            shutil.rmtree(folder / f"pipeline-{who}-{sample}", ignore_errors=True)

        commands[f"{who}:export"] = Command(
            f"{who}:export",
            [str(tools.ours_bin / "jupyter"), "mlops", "export", EXAMPLE.name,
             "-o", f"pipeline-{who}-{{sample}}"],
            folder,
            ours_env(tools.ours_bin, src),
            exported(folder),
            prepare=fresh,
        )  # fmt: skip
    commands["nbconvert:export"] = Command(
        "nbconvert:export",
        [str(tools.ours_bin / "jupyter"), "nbconvert", "--to", "script", EXAMPLE.name,
         "--output-dir", "script-{sample}"],
        folder,
        ours_env(tools.ours_bin, REPO_ROOT / "src"),
        script_written(folder),
    )  # fmt: skip
    commands["python:pass"] = Command(
        "python:pass",
        [str(tools.ours_python), "-c", "pass"],
        folder,
        ours_env(tools.ours_bin, REPO_ROOT / "src"),
        nothing,
    )
    return commands


# -- python -X importtime ------------------------------------------------------------------------


def import_profile(tools: Tools, args: list[str], cwd: Path, repeats: int = 3) -> dict[str, Any]:
    """The modules ``jupyter-mlops ARGS`` imports and what they cost, median of ``repeats``."""
    runs: list[dict[str, tuple[int, int, int]]] = []
    for _ in range(repeats):
        done = subprocess.run(
            [str(tools.ours_python), "-X", "importtime", "-c", RUN_MAIN, *args],
            cwd=cwd,
            env=ours_env(tools.ours_bin, REPO_ROOT / "src"),
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise BenchError(f"importtime of jupyter-mlops {' '.join(args)} failed: {done.stderr}")
        modules: dict[str, tuple[int, int, int]] = {}
        for line in done.stderr.splitlines():
            found = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
            if found:
                modules[found[4]] = (int(found[1]), int(found[2]), len(found[3]))
        runs.append(modules)
    names = set(runs[0])
    total = statistics.median(
        sum(cumulative for _, cumulative, depth in run.values() if depth == 1) for run in runs
    )
    by_group: dict[str, float] = {}
    for name in names:
        parts = name.split(".")
        group = ".".join(parts[:2]) if parts[0] == "jupyter_mlops" and len(parts) > 1 else parts[0]
        own = statistics.median(run.get(name, (0, 0, 0))[0] for run in runs)
        by_group[group] = by_group.get(group, 0.0) + own
    largest = sorted(by_group.items(), key=lambda item: -item[1])[:10]
    return {
        "args": args,
        "modules": len(names),
        "total": total / 1e6,
        "largest": [(group, micros / 1e6) for group, micros in largest],
        "heavy": sorted({name.split(".")[0] for name in names} & set(HEAVY)),
    }


# -- the report ----------------------------------------------------------------------------------


def figure_of(results: dict[str, Any], key: str, what: str = "median") -> float | None:
    figures = results.get(key)
    return None if figures is None else figures[what]


def verdict(value: float | None, limit: float | None) -> str:
    if value is None or limit is None:
        return ""
    return "yes" if value < limit else "no"


HEADERS = [
    "what",
    "runs",
    "jupyter-mlops: best (median)",
    "before: best (median)",
    "peer",
    "peer: best",
    "peer / ours",
    "target",
    "met (best)",
    "CPU median: ours / peer",
]


def best_and_median(results: dict[str, Any], key: str) -> str:
    best = figure_of(results, key, "best")
    if best is None:
        return ""
    return f"{format_seconds(best)} ({format_seconds(figure_of(results, key))})"


def report_rows(results: dict[str, Any], sizes: tuple[int, ...]) -> list[list[str]]:
    rows: list[list[str]] = []

    def add(
        scope: dict[str, Any],
        what: str,
        size: str,
        key: str,
        peer: tuple[str, str] | None = None,
        target: float | None = None,
    ) -> None:
        ours = figure_of(scope, f"ours:{key}", "best")
        peer_key, peer_label = peer or ("", "")
        peer_time = figure_of(scope, peer_key, "best") if peer else None
        cpu_ours = figure_of(scope, f"ours:{key}", "cpu_median")
        cpu_peer = figure_of(scope, peer_key, "cpu_median") if peer else None
        rows.append(
            [
                what,
                size,
                best_and_median(scope, f"ours:{key}"),
                best_and_median(scope, f"baseline:{key}"),
                peer_label,
                format_seconds(peer_time),
                format_ratio(peer_time, ours),
                f"< {format_seconds(target)}" if target else "",
                verdict(ours, target),
                f"{format_seconds(cpu_ours)} / {format_seconds(cpu_peer)}",
            ]
        )

    runs_target = TARGETS["runs"]
    for size in sizes:
        scope = {
            key.removeprefix(f"{size}:"): value
            for key, value in results.items()
            if key.startswith(f"{size}:")
        }
        n = f"{size:,}"
        add(
            scope,
            f"`jupyter mlops runs --limit {LIMIT}`",
            n,
            "runs",
            ("mlflow:runs", "`mlflow runs list --experiment-id ID`"),
            runs_target,
        )
        add(
            scope,
            "… `jupyter-mlops runs` (the script, no `jupyter` launcher)",
            n,
            "runs-script",
            None,
            runs_target,
        )
        add(scope, "… `--format csv`", n, "runs-csv", None, runs_target)
        add(scope, "… `--format json`", n, "runs-json", None, runs_target)
        add(
            scope,
            '… `--where "accuracy > 0.9" --sort -accuracy`',
            n,
            "runs-where",
            None,
            runs_target,
        )
        add(scope, "`jupyter mlops status`", n, "status",
            ("mlflow:status", "`mlflow experiments search`"))  # fmt: skip
    add(results, "`jupyter mlops export 03-pipeline.ipynb`", "", "export",
        ("nbconvert:export", "`jupyter nbconvert --to script`"), TARGETS["export"])  # fmt: skip
    rows.append(
        ["`python -c pass` (the floor)", "", best_and_median(results, "python:pass"),
         "", "", "", "", "", "", format_seconds(figure_of(results, "python:pass", "cpu_median"))]
    )  # fmt: skip
    return rows


def import_lines(profiles: dict[str, Any]) -> list[str]:
    lines = []
    for name, profile in profiles.items():
        largest = ", ".join(f"{group} {format_seconds(s)}" for group, s in profile["largest"][:8])
        heavy = ", ".join(profile["heavy"]) or "none"
        lines.append(
            f"- `jupyter-mlops {' '.join(profile['args'])}` ({name}): {profile['modules']} modules"
            f" imported in {format_seconds(profile['total'])}; of {', '.join(HEAVY)}: {heavy}."
            f" Largest (own time, by package): {largest}."
        )
    return lines


def report_markdown(
    results: dict[str, Any],
    profiles: dict[str, Any],
    facts: dict[str, Any],
    sizes: tuple[int, ...],
    samples: int,
) -> str:
    machine = facts["machine"]
    versions = facts["versions"]
    baseline = (
        f' The "before" column runs the same commands on the sources in {facts["baseline"]}'
        f" (commit {facts['baseline_commit']}), in the same rounds."
        if facts.get("baseline")
        else ""
    )
    table = markdown_table(HEADERS, report_rows(results, sizes))
    return f"""Measured {machine["date"]} by `python bench/startup.py`, on {machine["cpu"]} ({machine["cores"]} cores, {machine["memory"]}), {machine["os"]}, Python {machine["python"]}; stores on {machine["filesystem"]}; load average {facts["load_before"]} before the measurements, {facts["load_after"]} after them (the machine is shared: the ratio to the peer, measured in the same rounds, is steadier than absolute times). Versions: jupyter-mlops {versions["jupyter-mlops"]} at commit {facts["commit"]}, mlflow {versions.get("mlflow", "–")}, nbconvert {versions.get("nbconvert", "–")}.{baseline}

Whole processes, from start to exit, the best of {samples} samples each (one untimed round first), with their median in brackets: on a shared machine the best sample is the one least disturbed by others, so targets are judged on it; "peer / ours" is how many times longer the peer takes (best against best); CPU is the median of the process's user + system time, which load disturbs less than wall time.

{table}

What is left (`python -X importtime`, median of 3, run in-process as the `jupyter-mlops` script runs; own import time summed by package, `jupyter_mlops` by subpackage):

{chr(10).join(import_lines(profiles))}

How it was measured:

- Each command runs as a child process of the driver with its output captured and checked: the listing shows {LIMIT} runs and the total, the CSV {LIMIT} rows with `metrics.accuracy`, the JSON the total, the filtered list is sorted best first, `mlflow runs list` names every run of the experiment up to its page of 1,000, the export writes the 5 steps of the example, nbconvert the script. Commands take turns, one sample of each per round, so a burst of load falls on all of them.
- Populations: the tracking benchmark's seeded runs (5 params, 3 metrics each) at each size, ours through the public API, MLflow through `MlflowClient` on its SQLite backend, built in memory, copied to the disk and read through once (the page cache holds them, as after a session's work). jupyter-mlops finds its registry in the working directory; MLflow gets `MLFLOW_TRACKING_URI=sqlite:///.../mlflow.db`, with telemetry off.
- `jupyter mlops ...` goes through Jupyter's `jupyter` launcher, which finds the `jupyter-mlops` script and executes it: that is what the acceptance figure times. `mlflow runs list` has no limit option and prints one page of its search (1,000 runs); it is MLflow's command for listing runs. The export runs in a directory with an empty registry (no notebook run to compare with, as in a fresh checkout), writing the local and docker targets.
"""


# -- the driver ----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="200 runs, 3 samples, no RESULTS.md")
    parser.add_argument("--python", type=Path, help="a Python whose environment has jupyter")
    parser.add_argument("--baseline-src", type=Path, help="also time this src/ directory")
    parser.add_argument("--samples", type=int, help="samples per command (default 7; smoke 3)")
    parser.add_argument("--no-mlflow", action="store_true", help="measure jupyter-mlops alone")
    parser.add_argument("--workdir", type=Path, help="where the stores go (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the stores")
    parser.add_argument("--json", type=Path, help="also write every sample to this JSON file")
    write = parser.add_mutually_exclusive_group()
    write.add_argument("--write-results", dest="write_results", action="store_true", default=None)
    write.add_argument("--no-write-results", dest="write_results", action="store_false")
    return parser.parse_args(argv)


def choose_tools(args: argparse.Namespace) -> Tools:
    if args.python is not None:
        ours = args.python.absolute()  # not resolve(): a venv's python is a symlink
    else:
        built = ensure_venv(OURS_VENV, create=True)
        assert built is not None
        ours = built
    for module in ("jupyter_core", "nbconvert", "click"):
        if not can_import(ours, module):
            raise BenchError(f"{ours} cannot import {module}; pass --python with one that can")
    mlflow = None
    if not args.no_mlflow:
        mlflow = ensure_venv(MLFLOW_VENV, create=not args.smoke)
        if mlflow is None:
            log(f"Not measuring MLflow: {MLFLOW_VENV.path} does not exist (a full run builds it)")
    baseline = args.baseline_src.resolve() if args.baseline_src else None
    if baseline is not None and not (baseline / "jupyter_mlops" / "cli").is_dir():
        raise BenchError(f"{baseline} holds no jupyter_mlops package (pass a src/ directory)")
    return Tools(ours, mlflow, baseline)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = SMOKE_SIZES if args.smoke else SIZES
    samples = args.samples or (3 if args.smoke else 7)
    write_results = (not args.smoke) if args.write_results is None else args.write_results
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="startup-bench-"))
    results: dict[str, Any] = {}
    try:
        tools = choose_tools(args)
        machine = machine_info(workdir)
        stores: dict[int, dict[str, dict[str, Any]]] = {}
        for size in sizes:
            log(f"Populations of {size:,} runs in {workdir}")
            stores[size] = {"ours": build_population(tools, "ours", size, workdir)}
            if tools.mlflow_python is not None:
                stores[size]["mlflow"] = build_population(tools, "mlflow", size, workdir)
        load_before = load_average()
        for size in sizes:
            log(f"Timing the listing commands on {size:,} runs ({samples} rounds)")
            commands = listing_commands(tools, size, stores[size])
            take_turns(list(commands.values()), samples)
            results.update({f"{size}:{key}": c.figures() for key, c in commands.items()})
        log(f"Timing the export of {EXAMPLE.name} ({samples} rounds)")
        commands = export_commands(tools, workdir)
        take_turns(list(commands.values()), samples)
        results.update({key: c.figures() for key, c in commands.items()})
        load_after = load_average()
        log("Profiling the imports")
        profiles = {
            f"{sizes[0]:,} runs": import_profile(
                tools, ["runs", "--limit", str(LIMIT)], Path(stores[sizes[0]]["ours"]["store"])
            ),
            "the example": import_profile(
                tools, ["export", EXAMPLE.name, "-o", "pipeline-importtime"], workdir / "export"
            ),
        }
        versions = {
            "jupyter-mlops": _our_version(tools),
            "nbconvert": package_version(tools.ours_python, "nbconvert") or "?",
        }
        if tools.mlflow_python is not None:
            versions["mlflow"] = package_version(tools.mlflow_python, "mlflow") or "?"
        facts = {
            "machine": machine,
            "versions": versions,
            "commit": git_commit(REPO_ROOT),
            "load_before": load_before,
            "load_after": load_after,
            "baseline": str(tools.baseline_src) if tools.baseline_src else None,
            "baseline_commit": git_commit(tools.baseline_src) if tools.baseline_src else None,
        }
    except BenchError as exc:
        log(f"Benchmark failed: {exc}")
        return 1
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print(plain_table(HEADERS, report_rows(results, sizes)))
    print("\n".join(import_lines(profiles)))
    print(f"load average {load_before} before, {load_after} after")
    if args.json:
        args.json.write_text(
            json.dumps({"facts": facts, "results": results, "imports": profiles}, indent=1)
        )
    if write_results:
        markdown = report_markdown(results, profiles, facts, sizes, samples)
        update_results_section(RESULTS_FILE, "Start-up", markdown)
        log(f"Wrote the Start-up section of {RESULTS_FILE}")
    else:
        log(f"{RESULTS_FILE} left alone ({'--smoke' if args.smoke else '--no-write-results'})")
    return 0


def _our_version(tools: Tools) -> str:
    done = subprocess.run(
        [str(tools.ours_python), "-c", "import jupyter_mlops; print(jupyter_mlops.__version__)"],
        env=ours_env(tools.ours_bin, REPO_ROOT / "src"),
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or "?"


if __name__ == "__main__":
    sys.exit(main())
