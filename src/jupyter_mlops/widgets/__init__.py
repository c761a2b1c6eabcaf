"""ipywidgets views of what the core returns: run tables, one run, comparisons, gate
verdicts, registered models and their aliases' history, drift reports.

Each view is a widget that also carries a static HTML rendering, so a notebook
exported to HTML, or opened where widgets do not run, still shows the table and the
curves. Every name and value from the registry is escaped before it is put in HTML.

    RunsTableView(list_runs(registry, limit=50))
    RunView(run_detail(registry, "baseline"))
    ComparisonView(compare(registry, ["baseline", "tuned"]))
    GateView(check(registry, ["accuracy >= 0.85"], raise_on_failure=False))
    DriftView(run_drift_check(registry, "train", todays_df))
    ModelsView(list_models(registry))
    AliasHistoryView("churn", alias_history(registry, "churn"))
    SweepView(sweep_data(registry, "grid", metric="mean_test_score"))
"""

from __future__ import annotations

from .base import View, message
from .drift import DriftView
from .guard import AliasHistoryView, GateView, ModelsView
from .runs import ComparisonView, RunsTableView, RunView
from .sweeps import SweepView

__all__ = [
    "AliasHistoryView",
    "ComparisonView",
    "DriftView",
    "GateView",
    "ModelsView",
    "RunView",
    "RunsTableView",
    "SweepView",
    "View",
    "message",
]
