"""Migration 0015: what the monitor found in windows of served traffic
(see :mod:`jupyter_mlops.serving.monitoring`).

``monitor_windows``: one row per model, window length and window start (seconds since the
epoch, a multiple of the length): the requests and labelled rows in it, the decision of its
input drift (NULL when it had too few rows to test) with the columns it asks to retrain for
or review, the stored drift reports of its inputs and of its predictions, latency p50/p99,
live metrics per version (JSON ``{version: {metric: value}}``), the champion against the
challenger (JSON, NULL without a shadow), the fairness rules checked on it (JSON; ``passed``
null when a rule could not be computed there), and when it was computed. A window that has not
ended is computed again by the next monitor; one that has ended and gained no request or
label is kept as it is.

``monitor_retrains``: each time a window deciding retrain started the retraining pipeline,
with the pipeline run it recorded and whether the alias moved (its gates decide).
"""

from __future__ import annotations

from .migration import Migration

MONITORING = Migration(
    "0015_monitoring",
    """
    CREATE TABLE monitor_windows (
        model TEXT NOT NULL,
        window_seconds REAL NOT NULL,
        start REAL NOT NULL,
        end REAL NOT NULL,
        version TEXT,                    -- the version that answered most of its requests
        n_predictions INTEGER NOT NULL,
        n_labelled INTEGER NOT NULL,
        decision TEXT CHECK (decision IS NULL OR decision IN ('monitor', 'review', 'retrain')),
        retrain_columns TEXT NOT NULL,   -- JSON list
        review_columns TEXT NOT NULL,    -- JSON list
        input_report_id TEXT REFERENCES drift_reports(id) ON DELETE SET NULL,
        prediction_report_id TEXT REFERENCES drift_reports(id) ON DELETE SET NULL,
        latency_p50_ms REAL,
        latency_p99_ms REAL,
        metrics TEXT NOT NULL,           -- JSON {version: {metric: value}}
        comparison TEXT,                 -- JSON, NULL without a shadow
        fairness TEXT NOT NULL,          -- JSON [{"rule", "passed", "detail"}]
        note TEXT NOT NULL,
        computed_at REAL NOT NULL,
        PRIMARY KEY (model, window_seconds, start)
    ) WITHOUT ROWID;
    CREATE TABLE monitor_retrains (
        id INTEGER PRIMARY KEY,
        model TEXT NOT NULL,
        window_seconds REAL NOT NULL,
        window_start REAL NOT NULL,
        pipeline_dir TEXT NOT NULL,
        pipeline_run_id TEXT,            -- NULL when the pipeline could not start
        status TEXT NOT NULL,            -- the pipeline's: ok | gate_failed | failed | ...
        alias_before TEXT,               -- the version the alias named before, and after
        alias_after TEXT,
        started_at REAL NOT NULL,
        ended_at REAL NOT NULL
    );
    CREATE UNIQUE INDEX monitor_retrains_window
        ON monitor_retrains(model, window_seconds, window_start);
    """,
)
