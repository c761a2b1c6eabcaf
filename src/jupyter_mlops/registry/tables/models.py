"""Migration 0002: registered models, their versions and aliases, and gate evaluations."""

from __future__ import annotations

from .migration import Migration

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
