"""The parent of a run being started: which run it is, and the experiment a child that
names none inherits from it."""

from __future__ import annotations

from ..errors import InvalidInputError
from ..registry.connection import Registry
from .run import Run
from .unrecorded import UnrecordedRun


def parent_id_for(
    parent: Run | str | bool | None, registry: Registry, kind: str, active: Run | None
) -> str | None:
    """The id of the parent a new run in ``registry`` gets from ``parent``; ``active`` is
    the innermost active run.

    ``None``: the innermost active run, when it is recorded in the same registry
    (a run started inside another one's ``with`` block, or in the loop of a
    ``%%mlops run`` cell, is its child); pipeline runs and their steps are not
    nested this way. ``False``: none, a top-level run. A :class:`Run` or a run id:
    that run, which must be in the same registry.
    """
    if parent is False:
        return None
    if parent is None or parent is True:
        if (
            kind not in ("script", "notebook")
            or active is None
            or isinstance(active, UnrecordedRun)
            or active.registry.path != registry.path
        ):
            if parent is True and active is None:
                raise InvalidInputError(
                    "parent=True asks for the active run as parent, but no run is active",
                    hint="Start the parent run first, or give parent=RUN_ID.",
                )
            return None
        return active.id
    if isinstance(parent, Run):
        if isinstance(parent, UnrecordedRun):
            return None  # the parent is not recorded: its children cannot point at it
        if parent.registry.path != registry.path:
            raise InvalidInputError(
                f'Run "{parent.name}" ({parent.id}) is recorded in {parent.registry.path},'
                f" not in {registry.path}",
                hint="A child run is recorded in its parent's registry: pass registry="
                "parent.registry, or no parent.",
            )
        return parent.id
    if isinstance(parent, str):
        from .queries.refs import resolve_run

        return resolve_run(registry, parent)
    raise InvalidInputError(
        f"parent={parent!r} is neither a run nor a run id",
        hint="Give the parent run (the object start_run returned) or its id.",
    )


def parent_experiment(run_id: str, registry: Registry, active: list[Run]) -> str | None:
    """The experiment of run ``run_id``, the parent of a new run that names none: one of
    the ``active`` runs' without a query."""
    for run in reversed(active):
        if run.id == run_id and not isinstance(run, UnrecordedRun):
            return run.experiment
    from .queries.refs import run_experiment

    return run_experiment(registry, run_id)
