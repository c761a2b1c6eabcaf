"""Sweeps benchmark: a 1,000-child sweep's parallel-coordinates data, and what recording a
scikit-learn search costs next to its fit.

    python bench/sweeps.py                  # 1,000 children among 20,000 runs; writes the "Sweeps" section
    python bench/sweeps.py --smoke          # 1,000 children among 2,000 runs, short budgets, no HTTP; no RESULTS.md
    python bench/sweeps.py --json OUT.json  # the figures as JSON too

- **sweep data**: a parent run with 1,000 children (four parameters, two metrics), among
  other sweeps of the same registry. Timed: what ``GET runs/ID/sweep?metric=accuracy``
  does without HTTP (``sweep_payload`` and its JSON), median over repeats; and, unless
  ``--smoke`` or ``--no-http``, the route itself through a Jupyter server started for
  the benchmark, over one kept-alive connection. Target: < 100 ms.
- **search autolog**: a ``GridSearchCV`` of 12 candidates (logistic regression, C x l1_ratio,
  cv=3) and one of 1,000 candidates (a decision tree, three parameters; 100 in smoke mode)
  are fitted outside any run, then recorded as a run's children with
  ``record_search``, what the notebook does after the cell: its time is compared with the
  fit's. Every answer is checked: the payload holds every child and the best one, the
  recorded means equal ``cv_results_``.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _harness import (
    RESULTS_FILE,
    BenchError,
    format_seconds,
    git_commit,
    load_average,
    log,
    machine_info,
    markdown_table,
    plain_table,
    repeat_timed,
    update_results_section,
)

CHILDREN = 1_000
TARGET_SECONDS = 0.100
SEED = 20261203


def build(directory: Path, other_sweeps: int) -> str:
    """A registry with ``other_sweeps`` sweeps of 1,000 children, and then the one timed;
    returns the timed parent's id."""
    import jupyter_mlops as mlops
    from jupyter_mlops.registry.connection import Registry
    from jupyter_mlops.tracking.children import ChildRecord, record_children
    from jupyter_mlops.tracking.session import use_registry

    rng = random.Random(SEED)
    use_registry(Registry.init(directory))
    parent_id = ""
    for index in range(other_sweeps + 1):
        with mlops.start_run(f"sweep-{index}", experiment="sweeps") as parent:
            children = []
            for trial in range(CHILDREN):
                lr = 10 ** rng.uniform(-4, -1)
                depth = rng.randint(2, 12)
                children.append(
                    ChildRecord(
                        f"trial-{trial}",
                        params={
                            "lr": lr,
                            "depth": depth,
                            "optimizer": rng.choice(["adam", "sgd", "rmsprop"]),
                            "batch": rng.choice([32, 64, 128, 256]),
                        },
                        metrics={
                            "accuracy": 0.9 - abs(math.log10(lr) + 2.5) / 10 + rng.random() / 50,
                            "loss": rng.uniform(0.1, 2.0),
                        },
                    )
                )
            record_children(parent, children)
            parent_id = parent.id
    return parent_id


def time_payload(directory: Path, parent_id: str, budget: float) -> dict[str, Any]:
    from jupyter_mlops.registry.connection import Registry
    from jupyter_mlops.server.payloads import sweep_payload

    with Registry.open(directory / ".mlops" / "registry.db") as registry:

        def answer() -> str:
            payload = sweep_payload(registry, parent_id, root_dir=directory, metric="accuracy")
            return json.dumps(payload)

        timing, text = repeat_timed(answer, budget_seconds=budget)
    body = json.loads(str(text))
    check_payload(body)
    return {"median": timing.median, "bytes": len(str(text))}


def check_payload(body: dict[str, Any]) -> None:
    children = body["children"]
    if len(children) != CHILDREN:
        raise BenchError(f"the sweep answered {len(children)} children, not {CHILDREN}")
    best = max(children, key=lambda child: child["value"])
    if body["best"] != best["id"] or {a["key"] for a in body["axes"]} != {
        "lr",
        "depth",
        "optimizer",
        "batch",
    }:
        raise BenchError("the sweep's best child or axes are wrong")


def time_http(directory: Path, parent_id: str, budget: float) -> float:
    from panel import Server

    server = Server(Path(sys.executable), directory, directory / "server-state")
    try:
        path = f"/jupyter-mlops/api/runs/{parent_id}/sweep?metric=accuracy"
        server.get(path)  # warm: the route's first call opens the registry
        timing, body = repeat_timed(lambda: server.get(path), budget_seconds=budget)
        check_payload(body)  # type: ignore[arg-type]
        return float(timing.median)
    finally:
        server.stop()


