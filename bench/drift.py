"""Drift reports: jupyter-mlops against Evidently's DataDriftPreset, side by side, in one run.

    python bench/drift.py            # full run; writes the "Drift" section of bench/RESULTS.md
    python bench/drift.py --smoke    # tiny sizes, prints only

Both sides get the same data: the project's bench recipe (shared/bench/drift_data.py, seeded,
with known injected drift) is generated inside each measuring process. Every measurement runs
in a fresh subprocess so that time and memory are measured the same way for both:

- time: the best of ``--repeats`` calls of the drift computation, after one warm-up call on a
  small slice (imports and lazy set-up excluded for both);
- memory: ``ru_maxrss`` of the process (data, libraries and the call), and the call's own
  peak above the resident size just before it (Linux VmHWM, reset before the call).

Evidently runs from its own virtual environment under bench/.venvs/evidently (created on first
use with the latest 0.7.x from PyPI); ours runs with this checkout's ``src`` on the path.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
EVIDENTLY_VENV = BENCH / ".venvs" / "evidently"
EVIDENTLY_SPEC = ("evidently>=0.7,<0.8", "pandas<3")  # 0.7.x imports pandas internals gone in 3
RESULTS = BENCH / "RESULTS.md"
RECIPE_CANDIDATES = (
    os.environ.get("MLOPS_BENCH_RECIPE", ""),
    str(REPO.parent / "shared" / "bench" / "drift_data.py"),
    str(BENCH / "drift_data.py"),  # a copy of the shared recipe, kept identical by a test
)
# (rows per side, numeric columns, categorical columns)
FULL_SIZES = [(1_000, 14, 6), (10_000, 14, 6), (100_000, 14, 6), (1_000_000, 14, 6),
              (100_000, 140, 60)]  # fmt: skip
SMOKE_SIZES = [(1_000, 14, 6), (5_000, 14, 6)]
ENGINES = ("ours", "ours-profile", "evidently")


# --- measuring process ------------------------------------------------------------------------


def _load_recipe(path: str):
    spec = importlib.util.spec_from_file_location("drift_data", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _status_kib(field: str) -> int:
    text = Path("/proc/self/status").read_text()
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else 0


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
        return True
    except OSError:
        return False


def _evidently_drifted(snapshot, columns: list[str]) -> dict[str, dict]:
    """Per-column drift of an Evidently 0.7 snapshot: {column: {drifted, score, method}}."""
    found: dict[str, dict] = {}
    for metric in snapshot.dict()["metrics"]:
        name = metric.get("metric_name", "")
        config = metric.get("config", {})
        column = config.get("column")
        if column not in columns or not name.startswith("ValueDrift"):
            continue
        score = metric.get("value")
        method = config.get("method", "")
        threshold = config.get("threshold")
        p_value_test = "p_value" in method or "test" in method.lower()
        drifted = score < threshold if p_value_test else score >= threshold
        found[column] = {"drifted": bool(drifted), "score": score, "method": method}
    return found


def measure(engine: str, rows: int, n_num: int, n_cat: int, repeats: int, recipe: str) -> dict:
    """Run one engine on one size in this process and return its figures."""
    data = _load_recipe(recipe)
    reference, current = data.make(rows, rows, n_num=n_num, n_cat=n_cat, seed=0)
    columns = list(reference.columns)
    extra: dict = {}
    if engine in ("ours", "ours-profile"):
        from jupyter_mlops.drift.deciding import drift_report
        from jupyter_mlops.snapshots.profiles import profile_frame

        drift_report(reference.head(300), current.head(300))  # warm-up: scipy imports
        if engine == "ours-profile":
            started = time.perf_counter()
            reference = profile_frame(reference)
            extra["profile_seconds"] = time.perf_counter() - started
        ref_for_call = reference

        def run():
            return drift_report(ref_for_call, current)
    else:
        from evidently import Report
        from evidently.presets import DataDriftPreset

        Report([DataDriftPreset()]).run(
            current_data=current.head(300), reference_data=reference.head(300)
        )

        def run():
            return Report([DataDriftPreset()]).run(current_data=current, reference_data=reference)

    gc.collect()
    before = _status_kib("VmRSS")
    peak_reset = _reset_peak()
    times, cpu_times = [], []
    result: Any = None
    for _ in range(repeats):
        started, cpu_started = time.perf_counter(), time.process_time()
        result = run()
        times.append(time.perf_counter() - started)
        cpu_times.append(time.process_time() - cpu_started)
    call_peak = _status_kib("VmHWM") - before if peak_reset else None
    if engine == "evidently":
        per_column = _evidently_drifted(result, columns)
    else:
        per_column = {
            col.column: {
                "drifted": col.drifted,
                "null_drifted": col.null_drifted,
                "verdict": col.verdict,
                "decision": col.decision,
                "effect": col.effect,
            }
            for col in result.columns
        }
    return {
        "engine": engine,
        "rows": rows,
        "columns": len(columns),
        "seconds": min(times),
        "times": times,
        "cpu_seconds": min(cpu_times),
        "load_average": os.getloadavg()[0],
        "process_peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "call_peak_mib": None if call_peak is None else call_peak / 1024,
        "per_column": per_column,
        **extra,
    }


# --- orchestration ----------------------------------------------------------------------------


def _recipe_path() -> str:
    for candidate in RECIPE_CANDIDATES:
        if candidate and Path(candidate).exists():
            return candidate
    sys.exit("bench/drift.py: the bench recipe shared/bench/drift_data.py was not found; "
             "set MLOPS_BENCH_RECIPE to its path")  # fmt: skip


def _evidently_python() -> Path:
    python = EVIDENTLY_VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {EVIDENTLY_VENV} with {' '.join(EVIDENTLY_SPEC)} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(EVIDENTLY_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *EVIDENTLY_SPEC], check=True)
    return python


def _evidently_version(python: Path) -> str:
    code = "import evidently, pandas; print(evidently.__version__, pandas.__version__)"
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    evidently_version, pandas_version = out.stdout.split()
    return f"Evidently {evidently_version} (pandas {pandas_version})"


def _run(engine: str, size: tuple[int, int, int], repeats: int, recipe: str, python: Path) -> dict:
    rows, n_num, n_cat = size
    env = dict(os.environ)
    if engine != "evidently":
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(REPO / "src"), env.get("PYTHONPATH")])
        )
    command = [str(python), str(Path(__file__).resolve()), "--measure", engine,
               "--rows", str(rows), "--num", str(n_num), "--cat", str(n_cat),
               "--repeats", str(repeats), "--recipe", recipe]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"{engine} at {rows} x {n_num + n_cat} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _agreement(ours: dict, peer: dict) -> tuple[int, int, list[str]]:
    """Columns where both say the same, columns compared, and the disagreements."""
    same, differing = 0, []
    for column, figures in ours["per_column"].items():
        if column not in peer["per_column"]:
            continue
        if figures["drifted"] == peer["per_column"][column]["drifted"]:
            same += 1
        else:
            differing.append(column)
    return same, same + len(differing), differing


def _mib(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def _ratio(peer: float | None, ours: float | None) -> str:
    if not peer or not ours:
        return "n/a"
    return f"{peer / ours:,.1f}x"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, print only")
    parser.add_argument("--no-write", action="store_true", help="do not touch bench/RESULTS.md")
    parser.add_argument("--no-evidently", action="store_true", help="measure ours only")
    parser.add_argument("--repeats", type=int, default=None, help="calls per measurement")
    parser.add_argument("--measure", choices=ENGINES, help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--num", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--cat", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--recipe", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        figures = measure(args.measure, args.rows, args.num, args.cat, args.repeats, args.recipe)
        print(json.dumps(figures))
        return

    recipe = _recipe_path()
    expected = _load_recipe(recipe).EXPECTED
    sizes = SMOKE_SIZES if args.smoke else FULL_SIZES
    engines = ["ours", "ours-profile"] + ([] if args.no_evidently else ["evidently"])
    pythons = {"ours": Path(sys.executable), "ours-profile": Path(sys.executable)}
    peer_name = "Evidently (not measured)"
    if not args.no_evidently:
        pythons["evidently"] = _evidently_python()
        peer_name = _evidently_version(pythons["evidently"])
    rows_out = []
    results: dict[tuple, dict[str, dict]] = {}
    for size in sizes:
        repeats = args.repeats or (3 if size[0] * (size[1] + size[2]) <= 2_000_000 else 1)
        for engine in engines:
            print(
                f"{engine:>13} {size[0]:>9,} rows x {size[1] + size[2]} columns ...",
                end=" ",
                flush=True,
            )
            figures = _run(engine, size, repeats, recipe, pythons[engine])
            results.setdefault(size, {})[engine] = figures
            print(
                f"{figures['seconds']:.3f} s, peak {figures['process_peak_mib']:.0f} MiB",
                flush=True,
            )
        rows_out.append(size)

    table = _table(results, peer_name)
    agreement = _agreement_table(results, expected)
    print()
    print(table)
    print()
    print(agreement)
    if not args.smoke and not args.no_write and not args.no_evidently:
        _write_section(table, agreement, peer_name)
        print(f"\nwrote the Drift section of {RESULTS}")


def _table(results: dict, peer_name: str) -> str:
    peer_label = peer_name.split(" (")[0]
    lines = [
        "| rows x columns | ours s (CPU s) | ours from profile s | profile once s "
        f"| {peer_label} s (CPU s) | speed-up (CPU) | ours peak MiB (call) "
        "| peer peak MiB (call) | memory ratio | same drift verdicts | load |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for (rows, n_num, n_cat), by_engine in results.items():
        ours, profile = by_engine["ours"], by_engine["ours-profile"]
        peer = by_engine.get("evidently")
        cells = [
            f"{rows:,} x {n_num + n_cat}",
            f"{ours['seconds']:.3f} ({ours['cpu_seconds']:.3f})",
            f"{profile['seconds']:.3f}",
            f"{profile.get('profile_seconds', 0):.3f}",
            f"{peer['seconds']:.2f} ({peer['cpu_seconds']:.2f})" if peer else "n/a",
            f"{_ratio(peer and peer['seconds'], ours['seconds'])} "
            f"({_ratio(peer and peer['cpu_seconds'], ours['cpu_seconds'])})",
            f"{_mib(ours['process_peak_mib'])} ({_mib(ours['call_peak_mib'])})",
            f"{_mib(peer['process_peak_mib'])} ({_mib(peer['call_peak_mib'])})" if peer else "n/a",
            _ratio(peer and peer["process_peak_mib"], ours["process_peak_mib"]),
        ]
        if peer:
            agreed, compared, _ = _agreement(ours, peer)
            cells.append(f"{agreed}/{compared}")
        else:
            cells.append("n/a")
        loads = [e["load_average"] for e in by_engine.values()]
        cells.append(f"{min(loads):.1f}-{max(loads):.1f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _agreement_table(results: dict, expected: dict) -> str:
    chosen = next((s for s in results if s == (100_000, 14, 6)), list(results)[-1])
    by_engine = results[chosen]
    ours, peer = by_engine["ours"], by_engine.get("evidently")
    lines = [
        f"Per column at {chosen[0]:,} rows x {chosen[1] + chosen[2]} columns (injected: the "
        "recipe's EXPECTED drift; num_2 is a 0.035-sigma shift, num_3 gains 10% nulls)",
        "",
        "| column | injected | ours verdict | ours decision | peer drift | peer score (method) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for column, figures in ours["per_column"].items():
        injected = "drift" if expected.get(column) else ""
        if column == "num_2":
            injected = "tiny shift"
        if column == "num_3":
            injected = "10% nulls"
        other = peer["per_column"].get(column) if peer else None
        peer_text = "n/a" if other is None else ("drift" if other["drifted"] else "no drift")
        score = "" if other is None else f"{other['score']:.3g} ({other['method']})"
        if not (
            injected
            or figures["drifted"]
            or figures["null_drifted"]
            or (other and other["drifted"])
        ):
            continue
        lines.append(
            f"| {column} | {injected} | {figures['verdict']} | {figures['decision']} | "
            f"{peer_text} | {score} |"
        )
    lines.append("")
    lines.append("Columns not listed: no injected change, and neither side reports drift.")
    notes = []
    for (rows, n_num, n_cat), engines in results.items():
        if "evidently" not in engines:
            continue
        _, _, differing = _agreement(engines["ours"], engines["evidently"])
        for column in differing:
            mine = engines["ours"]["per_column"][column]
            theirs = engines["evidently"]["per_column"][column]
            notes.append(
                f"- {rows:,} x {n_num + n_cat}, {column}: ours {mine['verdict']} "
                f"(effect {_number(mine['effect'])}), peer "
                f"{'drift' if theirs['drifted'] else 'no drift'} ({theirs['method']} "
                f"{_number(theirs['score'])})"
            )
    if notes:
        lines += ["", "Where the drift verdicts differ:", "", *notes]
    return "\n".join(lines)


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}"


def _write_section(table: str, agreement: str, peer_name: str) -> None:
    import platform

    body = (
        "## Drift\n\n"
        f"`python bench/drift.py` on {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d')}; peer: {peer_name}, `DataDriftPreset()` defaults. "
        "Same seeded data on both sides (shared/bench/drift_data.py), each engine in a fresh "
        "subprocess; time is the best of 3 calls (1 call at 1M x 20 and 100k x 200) after a "
        "warm-up, peak MiB is the process's ru_maxrss (data included) with the call's own peak "
        "above its starting RSS in brackets (a lower bound: the call may reuse memory that "
        "generating the data freed); CPU s is the process CPU time of the same call, "
        "less sensitive than wall time to other work on the machine (load: the 1-minute load "
        "average during the measurements). Ratios are peer / ours (higher is better for us).\n\n"
        f"{table}\n\n{agreement}\n"
    )
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    pattern = re.compile(r"^## Drift\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: body + "\n", text).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + body
    RESULTS.write_text(text)


if __name__ == "__main__":
    main()
