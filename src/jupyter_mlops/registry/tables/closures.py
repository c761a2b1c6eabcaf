"""Migration 0012: the closure of a run, the earlier cells it depended on and the files
they named (see :mod:`jupyter_mlops.tracking.closure`).

``closures`` has a row for each run whose closure was recorded (one that depended on no
earlier cell too), with the names its cells read that no earlier cell bound and the
kernel's working directory, from which the cells' relative paths were read.
``closure_cells`` keeps each cell as it ran (its ``In[n]`` number and source, secrets
redacted as in ``code_cells``) with ``provides``, the JSON list of the names the run needed
from it. ``closure_files`` keeps each file named by a closure cell or a run cell with the
SHA-256 of its bytes at the end of the run (NULL when it could not be read or was too large
to hash), so that a reproduction can tell a file that changed.
"""

from __future__ import annotations

from .migration import Migration

CLOSURES = Migration(
    "0012_closures",
    """
    CREATE TABLE closures (
        run_id TEXT PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
        unresolved TEXT NOT NULL,        -- JSON list: read by the run, bound by no earlier cell
        directory TEXT,                  -- the kernel's working directory at the run's end
        recorded_at REAL NOT NULL
    );

    CREATE TABLE closure_cells (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,            -- the order of execution, from 0
        execution_count INTEGER NOT NULL,
        source TEXT NOT NULL,
        provides TEXT NOT NULL,          -- JSON list of names
        PRIMARY KEY (run_id, seq)
    ) WITHOUT ROWID;

    CREATE TABLE closure_files (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        path TEXT NOT NULL,              -- as the code wrote it
        resolved TEXT NOT NULL,          -- absolute, at the end of the run
        sha256 TEXT,
        size INTEGER,
        execution_count INTEGER NOT NULL, -- the cell that names it
        PRIMARY KEY (run_id, path)
    ) WITHOUT ROWID;

    """,
)
