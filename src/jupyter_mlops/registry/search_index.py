"""The full-text index over what runs ran and what was written about them.

Two SQLite FTS5 tables, made by sqlite-utils' ``enable_fts`` in the migration
``0005_search``: ``code_cells_fts`` over ``code_cells.source`` and ``run_notes_fts``
over ``run_notes.note``. Each is an external-content index (the text stays in its
table, the index holds only tokens) kept in sync by the triggers ``enable_fts`` adds,
so every write path, ours or another tool's, updates it in the same transaction.

The tokenizer is ``trigram``: a query matches any substring of three characters or
more, ignoring case, which is how people search code (``RandomForest`` finds
``RandomForestClassifier(``, ``fit_transform`` and ``sklearn.ensemble`` match as
written). It needs SQLite 3.34 or newer; on an older SQLite the migration leaves the
index out and searches scan the text instead (:func:`has_index` tells which).

A later migration that rebuilds ``code_cells`` or ``run_notes`` (``transform()``
included) drops their triggers with the old table: it must run ``enable_fts(...,
create_triggers=True, replace=True)`` again, or the index stops following them.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite_utils

logger = logging.getLogger(__name__)

TOKENIZER = "trigram"

# (table, its text column, the index table enable_fts names after it)
INDEXED: tuple[tuple[str, str, str], ...] = (
    ("code_cells", "source", "code_cells_fts"),
    ("run_notes", "note", "run_notes_fts"),
)


def trigram_supported(conn: sqlite3.Connection) -> bool:
    """Whether this SQLite has FTS5 with the trigram tokenizer (3.34 and newer)."""
    try:
        conn.execute(
            "CREATE VIRTUAL TABLE temp.mlops_trigram_probe USING fts5(x, tokenize=trigram)"
        )
    except sqlite3.OperationalError:
        return False
    conn.execute("DROP TABLE temp.mlops_trigram_probe")
    return True


def index_run_text(db: sqlite_utils.Database) -> None:
    """The migration step: index code cells and notes, existing rows included."""
    if not trigram_supported(db.conn):
        logger.warning(
            "SQLite %s has no FTS5 trigram tokenizer: searching code and notes will scan"
            " the text instead of using an index",
            sqlite3.sqlite_version,
        )
        return
    for table, column, _ in INDEXED:
        db.table(table).enable_fts([column], tokenize=TOKENIZER, create_triggers=True)


def has_index(conn: sqlite3.Connection) -> bool:
    """Whether the registry on ``conn`` has the full-text index (see the module's docstring)."""
    names = {name for _, _, name in INDEXED}
    found = conn.execute(
        f"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN"
        f" ({', '.join('?' for _ in names)})",
        tuple(names),
    ).fetchone()[0]
    return int(found) == len(names)
