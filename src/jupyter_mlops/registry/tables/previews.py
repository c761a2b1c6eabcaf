"""Migration 0007: the previews of long metric curves, filled for those already recorded.

The migration's step computes the previews from the points already stored, with the
algorithm of :mod:`jupyter_mlops.tracking.previews` (what a preview is belongs to
tracking; the registry only stores it: :mod:`..previews`).
"""

from __future__ import annotations

from ...tracking.previews import fill_previews
from .migration import Migration

METRIC_PREVIEWS = Migration(
    "0007_metric_previews",
    """
    -- One row per (run, metric) whose curve is longer than the page shows whole: the
    -- lowest and highest point of each step bucket, and the last point (tracking/previews.py).
    -- Derived from metrics; written with the points, in the same transaction.
    CREATE TABLE metric_previews (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        count INTEGER NOT NULL,          -- the points it stands for (metric_summaries.count)
        bucket_steps INTEGER NOT NULL,   -- steps per bucket, a power of two
        points INTEGER NOT NULL,         -- points in the preview
        steps BLOB NOT NULL,             -- int64 little-endian, ascending
        vals BLOB NOT NULL,              -- float64 little-endian, NaN for a bucket of NaN
        PRIMARY KEY (run_id, key)
    );
    """,
    step=fill_previews,
)
