"""Which run a reference names: an id, an id prefix, a name or ``last``."""

from __future__ import annotations

from ...errors import InvalidInputError, NotFoundError
from ...registry.connection import Registry


def resolve_run(registry: Registry, ref: str) -> str:
    """The id of the run ``ref`` names: an id, a unique id prefix (4+), a name, or ``last``.

    A name that several runs share means the most recent of them; ``last`` is the most
    recent run that is not archived (an archived run is named by its id or name).
    """
    ref = str(ref).strip()
    if not ref:
        raise InvalidInputError("Give a run id or name", hint="See %mlops runs for the list.")
    if ref in ("last", "latest", "-1"):
        row = registry.query_one(
            "SELECT id FROM runs WHERE archived_at IS NULL ORDER BY started_at DESC LIMIT 1"
        )
        if row is None:
            raise NotFoundError("There are no runs yet", hint="Record one with %%mlops run NAME.")
        return str(row["id"])
    row = registry.query_one("SELECT id FROM runs WHERE id = ?", (ref,))
    if row is not None:
        return str(row["id"])
    if len(ref) >= 4 and all(c in "0123456789abcdef" for c in ref):
        rows = registry.query(
            "SELECT id FROM runs WHERE id >= ? AND id < ? LIMIT 2", (ref, ref + "g")
        )
        if len(rows) == 1:
            return str(rows[0]["id"])
        if len(rows) > 1:
            raise NotFoundError(
                f'Run id prefix "{ref}" matches several runs',
                hint="Give more characters of the id.",
            )
    row = registry.query_one(
        "SELECT id FROM runs WHERE name = ? ORDER BY started_at DESC LIMIT 1", (ref,)
    )
    if row is not None:
        return str(row["id"])
    raise NotFoundError(
        f'No run with id or name "{ref}"',
        hint="See %mlops runs (or `jupyter mlops runs`) for the runs recorded.",
    )


def run_experiment(registry: Registry, run_id: str) -> str | None:
    """The name of the experiment run ``run_id`` belongs to; None when there is no such run."""
    row = registry.query_one(
        "SELECT experiments.name FROM runs"
        " JOIN experiments ON experiments.id = runs.experiment_id WHERE runs.id = ?",
        (run_id,),
    )
    return None if row is None else str(row[0])
