"""Queries: runs read back, as pages, DataFrames, one run in full, or side by side.

Filters use the expression language of :mod:`jupyter_mlops.tracking.expressions`,
compiled to SQL with every value bound as a parameter (:mod:`.filters`). A bare name is
looked up as a run field (``status``, ``name``, ``duration``...), then as a metric (its
last value), then as a parameter; ``metrics.x``, ``params.x`` and ``tags.x`` say which.

    page = list_runs(registry, where="accuracy > 0.9", sort="-accuracy", limit=20)
    frame = runs_frame(registry, experiment="churn")        # one row per run

Modules: :mod:`.records` (the frozen values returned), :mod:`.refs` (which run a
reference names), :mod:`.filters`, :mod:`.listing`, :mod:`.detail`, :mod:`.comparison`,
:mod:`.notebook_runs` (runs found by the notebook they were recorded from) and
:mod:`.counts` (how much a run recorded, and the line that confirms it).
"""
