"""The public housekeeping functions of ``jupyter_mlops``: runs put in order after the fact.

Each names a run by id, id prefix, name or ``"last"`` (or takes a :class:`Run`), works on
the registry of this session (or the run's), calls one function of
:mod:`jupyter_mlops.tracking.housekeeping` or :mod:`jupyter_mlops.tracking.purge` and
returns its frozen result; the package root re-exports them::

    import jupyter_mlops as mlops

    mlops.note("baseline", "## Stale labels\\nRerun after the March fix.")
    mlops.note_experiment("churn", "Target: 30-day churn.")
    mlops.rename("baseline", "baseline-stale")
    mlops.tag("baseline-stale", review="done")
    mlops.untag("baseline-stale", "review")
    mlops.move("baseline-stale", "churn-old")       # the experiment is created if missing
    mlops.archive("baseline-stale")                 # hidden: mlops.runs(archived=True) shows it
    mlops.restore("baseline-stale")
    mlops.purge("baseline-stale", confirm=True)     # for good, with the artifacts only it used

A change to the run active in this session is seen by its :class:`Run` object too (its
``name``, ``experiment``, tags it had not written yet).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..registry.connection import Registry
    from .housekeeping import ExperimentNote, RunChange
    from .purge import PurgeResult


def note(run: Any, text: str) -> RunChange:
    """Write the note (markdown) of ``run``, replacing any; ``""`` removes it. The code
    search (``mlops.runs(code=...)``) finds words of notes."""
    from .housekeeping import note_run

    registry, ref = _target(run)
    return note_run(registry, ref, text)


def note_experiment(experiment: str, text: str) -> ExperimentNote:
    """Write the note (markdown) of ``experiment``, replacing any; ``""`` removes it."""
    from .housekeeping import note_experiment as write
    from .session import default_registry

    return write(default_registry(), experiment, text)


def experiment_note(experiment: str) -> str | None:
    """The note of ``experiment``, or None when it has none."""
    from .housekeeping import experiment_note as read
    from .session import default_registry

    return read(default_registry(), experiment)


def rename(run: Any, name: str) -> RunChange:
    """Give ``run`` another name; its id, values and links stay."""
    from .housekeeping import rename_run

    registry, ref = _target(run)
    change = rename_run(registry, ref, name)
    _sync_active(change, name=change.name)
    return change


def tag(run: Any, tags: dict[str, Any] | None = None, /, **named: Any) -> RunChange:
    """Set tags on ``run`` after the fact: ``mlops.tag("baseline", review="done")``."""
    from .housekeeping import tag_run

    registry, ref = _target(run)
    return tag_run(registry, ref, {**(tags or {}), **named})


def untag(run: Any, *keys: str) -> RunChange:
    """Remove tags from ``run``: ``mlops.untag("baseline", "review")``. A key the run
    does not have is an error that lists the tags it has."""
    from .housekeeping import untag_run

    registry, ref = _target(run)
    active = _active(registry, ref)
    buffered: set[str] = set()
    if active is not None:  # tags it set in this session and has not written yet
        with active._lock:
            buffered = {key for key in keys if active._tags.pop(key, None) is not None}
    return untag_run(registry, ref, keys, missing_ok=buffered)


def move(run: Any, experiment: str) -> RunChange:
    """Move ``run`` and its children to ``experiment``, which is created when missing
    (as starting a run in it would)."""
    from .housekeeping import move_run

    registry, ref = _target(run)
    change = move_run(registry, ref, experiment)
    _sync_active(change, experiment=change.experiment)
    return change


def archive(run: Any) -> RunChange:
    """Hide ``run`` and its children from every list, best-run query and sweep until
    :func:`restore`; nothing it recorded is deleted. ``mlops.runs(archived=True)`` lists
    the archived runs."""
    from .housekeeping import archive_run

    registry, ref = _target(run)
    return archive_run(registry, ref)


def restore(run: Any) -> RunChange:
    """Bring an archived run (and its children) back into the lists."""
    from .housekeeping import restore_run

    registry, ref = _target(run)
    return restore_run(registry, ref)


def purge(run: Any, *, confirm: bool = False) -> PurgeResult:
    """Delete ``run`` and its children for good, with the artifacts nothing else uses
    (see :mod:`jupyter_mlops.tracking.purge`). Refused unless ``confirm=True``; a run
    still running is refused too::

        mlops.purge("baseline", confirm=True)
    """
    from .purge import purge_run

    registry, ref = _target(run)
    return purge_run(registry, ref, confirm=confirm)


def _target(run: Any) -> tuple[Registry, str]:
    """The registry and the reference of ``run`` (a Run, or an id, prefix or name)."""
    from .run import Run
    from .session import default_registry

    if isinstance(run, Run):
        if run.status == "running":
            run.flush()  # what it buffered is in the registry before it is changed
        return run.registry, run.id
    return default_registry(), run


def _active(registry: Registry, ref: str) -> Any:
    """The run active in this session when ``ref`` names it, else None."""
    from .queries.refs import resolve_run
    from .run import Run
    from .session import active_run

    run = active_run()
    if not isinstance(run, Run) or run.registry.path != registry.path:
        return None
    return run if resolve_run(registry, ref) == run.id else None


def _sync_active(change: RunChange, **fields: str) -> None:
    from .run import Run
    from .session import active_run

    run = active_run()
    if isinstance(run, Run) and run.id == change.run_id:
        for name, value in fields.items():
            setattr(run, name, value)
