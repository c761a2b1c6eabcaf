"""Worker of the search benchmark, run with the Python of the environment under test.

    python bench/_search_worker.py build ROOT N OUT     # N runs with code cells and notes
    python bench/_search_worker.py search ROOT N BUDGET OUT

``build`` records N runs through the public API, each with three or four code cells
drawn from seeded templates (imports, data preparation, a model fitted with one of
several estimators, evaluation) and, for one run in ten, a note. ``search`` times the
searches a data scientist makes and checks each answer against the seeded truth, then
what the index costs a writer: one cell's end-of-cell flush, with and without it.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path
from typing import Any

from _harness import Timing, repeat_timed, write_worker_result

SEED = 20251104
EXPERIMENT = "search"

ESTIMATORS = (
    ("RandomForestClassifier", "from sklearn.ensemble import RandomForestClassifier"),
    ("GradientBoostingClassifier", "from sklearn.ensemble import GradientBoostingClassifier"),
    ("LogisticRegression", "from sklearn.linear_model import LogisticRegression"),
    (
        "HistGradientBoostingClassifier",
        "from sklearn.ensemble import HistGradientBoostingClassifier",
    ),
    ("SVC", "from sklearn.svm import SVC"),
    ("KNeighborsClassifier", "from sklearn.neighbors import KNeighborsClassifier"),
    ("ExtraTreesClassifier", "from sklearn.ensemble import ExtraTreesClassifier"),
    ("MLPClassifier", "from sklearn.neural_network import MLPClassifier"),
)
# How often each estimator is drawn: common ones and a rare one.
WEIGHTS = (30, 20, 20, 2, 8, 8, 6, 6)

PREPARE = (
    "df = pd.read_parquet('data/churn_{week}.parquet')\n"
    "df = df.dropna(subset=['tenure', 'plan'])\n"
    "X = pd.get_dummies(df.drop(columns=['churned']), columns=['plan', 'region'])\n"
    "y = df['churned']\n"
    "X_train, X_test, y_train, y_test = train_test_split(X, y, test_size={test}, random_state={seed})\n"
)
SCALE = (
    "scaler = StandardScaler()\n"
    "X_train = scaler.fit_transform(X_train)\n"
    "X_test = scaler.transform(X_test)\n"
)
FIT = "model = {estimator}({args})\nmodel.fit(X_train, y_train)\npred = model.predict(X_test)\n"
EVALUATE = (
    "mlops.log(accuracy=accuracy_score(y_test, pred), f1=f1_score(y_test, pred))\n"
    "print(classification_report(y_test, pred))\n"
)
NOTES = (
    "tried a deeper forest: overfits after depth 12",
    "labels for week {week} were stale, rerun after the fix",
    "baseline for the review with the retention team",
    "scaled features; no change for trees",
)


def population(count: int) -> list[dict[str, Any]]:
    """The seeded runs: for each, its name, cells, note and estimator."""
    rng = random.Random(SEED)
    names = [name for name, _ in ESTIMATORS]
    imports = dict(ESTIMATORS)
    runs = []
    for i in range(count):
        estimator = rng.choices(names, WEIGHTS)[0]
        week = rng.randint(1, 52)
        args = f"max_depth={rng.randint(2, 16)}" if "Forest" in estimator else f"random_state={i}"
        cells = [
            "import pandas as pd\nimport jupyter_mlops as mlops\n"
            "from sklearn.model_selection import train_test_split\n"
            "from sklearn.metrics import accuracy_score, f1_score, classification_report\n"
            + imports[estimator],
            PREPARE.format(week=week, test=rng.choice((0.2, 0.25, 0.3)), seed=i),
        ]
        if rng.random() < 0.5:
            cells.append("from sklearn.preprocessing import StandardScaler\n" + SCALE)
        cells.append(FIT.format(estimator=estimator, args=args) + EVALUATE)
        note = rng.choice(NOTES).format(week=week) if rng.random() < 0.1 else None
        runs.append({"name": f"run-{i:05d}", "cells": cells, "note": note, "estimator": estimator})
    return runs


def build(root: Path, count: int) -> dict[str, Any]:
    import jupyter_mlops as mlops

    registry = mlops.Registry.init(root)
    started = time.perf_counter()
    for i, spec in enumerate(population(count)):
        with mlops.start_run(spec["name"], experiment=EXPERIMENT, registry=registry) as run:
            for number, cell in enumerate(spec["cells"], start=1):
                run.record_cell(cell, execution_count=number)
            run.log(accuracy=0.5 + (i % 500) / 1000)
            if spec["note"]:
                run.note(spec["note"])
    elapsed = time.perf_counter() - started
    runs = registry.query_one("SELECT COUNT(*) FROM runs")[0]
    cells = registry.query_one("SELECT COUNT(*) FROM code_cells")[0]
    assert runs == count, f"{runs} of {count} runs stored"
    registry.close()
    return {"setup": elapsed, "runs": runs, "cells": cells}


def searches(count: int) -> list[tuple[str, str, dict[str, Any], set[str]]]:
    """(label, code, other arguments, the names of the runs expected) for each search."""
    runs = population(count)

    def using(estimator: str) -> set[str]:
        return {run["name"] for run in runs if run["estimator"] == estimator}

    forests = using("RandomForestClassifier")
    scaled = {run["name"] for run in runs if any("fit_transform" in cell for cell in run["cells"])}
    stale = {run["name"] for run in runs if run["note"] and "stale" in run["note"]}
    return [
        ("a common call, first page of 50", "RandomForestClassifier", {"limit": 50}, forests),
        (
            "a rare call, first page of 50",
            "HistGradientBoosting",
            {"limit": 50},
            using("HistGradientBoostingClassifier"),
        ),
        ("part of a name", "RandomForest", {"limit": 50}, forests),
        (
            "two words: a call and a method",
            "RandomForest fit_transform",
            {"limit": 50},
            forests & scaled,
        ),
        ("a word of a note", "stale", {"limit": 50}, stale),
        (
            "a call, sorted by a metric",
            "RandomForestClassifier",
            {"limit": 50, "sort": "-accuracy"},
            forests,
        ),
        ("a call, every matching run (no page)", "RandomForestClassifier", {}, forests),
        ("a call nobody made", "XGBClassifier", {"limit": 50}, set()),
    ]


def search(root: Path, count: int, budget: float) -> dict[str, Any]:
    import jupyter_mlops as mlops
    from jupyter_mlops.tracking.queries.listing import list_runs

    registry = mlops.Registry.open(root / ".mlops" / "registry.db")
    registry.query("SELECT COUNT(*) FROM code_cells_fts")  # read the index into the page cache
    figures = []
    for label, code, arguments, expected in searches(count):
        timing, page = repeat_timed(
            lambda code=code, arguments=arguments: list_runs(registry, code=code, **arguments),
            min_repeats=5,
            budget_seconds=budget,
        )
        assert isinstance(timing, Timing)
        found = page.total  # type: ignore[attr-defined]
        names = {run.name for run in page.runs}  # type: ignore[attr-defined]
        assert found == len(expected), f"{label}: {found} runs, expected {len(expected)}"
        assert names <= expected, f"{label}: {sorted(names - expected)[:3]} do not match"
        figures.append({"search": label, "code": code, "matches": found, **timing.to_dict()})
    registry.close()
    return {"searches": figures, "cell_flush": cell_flush(root, budget)}


def cell_flush(root: Path, budget: float) -> dict[str, Any]:
    """What keeping the index costs a writer: the end-of-cell flush of one recorded cell
    (the typical fitting cell, about 230 characters), with the index, then without it."""
    import sqlite_utils

    import jupyter_mlops as mlops

    source = population(1)[0]["cells"][-1]
    figures = {"characters": len(source)}
    for label in ("indexed", "not_indexed"):
        registry = mlops.Registry.open(root / ".mlops" / "registry.db")
        if label == "not_indexed":
            db = sqlite_utils.Database(registry.conn, recursive_triggers=False)
            for table in ("code_cells", "run_notes"):
                db.table(table).disable_fts()
        with mlops.start_run("writer", experiment="writes", registry=registry) as run:

            def one_cell(run: Any = run) -> None:
                run.record_cell(source + f"  # {time.perf_counter()}")
                run.flush()

            timing, _ = repeat_timed(
                one_cell, min_repeats=50, max_repeats=500, budget_seconds=budget
            )
        figures[label] = timing.to_dict()
        registry.close()
    return figures


def main(argv: list[str]) -> None:
    command, root, count = argv[0], Path(argv[1]), int(argv[2])
    if command == "build":
        result = build(root, count)
    elif command == "search":
        result = search(root, count, float(argv[3]))
    else:
        raise SystemExit(f"unknown command {command!r}")
    write_worker_result(argv[-1], result)


if __name__ == "__main__":
    main(sys.argv[1:])
