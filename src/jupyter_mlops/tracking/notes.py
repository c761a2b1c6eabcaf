"""Run notes: one piece of free text per run, written by people, found by search.

A note says what the numbers cannot ("tried a deeper forest", "labels were stale").
It lives in ``run_notes``; the full-text index over it (see
:mod:`jupyter_mlops.registry.search_index`) follows every write through triggers.
"""

from __future__ import annotations

import time

from ..errors import InvalidInputError, NotFoundError
from ..registry.connection import Registry


def write_note(registry: Registry, run_id: str, text: str) -> None:
    """Set the note of run ``run_id`` to ``text``, replacing any; empty text removes it."""
    if not isinstance(text, str):
        raise InvalidInputError(
            f"A note is text, got {type(text).__name__}",
            hint='For example: run.note("tried a deeper forest").',
        )
    with registry.transaction(f"the note of run {run_id}") as conn:
        if conn.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is None:
            raise NotFoundError(
                f"No run {run_id} in {registry.path}", hint="List the runs with %mlops runs."
            )
        if not text.strip():
            conn.execute("DELETE FROM run_notes WHERE run_id = ?", (run_id,))
            return
        # An upsert updates the row in place, so the index's update trigger fires.
        conn.execute(
            "INSERT INTO run_notes (run_id, note, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (run_id) DO UPDATE SET note = excluded.note,"
            " updated_at = excluded.updated_at",
            (run_id, text, time.time()),
        )
