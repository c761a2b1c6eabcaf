"""The columns chosen for an experiment's runs table, kept in the registry so that the
notebook's table, the panel and ``jupyter mlops runs`` show the same ones (see
:mod:`.queries.columns`; table ``column_choices`` of migration ``0011_column_choices``).

    choose_columns(registry, "churn", ["params.lr", "metrics.auc"])
    chosen_columns(registry, "churn")          # ("params.lr", "metrics.auc")
    choose_columns(registry, "churn", None)    # back to the default columns
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import InvalidInputError, NotFoundError
from ..registry.connection import Registry

MAX_CHOSEN = 500
_KINDS = ("params.", "metrics.")


@dataclass(frozen=True)
class ColumnChoice:
    """What choosing did: the experiment, its columns now (empty: the default) and a
    sentence saying so."""

    experiment: str
    columns: tuple[str, ...]
    message: str


def chosen_columns(registry: Registry, experiment: str) -> tuple[str, ...] | None:
    """The columns chosen for ``experiment``, or None when it shows the default ones."""
    row = registry.query_one(
        "SELECT column_choices.columns FROM column_choices JOIN experiments"
        " ON experiments.id = column_choices.experiment_id WHERE experiments.name = ?",
        (experiment,),
    )
    if row is None:
        return None
    try:
        names = json.loads(row[0])
    except ValueError:
        return None
    return tuple(str(name) for name in names if isinstance(name, str)) or None


def choose_columns(
    registry: Registry, experiment: str, columns: Sequence[str] | None
) -> ColumnChoice:
    """Show ``columns`` (``params.K`` and ``metrics.K`` names, in order) in the runs
    tables of ``experiment``; None or an empty list goes back to the default columns."""
    names = _checked(columns)
    with registry.transaction(f'the columns of experiment "{experiment}"') as conn:
        row = conn.execute("SELECT id FROM experiments WHERE name = ?", (experiment,)).fetchone()
        if row is None:
            known = [r[0] for r in conn.execute("SELECT name FROM experiments ORDER BY name")]
            raise NotFoundError(
                f'No experiment named "{experiment}"',
                hint=f"Experiments: {', '.join(known) or 'none yet'}.",
            )
        if names:
            conn.execute(
                "INSERT INTO column_choices (experiment_id, columns, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (experiment_id) DO UPDATE"
                " SET columns = excluded.columns, updated_at = excluded.updated_at",
                (row[0], json.dumps(list(names)), time.time()),
            )
        else:
            conn.execute("DELETE FROM column_choices WHERE experiment_id = ?", (row[0],))
    message = (
        f'Experiment "{experiment}" shows {len(names)} chosen column(s): {", ".join(names)}.'
        if names
        else f'Experiment "{experiment}" shows the default columns again.'
    )
    return ColumnChoice(experiment, names, message)


def _checked(columns: Sequence[str] | None) -> tuple[str, ...]:
    if columns is None:
        return ()
    if isinstance(columns, str) or not all(isinstance(name, str) for name in columns):
        raise InvalidInputError(
            f"Columns are a list of names, got {columns!r}",
            hint='For example ["params.lr", "metrics.auc"].',
        )
    names: list[str] = []
    for raw in columns:
        name = raw.strip()
        kind = next((kind for kind in _KINDS if name.startswith(kind)), None)
        if kind is None or len(name) == len(kind):
            raise InvalidInputError(
                f'"{raw}" is not a column of a runs table',
                hint="Name a parameter or a metric: params.lr, metrics.auc.",
            )
        if name not in names:
            names.append(name)
    if len(names) > MAX_CHOSEN:
        raise InvalidInputError(
            f"{len(names)} columns is more than a table shows (at most {MAX_CHOSEN})",
            hint="Choose fewer columns.",
        )
    return tuple(names)
