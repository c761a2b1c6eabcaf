"""Migration 0005: run notes, and the full-text index of the runs' code and notes."""

from __future__ import annotations

from ..search_index import index_run_text
from .migration import Migration

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
