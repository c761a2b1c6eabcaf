"""The code search: find the runs whose recorded code used a call, among 10,000 runs.

    python bench/search.py                     # 10,000 runs; writes the "Search" section of RESULTS.md
    python bench/search.py --smoke             # 1,000 runs, short budgets; no RESULTS.md
    python bench/search.py --python .venv/bin/python   # time the jupyter-mlops of that environment

There is no peer to run side by side: MLflow and the trackers like it keep a run's
parameters and metrics, not the code of the cells that ran, so none can answer "which
runs used RandomForestClassifier?". The figure is judged against DESIGN's target
instead (under 50 ms among 10,000 runs).

The worker (``_search_worker.py``, in the environment under test) records the runs
through the public API, each with three or four seeded code cells and some with a note,
then times ``list_runs(registry, code=...)`` for the searches a data scientist makes and
checks each answer against the seeded truth.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from _harness import (
    OURS_VENV,
    RESULTS_FILE,
    BenchError,
    Timing,
    can_import,
    ensure_venv,
    format_seconds,
    git_commit,
    load_average,
    log,
    machine_info,
    markdown_table,
    package_version,
    plain_table,
    run_worker,
    update_results_section,
)

WORKER = Path(__file__).resolve().parent / "_search_worker.py"
TARGET_SECONDS = 0.050
HEADLINE = "a common call, first page of 50"


def report_markdown(facts: dict, build: dict, results: dict) -> str:
    rows = []
    for figure in results["searches"]:
        label = figure["search"]
        timing = Timing.from_dict(figure)
        judged = label == HEADLINE
        rows.append(
            [
                f"**{label}**" if judged else label,
                f"`{figure['code']}`",
                f"{figure['matches']:,}",
                format_seconds(timing.median),
                "< 50 ms" if judged else "",
                ("yes" if timing.median < TARGET_SECONDS else "**no**") if judged else "",
                f"{format_seconds(timing.best)} ({timing.n})",
            ]
        )
    table = markdown_table(
        ["search", "code=", "runs found", "median", "target", "met", "best (samples)"], rows
    )
    machine = facts["machine"]
    flush = results["cell_flush"]
    indexed, plain = Timing.from_dict(flush["indexed"]), Timing.from_dict(flush["not_indexed"])
    return f"""Measured {machine["date"]} by `python bench/search.py`, on {machine["cpu"]} ({machine["cores"]} cores, {machine["memory"]}), {machine["os"]}, Python {machine["python"]}, SQLite {machine["sqlite"]}; registry on {machine["filesystem"]}; load average {facts["load_before"]} before the run, {facts["load_after"]} after it (the machine is shared with other jobs: absolute times move with the load). Versions: jupyter-mlops {facts["versions"]["jupyter-mlops"]}, sqlite-utils {facts["versions"]["sqlite-utils"]}; at commit {facts["commit"]}.

{build["runs"]:,} finished runs in one experiment, {build["cells"]:,} code cells and a note on one run in ten, recorded through the Python API run by run ({build["setup"]:.1f} s, the full-text index kept up by its triggers as the cells were written). Figures are medians of `list_runs(registry, code=...)`, the call behind `%mlops runs --code`, `jupyter mlops runs --code`, `mlops.runs(code=...)` and the panel's `code:` filter: the matching runs, their total, and the page's parameters and metrics. No peer records a run's code in a form it can search, so there is no side-by-side column.

{table}

Searching "every matching run" spends most of its time listing them (the parameters and metrics of every one), not searching. Keeping the index costs the writer: the end-of-cell flush of one recorded {flush["characters"]}-character cell takes {format_seconds(indexed.median)} with the index and {format_seconds(plain.median)} without it (medians of {indexed.n} and {plain.n} flushes), the trigram tokenizer's work on the cell's text.

How it was measured:

