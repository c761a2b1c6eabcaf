"""Autolog benchmark: what reading a fitted xgboost or LightGBM model costs a run, next to
the fit it reads (target: < 5% of a 200-round fit).

    python bench/autolog.py                 # 200 rounds, 9 fits per mode; writes the "Autolog" section
    python bench/autolog.py --smoke         # 50 rounds, 3 fits per mode; RESULTS.md left alone

In one real IPython shell with the extension loaded, the same cell fits a model of 200
rounds with a validation set (and no early stopping, so every fit does the same work):

- *untracked*: no run is active, the cell is the fit alone;
- *tracked*: the cell is a ``%%mlops run`` cell: the run starts, the fit runs, autolog
  reads the model after it (200 points per evaluation metric, best round, the
  feature-importance table artifact) and the run ends, its values written.

The two alternate, and the figure is the difference of their medians over the untracked
median. Because one cell's fit varies by a few percent on a shared machine, autolog's own
part is also timed alone: ``record_boosters`` on the fitted model inside a run and the
write of what it logged, against the median fit. Each tracked run is checked: its curve
has one point per round and its importance table one row per feature.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _harness import (
    RESULTS_FILE,
    format_seconds,
    git_commit,
    load_average,
    log,
    machine_info,
    markdown_table,
    plain_table,
    update_results_section,
)

TARGET = 0.05
FEATURES = 20
ROWS = 20_000

SETUP = f"""
import numpy as np
from sklearn.datasets import make_classification
X, y = make_classification(n_samples={ROWS}, n_features={FEATURES}, n_informative=10, random_state=0)
X_train, X_valid, y_train, y_valid = X[:16000], X[16000:], y[:16000], y[16000:]
"""

MODELS = {
    "lightgbm": (
        "import inspect, lightgbm\n"
        "valid = ({'eval_X': (X_valid,), 'eval_y': (y_valid,)}"
        " if 'eval_X' in inspect.signature(lightgbm.LGBMClassifier.fit).parameters"
        " else {'eval_set': [(X_valid, y_valid)]})\n",
        "model = lightgbm.LGBMClassifier(n_estimators={rounds}, verbose=-1, n_jobs=1)"
        ".fit(X_train, y_train, **valid)\n",
        "valid_0/binary_logloss",
    ),
    "xgboost": (
        "import xgboost\n",
        "model = xgboost.XGBClassifier(n_estimators={rounds}, eval_metric='logloss', n_jobs=1)"
        ".fit(X_train, y_train, eval_set=[(X_valid, y_valid)], verbose=False)\n",
        "validation_0/logloss",
    ),
}


def measure(library: str, rounds: int, fits: int, workdir: Path) -> dict[str, Any]:
    from IPython.core.interactiveshell import InteractiveShell

    import jupyter_mlops as mlops
    from jupyter_mlops.tracking.autolog.boosting import record_boosters
    from jupyter_mlops.tracking.queries.detail import run_detail
    from jupyter_mlops.tracking.session import use_registry

    registry = mlops.init(workdir / library)
    use_registry(registry)
    shell = InteractiveShell.instance()
    shell.run_cell("%load_ext jupyter_mlops")
    imports, fit, curve = MODELS[library]
    assert shell.run_cell(SETUP + imports).success
    cell = fit.format(rounds=rounds)
    untracked, tracked, alone = [], [], []
    for index in range(fits + 1):  # the first round warms up, untimed
        started = time.perf_counter()
        assert shell.run_cell(cell).success
        plain = time.perf_counter() - started
        started = time.perf_counter()
        result = shell.run_cell(f"%%mlops run fit-{index}\n{cell}")
        with_run = time.perf_counter() - started
        assert result.success, result.error_in_exec
        detail = run_detail(registry, f"fit-{index}", series=False)
        assert detail.run.metrics["n_iterations"] == rounds, detail.run.metrics
        # autolog's own part: reading the fitted model in a run, and writing what it logged
        with mlops.start_run(f"alone-{index}") as run:
            started = time.perf_counter()
            recorded = record_boosters(run, shell.user_ns, ["model"])
            run.flush()
            own = time.perf_counter() - started
        assert recorded and dict(recorded[0].curves)[curve] == rounds
        if index:
            untracked.append(plain)
            tracked.append(with_run)
            alone.append(own)
    shell.run_cell("%unload_ext jupyter_mlops")
    InteractiveShell.clear_instance()
    fit_median = statistics.median(untracked)
    return {
        "library": library,
        "version": sys.modules[library].__version__,
        "fit": fit_median,
        "tracked": statistics.median(tracked),
        "cell_overhead": (statistics.median(tracked) - fit_median) / fit_median,
        "autolog": statistics.median(alone),
        "autolog_share": statistics.median(alone) / fit_median,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="50 rounds, 3 fits per mode")
    args = parser.parse_args()
    rounds, fits = (50, 3) if args.smoke else (200, 9)
    workdir = Path(tempfile.mkdtemp(prefix="mlops-autolog-"))
    before = load_average()
    results = []
    for library in MODELS:
        log(f"{library}: {fits} fits of {rounds} rounds per mode")
        results.append(measure(library, rounds, fits, workdir))
    after = load_average()
    headers = [
        "model (rounds)",
        "fit, no run",
        "the same cell as a run",
        "difference / fit",
        "autolog alone",
        "autolog / fit",
        "target",
        "met",
    ]
    rows = [
        [
            f"{r['library']} {r['version']} ({rounds})",
            format_seconds(r["fit"]),
            format_seconds(r["tracked"]),
            f"{r['cell_overhead']:+.1%}",
            format_seconds(r["autolog"]),
            f"{r['autolog_share']:.2%}",
            "< 5%",
            "yes" if r["autolog_share"] < TARGET else "no",
        ]
        for r in results
    ]
    print(plain_table(headers, rows))
    if args.smoke:
        return
    info = machine_info(workdir)
    body = (
        f"`python bench/autolog.py`: {ROWS:,} rows x {FEATURES} features, {rounds} rounds with a "
        f"validation set and no early stopping, {fits} fits per mode, alternating, in one "
        f"IPython shell. Commit {git_commit(Path(__file__).parent)}; {info['cpu']}, "
        f"Python {info['python']}; load average before {before}, after {after}.\n\n"
        + markdown_table(headers, rows)
        + '\n\n"difference / fit" is the whole `%%mlops run` cell (run start, fit, autolog, '
        "run end with its write) against the same fit with no run, medians; it moves by a "
        'few percent either way with the machine\'s load. "autolog alone" is reading the '
        "fitted model and writing what it logged (one point per round and metric, the best "
        "round, the feature-importance table), which is what autolog adds to the cell.\n"
    )
    update_results_section(RESULTS_FILE, "Autolog", body)
    log(f"wrote the Autolog section of {RESULTS_FILE}")


if __name__ == "__main__":
    main()
