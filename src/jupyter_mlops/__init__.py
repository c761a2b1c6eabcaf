"""jupyter-mlops: track, guard and ship machine-learning work from Jupyter.

In a notebook::

    %load_ext jupyter_mlops
    %mlops init
    %%mlops run baseline --experiment churn
    lr = 0.1
    model = RandomForestClassifier().fit(X_train, y_train)
    mlops.log(accuracy=model.score(X_test, y_test))

From Python::

    import jupyter_mlops as mlops

    with mlops.start_run("baseline", experiment="churn"):
        mlops.log(accuracy=0.93)
    mlops.runs(where="accuracy > 0.9")          # a DataFrame, one row per run

    mlops.register_model(model, "churn")        # churn version 1, 2, 3...
    mlops.check(["accuracy >= 0.85"])           # raises GateFailedError when a rule fails
    mlops.check_drift("train", todays_df)       # monitor / review / retrain, stored
    mlops.promote("churn@2", alias="champion", gates=["f1 >= champion.f1 - 0.01"])
    model = mlops.load_model("churn@champion")

Importing the package is cheap: pandas, IPython and ipywidgets are imported by the
functions that need them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__  # noqa: F401  # written by the build, from labextension/package.json
from .errors import MlopsError  # noqa: E402
from .server import _jupyter_labextension_paths, _jupyter_server_extension_points  # noqa: E402,F401

if TYPE_CHECKING:
    from pathlib import Path

    import pandas as pd

    from .drift_gate import DriftGate
    from .drift_reports import StoredDriftReport
    from .expectations import expect
    from .gates import GateEvaluation, Promotion
    from .models import ModelVersion
    from .queries import Comparison, RunDetail
    from .registry import Registry
    from .tracking import Run, SnapshotRecord, active_run, end_run, log, log_params, start_run


__all__ = [
    "DriftGate",
    "MlopsError",
    "Registry",
    "active_run",
    "check",
    "check_drift",
    "compare",
    "drift_history",
    "end_run",
    "expect",
    "get_run",
    "init",
    "load_model",
    "log",
    "log_params",
    "metrics",
    "promote",
    "register_model",
    "registered_models",
    "runs",
    "snapshot",
    "start_run",
]

# Names served from their modules on first use, so that `import jupyter_mlops` loads
# (almost) nothing: a pipeline step or a script pays only for what it calls.
_LAZY = {
    "DriftGate": "drift_gate",
    "Registry": "registry",
    "expect": "expectations",
    "active_run": "tracking",
    "end_run": "tracking",
    "log": "tracking",
    "log_params": "tracking",
    "start_run": "tracking",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def init(directory: str | Path | None = None) -> Registry:
    """Create (or open) ``.mlops/registry.db`` in ``directory`` and record into it."""
    from . import tracking
    from .registry import Registry

    registry = Registry.init(directory)
    tracking.use_registry(registry)
    return registry


def runs(
    *,
    experiment: str | None = None,
    where: str | None = None,
    sort: str | list[str] | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """Runs as a DataFrame, one row per run with ``params.*`` and ``metrics.*`` columns.

    mlops.runs(experiment="churn", where="accuracy > 0.9", sort="-accuracy")
    """
    from . import queries, tracking

    return queries.runs_frame(
        tracking.default_registry(), experiment=experiment, where=where, sort=sort, limit=limit
    )


def metrics(run: str = "last", key: str | None = None) -> pd.DataFrame:
    """Every point a run logged (``key``, ``step``, ``value``, ``timestamp``)."""
    from . import queries, tracking

    return queries.metrics_frame(tracking.default_registry(), run, key)


def get_run(run: str = "last") -> RunDetail:
    """Everything recorded about one run (by id, id prefix, name, or ``"last"``)."""
    from . import queries, tracking

    return queries.run_detail(tracking.default_registry(), run)


def compare(*runs: str) -> Comparison:
    """Two or more runs side by side: which parameters differ, their metrics and curves."""
    from . import queries, tracking

    return queries.compare(tracking.default_registry(), list(runs))


def snapshot(
    data: Any,
    *,
    name: str | None = None,
    role: str = "input",
    materialize: bool = False,
    index: str = "auto",
) -> SnapshotRecord:
    """Fingerprint and profile ``data`` (a DataFrame, Series, array or CSV/parquet path).

    Linked to the active run with ``role`` when there is one; ``materialize=True``
    stores the data itself as parquet so the run can be reproduced.
    """
    from . import tracking

    run = tracking.active_run()
    registry = run.registry if run is not None else tracking.default_registry()
    return tracking.record_snapshot(
        registry,
        data,
        name=name,
        role=role,
        run_id=run.id if run else None,
        materialize=materialize,
        index=index,
    )


def register_model(
    model: Any,
    name: str,
    *,
    run: str | Run | None = None,
    snapshot: Any = None,
    signature: Any = None,
    description: str | None = None,
    alias: str | None = None,
) -> ModelVersion:
    """Store a fitted model as the next version of ``name`` (1, 2, 3...).

    It is linked to ``run`` (a run, its id or name) or else to the active run, so gates
    can read its metrics; to its training snapshot (``snapshot``, else the run's snapshot
    with role ``train`` when there is exactly one); and gets an input signature from that
    snapshot's schema or from the fitted estimator. ``alias`` points an alias at it.

        version = mlops.register_model(model, "churn", alias="challenger")
        version.ref                 # 'churn@3'
    """
    from . import models, queries

    registry, run_id = _registry_and_run(run)
    if isinstance(run, str):
        run_id = queries.resolve_run(registry, run)
    return models.register(
        registry,
        model,
        name,
        run_id=run_id,
        snapshot=snapshot,
        signature=signature,
        description=description,
        alias=alias,
    )


def load_model(ref: str) -> Any:
    """The model ``ref`` names: ``"churn@champion"`` (an alias), ``"churn@3"`` (a version),
    ``"churn"`` (the latest version). Its file is checked against its sha256 first.

        model = mlops.load_model("churn@champion")
    """
    from . import models, tracking

    return models.load(tracking.default_registry(), ref)


def registered_models(name: str | None = None) -> pd.DataFrame:
    """Registered model versions as a DataFrame: aliases, run, flavor and ``metrics.*``.

    mlops.registered_models("churn")
    """
    from . import models, tracking

    return models.versions_frame(tracking.default_registry(), name)


def check(
    rules: str | list[str] | tuple[str, ...] = (),
    *,
    run: str | Run | None = None,
    model: str | None = None,
    values: dict[str, Any] | None = None,
    data: Any = None,
    expect: Any = (),
    drift: Any = None,
    raise_on_failure: bool = True,
) -> GateEvaluation:
    """Evaluate gate rules, data expectations and drift checks; store and return the evaluation.

    Rules read the metrics (and ``params.x``) of ``run``: by default the active run, else
    the most recent one. ``values`` supplies names the run does not have; ``model``
    says whose aliases ``champion.f1`` means. ``data`` (a DataFrame, or a stored
    snapshot's name) is checked against ``expect``. ``drift`` adds drift checks: a
    ``(reference, current)`` pair, a :class:`DriftGate` (critical columns, ``fail_on=
    "review"``), a report from :func:`check_drift`, or a list of those; a line fails on
    retrain (or review) and on any change in a critical column. A failure raises
    :class:`~jupyter_mlops.errors.GateFailedError` (its ``results`` list every line), so
    the rest of a script or pipeline does not run; ``raise_on_failure=False`` returns the
    failed evaluation instead.

        mlops.check(["accuracy >= 0.85", "f1 > champion.f1 - 0.01"], model="churn")
        mlops.check(data=df, expect=[mlops.expect.not_null("age"), 'between("age", 0, 120)'])
        mlops.check(drift=mlops.DriftGate("train", todays_df, critical=["amount"]))
    """
    from . import gates

    registry, run_id = _registry_and_run(run)
    return gates.check(
        registry,
        rules,
        run=run if isinstance(run, str) else run_id,
        model=model,
        values=values,
        data=data,
        expect=expect,
        drift=drift,
        raise_on_failure=raise_on_failure,
        find_run=lambda: gates.latest_run(registry),
    )


def promote(
    ref: str,
    *,
    alias: str,
    gates: str | list[str] | tuple[str, ...] = (),
    values: dict[str, Any] | None = None,
    data: Any = None,
    expect: Any = (),
    drift: Any = None,
) -> Promotion:
    """Point ``alias`` at the version ``ref`` names when every gate passes.

    Rules read the metrics of that version's run; ``champion.f1`` is the metric of the
    run of the version ``champion`` points at now (with no champion yet, comparisons
    with it pass, marked "no champion yet"). ``drift`` adds drift checks as in
    :func:`check`, their reports linked to the version. A failed gate raises
    :class:`~jupyter_mlops.errors.GateFailedError` and leaves the alias where it was.

        mlops.promote("churn@4", alias="champion", gates=["accuracy >= 0.85",
                      "f1 >= champion.f1 - 0.01"], drift=("churn@4", todays_df))
    """
    from . import gates as gating
    from . import tracking

    return gating.promote(
        tracking.default_registry(),
        ref,
        alias,
        gates=gates,
        values=values,
        data=data,
        expect=expect,
        drift=drift,
    )


def check_drift(
    reference: Any,
    current: Any,
    *,
    columns: str | list[str] | tuple[str, ...] | None = None,
    alpha: float = 0.05,
    critical: str | list[str] | tuple[str, ...] = (),
    name: str | None = None,
    model: str | None = None,
    run: str | Run | None = None,
    reference_name: str | None = None,
    current_name: str | None = None,
    effect_threshold: float = 0.1,
    correction: str = "bh",
    retrain_alpha: float = 0.01,
    max_rows: int | None = None,
    seed: int = 0,
) -> StoredDriftReport:
    """Check ``current`` data for drift against ``reference``; store and return the report.

    ``reference`` is a DataFrame, a stored snapshot (name, id or record: its profile is
    used), a model version (``"churn@champion"``: its training snapshot) or a CSV/parquet
    file; ``current`` a DataFrame, a file, or a snapshot stored with its data. Each column
    is tested and decided monitor / review / retrain (see ``docs/drift.md``); the report's
    decision is the worst. ``critical`` columns fail the report's gate on any change.
    Sides longer than ``max_rows`` (default a million) are subsampled with ``seed``. The report is linked to ``run`` (default: the active run) and to the model version
    ``model`` names. In a notebook the result shows as the drift view.

        report = mlops.check_drift("train", todays_df, critical=["amount"], model="churn@3")
        report.decision                      # 'monitor' | 'review' | 'retrain'
        report.to_frame()                    # one row per column
    """
    from .drift import MAX_ROWS
    from .drift_checks import run_drift_check, split_names

    registry, run_id = _registry_and_run(run)
    if isinstance(run, str):
        from .queries import resolve_run

        run_id = resolve_run(registry, run)
    return run_drift_check(
        registry,
        reference,
        current,
        reference_name=reference_name,
        current_name=current_name,
        columns=split_names(columns),
        alpha=alpha,
        critical=split_names(critical) or (),
        effect_threshold=effect_threshold,
        correction=correction,
        retrain_alpha=retrain_alpha,
        max_rows=MAX_ROWS if max_rows is None else max_rows,
        seed=seed,
        name=name,
        run_id=run_id,
        model=model,
        origin="python",
    )


def drift_history(
    *,
    reference: str | None = None,
    model: str | None = None,
    run: str | None = None,
    decision: str | None = None,
    limit: int = 50,
) -> pd.DataFrame:
    """Stored drift reports as a DataFrame, newest first: decision, flagged columns, links.

    mlops.drift_history(reference="train", decision="retrain")
    """
    from . import tracking
    from .drift_reports import drift_reports_frame

    return drift_reports_frame(
        tracking.default_registry(),
        run=run,
        model=model,
        reference=reference,
        decision=decision,
        limit=limit,
    )


def _registry_and_run(run: Any) -> tuple[Registry, str | None]:
    """The registry to use and the id of the run meant: ``run`` when it is a Run, else
    the active run when none is named. A running run's buffer is written first, so its
    latest metrics are what gates read."""
    from . import tracking

    if run is None:
        run = tracking.active_run()
        if run is not None and run.registry.path != tracking.default_registry().path:
            run = None
    if isinstance(run, tracking.Run):
        if run.status == "running":
            run.flush()
        return run.registry, run.id
    return tracking.default_registry(), None


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext jupyter_mlops``: register ``%mlops`` / ``%%mlops`` and the cell hooks."""
    from . import magics

    if getattr(ipython, "_jupyter_mlops_magics", None) is not None:
        return
    ipython._jupyter_mlops_magics = magics.load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from . import magics

    loaded = getattr(ipython, "_jupyter_mlops_magics", None)
    if loaded is not None:
        magics.unload(ipython, loaded)
        ipython._jupyter_mlops_magics = None