- Each run has three or four cells drawn from seeded templates (imports, data preparation, an optional scaling step with `fit_transform`, a model fitted with one of eight scikit-learn estimators, evaluation), about 230 characters each. Every answer is checked against the seeded truth: the total equals the number of runs whose cells contain the text, and every run on the page is one of them.
- The registry is opened once and the index read through before the clock starts, as in a kernel that has listed runs before; each search is then repeated for up to the time budget (at least 5 times, at most 50).
- The search asks the trigram index for the matching run ids, then lists those runs with the listing's own query (filters, sort, page, count), so the index is read once per search.
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="1,000 runs, short budgets")
    parser.add_argument("--runs", type=int, help="runs in the registry (default 10,000)")
    parser.add_argument("--python", type=Path, help="a Python with jupyter-mlops installed")
    parser.add_argument("--budget", type=float, help="seconds per search (default 5, smoke 1)")
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    write = parser.add_mutually_exclusive_group()
    write.add_argument(
        "--write-results",
        dest="write_results",
        action="store_true",
        default=None,
        help="write the Search section of RESULTS.md",
    )
    write.add_argument("--no-write-results", dest="write_results", action="store_false")
    return parser.parse_args(argv)


def python_of_ours(args: argparse.Namespace) -> Path:
    if args.python is not None:
        return args.python.absolute()  # not resolve(): a venv python is a symlink
    if args.smoke and can_import(sys.executable, "jupyter_mlops"):
        return Path(sys.executable)
    python = ensure_venv(OURS_VENV, create=True)
    assert python is not None
    return python


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    n_runs = args.runs or (1_000 if args.smoke else 10_000)
    budget = args.budget or (1.0 if args.smoke else 5.0)
    write_results = args.write_results if args.write_results is not None else not args.smoke
    python = python_of_ours(args)
    if not can_import(python, "jupyter_mlops"):
        raise BenchError(f"{python} cannot import jupyter_mlops; pass --python with one that can")
    work = Path(tempfile.mkdtemp(prefix="mlops-bench-search-"))
    root = work / "project"
    root.mkdir()
    machine = machine_info(work)
    load_before = load_average()
    started = time.perf_counter()
    try:
        log(f"Recording {n_runs:,} runs with their code in {root} ...")
        build = run_worker(python, [str(WORKER), "build", str(root), str(n_runs)], cwd=work)
        log(f"  ... in {build['setup']:.1f} s. Timing the searches ...")
        results = run_worker(
            python, [str(WORKER), "search", str(root), str(n_runs), str(budget)], cwd=work
        )
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    facts = {
        "machine": machine,
        "load_before": load_before,
        "load_after": load_average(),
        "commit": git_commit(Path(__file__).resolve().parent),
        "seconds": time.perf_counter() - started,
        "versions": {
            name: package_version(python, name) or "?" for name in ("jupyter-mlops", "sqlite-utils")
        },
    }
    rows = [
        [figure["search"], str(figure["matches"]), format_seconds(Timing.from_dict(figure).median)]
        for figure in results["searches"]
    ]
    print(plain_table(["search", "runs found", "median"], rows))
    flush = results["cell_flush"]
    print(
        f"one cell's flush: {format_seconds(Timing.from_dict(flush['indexed']).median)} indexed,"
        f" {format_seconds(Timing.from_dict(flush['not_indexed']).median)} not indexed"
    )
    print(f"load average {facts['load_before']} before, {facts['load_after']} after")
    if args.json:
        args.json.write_text(json.dumps({"build": build, **results, **facts}, indent=1))
    if write_results:
        update_results_section(RESULTS_FILE, "Search", report_markdown(facts, build, results))
        log(f"Wrote the Search section of {RESULTS_FILE}")
    (judged,) = [figure for figure in results["searches"] if figure["search"] == HEADLINE]
    headline = Timing.from_dict(judged).median
    return 0 if headline < TARGET_SECONDS or args.smoke else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        log(f"error: {error}")
        sys.exit(2)
