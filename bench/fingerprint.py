"""Benchmark: full-content fingerprint of a 1 GB DataFrame, side by side with its peers.

Measured in one run, on the same seeded frame (mostly float64 and int64 columns, plus a
string, a category, a bool and a datetime column):

- jupyter-mlops ``fingerprint(df)``: best and median of several runs, in GB/s, and whether it
  sees a one-cell change after row 10,000 and in each non-numeric column; under the current
  scheme (BLAKE3) and under the SHA-256 scheme that older fingerprints were recorded with
  (still computed to check them);
- this machine's memory bandwidth, as numpy measures it (``np.copyto`` of a buffer as
  large as the frame): our throughput is reported as a ratio of it;
- BLAKE3 and hashlib sha256 of the numeric buffers on one core: what a plain sequential
  hash gets;
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


def hash_one_core(
    frame: pd.DataFrame, new: Callable[[], Any], repeat: int = 2
) -> tuple[float, float]:
    """Bytes per second and per CPU-second of one hash over the numeric columns in turn."""
    buffers = [
        np.ascontiguousarray(frame[c].to_numpy()).view(np.uint8)
        for c in frame.columns
        if frame[c].dtype.kind in "fi"
    ]

    def run() -> bytes:
        digest = new()
        for buffer in buffers:
            digest.update(buffer.data)
        return bytes(digest.digest())

    cpu_started = time.process_time()
    best, _, _ = time_best(run, repeat)
    cpu = (time.process_time() - cpu_started) / repeat
    size = sum(buffer.nbytes for buffer in buffers)
    return size / best, size / cpu


def nan_check_cost(frame: pd.DataFrame, repeat: int) -> dict[str, float]:
    """CPU-seconds to hash the float columns' blocks on one thread without and with the NaN
    check, interleaved: what checking every float for NaN adds to hashing it. CPU time, not
    wall time: on the shared machine a thread waits for a core a varying while."""
    from jupyter_mlops.snapshots.hashing import BLOCK_SIZE, SCHEME, SCHEMES, _leaf

    new_hasher = SCHEMES[SCHEME].new_hasher
    floats = [np.ascontiguousarray(frame[c].to_numpy()) for c in frame.columns if c[0] == "f"]
    per_block = BLOCK_SIZE // 8
    blocks = [f[s : s + per_block] for f in floats for s in range(0, len(f), per_block)]
    timings: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(repeat):
        for checked in (False, True):
            started = time.process_time()
            for block in blocks:
                _leaf(new_hasher, (block, checked, None))
            timings[checked].append(time.process_time() - started)
    return {
        "bytes": float(sum(block.nbytes for block in blocks)),
        "without": min(timings[False]),
        "with": min(timings[True]),
        "runs": float(repeat),
    }


def interleaved_rounds(frame: pd.DataFrame, schemes: list[str], repeat: int) -> dict[str, Any]:
    """``repeat`` rounds of: a numpy copy as large as the frame, then ``fingerprint(frame)``
    under each scheme. Interleaved, so that each round's copy and fingerprints see the same
    load on the shared machine: the ratio of a round is fairer than a ratio of bests."""
    from jupyter_mlops.snapshots.snapshot import fingerprint

    size = frame_bytes(frame)
    source = np.ones(size // 8, dtype=np.float64)
    target = np.zeros_like(source)  # both pre-faulted: the copy measures bandwidth only
    for scheme in schemes:
        fingerprint(frame.head(1000), scheme=scheme)  # imports and threads out of the timing
    copies: list[float] = []
    seconds: dict[str, list[float]] = {scheme: [] for scheme in schemes}
    cpu: dict[str, float] = dict.fromkeys(schemes, 0.0)
    digests: dict[str, str] = {}
    load_before = os.getloadavg()
    for round_ in range(repeat):
        started = time.perf_counter()
        np.copyto(target, source)
        copies.append(time.perf_counter() - started)
        for scheme in schemes:
            cpu_started, started = time.process_time(), time.perf_counter()
            digests[scheme] = fingerprint(frame, scheme=scheme)
            seconds[scheme].append(time.perf_counter() - started)
            cpu[scheme] += time.process_time() - cpu_started  # all threads of this process
        print(
            f"round {round_ + 1}: copy {source.nbytes / copies[-1] / 1e9:.2f} GB/s, "
            + ", ".join(f"{s} {size / seconds[s][-1] / 1e9:.2f} GB/s" for s in schemes),
            flush=True,
        )
    load_after = os.getloadavg()
    copy_rates = [source.nbytes / t for t in copies]
    return {
        "copy_rates": copy_rates,
        "schemes": {
            scheme: {
                "scheme": scheme,
                "best": min(seconds[scheme]),
                "median": statistics.median(seconds[scheme]),
                "runs": repeat,
                "cpu": cpu[scheme] / repeat,
                "parallel": cpu[scheme] / sum(seconds[scheme]),
                # the fingerprint's rate over the copy's, round by round
                "round_ratios": [
                    (size / t) / c for t, c in zip(seconds[scheme], copy_rates, strict=True)
                ],
                "base": digests[scheme],
            }
            for scheme in schemes
        },
        "load_before": load_before,
        "load_after": load_after,
    }


def detections(frame: pd.DataFrame, scheme: str, base: str) -> dict[str, bool]:
    from jupyter_mlops.snapshots.snapshot import fingerprint

    return {
        name: fingerprint(make(), scheme=scheme) != base
        for name, make in one_cell_changes(frame).items()
    }


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
    return {
        **result,
        "rows": rows,
        "columns": FLOAT_COLUMNS + INT_COLUMNS + 4,
        "mlflow": mlflow,
        "threads": worker_count(None),
        "block_size": BLOCK_SIZE,
        "machine": f"{os.cpu_count()} cores, Python {platform.python_version()},"
        f" pandas {pd.__version__}, numpy {np.__version__}",
    }


def measure_ours(rows: int, repeat: int) -> dict[str, Any]:
    import blake3

    from jupyter_mlops.snapshots.fingerprint import SCHEME, SHA256_SCHEME

    started = time.perf_counter()
    frame = build_frame(rows)
    size = frame_bytes(frame)
    print(
        f"frame: {rows:,} rows x {frame.shape[1]} columns, {size / 1e9:.3f} GB"
        f" (built in {time.perf_counter() - started:.1f} s)",
        flush=True,
    )
    rounds = interleaved_rounds(frame, [SCHEME, SHA256_SCHEME], repeat)
    sha_rate, sha_cpu_rate = hash_one_core(frame, hashlib.sha256)
    print(f"hashlib sha256, one core, numeric columns: {sha_rate / 1e9:.2f} GB/s", flush=True)
    b3_rate, b3_cpu_rate = hash_one_core(frame, blake3.blake3)
    print(f"blake3, one core, numeric columns: {b3_rate / 1e9:.2f} GB/s", flush=True)
    nan_check = nan_check_cost(frame, 5)
    print(
        f"float blocks on one thread: {nan_check['without']:.3f} CPU s without the NaN check,"
        f" {nan_check['with']:.3f} CPU s with it",
        flush=True,
    )
    ours, older = (rounds["schemes"][s] for s in (SCHEME, SHA256_SCHEME))
    for timed in (ours, older):
        timed["detects"] = detections(frame, timed["scheme"], timed["base"])
        print(f"{timed['scheme']} sees: {timed['detects']}", flush=True)
    return {
        "bytes": size,
        "copy_rates": rounds["copy_rates"],
        "load_before": rounds["load_before"],
        "load_after": rounds["load_after"],
        "sha_rate": sha_rate,
        "sha_cpu_rate": sha_cpu_rate,
        "b3_rate": b3_rate,
        "b3_cpu_rate": b3_cpu_rate,
        "nan_check": nan_check,
        "ours": ours,
        "sha256_scheme": older,
    }


# --------------------------------------------------------------------------- report


def _load(load: tuple[float, float, float]) -> str:
    return ", ".join(f"{value:.1f}" for value in load)


def report(result: dict[str, Any]) -> str:
    size = result["bytes"]
    ours, older = result["ours"], result["sha256_scheme"]
    copy_rates = result["copy_rates"]
    copy_rate = max(copy_rates)
    ours_rate, older_rate = size / ours["best"], size / older["best"]
    mlflow = result["mlflow"]
    nan_check = result["nan_check"]
    nan_share = (nan_check["with"] - nan_check["without"]) / nan_check["without"]

    def ratios(timed: dict[str, Any]) -> str:
        values = timed["round_ratios"]
        return (
            f"median {statistics.median(values):.2f}, best {max(values):.2f}"
            f" ({', '.join(f'{v:.2f}' for v in values)})"
        )

    lines = [
        f"## {SECTION}",
        "",
        f"`python bench/fingerprint.py` on {time.strftime('%Y-%m-%d')}: one seeded frame of"
        f" {result['rows']:,} rows x {result['columns']} columns ({size / 1e9:.2f} GB: 20 float64,"
        " 3 int64, a string, a category, a bool and a datetime column).",
        f"Machine: {result['machine']}; load average (1, 5, 15 min)"
        f" {_load(result['load_before'])} before the timed rounds and"
        f" {_load(result['load_after'])} after them (the machine is shared, so absolute times"
        " are noisy: read the ratios).",
        "",
        f"The copy and the fingerprints under both schemes run interleaved, {ours['runs']} rounds"
        " of copy, BLAKE3 scheme, SHA-256 scheme, so that each round's figures see the same"
        " load. The target is a fingerprint at 0.5 of the copy's rate or better.",
        "",
        "| what | time | throughput | ratio |",
        "| --- | --- | --- | --- |",
        f"| numpy memory copy of {size / 1e9:.2f} GB (bandwidth reference), best of"
        f" {len(copy_rates)}, one per round (median {statistics.median(copy_rates) / 1e9:.2f}"
        f" GB/s) | {size / copy_rate:.3f} s | {copy_rate / 1e9:.2f} GB/s | 1 |",
        f"| **jupyter-mlops `fingerprint(df)`**, BLAKE3 scheme (`{ours['scheme']}`, the"
        f" default), {result['threads']} threads, best of {ours['runs']}"
        f" (median {ours['median']:.3f} s) | {ours['best']:.3f} s | **{ours_rate / 1e9:.2f} GB/s**"
        f" | **{ours_rate / copy_rate:.2f} of the best copy**; of the same round's copy:"
        f" {ratios(ours)} |",
        f"| jupyter-mlops, SHA-256 scheme (`{older['scheme']}`, older fingerprints),"
        f" {result['threads']} threads, best of {older['runs']} (median {older['median']:.3f} s)"
        f" | {older['best']:.3f} s | {older_rate / 1e9:.2f} GB/s | {older_rate / copy_rate:.2f}"
        f" of the best copy; of the same round's copy: {ratios(older)}; the BLAKE3 scheme"
        f" is {older['best'] / ours['best']:.1f}x faster |",
        f"| BLAKE3, one core, numeric columns | — | {result['b3_rate'] / 1e9:.2f} GB/s |"
        f" {result['b3_rate'] / copy_rate:.2f} of copy |",
        f"| hashlib sha256, one core, numeric columns | — | {result['sha_rate'] / 1e9:.2f} GB/s |"
        f" {result['sha_rate'] / copy_rate:.2f} of copy |",
        f"| jupyter-mlops per CPU-second, BLAKE3 scheme ({ours['cpu']:.3f} CPU s a run) | — |"
        f" {size / ours['cpu'] / 1e9:.2f} GB per CPU-s |"
        f" {size / ours['cpu'] / result['b3_cpu_rate']:.2f} of plain BLAKE3's"
        f" {result['b3_cpu_rate'] / 1e9:.2f} GB per CPU-s |",
        f"| jupyter-mlops per CPU-second, SHA-256 scheme ({older['cpu']:.3f} CPU s a run) | — |"
        f" {size / older['cpu'] / 1e9:.2f} GB per CPU-s |"
        f" {size / older['cpu'] / result['sha_cpu_rate']:.2f} of plain sha256's"
        f" {result['sha_cpu_rate'] / 1e9:.2f} GB per CPU-s |",
        f"| the float columns' blocks hashed (BLAKE3) on one thread, without / with the NaN"
        f" check, best of {nan_check['runs']:.0f} each, interleaved | {nan_check['without']:.3f} /"
        f" {nan_check['with']:.3f} CPU s |"
        f" {nan_check['bytes'] / nan_check['without'] / 1e9:.2f} /"
        f" {nan_check['bytes'] / nan_check['with'] / 1e9:.2f} GB per CPU-s |"
        f" the check adds {nan_share:+.0%} |",
    ]
    if isinstance(mlflow, dict):
        lines.append(
            f"| MLflow {mlflow['mlflow']} `from_pandas(df).digest` (pandas {mlflow['pandas']}),"
            f" {'best of ' + str(mlflow['runs']) if mlflow['runs'] > 1 else 'one run'} |"
            f" {mlflow['best_seconds']:.3f} s |"
            f" {mlflow['bytes'] / mlflow['best_seconds'] / 1e9:.3f} GB/s |"
            f" ours is {mlflow['best_seconds'] / ours['best']:.1f}x faster |"
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
    lines += [
        "| change | jupyter-mlops | jupyter-mlops, SHA-256 scheme | MLflow |",
        "| --- | --- | --- | --- |",
    ]

    def seen(value: bool | None) -> str:
        return "—" if value is None else ("yes" if value else "**no**")

    for change, detected in ours["detects"].items():
        theirs = mlflow["detects"].get(change) if isinstance(mlflow, dict) else None
        lines.append(
            f"| {change} | {seen(detected)} | {seen(older['detects'].get(change))} |"
            f" {seen(theirs)} |"
        )
    lines += [
        "",
        "MLflow's digest hashes only the first 10,000 rows (plus the row count and the column"
        " names), and of those only the numeric and string columns: a change after row 10,000,"
        " or in a bool or datetime column, leaves it unchanged. Its time is dominated by"
        " `df.map(type)` over every cell, which it runs to find the string columns.",
        "The NaN check (every NaN must hash alike) runs `min()` over each 256 KiB piece of a"
        " float block just before the piece is hashed, so that the hash reads the piece from"
        " the cache that `min()` brought it into; what that costs is in the table above. The"
        " `isnan()` mask over each whole 4 MiB block that it replaces took 13% of the SHA-256"
        " scheme's time.",
        f"During the timed runs of the BLAKE3 scheme the process got {ours['parallel']:.2f}"
        f" CPU-seconds per second of wall time with {result['threads']} hashing threads: the"
        " other work on the machine left it about that many cores. With both cores to itself,"
        " the per-CPU-second rate above would give about"
        f" {result['threads'] * size / ours['cpu'] / 1e9:.1f} GB/s.",
        f"Our scheme: canonical per-dtype buffers cut into {result['block_size'] // 2**20} MiB"
        " blocks, BLAKE3 of each block in a thread pool (NaNs neutralized piece by piece as"
        " the block is hashed), BLAKE3 of the block digests; fingerprints recorded before it"
        " are SHA-256 of the same blocks, and are checked by computing that scheme (see"
        " `src/jupyter_mlops/snapshots/hashing.py`).",
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
