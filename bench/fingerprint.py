"""Benchmark: full-content fingerprint of a 1 GB DataFrame, side by side with its peers.

Measured in one run, on the same seeded frame (mostly float64 and int64 columns, plus a
string, a category, a bool and a datetime column):

- jupyter-mlops ``fingerprint(df)``: best and median of several runs, in GB/s, and whether it
  sees a one-cell change after row 10,000 and in each non-numeric column;
- this machine's memory bandwidth, as numpy measures it (``np.copyto`` of a buffer as
  large as the frame): our throughput is reported as a ratio of it;
- hashlib sha256 of the numeric buffers on one core: what a plain sequential hash gets;
- MLflow's dataset digest, ``mlflow.data.from_pandas(df).digest``, run in its own venv
  (``bench/.venvs/mlflow``, made with ``pip install mlflow``) on the same frame rebuilt
  from the same seed: its time, and whether it sees the same one-cell changes.

    PYTHONPATH=src python bench/fingerprint.py              # the 1 GB frame
    PYTHONPATH=src python bench/fingerprint.py --smoke      # a small frame, seconds
    PYTHONPATH=src python bench/fingerprint.py --write-results   # update bench/RESULTS.md

The frame builder and the MLflow worker import only numpy and pandas, so this file also
runs as the worker inside the MLflow venv (``--mlflow-worker``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "RESULTS.md"
MLFLOW_PYTHON = BENCH_DIR / ".venvs" / "mlflow" / "bin" / "python"
SECTION = "Fingerprint"
FULL_ROWS = 4_700_000  # about 1.0 GB with the columns below
SMOKE_ROWS = 40_000
SEED = 7
FLOAT_COLUMNS = 20
INT_COLUMNS = 3
AFTER_ROW = 10_001  # MLflow hashes the first 10,000 rows only
# MLflow's digest takes minutes on the 1 GB frame, so its one-cell checks run on a frame of
# this many rows built the same way; it reads only the first 10,000 rows of any frame.
MLFLOW_CHECK_ROWS = 50_000


def build_frame(rows: int, seed: int = SEED) -> pd.DataFrame:
    """The benchmark frame: 20 float64, 3 int64, and a str, category, bool, datetime column.

    ``pd.Series(words)`` gives each pandas its default string dtype (``str`` in pandas 3,
    ``object`` before), as a user's frame would have.
    """
    rng = np.random.default_rng(seed)
    columns: dict[str, Any] = {}
    for k in range(FLOAT_COLUMNS):
        columns[f"f{k}"] = rng.normal(size=rows)
    for k in range(INT_COLUMNS):
        columns[f"i{k}"] = rng.integers(0, 10**9, rows)
    vocabulary = np.array([f"user-{k:06d}" for k in range(100_000)], dtype=object)
    columns["user"] = pd.Series(vocabulary[rng.integers(0, len(vocabulary), rows)].tolist())
    columns["segment"] = pd.Categorical(rng.choice(["new", "casual", "loyal", "churned"], rows))
    columns["active"] = rng.random(rows) < 0.5
    columns["seen"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(
        rng.integers(0, 10**15, rows), unit="ns"
    )
    return pd.DataFrame(columns)


def one_cell_changes(frame: pd.DataFrame) -> dict[str, Callable[[], pd.DataFrame]]:
    """Frames that differ from ``frame`` in exactly one cell, by name of the change."""
    last = len(frame) - 1

    def changed(column: str, row: int, value: Callable[[Any], Any]) -> Callable[[], pd.DataFrame]:
        def make() -> pd.DataFrame:
            copy = frame.copy(deep=False)
            position = copy.columns.get_loc(column)
            copy.iat[row, position] = value(copy.iat[row, position])
            return copy

        return make

    return {
        "float in row 0": changed("f0", 0, lambda v: v + 1.0),
        f"float in row {AFTER_ROW:,}": changed("f0", AFTER_ROW, lambda v: v + 1.0),
        "float in the last row": changed("f3", last, lambda v: np.nextafter(v, np.inf)),
        "string in the last row": changed("user", last, lambda v: v + "x"),
        "category in row 0": changed("segment", 0, lambda v: "loyal" if v != "loyal" else "new"),
        "bool in row 0": changed("active", 0, lambda v: not v),
        "datetime in row 0": changed("seen", 0, lambda v: v + pd.Timedelta(1, "s")),
    }


def time_best(run: Callable[[], object], repeat: int) -> tuple[float, float, object]:
    """(best seconds, median seconds, last result) of ``repeat`` runs."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    return min(times), statistics.median(times), result


