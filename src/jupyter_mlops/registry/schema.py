"""The registry's tables, as an ordered list of named migrations.

A registry records which migrations it has applied in ``schema_migrations``; opening
it applies the missing ones, in this order, inside one write transaction, so two
processes opening a new registry at once cannot both migrate it. A registry that has
applied a migration this version does not know was made by a newer jupyter-mlops and
is refused rather than guessed at.

Conventions, so the file reads well from ``sqlite-utils``, datasette or pandas:
times are unix epoch seconds (REAL); the ``runs_view`` view adds readable times and
durations. A metric value of NULL means NaN (SQLite has no NaN); infinities are
stored as such. Parameters keep their native SQLite type so filters compare numbers
as numbers; lists and dicts are JSON text, and ``type`` says what to turn them back into.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from .previews import PREVIEWS_SQL, fill_previews
from .search_index import index_run_text

if TYPE_CHECKING:
    import sqlite_utils


class Migration(NamedTuple):
    """A named step of the schema; applied once, in the order of :data:`MIGRATIONS`.

    ``sql`` runs first; ``step``, when given, then gets the same connection, inside the
    same transaction, as a ``sqlite_utils.Database``: for what sqlite-utils does better
    than hand-written SQL (``table.transform(...)``, ``table.enable_fts(...)``).
    """

    name: str
    sql: str
    step: Callable[[sqlite_utils.Database], None] | None = None


CORE = Migration(
    "0001_core",
    """
    CREATE TABLE registry_info (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );

    CREATE TABLE experiments (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created_at REAL NOT NULL
    );

    CREATE TABLE environments (
        id INTEGER PRIMARY KEY,
        hash TEXT NOT NULL UNIQUE,
        python TEXT NOT NULL,
        platform TEXT NOT NULL,
        packages TEXT NOT NULL           -- JSON object {distribution: version}
    );

    CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        experiment_id INTEGER NOT NULL REFERENCES experiments(id),
        name TEXT NOT NULL,
        status TEXT NOT NULL
            CHECK (status IN ('running', 'finished', 'failed', 'killed', 'crashed')),
        kind TEXT NOT NULL DEFAULT 'notebook',   -- notebook | script | pipeline-step
        previous_run_id TEXT REFERENCES runs(id),
        started_at REAL NOT NULL,
        ended_at REAL,
        heartbeat_at REAL,
        host TEXT,
        pid INTEGER,
        process_token TEXT,              -- tells a live process from a reused pid
        notebook_path TEXT,
        cell_id TEXT,
        git_commit TEXT,
        git_branch TEXT,
        git_dirty INTEGER,
        environment_id INTEGER REFERENCES environments(id),
        error TEXT
    );
    CREATE INDEX runs_experiment_started ON runs(experiment_id, started_at);
    CREATE INDEX runs_status ON runs(status);
    CREATE INDEX runs_name ON runs(name, experiment_id, started_at);
    CREATE INDEX runs_cell ON runs(cell_id, started_at);

    CREATE TABLE params (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value,                           -- INTEGER, REAL, TEXT, JSON text or NULL
        type TEXT NOT NULL,              -- int | float | str | bool | none | list | dict | other
        source TEXT NOT NULL,            -- literal | estimator | explicit | pipeline
        PRIMARY KEY (run_id, key)
    ) WITHOUT ROWID;
    CREATE INDEX params_key_value ON params(key, value);

    CREATE TABLE metrics (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        step INTEGER NOT NULL,
        value REAL,                      -- NULL is NaN
        timestamp REAL NOT NULL
    );
    CREATE INDEX metrics_run_key_step ON metrics(run_id, key, step);

    CREATE TABLE metric_summaries (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        last REAL,
        last_step INTEGER NOT NULL,
        min REAL,
        min_step INTEGER,
        max REAL,
        max_step INTEGER,
        count INTEGER NOT NULL,
        PRIMARY KEY (run_id, key)
    ) WITHOUT ROWID;
    CREATE INDEX metric_summaries_key_last ON metric_summaries(key, last);

    CREATE TABLE tags (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (run_id, key)
    ) WITHOUT ROWID;

    CREATE TABLE code_cells (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        execution_count INTEGER,
        cell_id TEXT,
        source TEXT NOT NULL,
        executed_at REAL NOT NULL,
        PRIMARY KEY (run_id, seq)
    ) WITHOUT ROWID;

    CREATE TABLE artifacts (
        sha256 TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        format TEXT NOT NULL,            -- parquet | joblib | json | bytes
        created_at REAL NOT NULL
    );

    CREATE TABLE run_artifacts (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        sha256 TEXT NOT NULL REFERENCES artifacts(sha256),
        PRIMARY KEY (run_id, name)
    ) WITHOUT ROWID;

    CREATE TABLE snapshots (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        kind TEXT NOT NULL,              -- dataframe | series | ndarray | csv | parquet
        n_rows INTEGER NOT NULL,
        n_columns INTEGER NOT NULL,
        schema TEXT NOT NULL,            -- JSON list of columns, see snapshots.ColumnSchema
        profile TEXT NOT NULL,           -- JSON, see profiles.DataProfile
        index_policy TEXT NOT NULL,      -- auto | include | ignore, as asked
        index_hashed INTEGER NOT NULL,   -- what the policy came to for this data
        index_schema TEXT NOT NULL,      -- JSON list of the index levels
        fingerprint_scheme TEXT NOT NULL,
        source_path TEXT,
        source_sha256 TEXT,              -- the file's bytes, for CSV and parquet inputs
        artifact_sha256 TEXT REFERENCES artifacts(sha256),
        created_at REAL NOT NULL,
        UNIQUE (name, fingerprint)
    );
    CREATE INDEX snapshots_fingerprint ON snapshots(fingerprint);

    CREATE TABLE run_snapshots (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        snapshot_id TEXT NOT NULL REFERENCES snapshots(id),
        role TEXT NOT NULL,              -- train | test | reference | input
        variable TEXT,
        PRIMARY KEY (run_id, snapshot_id, role)
    ) WITHOUT ROWID;

    CREATE VIEW runs_view AS
    SELECT
        runs.id,
        runs.name,
        experiments.name AS experiment,
        runs.status,
        runs.kind,
        datetime(runs.started_at, 'unixepoch') AS started,
        datetime(runs.ended_at, 'unixepoch') AS ended,
        runs.ended_at - runs.started_at AS duration_seconds,
        runs.notebook_path,
        runs.git_commit,
        runs.git_dirty,
        runs.previous_run_id,
        runs.error
    FROM runs JOIN experiments ON experiments.id = runs.experiment_id;
    """,
)

GUARD = Migration(
    "0002_guard",
    """
    -- A registered model: a name under which versions are stored.
    CREATE TABLE models (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        description TEXT,
        created_at REAL NOT NULL
    );

    -- One stored model object. ``version`` counts 1, 2, 3... per model; it is taken inside
    -- the write transaction that inserts the row, so concurrent registrations never share one.
    CREATE TABLE model_versions (
        id INTEGER PRIMARY KEY,
        model_id INTEGER NOT NULL REFERENCES models(id),
        version INTEGER NOT NULL CHECK (version >= 1),
        run_id TEXT REFERENCES runs(id) ON DELETE SET NULL,
        snapshot_id TEXT REFERENCES snapshots(id),  -- the training data
        artifact_sha256 TEXT NOT NULL REFERENCES artifacts(sha256),
        flavor TEXT NOT NULL,            -- sklearn | pickle
        model_class TEXT NOT NULL,       -- module.qualname of the stored object
        signature TEXT,                  -- JSON {"source", "columns": [{"name", "dtype"}], "n_features"}
        libraries TEXT NOT NULL,         -- JSON {distribution: version} needed to load it again
        description TEXT,
        created_at REAL NOT NULL,
        UNIQUE (model_id, version)
    );
    CREATE INDEX model_versions_run ON model_versions(run_id);

    -- Names that point at one version of a model: champion, challenger, staging...
    CREATE TABLE model_aliases (
        model_id INTEGER NOT NULL REFERENCES models(id),
        alias TEXT NOT NULL,
        version_id INTEGER NOT NULL REFERENCES model_versions(id),
        updated_at REAL NOT NULL,
        PRIMARY KEY (model_id, alias)
    ) WITHOUT ROWID;

    -- Every gate evaluation, whatever its verdict: what was checked and with which inputs.
    CREATE TABLE gate_evaluations (
        id TEXT PRIMARY KEY,
        purpose TEXT NOT NULL,           -- check | promote
        run_id TEXT REFERENCES runs(id) ON DELETE SET NULL,   -- the run whose metrics were used
        model_version_id INTEGER REFERENCES model_versions(id),  -- the version being promoted
        alias TEXT,                      -- the alias a promotion would move
        snapshot_id TEXT REFERENCES snapshots(id),          -- data checked from a stored snapshot
        passed INTEGER NOT NULL,
        n_rules INTEGER NOT NULL,
        n_failed INTEGER NOT NULL,
        inputs TEXT NOT NULL,            -- JSON: values given, the champion compared with, the data
        notebook_path TEXT,
        evaluated_at REAL NOT NULL
    );
    CREATE INDEX gate_evaluations_time ON gate_evaluations(evaluated_at);
    CREATE INDEX gate_evaluations_run ON gate_evaluations(run_id);
    CREATE INDEX gate_evaluations_version ON gate_evaluations(model_version_id);

    -- One line of an evaluation: a rule or a data expectation, with its actual and expected value.
    CREATE TABLE gate_results (
        evaluation_id TEXT NOT NULL REFERENCES gate_evaluations(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        kind TEXT NOT NULL,              -- rule | expectation
        rule TEXT NOT NULL,
        passed INTEGER NOT NULL,
        actual TEXT,                     -- JSON
        expected TEXT NOT NULL,
        detail TEXT NOT NULL,
        exact INTEGER NOT NULL,          -- 0 when the actual value is an estimate
        PRIMARY KEY (evaluation_id, seq)
    ) WITHOUT ROWID;

    -- Every move of an alias: set when registering, promoted (with the gates' evaluation), removed.
    CREATE TABLE model_alias_history (
        id INTEGER PRIMARY KEY,
        model_id INTEGER NOT NULL REFERENCES models(id),
        alias TEXT NOT NULL,
        from_version_id INTEGER REFERENCES model_versions(id),  -- NULL: the alias is new
        to_version_id INTEGER REFERENCES model_versions(id),    -- NULL: the alias was removed
        evaluation_id TEXT REFERENCES gate_evaluations(id),     -- NULL: moved without gates
        reason TEXT NOT NULL,            -- register | promote | remove
        moved_at REAL NOT NULL
    );
    CREATE INDEX model_alias_history_alias ON model_alias_history(model_id, alias, moved_at);

    CREATE VIEW model_versions_view AS
    SELECT
        models.name AS model,
        model_versions.version,
        (SELECT group_concat(alias, ', ') FROM model_aliases
            WHERE model_aliases.version_id = model_versions.id) AS aliases,
        model_versions.flavor,
        model_versions.model_class,
        model_versions.run_id,
        runs.name AS run_name,
        snapshots.name AS training_snapshot,
        model_versions.artifact_sha256,
        datetime(model_versions.created_at, 'unixepoch') AS created,
        model_versions.description
    FROM model_versions
    JOIN models ON models.id = model_versions.model_id
    LEFT JOIN runs ON runs.id = model_versions.run_id
    LEFT JOIN snapshots ON snapshots.id = model_versions.snapshot_id;

    CREATE VIEW gate_results_view AS
    SELECT
        gate_evaluations.id AS evaluation_id,
        datetime(gate_evaluations.evaluated_at, 'unixepoch') AS evaluated,
        gate_evaluations.purpose,
        gate_evaluations.run_id,
        models.name AS model,
        model_versions.version,
        gate_evaluations.alias,
        gate_results.seq,
        gate_results.kind,
        gate_results.rule,
        CASE gate_results.passed WHEN 1 THEN 'passed' ELSE 'failed' END AS verdict,
        gate_results.actual,
        gate_results.expected,
        gate_results.detail
    FROM gate_results
    JOIN gate_evaluations ON gate_evaluations.id = gate_results.evaluation_id
    LEFT JOIN model_versions ON model_versions.id = gate_evaluations.model_version_id
    LEFT JOIN models ON models.id = model_versions.model_id;
    """,
)

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

PIPELINES = Migration(
    "0004_pipelines",
    """
    -- An exported pipeline as it was run: one row per distinct pipeline.json.
    CREATE TABLE pipelines (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        spec_sha256 TEXT NOT NULL,       -- sha256 of pipeline.json
        notebook TEXT,                   -- the notebook it was exported from (as the spec names it)
        notebook_sha256 TEXT,
        exported_from_run_id TEXT,       -- the notebook's run the export reflects (may be elsewhere)
        n_steps INTEGER NOT NULL,
        spec TEXT NOT NULL,              -- the pipeline.json text
        created_at REAL NOT NULL,
        UNIQUE (name, spec_sha256)
    );
    CREATE INDEX pipelines_name ON pipelines(name, created_at);

    -- One run of a pipeline. Its id is the id of a run of kind 'pipeline' in ``runs``,
    -- which holds its parameters and (copied from its steps) its metrics, so pipeline
    -- runs compare with notebook runs like any two runs.
    CREATE TABLE pipeline_runs (
        run_id TEXT PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
        pipeline_id INTEGER NOT NULL REFERENCES pipelines(id),
        status TEXT NOT NULL
            CHECK (status IN ('running', 'ok', 'failed', 'gate_failed', 'drift_stopped', 'killed')),
        from_step TEXT,                  -- --from STEP
        failed_step TEXT,                -- the step that stopped the run
        message TEXT,                    -- why it stopped
        parameters TEXT NOT NULL,        -- JSON: every parameter value used
        parity TEXT,                     -- JSON: metrics compared with the notebook's run
        directory TEXT,                  -- the pipeline directory, where it was run
        workdir TEXT,                    -- where the steps ran
        started_at REAL NOT NULL,
        ended_at REAL
    );
    CREATE INDEX pipeline_runs_pipeline ON pipeline_runs(pipeline_id, started_at);
    CREATE INDEX pipeline_runs_started ON pipeline_runs(started_at);

    -- Each step of a pipeline run, in the order the runner took them.
    CREATE TABLE step_runs (
        pipeline_run_id TEXT NOT NULL REFERENCES pipeline_runs(run_id) ON DELETE CASCADE,
        step TEXT NOT NULL,
        seq INTEGER NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'ok', 'cached', 'reused',
            'failed', 'gate_failed', 'drift_stopped', 'not_run')),
        run_id TEXT REFERENCES runs(id) ON DELETE SET NULL,  -- the step's own run (kind
                                         -- 'pipeline-step'); for a cached step, the run that
                                         -- produced the result it reused
        cached INTEGER NOT NULL DEFAULT 0,  -- 1 when the step was skipped and its result reused
        cache_key TEXT,                  -- content hash of code, parameters and inputs
        code_sha256 TEXT,                -- the step module's sha256
        outputs TEXT NOT NULL DEFAULT '{}',  -- JSON {name: {"format", "sha"}}
        message TEXT,
        log_path TEXT,
        started_at REAL,
        duration REAL,
        PRIMARY KEY (pipeline_run_id, step)
    ) WITHOUT ROWID;
    CREATE INDEX step_runs_run ON step_runs(run_id);

    -- The step cache: finished steps by content key, reused while their outputs and the
    -- files they read and wrote still hash the same.
    CREATE TABLE step_cache (
        key TEXT PRIMARY KEY,
        pipeline TEXT NOT NULL,
        step TEXT NOT NULL,
        run_id TEXT,                     -- the step run that produced it
        outputs TEXT NOT NULL,           -- JSON {name: {"format", "sha"}}
        metrics TEXT NOT NULL,           -- JSON [{"key", "value", "step"}], the last values
        files_read TEXT NOT NULL,        -- JSON {path: sha256}
        files_written TEXT NOT NULL,     -- JSON {path: sha256}
        created_at REAL NOT NULL
    );
    CREATE INDEX step_cache_latest ON step_cache(pipeline, step, created_at);

    CREATE VIEW pipeline_runs_view AS
    SELECT
        pipeline_runs.run_id,
        pipelines.name AS pipeline,
        pipeline_runs.status,
        runs.status AS run_status,
        datetime(pipeline_runs.started_at, 'unixepoch') AS started,
        pipeline_runs.ended_at - pipeline_runs.started_at AS duration_seconds,
        pipeline_runs.failed_step,
        pipeline_runs.message,
        (SELECT count(*) FROM step_runs WHERE step_runs.pipeline_run_id = pipeline_runs.run_id
            AND step_runs.status = 'ok') AS steps_run,
        (SELECT count(*) FROM step_runs WHERE step_runs.pipeline_run_id = pipeline_runs.run_id
            AND step_runs.cached = 1) AS steps_cached,
        pipelines.exported_from_run_id,
        pipeline_runs.parameters
    FROM pipeline_runs
    JOIN pipelines ON pipelines.id = pipeline_runs.pipeline_id
    JOIN runs ON runs.id = pipeline_runs.run_id;
    """,
)

SEARCH = Migration(
    "0005_search",
    """
    -- A run's note: free text about the run, written with run.note(...) or %mlops note.
    -- One per run, replaced when written again; a rowid table, so a full-text index can
    -- point at its rows.
    CREATE TABLE run_notes (
        run_id TEXT PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
        note TEXT NOT NULL,
        updated_at REAL NOT NULL
    );

    -- code_cells is rebuilt as a rowid table for the same reason (an FTS5 index refers to
    -- rows by integer rowid; a WITHOUT ROWID table has none). sqlite-utils' transform()
    -- cannot do this one: it copies the old table's rowid, which a WITHOUT ROWID table lacks.
    CREATE TABLE code_cells_rebuilt (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        execution_count INTEGER,
        cell_id TEXT,
        source TEXT NOT NULL,
        executed_at REAL NOT NULL,
        PRIMARY KEY (run_id, seq)
    );
    INSERT INTO code_cells_rebuilt (run_id, seq, execution_count, cell_id, source, executed_at)
        SELECT run_id, seq, execution_count, cell_id, source, executed_at FROM code_cells
        ORDER BY run_id, seq;
    DROP TABLE code_cells;
    ALTER TABLE code_cells_rebuilt RENAME TO code_cells;
    """,
    # code_cells_fts and run_notes_fts: trigram indexes kept in sync by triggers, filled
    # from the rows already there (see search_index).
    step=index_run_text,
)

# The table of long curves' previews, filled for the curves already recorded (previews.py).
METRIC_PREVIEWS = Migration("0007_metric_previews", PREVIEWS_SQL, step=fill_previews)

MIGRATIONS: tuple[Migration, ...] = (CORE, GUARD, DRIFT, PIPELINES, SEARCH, METRIC_PREVIEWS)
