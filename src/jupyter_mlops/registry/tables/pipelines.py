"""Migration 0004: exported pipelines, their runs and step runs, and the step cache."""

from __future__ import annotations

from .migration import Migration

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