def frame_bytes(frame: pd.DataFrame) -> int:
    return int(frame.memory_usage(index=False, deep=True).sum())


# --------------------------------------------------------------------------- MLflow worker


def mlflow_worker(rows: int) -> dict[str, Any]:
    """Runs inside the MLflow venv: time the digest and test it on the one-cell changes."""
    import mlflow

    def digest(data: pd.DataFrame) -> str:
        return mlflow.data.from_pandas(data).digest

    def timed(frame: pd.DataFrame) -> tuple[float, float, int]:
        best, median, _ = time_best(lambda: digest(frame), repeat)
        return best, median, frame_bytes(frame)

    repeat = 3 if rows <= MLFLOW_CHECK_ROWS else 1
    best, median, size = timed(build_frame(rows))  # the 1 GB frame is freed on return
    print(f"mlflow digest of {rows:,} rows: {best:.1f} s", file=sys.stderr, flush=True)
    check = build_frame(min(rows, MLFLOW_CHECK_ROWS))
    base = digest(check)
    detects = {name: digest(make()) != base for name, make in one_cell_changes(check).items()}
    return {
        "mlflow": mlflow.__version__,
        "pandas": pd.__version__,
        "rows": rows,
        "bytes": size,
        "best_seconds": best,
        "median_seconds": median,
        "runs": repeat,
        "check_rows": len(check),
        "detects": detects,
    }


# --------------------------------------------------------------------------- our side


