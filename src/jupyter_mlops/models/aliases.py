"""Moving aliases: pointing ``champion`` at another version, removing an alias, and the
history of every move (``model_alias_history``), kept with the gate evaluation that
allowed it.

    remove_alias(registry, "churn@challenger")
    alias_history(registry, "churn", "champion")     # oldest first

Promotion behind gates is :func:`jupyter_mlops.gates.evaluation.promote`.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInputError
from ..registry.connection import Registry
from .refs import parse_ref
from .versions import alias_target, model_id, no_alias_error


def record_alias_move(
    conn: sqlite3.Connection,
    model_row_id: int,
    alias: str,
    version_id: int | None,
    *,
    reason: str,
    evaluation_id: str | None = None,
) -> int | None:
    """Point ``alias`` at ``version_id`` (``None`` removes it) and keep the move in history.

    Runs inside the caller's transaction; returns the version id the alias left.
    """
    row = conn.execute(
        "SELECT version_id FROM model_aliases WHERE model_id = ? AND alias = ?",
        (model_row_id, alias),
    ).fetchone()
    previous = None if row is None else int(row[0])
    now = time.time()
    if version_id is None:
        conn.execute(
            "DELETE FROM model_aliases WHERE model_id = ? AND alias = ?", (model_row_id, alias)
        )
    else:
        conn.execute(
            "INSERT OR REPLACE INTO model_aliases (model_id, alias, version_id, updated_at)"
            " VALUES (?, ?, ?, ?)",
            (model_row_id, alias, version_id, now),
        )
    conn.execute(
        "INSERT INTO model_alias_history (model_id, alias, from_version_id, to_version_id,"
        " evaluation_id, reason, moved_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (model_row_id, alias, previous, version_id, evaluation_id, reason, now),
    )
    return previous


@dataclass(frozen=True)
class AliasMove:
    """One move of an alias: from which version to which, why, and the gates that allowed it."""

    model: str
    alias: str
    from_version: int | None
    to_version: int | None
    reason: str
    evaluation_id: str | None
    moved_at: float


def remove_alias(registry: Registry, ref: str) -> int:
    """Remove the alias in ``ref`` (``churn@challenger``); return the version it pointed at.

    The move is kept in the alias history. An unknown model, or an alias the model does
    not have, raises NotFoundError naming what exists.
    """
    parsed = parse_ref(ref)
    if parsed.alias is None:
        raise InvalidInputError(
            f'"{ref}" names no alias', hint="Write NAME@ALIAS, e.g. churn@challenger."
        )
    model_row_id = model_id(registry, parsed.name)
    target = alias_target(registry, parsed.name, parsed.alias)
    if target is None:
        raise no_alias_error(registry, parsed.name, parsed.alias)
    with registry.transaction(f'the removal of alias "{ref}"') as conn:
        record_alias_move(conn, model_row_id, parsed.alias, None, reason="remove")
    return target.version


def alias_history(
    registry: Registry, model: str, alias: str | None = None
) -> tuple[AliasMove, ...]:
    """Every move of the aliases of ``model`` (or of one alias), oldest first."""
    model_row_id = model_id(registry, model)
    sql = (
        "SELECT h.alias, f.version, t.version, h.reason, h.evaluation_id, h.moved_at"
        " FROM model_alias_history AS h"
        " LEFT JOIN model_versions AS f ON f.id = h.from_version_id"
        " LEFT JOIN model_versions AS t ON t.id = h.to_version_id"
        " WHERE h.model_id = ?"
    )
    params: list[Any] = [model_row_id]
    if alias is not None:
        sql += " AND h.alias = ?"
        params.append(alias)
    rows = registry.query(sql + " ORDER BY h.id", params)
    return tuple(AliasMove(model, r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows)
