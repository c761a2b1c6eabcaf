"""Migration 0001: experiments, runs and what a run records (params, metrics, code,
artifacts, data snapshots), and the ``runs_view`` view."""

from __future__ import annotations

from .migration import Migration

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
