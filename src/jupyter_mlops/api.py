"""The public functions of ``jupyter_mlops``, on the registry and run of this session.

Each one finds the registry the way :func:`~jupyter_mlops.tracking.session.default_registry`
does (or uses the active run's) and calls the core function that does the work; the
package root re-exports them, so they are what ``mlops.<name>`` means::

    import jupyter_mlops as mlops

    mlops.runs(where="accuracy > 0.9")          # a DataFrame, one row per run
    mlops.check(["accuracy >= 0.85"])           # raises GateFailedError when a rule fails

Every import is inside the function that needs it: ``import jupyter_mlops`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    import pandas as pd

    from .drift.store import StoredDriftReport
    from .gates.evaluation import GateEvaluation, Promotion
    from .models.versions import ModelVersion
    from .registry.connection import Registry
    from .sharing.merge_report import MergeReport
    from .sharing.mlflow_import_report import ImportReport, ProgressCallback
    from .sharing.mlflow_push import PushReport
    from .snapshots.store import SnapshotRecord
    from .tracking.queries.records import Comparison, RunDetail
    from .tracking.run import Run


def init(directory: str | Path | None = None) -> Registry:
    """Create (or open) ``.mlops/registry.db`` in ``directory`` and record into it."""
    from .registry.connection import Registry
    from .tracking.session import use_registry

    registry = Registry.init(directory)
    use_registry(registry)
    return registry


def runs(
    *,
    experiment: str | None = None,
    where: str | None = None,
    sort: str | list[str] | None = None,
    limit: int | None = None,
    code: str | None = None,
    top_level: bool = False,
    parent: str | None = None,
    archived: bool | None = False,
) -> pd.DataFrame:
    """Runs as a DataFrame, one row per run with ``params.*`` and ``metrics.*`` columns.

    ``code`` keeps the runs whose recorded cells or note contain each of its words
    (pieces of text, case ignored; ``"quoted phrases"`` stay whole). The
    ``parent_run_id`` column says which run each run is a child of (a sweep's trial, a
    search's candidate); ``top_level=True`` keeps the runs without a parent,
    ``parent=RUN`` the children of one run. Archived runs (``mlops.archive``) are left
    out: ``archived=True`` lists only them, ``archived=None`` every run::

        mlops.runs(experiment="churn", where="accuracy > 0.9", sort="-accuracy")
        mlops.runs(code="RandomForest fit_transform")
        mlops.runs(parent="grid-search", sort="-mean_test_score")
        mlops.runs(archived=True)
    """
    from .tracking.queries.listing import runs_frame
    from .tracking.session import default_registry

    return runs_frame(
        default_registry(),
        experiment=experiment,
        where=where,
        sort=sort,
        limit=limit,
        code=code,
        top_level=top_level,
        parent=parent,
        archived=archived,
    )


def optuna_callback() -> Any:
    """A callback that records each trial of an Optuna study as a child run of the run
    active now (params, value, state, intermediate values; the best trial tagged
    ``mlops.best``)::

        with mlops.start_run("tuning"):
            study.optimize(objective, n_trials=50, callbacks=[mlops.optuna_callback()])

    In a notebook a study the cell names is recorded after the cell without it.
    """
    from .tracking.autolog.optuna_study import OptunaCallback
    from .tracking.session import require_active_run

    return OptunaCallback(require_active_run())


def watch_loss(loss_fn: Any, *, name: str = "loss", steps_per_epoch: int | None = None) -> Any:
    """Record per-epoch ``train_loss`` and ``val_loss`` curves of a PyTorch training loop
    in the active run, from its loss module; returns the module::

        loss_fn = mlops.watch_loss(nn.CrossEntropyLoss())

    Calls with gradients enabled are training, under ``torch.no_grad()`` validation; an
    epoch of one ends when the other begins, after ``steps_per_epoch`` training batches
    when given, and at the run's end (see :mod:`jupyter_mlops.tracking.autolog.torch_loss`).
    """
    from .tracking.autolog.torch_loss import watch_loss as watch

    return watch(loss_fn, name=name, steps_per_epoch=steps_per_epoch)


def metrics(run: str = "last", key: str | None = None) -> pd.DataFrame:
    """Every point a run logged (``key``, ``step``, ``value``, ``timestamp``), however many."""
    from .tracking.queries.detail import metrics_frame
    from .tracking.session import default_registry

    return metrics_frame(default_registry(), run, key)


def get_run(run: str = "last", *, full_series: bool = False) -> RunDetail:
    """Everything recorded about one run (by id, id prefix, name, or ``"last"``).

    A curve longer than 2,048 points is in ``series`` as its preview (the lowest and
    highest point of each step range, so spikes show; its key is in ``downsampled``);
    ``full_series=True`` gives every point of every curve::

        mlops.get_run("baseline").series["loss"]                   # at most 2,049 points
        mlops.get_run("baseline", full_series=True).series["loss"]  # every point
    """
    from .tracking.queries.detail import run_detail
    from .tracking.session import default_registry

    return run_detail(default_registry(), run, full_series=full_series)


def compare(*runs: str) -> Comparison:
    """Two or more runs side by side: which parameters differ, their metrics and curves."""
    from .tracking.queries.comparison import compare as compare_runs
    from .tracking.session import default_registry

    return compare_runs(default_registry(), list(runs))


def snapshot(
    data: Any,
    *,
    name: str | None = None,
    role: str = "input",
    materialize: bool = False,
    index: str = "auto",
) -> SnapshotRecord:
    """Fingerprint and profile ``data`` (a DataFrame, Series, array or CSV/parquet path).

    Linked to the active run with ``role`` when there is one (and it is recorded);
    ``materialize=True`` stores the data itself as parquet so the run can be reproduced.
    """
    from .snapshots.store import record_snapshot
    from .tracking.session import active_run, default_registry
    from .tracking.unrecorded import UnrecordedRun

    run = active_run()
    if run is None or isinstance(run, UnrecordedRun):
        run, registry = None, default_registry()
    else:
        registry = run.registry
    return record_snapshot(
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
    snapshot's schema or from the fitted estimator. ``alias`` points an alias at it. A
    run that could not be recorded cannot be linked: the model is stored all the same,
    linked to no run, and a warning says so.

        version = mlops.register_model(model, "churn", alias="challenger")
        version.ref                 # 'churn@3'
    """
    from .models.registering import register
    from .tracking.queries.refs import resolve_run
    from .tracking.session import unrecorded_run
    from .tracking.unrecorded import UnrecordedRun

    unrecorded = run if isinstance(run, UnrecordedRun) else None
    if run is None:
        unrecorded = unrecorded_run()
    registry, run_id = _registry_and_run(run)
    if isinstance(run, str):
        run_id = resolve_run(registry, run)
    version = register(
        registry,
        model,
        name,
        run_id=run_id,
        snapshot=snapshot,
        signature=signature,
        description=description,
        alias=alias,
    )
    if unrecorded is not None:
        import logging

        logging.getLogger(__name__).warning(
            'jupyter-mlops: model "%s" version %d is stored linked to no run: run "%s" is not'
            " recorded (%s).",
            name,
            version.version,
            unrecorded.name,
            unrecorded.reason,
        )
    return version


def import_from_mlflow(
    uri: str,
    *,
    experiments: list[str] | tuple[str, ...] | None = None,
    progress: ProgressCallback | None = None,
) -> ImportReport:
    """Import an MLflow tracking server (every active experiment, or those named) into this
    session's registry: runs, metric histories, models, versions and aliases; importing
    again adds what is new and updates what changed. See docs/teams.md.

        report = mlops.import_from_mlflow("http://127.0.0.1:5000", experiments=["churn"])
        print(report.summary())          # added / updated / unchanged, and what did not map
    """
    from .sharing.mlflow_import import import_from_mlflow as import_server
    from .tracking.session import default_registry

    return import_server(default_registry(), uri, experiments=experiments, progress=progress)


def load_model(ref: str) -> Any:
    """The model ``ref`` names: ``"churn@champion"`` (an alias), ``"churn@3"`` (a version),
    ``"churn"`` (the latest version). Its file is checked against its sha256 first.

        model = mlops.load_model("churn@champion")
    """
    from .models.versions import load
    from .tracking.session import default_registry

    return load(default_registry(), ref)


def merge(source: str | Path, *, dry_run: bool = False) -> MergeReport:
    """Merge another registry (its ``registry.db``, or the folder holding ``.mlops``) or a
    folder of pipeline bundles into this session's registry, by id; see docs/teams.md.

        report = mlops.merge("../colleague")
        print(report.text())           # what was added, and the conflicts (ours kept)
    """
    from .sharing.merge import merge_registries
    from .tracking.session import default_registry

    return merge_registries(default_registry(), source, dry_run=dry_run)


def predictions(
    model: str | None = None, *, role: str | None = None, since: Any = None
) -> pd.DataFrame:
    """The predictions served models logged (``jupyter mlops serve``), oldest first: one row
    per request and version, with its inputs (when sampled), outputs, latency and the version
    that answered. ``role`` is ``"served"`` or ``"shadow"``; ``since`` (unix seconds, a
    datetime or a pandas Timestamp) keeps the requests served from then on.

        mlops.predictions("churn", role="shadow")
        mlops.predictions("churn", since=datetime.now() - timedelta(hours=1))
    """
    from .serving.prediction_log import read_predictions
    from .tracking.session import default_registry

    if since is not None and hasattr(since, "timestamp"):
        since = since.timestamp()
    return read_predictions(default_registry(), model, role=role, since=since)


def feedback(request_ids: Any, labels: Any) -> int:
    """Record the true labels of served requests, by request id; return how many requests
    got labels. One label per request, or a list of one per row for a request of several.

        mlops.feedback(["order-1", "order-2"], [1, 0])
        mlops.feedback("batch-7", [1, 0, 0])           # a request of three rows
    """
    from .serving.feedback import record_feedback
    from .tracking.session import default_registry

    return record_feedback(default_registry(), request_ids, labels)


def live_metrics(model: str, *, since: Any = None) -> pd.DataFrame:
    """How each version of ``model`` did on live traffic: requests, accuracy (and MAE, RMSE
    for numbers) on the labels given with :func:`feedback`, latency; served and shadow.
    ``since``: unix seconds, a datetime or a pandas Timestamp.

        mlops.live_metrics("churn")
    """
    from .serving.live_metrics import live_metrics as compute
    from .tracking.session import default_registry

    if since is not None and hasattr(since, "timestamp"):
        since = since.timestamp()
    return compute(default_registry(), model, since=since)


def push(
    uri: str,
    *,
    experiment: str | None = None,
    since: Any = None,
    progress: Any = None,
) -> PushReport:
    """Push this registry's runs, experiments, model versions and aliases to the MLflow
    tracking server at ``uri``; only what is new since the last push there is sent.
    ``since``: a date (``"2026-11-30"``), a duration back from now (``"7d"``), unix
    seconds or a datetime. ``progress`` is called with a ``PushProgress`` as it goes.

        report = mlops.push("http://mlflow.team.internal:5000", experiment="churn")
        print(report.describe())          # created / updated / unchanged, and what MLflow refused
    """
    from .sharing.mlflow_push import push as push_to_mlflow
    from .sharing.mlflow_push import since_time
    from .tracking.session import active_run, default_registry

    running = active_run()
    if running is not None and running.status == "running":
        running.flush()  # its latest points go too
    if isinstance(since, str):
        since = since_time(since)
    elif since is not None and hasattr(since, "timestamp"):
        since = since.timestamp()
    return push_to_mlflow(
        default_registry(), uri, experiment=experiment, since=since, progress=progress
    )


def registered_models(name: str | None = None) -> pd.DataFrame:
    """Registered model versions as a DataFrame: aliases, run, flavor and ``metrics.*``.

    mlops.registered_models("churn")
    """
    from .models.versions import versions_frame
    from .tracking.session import default_registry

    return versions_frame(default_registry(), name)


def check(
    rules: str | list[str] | tuple[str, ...] = (),
    *,
    run: str | Run | None = None,
    model: str | None = None,
    values: dict[str, Any] | None = None,
    data: Any = None,
    expect: Any = (),
    drift: Any = None,
    prediction: str | None = None,
    label: str | None = None,
    positive: Any = None,
    raise_on_failure: bool = True,
) -> GateEvaluation:
    """Evaluate gate rules, data expectations and drift checks; store and return the evaluation.

    Rules read the metrics (and ``params.x``) of ``run``: by default the active run, else
    the most recent one. ``values`` supplies names the run does not have; ``model``
    says whose aliases ``champion.f1`` means. ``data`` (a DataFrame, or a stored
    snapshot's name) is checked against ``expect``. ``drift`` adds drift checks: a
    ``(reference, current)`` pair, a :class:`DriftGate` (critical columns, ``fail_on=
    "review"``), a report from :func:`check_drift`, or a list of those; a line fails on
    retrain (or review) and on any change in a critical column. Fairness rules
    (``demographic_parity_difference(sex) <= 0.05``, ``min_by(accuracy, sex) >= 0.8``) are
    computed on ``data``: ``prediction`` names its column of the model's predictions,
    ``label`` its true labels, ``positive`` the positive class. A failure raises
    :class:`~jupyter_mlops.errors.GateFailedError` (its ``results`` list every line), so
    the rest of a script or pipeline does not run; ``raise_on_failure=False`` returns the
    failed evaluation instead.

        mlops.check(["accuracy >= 0.85", "f1 > champion.f1 - 0.01"], model="churn")
        mlops.check(data=df, expect=[mlops.expect.not_null("age"), 'between("age", 0, 120)'])
        mlops.check(drift=mlops.DriftGate("train", todays_df, critical=["amount"]))
        mlops.check("equalized_odds_difference(sex) <= 0.1", data=scored,
                    prediction="predicted", label="churned")
    """
    from .gates import evaluation

    registry, run_id = _registry_and_run(run)
    return evaluation.check(
        registry,
        rules,
        run=run if isinstance(run, str) else run_id,
        model=model,
        values=values,
        data=data,
        expect=expect,
        drift=drift,
        prediction=prediction,
        label=label,
        positive=positive,
        raise_on_failure=raise_on_failure,
        find_run=lambda: evaluation.latest_run(registry),
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
    prediction: str | None = None,
    label: str | None = None,
    positive: Any = None,
) -> Promotion:
    """Point ``alias`` at the version ``ref`` names when every gate passes.

    Rules read the metrics of that version's run; ``champion.f1`` is the metric of the
    run of the version ``champion`` points at now (with no champion yet, comparisons
    with it pass, marked "no champion yet"). ``drift`` adds drift checks as in
    :func:`check`, their reports linked to the version; fairness rules are computed on
    ``data`` (with ``prediction``, ``label``, ``positive``) as in :func:`check`. A failed
    gate raises :class:`~jupyter_mlops.errors.GateFailedError` and leaves the alias where
    it was.

        mlops.promote("churn@4", alias="champion", gates=["accuracy >= 0.85",
                      "f1 >= champion.f1 - 0.01"], drift=("churn@4", todays_df))
        mlops.promote("churn@4", alias="champion",
                      gates=["demographic_parity_difference(sex) <= 0.05"],
                      data=scored, prediction="predicted")
    """
    from .gates.evaluation import promote as promote_version
    from .tracking.session import default_registry

    return promote_version(
        default_registry(),
        ref,
        alias,
        gates=gates,
        values=values,
        data=data,
        expect=expect,
        drift=drift,
        prediction=prediction,
        label=label,
        positive=positive,
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
    from .drift.checks import run_drift_check, split_names
    from .drift.deciding import MAX_ROWS
    from .tracking.queries.refs import resolve_run

    registry, run_id = _registry_and_run(run)
    if isinstance(run, str):
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
    from .drift.store import drift_reports_frame
    from .tracking.session import default_registry

    return drift_reports_frame(
        default_registry(),
        run=run,
        model=model,
        reference=reference,
        decision=decision,
        limit=limit,
    )


def _registry_and_run(run: Any) -> tuple[Registry, str | None]:
    """The registry to use and the id of the run meant: ``run`` when it is a Run, else
    the active run when none is named and the registry holds it. A running run's buffer
    is written first, so its latest metrics are what gates read. A run that could not be
    recorded (an :class:`UnrecordedRun`) is in no registry: nothing is linked to it."""
    from .tracking.run import Run
    from .tracking.session import default_registry, recorded_run
    from .tracking.unrecorded import UnrecordedRun

    if run is None or isinstance(run, UnrecordedRun):
        registry = default_registry()
        run = recorded_run(registry) if run is None else None
        if run is None:
            return registry, None
    if isinstance(run, Run):
        if run.status == "running":
            run.flush()
        return run.registry, run.id
    return default_registry(), None