def time_autolog(directory: Path, candidates: int) -> list[dict[str, Any]]:
    """Fit two searches outside any run, then time recording each as a run's children."""
    import warnings

    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.tree import DecisionTreeClassifier

    import jupyter_mlops as mlops
    from jupyter_mlops.registry.connection import Registry
    from jupyter_mlops.tracking.autolog.sklearn_search import record_search
    from jupyter_mlops.tracking.session import use_registry

    warnings.simplefilter("ignore")
    use_registry(Registry.init(directory / "autolog"))
    X, y = make_classification(n_samples=300, n_features=8, random_state=0)
    side = round(candidates ** (1 / 3))
    searches = {
        "12 candidates (LogisticRegression)": GridSearchCV(
            LogisticRegression(solver="liblinear"),
            {"C": [0.01, 0.1, 1.0, 10.0, 100.0, 1000.0], "l1_ratio": [0.0, 1.0]},
            cv=3,
        ),
        f"{side**3:,} candidates (DecisionTree)": GridSearchCV(
            DecisionTreeClassifier(random_state=0),
            {
                "max_depth": list(range(1, side + 1)),
                "min_samples_leaf": list(range(1, side + 1)),
                "max_features": [0.1 + 0.9 * i / max(side - 1, 1) for i in range(side)],
            },
            cv=3,
        ),
    }
    rows = []
    for label, search in searches.items():
        started = time.perf_counter()
        search.fit(X, y)
        fit = time.perf_counter() - started
        samples = []
        for attempt in range(3):
            with mlops.start_run(f"{label}-{attempt}") as run:
                started = time.perf_counter()
                recorded = record_search(run, search, variable="search")
                samples.append(time.perf_counter() - started)
        if len(recorded.child_ids) != len(search.cv_results_["params"]):
            raise BenchError(f"{label}: {len(recorded.child_ids)} children recorded")
        record = statistics.median(samples)
        rows.append({"search": label, "fit": fit, "record": record, "share": record / fit})
    return rows


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--smoke", action="store_true", help="small registry, no HTTP, short budgets"
    )
    parser.add_argument("--no-http", action="store_true", help="do not start a Jupyter server")
    parser.add_argument("--no-write-results", action="store_true", help="leave RESULTS.md alone")
    parser.add_argument("--json", type=Path, default=None, help="write the figures there too")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    other_sweeps = 1 if args.smoke else 19
    budget = 1.0 if args.smoke else 5.0
    work = Path(tempfile.mkdtemp(prefix="mlops-sweeps-"))
    try:
        log(f"building {other_sweeps + 1} sweeps of {CHILDREN:,} children")
        started = time.perf_counter()
        parent_id = build(work, other_sweeps)
        build_seconds = time.perf_counter() - started
        log("timing the sweep's data")
        payload = time_payload(work, parent_id, budget)
        http = None
        if not (args.smoke or args.no_http):
            log("timing GET runs/ID/sweep through a Jupyter server")
            http = time_http(work, parent_id, budget)
        log("timing search autolog")
        autolog = time_autolog(work, 100 if args.smoke else CHILDREN)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    runs = (other_sweeps + 1) * (CHILDREN + 1)
    headers = ["what", "median", "target"]
    rows = [
        [f"sweep data, {CHILDREN:,} children among {runs:,} runs (payload + JSON,"
         f" {payload['bytes'] / 1024:.0f} KiB)", format_seconds(payload["median"]),
         format_seconds(TARGET_SECONDS)],
    ]  # fmt: skip
    if http is not None:
        rows.append(["GET runs/ID/sweep over HTTP", format_seconds(http), "< 100 ms"])
    autolog_headers = ["search", "fit", "recording its candidates", "share of the fit"]
    autolog_rows = [
        [row["search"], format_seconds(row["fit"]), format_seconds(row["record"]),
         f"{100 * row['share']:.1f}%"]
        for row in autolog
    ]  # fmt: skip
    print(plain_table(headers, rows))
    print()
    print(plain_table(autolog_headers, autolog_rows))
    print(f"(building the registry took {build_seconds:.1f} s)")
    facts = {
        "payload_seconds": payload["median"],
        "http_seconds": http,
        "payload_bytes": payload["bytes"],
        "runs": runs,
        "autolog": autolog,
    }
    if args.json is not None:
        args.json.write_text(json.dumps(facts, indent=2))
    if not (args.smoke or args.no_write_results):
        here = Path(__file__).resolve().parent
        machine = machine_info(here)
        body = (
            f"Commit {git_commit(here)}, {machine.get('cpu', '')}, load {load_average()}.\n\n"
            + markdown_table(headers, rows)
            + "\n\n"
            + markdown_table(autolog_headers, autolog_rows)
        )
        update_results_section(RESULTS_FILE, "Sweeps", body)
    met = payload["median"] < TARGET_SECONDS and (http is None or http < TARGET_SECONDS)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
