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

Importing the package is cheap: pandas, IPython and ipywidgets are imported by the
functions that need them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import MlopsError
from .registry import Registry
from .tracking import active_run, end_run, log, log_params, start_run

if TYPE_CHECKING:
    import pandas as pd

    from .queries import Comparison, RunDetail
    from .tracking import SnapshotRecord

__version__ = "0.1.0"

__all__ = [
    "MlopsError",
    "Registry",
    "active_run",
    "compare",
    "end_run",
    "get_run",
    "init",
    "log",
    "log_params",
    "metrics",
    "runs",
    "snapshot",
    "start_run",
]


def init(directory: str | Path | None = None) -> Registry:
    """Create (or open) ``.mlops/registry.db`` in ``directory`` and record into it."""
    from . import tracking

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
