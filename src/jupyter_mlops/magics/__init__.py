"""``%mlops`` and ``%%mlops``: parse the line, call the core, render the result.

    %load_ext jupyter_mlops
    %mlops init
    %%mlops run baseline --experiment churn
    lr = 0.1
    model = RandomForestClassifier(max_depth=6).fit(X_train, y_train)
    mlops.log(accuracy=model.score(X_test, y_test))

Errors from the core are shown as one line and a hint, without a traceback
(``%mlops --debug ...`` shows it). The user's code always runs and its result
always stands: if the registry cannot record something, a warning says what was
not recorded and the buffered values are kept for the next try.
"""

from __future__ import annotations

from typing import Any

from . import (  # noqa: F401 - register the subcommands
    artifacts,
    drift,
    guard,
    housekeeping,
    importing,
    merge,
    monitor,
    pipelines,
    push,
    reproduce,
    runs,
    serving,
)
from .base import COMMANDS, MlopsMagics, arguments, command, parser_for

__all__ = [
    "COMMANDS",
    "MlopsMagics",
    "arguments",
    "command",
    "load",
    "load_ipython_extension",
    "parser_for",
    "unload",
    "unload_ipython_extension",
]


def _drift_view(report: Any) -> dict[str, Any]:
    from ..widgets.drift import drift_report_bundle

    return drift_report_bundle(report)


# Core objects whose notebook view lives in the widgets: (module, class, view). They are
# registered with IPython's display formatter by name, so the core never imports a
# widget and nothing is imported until such an object is shown.
_VIEWS = (("jupyter_mlops.drift.store", "StoredDriftReport", _drift_view),)


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext jupyter_mlops``: register ``%mlops`` / ``%%mlops``, the cell hooks and
    the notebook views of core objects (a stored drift report shows as the drift view)."""
    if getattr(ipython, "_jupyter_mlops_magics", None) is not None:
        return
    ipython._jupyter_mlops_magics = load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext jupyter_mlops``: remove the cell hooks and the views."""
    loaded = getattr(ipython, "_jupyter_mlops_magics", None)
    if loaded is not None:
        unload(ipython, loaded)
        ipython._jupyter_mlops_magics = None


def load(shell: Any) -> MlopsMagics:
    """Register the magics and the cell hooks on ``shell``; put ``mlops`` in its namespace."""
    from ..tracking.capture.environment import warm_environment

    warm_environment()  # read installed versions while the user works
    magics = MlopsMagics(shell)
    shell.register_magics(magics)
    magics.session.register()
    magics.outputs.install()
    _register_views(shell)
    if "mlops" not in shell.user_ns:
        import jupyter_mlops

        shell.push({"mlops": jupyter_mlops}, interactive=False)
    return magics


def unload(shell: Any, magics: MlopsMagics) -> None:
    magics.session.unregister()
    magics.outputs.uninstall()
    _unregister_views(shell)


def _register_views(shell: Any) -> None:
    formatter = shell.display_formatter.mimebundle_formatter
    for module, name, view in _VIEWS:
        formatter.for_type_by_name(module, name, view)


def _unregister_views(shell: Any) -> None:
    formatter = shell.display_formatter.mimebundle_formatter
    for module, name, _ in _VIEWS:
        formatter.deferred_printers.pop((module, name), None)
        for cls in list(formatter.type_printers):
            if (cls.__module__, cls.__qualname__) == (module, name):
                formatter.type_printers.pop(cls)
