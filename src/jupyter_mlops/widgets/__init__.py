"""ipywidgets views of what the core returns: run tables, one run, comparisons, gate
verdicts, registered models, drift reports.

Each view is a widget that also carries a static HTML rendering, so a notebook
exported to HTML, or opened where widgets do not run, still shows the table and the
curves. Every name and value from the registry is escaped before it is put in HTML.

    RunsTableView(list_runs(registry, limit=50))
    RunView(run_detail(registry, "baseline"))
    ComparisonView(compare(registry, ["baseline", "tuned"]))
    GateView(check(registry, ["accuracy >= 0.85"], raise_on_failure=False))
    DriftView(run_drift_check(registry, "train", todays_df))
    ModelsView(list_models(registry))
"""

from __future__ import annotations

from .base import View, message
from .drift import DriftView
from .guard import GateView, ModelsView
from .runs import ComparisonView, RunsTableView, RunView

__all__ = [
    "ComparisonView",
    "DriftView",
    "GateView",
    "ModelsView",
    "RunView",
    "RunsTableView",
    "View",
    "message",
]