def memory_copy_bandwidth(size: int, repeat: int = 3) -> float:
    """Bytes per second numpy copies from one buffer to another (both pre-faulted)."""
    source = np.ones(size // 8, dtype=np.float64)
    target = np.zeros_like(source)
    best, _, _ = time_best(lambda: np.copyto(target, source), repeat)
    return source.nbytes / best


def sha256_one_core(frame: pd.DataFrame, repeat: int = 2) -> tuple[float, float]:
    """Bytes per second and per CPU-second of one sha256 over the numeric columns in turn."""
    buffers = [
        np.ascontiguousarray(frame[c].to_numpy())
        for c in frame.columns
        if frame[c].dtype.kind in "fi"
    ]

    def run() -> bytes:
        digest = hashlib.sha256()
        for buffer in buffers:
            digest.update(buffer.data)
        return digest.digest()

    cpu_started = time.process_time()
    best, _, _ = time_best(run, repeat)
    cpu = (time.process_time() - cpu_started) / repeat
    size = sum(buffer.nbytes for buffer in buffers)
    return size / best, size / cpu


def run_mlflow(rows: int) -> dict[str, Any] | str:
    if not MLFLOW_PYTHON.exists():
        return f"skipped: no MLflow venv at {MLFLOW_PYTHON} (python -m venv it; pip install mlflow)"
    completed = subprocess.run(
        [str(MLFLOW_PYTHON), __file__, "--mlflow-worker", "--rows", str(rows)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": "", "MLFLOW_TRACKING_URI": "file:///tmp/mlflow-bench"},
        check=False,
    )
    if completed.returncode != 0:
        return f"failed with exit code {completed.returncode} (its error is printed above)"
    return json.loads(completed.stdout.strip().splitlines()[-1])


def run(rows: int, repeat: int) -> dict[str, Any]:
    from jupyter_mlops.snapshots.fingerprint import BLOCK_SIZE, worker_count

    result = measure_ours(rows, repeat)  # the frame is freed before MLflow builds its own
    mlflow = run_mlflow(rows)
    print(f"mlflow: {mlflow}", flush=True)
    load = os.getloadavg()
    return {
        **result,
        "rows": rows,
        "columns": FLOAT_COLUMNS + INT_COLUMNS + 4,
        "mlflow": mlflow,
        "threads": worker_count(None),
        "block_size": BLOCK_SIZE,
        "machine": f"{os.cpu_count()} cores, Python {platform.python_version()},"
        f" pandas {pd.__version__}, numpy {np.__version__}",
        "load": f"{load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f}",
    }


def measure_ours(rows: int, repeat: int) -> dict[str, Any]:
    from jupyter_mlops.snapshots.snapshot import fingerprint

    started = time.perf_counter()
    frame = build_frame(rows)
    size = frame_bytes(frame)
    print(
        f"frame: {rows:,} rows x {frame.shape[1]} columns, {size / 1e9:.3f} GB"
        f" (built in {time.perf_counter() - started:.1f} s)",
        flush=True,
    )
    copy_rate = memory_copy_bandwidth(size)
    print(f"numpy memory copy: {copy_rate / 1e9:.2f} GB/s", flush=True)
    sha_rate, sha_cpu_rate = sha256_one_core(frame)
    print(f"hashlib sha256, one core, numeric columns: {sha_rate / 1e9:.2f} GB/s", flush=True)
    fingerprint(frame.head(1000))  # imports and thread start-up out of the timing
    cpu_started, wall_started = time.process_time(), time.perf_counter()
    best, median, base = time_best(lambda: fingerprint(frame), repeat)
    cpu = (time.process_time() - cpu_started) / repeat  # all threads of this process
    parallel = cpu * repeat / (time.perf_counter() - wall_started)
    print(
        f"jupyter-mlops fingerprint: best {best:.3f} s ({size / best / 1e9:.2f} GB/s),"
        f" median {median:.3f} s, {cpu:.3f} CPU s a run",
        flush=True,
    )
    detects = {name: fingerprint(make()) != base for name, make in one_cell_changes(frame).items()}
    print(f"jupyter-mlops sees: {detects}", flush=True)
    return {
        "bytes": size,
        "copy_rate": copy_rate,
        "sha_rate": sha_rate,
        "sha_cpu_rate": sha_cpu_rate,
        "ours_best": best,
        "ours_median": median,
        "ours_runs": repeat,
        "ours_cpu": cpu,
        "ours_parallel": parallel,
        "ours_detects": detects,
    }


# --------------------------------------------------------------------------- report


def report(result: dict[str, Any]) -> str:
    size, best = result["bytes"], result["ours_best"]
    ours_rate = size / best
    mlflow = result["mlflow"]
    lines = [
        f"## {SECTION}",
        "",
        f"`python bench/fingerprint.py` on {time.strftime('%Y-%m-%d')}: one seeded frame of"
        f" {result['rows']:,} rows x {result['columns']} columns ({size / 1e9:.2f} GB: 20 float64,"
        " 3 int64, a string, a category, a bool and a datetime column).",
        f"Machine: {result['machine']}; load average during the run {result['load']}"
        " (the machine is shared, so absolute times are noisy: read the ratios).",
        "",
        "| what | time | throughput | ratio |",
        "| --- | --- | --- | --- |",
        f"| numpy memory copy of {size / 1e9:.2f} GB (bandwidth reference) |"
        f" {size / result['copy_rate']:.3f} s | {result['copy_rate'] / 1e9:.2f} GB/s | 1 |",
        f"| hashlib sha256, one core, numeric columns | — | {result['sha_rate'] / 1e9:.2f} GB/s |"
        f" {result['sha_rate'] / result['copy_rate']:.2f} of copy |",
        f"| **jupyter-mlops `fingerprint(df)`**, {result['threads']} threads,"
        f" best of {result['ours_runs']} (median {result['ours_median']:.3f} s) |"
        f" {best:.3f} s | **{ours_rate / 1e9:.2f} GB/s** |"
        f" {ours_rate / result['copy_rate']:.2f} of copy,"
        f" {ours_rate / result['sha_rate']:.2f}x one-core sha256 |",
        f"| jupyter-mlops, per CPU-second (all threads; {result['ours_cpu']:.3f} CPU s a run) |"
        f" — | {size / result['ours_cpu'] / 1e9:.2f} GB per CPU-s |"
        f" {size / result['ours_cpu'] / result['sha_cpu_rate']:.2f} of plain sha256's"
        f" {result['sha_cpu_rate'] / 1e9:.2f} GB per CPU-s |",
    ]
    parallel = result["ours_parallel"]
    if isinstance(mlflow, dict):
        lines.append(
            f"| MLflow {mlflow['mlflow']} `from_pandas(df).digest` (pandas {mlflow['pandas']}),"
            f" {'best of ' + str(mlflow['runs']) if mlflow['runs'] > 1 else 'one run'} |"
            f" {mlflow['best_seconds']:.3f} s |"
            f" {mlflow['bytes'] / mlflow['best_seconds'] / 1e9:.3f} GB/s |"
            f" ours is {mlflow['best_seconds'] / best:.1f}x faster |"
        )
    else:
        lines.append(f"| MLflow dataset digest | {mlflow} | | |")
    checked_on = (
        f" (MLflow's column: on a {mlflow['check_rows']:,}-row frame built the same way, as its"
        " digest takes minutes at full size and reads only the first 10,000 rows anyway)"
        if isinstance(mlflow, dict) and mlflow["check_rows"] != result["rows"]
        else ""
    )
    lines += ["", f"Does a change of one cell change the fingerprint / digest?{checked_on}", ""]
    lines += ["| change | jupyter-mlops | MLflow |", "| --- | --- | --- |"]
    for change, seen in result["ours_detects"].items():
        theirs = mlflow["detects"].get(change) if isinstance(mlflow, dict) else None
        lines.append(
            f"| {change} | {'yes' if seen else '**no**'} |"
            f" {'—' if theirs is None else ('yes' if theirs else '**no**')} |"
        )
    lines += [
        "",
        "MLflow's digest hashes only the first 10,000 rows (plus the row count and the column"
        " names), and of those only the numeric and string columns: a change after row 10,000,"
        " or in a bool or datetime column, leaves it unchanged. Its time is dominated by"
        " `df.map(type)` over every cell, which it runs to find the string columns.",
        f"During our timed runs the process got {parallel:.2f} CPU-seconds per second of wall"
        f" time with {result['threads']} hashing threads: the other work on the machine left"
        " it about that many cores. With both cores to itself, the per-CPU-second rate above"
        f" would give about {result['threads'] * size / result['ours_cpu'] / 1e9:.1f} GB/s.",
        f"Our scheme: canonical per-dtype buffers cut into {result['block_size'] // 2**20} MiB"
        " blocks, sha256 of each block in a thread pool, sha256 of the block digests"
        " (see `src/jupyter_mlops/snapshots/fingerprint.py`).",
        "",
    ]
    return "\n".join(lines)


def write_section(text: str) -> None:
    """Replace (or add) this benchmark's section of bench/RESULTS.md, leaving the others."""
    existing = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\n"
    lines = existing.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.strip() == f"## {SECTION}"), None)
    if start is None:
        updated = existing.rstrip("\n") + "\n\n" + text
    else:
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines)
        )
        updated = (
            "".join(lines[:start])
            + text
            + ("\n" if end < len(lines) else "")
            + "".join(lines[end:])
        )
    RESULTS.write_text(updated)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help=f"a {SMOKE_ROWS:,}-row frame")
    parser.add_argument("--rows", type=int, help="rows of the frame (default: about 1 GB)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of our fingerprint")
    parser.add_argument("--write-results", action="store_true", help="update bench/RESULTS.md")
    parser.add_argument("--mlflow-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    rows = args.rows or (SMOKE_ROWS if args.smoke else FULL_ROWS)
    if args.mlflow_worker:
        print(json.dumps(mlflow_worker(rows)))
        return 0
    result = run(rows, args.repeat)
    text = report(result)
    print()
    print(text)
    if args.write_results:
        write_section(text)
        print(f"wrote the {SECTION} section of {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
