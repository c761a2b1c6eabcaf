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
    mlops.predictions("churn")                  # what `jupyter mlops serve churn@champion` answered
    mlops.feedback(["order-1"], [0])            # the true label, later; mlops.live_metrics("churn")

Importing the package is cheap: pandas, IPython and ipywidgets are imported by the
functions that need them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__ as __version__
from .errors import MlopsError

if TYPE_CHECKING:
    from .api import (
        check,
        check_drift,
        compare,
        drift_history,
        feedback,
        get_run,
        import_from_mlflow,
        init,
        live_metrics,
        load_model,
        merge,
        metrics,
        optuna_callback,
        predictions,
        promote,
        push,
        register_model,
        registered_models,
        runs,
        snapshot,
        watch_loss,
    )
    from .drift.gate import DriftGate
    from .gates.expectations import expect
    from .registry.connection import Registry
    from .tracking.housekeeping_api import (
        archive,
        experiment_note,
        move,
        note,
        note_experiment,
        purge,
        rename,
        restore,
        tag,
        untag,
    )
    from .tracking.session import (
        active_run,
        configure,
        end_run,
        log,
        log_artifact,
        log_figure,
        log_image,
        log_params,
        log_table,
        log_text,
        start_run,
    )

__all__ = [
    "DriftGate",
    "MlopsError",
    "Registry",
    "active_run",
    "archive",
    "check",
    "check_drift",
    "compare",
    "configure",
    "drift_history",
    "end_run",
    "expect",
    "experiment_note",
    "feedback",
    "get_run",
    "import_from_mlflow",
    "init",
    "live_metrics",
    "load_model",
    "log",
    "log_artifact",
    "log_figure",
    "log_image",
    "log_params",
    "log_table",
    "log_text",
    "merge",
    "metrics",
    "move",
    "note",
    "note_experiment",
    "optuna_callback",
    "predictions",
    "promote",
    "purge",
    "push",
    "register_model",
    "registered_models",
    "rename",
    "restore",
    "runs",
    "snapshot",
    "start_run",
    "tag",
    "untag",
    "watch_loss",
]

# Where each public name and each extension hook lives; served on first use, so that
# `import jupyter_mlops` loads (almost) nothing: a pipeline step or a script pays only
# for what it calls, and the Jupyter faces load only when Jupyter asks for their hooks.
_HOMES = {
    "DriftGate": "drift.gate",
    "Registry": "registry.connection",
    "active_run": "tracking.session",
    "archive": "tracking.housekeeping_api",
    "check": "api",
    "check_drift": "api",
    "compare": "api",
    "configure": "tracking.session",
    "drift_history": "api",
    "end_run": "tracking.session",
    "expect": "gates.expectations",
    "experiment_note": "tracking.housekeeping_api",
    "feedback": "api",
    "get_run": "api",
    "import_from_mlflow": "api",
    "init": "api",
    "live_metrics": "api",
    "load_model": "api",
    "merge": "api",
    "log": "tracking.session",
    "log_artifact": "tracking.session",
    "log_figure": "tracking.session",
    "log_image": "tracking.session",
    "log_params": "tracking.session",
    "log_table": "tracking.session",
    "log_text": "tracking.session",
    "metrics": "api",
    "move": "tracking.housekeeping_api",
    "note": "tracking.housekeeping_api",
    "note_experiment": "tracking.housekeeping_api",
    "optuna_callback": "api",
    "predictions": "api",
    "promote": "api",
    "purge": "tracking.housekeeping_api",
    "push": "api",
    "register_model": "api",
    "registered_models": "api",
    "rename": "tracking.housekeeping_api",
    "restore": "tracking.housekeeping_api",
    "runs": "api",
    "snapshot": "api",
    "start_run": "tracking.session",
    "tag": "tracking.housekeeping_api",
    "untag": "tracking.housekeeping_api",
    "watch_loss": "api",
    # the hooks IPython and Jupyter look up on the package
    "load_ipython_extension": "magics",
    "unload_ipython_extension": "magics",
    "_jupyter_labextension_paths": "server",
    "_jupyter_server_extension_points": "server",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{home}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})
