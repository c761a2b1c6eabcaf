"""Migration 0003: drift reports and their per-column verdicts."""

from __future__ import annotations

from .migration import Migration

DRIFT = Migration(
    "0003_drift",
    """
    -- One drift check: current data against a reference, with its settings, sizes and decision.
    -- ``report`` keeps the whole report (drift.DriftReport.to_dict(), drawing data included);
    -- the other columns and ``drift_columns`` repeat what lists and filters need, so nothing
    -- has to parse the JSON to find, say, every report where a column asked for retraining.
    CREATE TABLE drift_reports (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,              -- given, or "REFERENCE vs CURRENT"
        decision TEXT NOT NULL CHECK (decision IN ('monitor', 'review', 'retrain')),
        gate_passed INTEGER NOT NULL,    -- 0 when a critical column's decision is not monitor
        reference_name TEXT NOT NULL,    -- snapshot name, variable name or file path
        reference_kind TEXT NOT NULL,    -- snapshot | dataframe | file | profile
        reference_snapshot_id TEXT REFERENCES snapshots(id),
        current_name TEXT NOT NULL,
        current_kind TEXT NOT NULL,      -- dataframe | file | snapshot
        current_snapshot_id TEXT REFERENCES snapshots(id),
        run_id TEXT REFERENCES runs(id) ON DELETE SET NULL,   -- the run active when checked
        model_version_id INTEGER REFERENCES model_versions(id),  -- the model it was checked for
        n_columns INTEGER NOT NULL,
        n_drifted INTEGER NOT NULL,      -- value distribution drifted (significant and material)
        n_null_drifted INTEGER NOT NULL,
        n_review INTEGER NOT NULL,       -- columns whose decision is review
        n_retrain INTEGER NOT NULL,      -- columns whose decision is retrain
        n_untested INTEGER NOT NULL,
        alpha REAL NOT NULL,
        retrain_alpha REAL NOT NULL,
        effect_threshold REAL NOT NULL,
        correction TEXT NOT NULL,        -- bh | bonferroni | none
        critical TEXT NOT NULL,          -- JSON list of column names
        max_rows INTEGER NOT NULL,
        seed INTEGER NOT NULL,
        n_reference INTEGER NOT NULL,    -- rows before any subsampling
        n_current INTEGER NOT NULL,
        n_reference_used INTEGER NOT NULL,
        n_current_used INTEGER NOT NULL,
        subsampled INTEGER NOT NULL,
        summary TEXT NOT NULL,           -- the one-line summary people read
        report TEXT NOT NULL,            -- JSON, see drift.DriftReport.to_dict
        origin TEXT NOT NULL,            -- notebook | python | cli | gate | pipeline
        notebook_path TEXT,
        created_at REAL NOT NULL
    );
    CREATE INDEX drift_reports_time ON drift_reports(created_at);
    CREATE INDEX drift_reports_run ON drift_reports(run_id);
    CREATE INDEX drift_reports_version ON drift_reports(model_version_id);
    CREATE INDEX drift_reports_reference ON drift_reports(reference_snapshot_id, created_at);

    -- One column of a report: its test, figures and verdict (drawing data stays in the JSON).
    CREATE TABLE drift_columns (
        report_id TEXT NOT NULL REFERENCES drift_reports(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,            -- position in the report
        column_name TEXT NOT NULL,
        kind TEXT NOT NULL,
        test TEXT NOT NULL,              -- ks | chi2 | none
        statistic REAL,
        p_value REAL,
        p_adjusted REAL,
        effect REAL,
        effect_name TEXT NOT NULL,
        psi REAL,
        null_rate_ref REAL,
        null_rate_cur REAL,
        null_p_adjusted REAL,
        null_effect REAL,
        unseen_share REAL,
        n_ref INTEGER NOT NULL,
        n_cur INTEGER NOT NULL,
        drifted INTEGER NOT NULL,
        null_drifted INTEGER NOT NULL,
        critical INTEGER NOT NULL,
        decision TEXT NOT NULL,          -- monitor | review | retrain
        verdict TEXT NOT NULL,           -- drift | null-rate drift | immaterial | no drift | not tested
        reason TEXT NOT NULL,
        PRIMARY KEY (report_id, seq)
    ) WITHOUT ROWID;
    CREATE INDEX drift_columns_column ON drift_columns(column_name, decision);

    -- A gate line that is a drift check points at the report it judged.
    ALTER TABLE gate_results ADD COLUMN drift_report_id TEXT REFERENCES drift_reports(id);

    CREATE VIEW drift_reports_view AS
    SELECT
        drift_reports.id,
        datetime(drift_reports.created_at, 'unixepoch') AS created,
        drift_reports.name,
        drift_reports.decision,
        CASE drift_reports.gate_passed WHEN 1 THEN 'passed' ELSE 'failed' END AS critical_columns,
        drift_reports.reference_name AS reference,
        drift_reports.current_name AS current,
        drift_reports.n_drifted || ' of ' || drift_reports.n_columns AS drifted,
        drift_reports.n_reference,
        drift_reports.n_current,
        drift_reports.run_id,
        runs.name AS run_name,
        models.name AS model,
        model_versions.version,
        drift_reports.origin,
        drift_reports.summary
    FROM drift_reports
    LEFT JOIN runs ON runs.id = drift_reports.run_id
    LEFT JOIN model_versions ON model_versions.id = drift_reports.model_version_id
    LEFT JOIN models ON models.id = model_versions.model_id;

    CREATE VIEW drift_columns_view AS
    SELECT
        drift_columns.report_id,
        datetime(drift_reports.created_at, 'unixepoch') AS created,
        drift_reports.reference_name AS reference,
        drift_reports.current_name AS current,
        drift_columns.column_name,
        drift_columns.kind,
        drift_columns.decision,
        drift_columns.verdict,
        drift_columns.test,
        drift_columns.p_adjusted,
        drift_columns.effect,
        drift_columns.effect_name,
        drift_columns.psi,
        drift_columns.null_rate_ref,
        drift_columns.null_rate_cur,
        drift_columns.critical,
        drift_columns.reason
    FROM drift_columns
    JOIN drift_reports ON drift_reports.id = drift_columns.report_id;
    """,
)
