"""Migration 0014: the prediction log of served models (see :mod:`jupyter_mlops.serving`).

One row per request and per model that scored it: ``role`` is ``served`` for the version
that answered, ``shadow`` for a version that scored the same rows without answering.
``served_as`` is the reference the server follows (``churn@champion``), ``model_version_id``
the version that actually scored the rows, so an alias that moved mid-traffic still says
which version gave each answer. ``inputs`` is JSON ``{column: [values]}``, or for inputs of
one numeric dtype a NumPy ``.npy`` of one structured array, a field per column (a BLOB: a
column declared TEXT keeps bytes as bytes; :mod:`jupyter_mlops.serving.inputs_npy` reads
either); NULL when the request was not in the sample. ``outputs`` is a JSON list, one value
per row; ``scores`` the probability a binary classifier gave its positive class for each
row (computed by the log's writer for the sampled requests, for live AUC; NULL otherwise).
``latency_ms`` is the time the runtime spent on the request (reading, checking, predicting,
answering).

``prediction_labels`` holds the ground truth that came later (``mlops.feedback``): per
request id, a JSON list with one label per row; a new label for a request replaces the old.
"""

from __future__ import annotations

from .migration import Migration

PREDICTIONS = Migration(
    "0014_predictions",
    """
    CREATE TABLE predictions (
        id INTEGER PRIMARY KEY,
        request_id TEXT NOT NULL,
        model_version_id INTEGER NOT NULL REFERENCES model_versions(id),
        role TEXT NOT NULL CHECK (role IN ('served', 'shadow')),
        served_as TEXT NOT NULL,
        n_rows INTEGER NOT NULL,
        inputs TEXT,                     -- JSON {column: [values]}; NULL when not sampled
        outputs TEXT NOT NULL,           -- JSON [value per row]
        scores TEXT,                     -- JSON [positive class's probability per row], or NULL
        latency_ms REAL NOT NULL,
        served_at REAL NOT NULL
    );
    CREATE INDEX predictions_request ON predictions(request_id);
    CREATE INDEX predictions_version_time ON predictions(model_version_id, served_at);
    CREATE INDEX predictions_time ON predictions(served_at);

    CREATE TABLE prediction_labels (
        request_id TEXT PRIMARY KEY,
        labels TEXT NOT NULL,            -- JSON [label per row]
        recorded_at REAL NOT NULL
    ) WITHOUT ROWID;
    """,
)
