"""Migration 0008: what each artifact of a run is (kind, media type, size, the cell that
logged it, when), added to ``run_artifacts`` so models, pipeline values and logged files
are one list.

Rows written before it (registered models, pipeline step values) are filled from the
``artifacts`` table: their size and time, a kind of ``model`` or ``file`` and a media type
from their format.
"""

from __future__ import annotations

from .migration import Migration

RUN_ARTIFACT_DETAILS = Migration(
    "0008_run_artifact_details",
    """
    ALTER TABLE run_artifacts ADD COLUMN kind TEXT;          -- file | figure | image | table | text | model
    ALTER TABLE run_artifacts ADD COLUMN media_type TEXT;    -- image/png, text/csv, ...
    ALTER TABLE run_artifacts ADD COLUMN size INTEGER;
    ALTER TABLE run_artifacts ADD COLUMN execution_count INTEGER;  -- the cell that logged it
    ALTER TABLE run_artifacts ADD COLUMN cell_id TEXT;
    ALTER TABLE run_artifacts ADD COLUMN created_at REAL;
    -- a small artifact a page shows instead of the whole (a table's first rows as JSON)
    ALTER TABLE run_artifacts ADD COLUMN preview_sha256 TEXT REFERENCES artifacts(sha256);

    UPDATE run_artifacts SET
        size = (SELECT size FROM artifacts WHERE artifacts.sha256 = run_artifacts.sha256),
        created_at = (SELECT created_at FROM artifacts WHERE artifacts.sha256 = run_artifacts.sha256),
        kind = CASE
            WHEN name LIKE 'model:%' THEN 'model'
            WHEN (SELECT format FROM artifacts WHERE artifacts.sha256 = run_artifacts.sha256)
                 = 'parquet' THEN 'table'
            ELSE 'file' END,
        media_type = CASE (SELECT format FROM artifacts WHERE artifacts.sha256 = run_artifacts.sha256)
            WHEN 'parquet' THEN 'application/vnd.apache.parquet'
            WHEN 'json' THEN 'application/json'
            ELSE 'application/octet-stream' END;
    """,
)
