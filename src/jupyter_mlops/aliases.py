"""Moving aliases: pointing ``champion`` at another version, removing an alias, and the
history of every move (``model_alias_history``), kept with the gate evaluation that
allowed it.

    remove_alias(registry, "churn@challenger")
    alias_history(registry, "churn", "champion")     # oldest first

Promotion behind gates is :func:`jupyter_mlops.gates.promote`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import models
from .errors import InvalidInputError
from .registry import Registry


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
    """Remove the alias in ``ref`` (``churn@challenger``); return the version it pointed at."""
    parsed = models.parse_ref(ref)
    if parsed.alias is None:
        raise InvalidInputError(
            f'"{ref}" names no alias', hint="Write NAME@ALIAS, e.g. churn@challenger."
        )
    target = models.alias_target(registry, parsed.name, parsed.alias)
    if target is None:
        raise models.no_alias_error(registry, parsed.name, parsed.alias)
    with registry.transaction(f'the removal of alias "{ref}"') as conn:
        model_row_id = models.model_id(registry, parsed.name)
        models.record_alias_move(conn, model_row_id, parsed.alias, None, reason="remove")
    return target.version


def alias_history(
    registry: Registry, model: str, alias: str | None = None
) -> tuple[AliasMove, ...]:
    """Every move of the aliases of ``model`` (or of one alias), oldest first."""
    model_row_id = models.model_id(registry, model)
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
