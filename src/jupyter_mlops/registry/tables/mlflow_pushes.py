"""Migration 0017: what was pushed to which MLflow tracking server (see
:mod:`jupyter_mlops.sharing.mlflow_push`).

One row per object sent to one server: an experiment, a run, a model version, a model's
aliases. ``remote_id`` is the object's id over there (an MLflow experiment id, run id,
``name/version``); ``sent`` is JSON of what the server holds of it as far as this registry
knows (a run's params, tags, artifacts and the last metric row sent), and ``digest`` the
hash of the local content that was last sent in full, so that a push that finds the same
digest sends nothing. A row is written after each step the server confirmed, so a push
cut short by the server resumes where it stopped.
"""

from __future__ import annotations

from .migration import Migration

MLFLOW_PUSHES = Migration(
    "0017_mlflow_pushes",
    """
    CREATE TABLE mlflow_pushes (
        server TEXT NOT NULL,            -- the tracking server's address, as normalised
        kind TEXT NOT NULL,              -- experiment | run | model_version | model_aliases
        local_id TEXT NOT NULL,          -- our id: experiment name, run id, version id, model name
        remote_id TEXT NOT NULL,         -- MLflow's: experiment id, run id, name/version, name
        sent TEXT NOT NULL,              -- JSON: what the server holds, as far as we know
        digest TEXT,                     -- hash of the local content last sent in full
        pushed_at REAL NOT NULL,
        PRIMARY KEY (server, kind, local_id)
    ) WITHOUT ROWID;
    """,
)
