"""Housekeeping: runs put in order after they were recorded.

A run's note, its name, its tags and its experiment can change after the run ended; a
run can be archived (hidden from every list, best-run query and sweep until it is
restored) and purged (deleted for good, see :mod:`.purge`). An experiment has a note of
its own. Every function here writes in one transaction, so the registry's change marker
moves and open views refresh::

    note_run(registry, "baseline", "labels were stale: rerun after 2024-03")
    rename_run(registry, "baseline", "baseline-stale")
    tag_run(registry, "baseline-stale", {"review": "done"})
    untag_run(registry, "baseline-stale", ["review"])
    move_run(registry, "baseline-stale", "churn-archive")   # created when missing
    archive_run(registry, "baseline-stale")                 # hidden from every list
    restore_run(registry, "baseline-stale")                 # back in them

What a change touches, decided once for every face:

- a run's children (a sweep's trials, a search's candidates) move, are archived and are
  restored with it: a sweep is one piece of work; a child can also be moved or archived
  on its own;
- moving a run to an experiment that does not exist creates it, as starting a run does;
  a name that is not a valid experiment name is refused before anything is written;
- an archived run keeps everything it recorded and can still be named (by id, prefix
  or name; ``last`` means the latest run that is not archived).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..errors import InvalidInputError, NotFoundError
from ..registry.connection import Registry
from .notes import write_note
from .queries.refs import resolve_run
from .secrets import redact_tag
from .shared_rows import experiment_id
from .values import check_key, valid_text


@dataclass(frozen=True)
class RunChange:
    """What a housekeeping action did to a run: ``action`` (note, rename, tag, untag,
    move, archive, restore), the run as it is now, the runs it changed (the run and, for
    move/archive/restore, its descendants) and one sentence the faces print."""

    action: str
    run_id: str
    name: str
    experiment: str
    changed: tuple[str, ...]
    message: str


@dataclass(frozen=True)
class ExperimentNote:
    """An experiment's note as written (``note`` None: removed)."""

    experiment: str
    note: str | None
    message: str


def note_run(registry: Registry, ref: str, text: str) -> RunChange:
    """Set the note of the run ``ref`` names (id, prefix, name or ``last``); "" removes it."""
    run_id, name, experiment = _run(registry, ref)
    write_note(registry, run_id, text)
    said = "Removed the note of" if not text.strip() else "Noted on"
    message = f'{said} run "{name}" ({run_id}).'
    return RunChange("note", run_id, name, experiment, (run_id,), message)


def note_experiment(registry: Registry, experiment: str, text: str) -> ExperimentNote:
    """Set the note of ``experiment`` (which must exist); "" removes it::

    note_experiment(registry, "churn", "# Churn\\nTarget: 30-day churn, labels from CRM.")
    """
    if not isinstance(text, str):
        raise InvalidInputError(
            f"A note is text, got {type(text).__name__}",
            hint='For example: mlops.note_experiment("churn", "labels from CRM").',
        )
    with registry.transaction(f'the note of experiment "{experiment}"') as conn:
        row = conn.execute("SELECT id FROM experiments WHERE name = ?", (experiment,)).fetchone()
        if row is None:
            raise _no_experiment(registry, experiment)
        if not text.strip():
            conn.execute("DELETE FROM experiment_notes WHERE experiment_id = ?", (row[0],))
            return ExperimentNote(
                experiment, None, f'Removed the note of experiment "{experiment}".'
            )
        conn.execute(
            "INSERT INTO experiment_notes (experiment_id, note, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (experiment_id) DO UPDATE SET note = excluded.note,"
            " updated_at = excluded.updated_at",
            (row[0], valid_text(text), time.time()),
        )
    return ExperimentNote(experiment, text, f'Noted on experiment "{experiment}".')


def experiment_note(registry: Registry, experiment: str) -> str | None:
    """The note of ``experiment``, or None when it has none."""
    row = registry.query_one(
        "SELECT experiment_notes.note FROM experiment_notes JOIN experiments"
        " ON experiments.id = experiment_notes.experiment_id WHERE experiments.name = ?",
        (experiment,),
    )
    if (
        row is None
        and registry.query_one("SELECT 1 FROM experiments WHERE name = ?", (experiment,)) is None
    ):
        raise _no_experiment(registry, experiment)
    return None if row is None else str(row[0])


def rename_run(registry: Registry, ref: str, new_name: str) -> RunChange:
    """Give the run ``ref`` names the name ``new_name`` (its id, links and values stay)."""
    check_key("run", new_name)
    new_name = new_name.strip()
    with registry.transaction(f'the new name "{new_name}" of run {ref}') as conn:
        run_id, old, experiment = _run(registry, ref)
        conn.execute("UPDATE runs SET name = ? WHERE id = ?", (new_name, run_id))
    message = f'Renamed run "{old}" ({run_id}) to "{new_name}".'
    return RunChange("rename", run_id, new_name, experiment, (run_id,), message)


def tag_run(registry: Registry, ref: str, tags: Mapping[str, object]) -> RunChange:
    """Set tags on the run ``ref`` names, replacing a tag of the same key; secrets are
    stored redacted, as when the run recorded them."""
    if not isinstance(tags, Mapping) or not tags:
        raise InvalidInputError(
            "Give the tags to set as KEY=VALUE", hint="For example: team=growth review=done."
        )
    rows = [
        (check_key("tag", key), valid_text(redact_tag(key, str(value))))
        for key, value in tags.items()
    ]
    with registry.transaction(f"the tags of run {ref}") as conn:
        run_id, name, experiment = _run(registry, ref)
        conn.executemany(
            "INSERT OR REPLACE INTO tags (run_id, key, value) VALUES (?, ?, ?)",
            [(run_id, key, value) for key, value in rows],
        )
    shown = ", ".join(f"{key}={value}" for key, value in rows)
    message = f'Tagged run "{name}" ({run_id}): {shown}.'
    return RunChange("tag", run_id, name, experiment, (run_id,), message)


def untag_run(
    registry: Registry, ref: str, keys: Iterable[str], *, missing_ok: Iterable[str] = ()
) -> RunChange:
    """Remove the tags ``keys`` from the run ``ref`` names; a key it lacks (and that
    ``missing_ok`` does not name) is an error that lists the tags it has, and nothing is
    removed then."""
    wanted = [check_key("tag", key) for key in keys]
    if not wanted:
        raise InvalidInputError("Name the tags to remove", hint="For example: untag RUN review.")
    with registry.transaction(f"the removal of tags of run {ref}") as conn:
        run_id, name, experiment = _run(registry, ref)
        present = {
            row[0] for row in conn.execute("SELECT key FROM tags WHERE run_id = ?", (run_id,))
        }
        allowed = set(missing_ok)
        missing = [key for key in wanted if key not in present and key not in allowed]
        if missing:
            raise NotFoundError(
                f'Run "{name}" ({run_id}) has no tag "{missing[0]}"',
                hint=f"Its tags: {', '.join(sorted(present)) or 'none'}.",
            )
        conn.executemany(
            "DELETE FROM tags WHERE run_id = ? AND key = ?", [(run_id, key) for key in wanted]
        )
    message = f'Removed tag(s) {", ".join(wanted)} from run "{name}" ({run_id}).'
    return RunChange("untag", run_id, name, experiment, (run_id,), message)


def move_run(registry: Registry, ref: str, experiment: str) -> RunChange:
    """Move the run ``ref`` names, with its children, to ``experiment`` (created when
    missing, as :func:`~jupyter_mlops.tracking.session.start_run` creates it)."""
    if isinstance(experiment, str):
        experiment = experiment.strip()
    try:
        check_key("experiment", experiment)
    except InvalidInputError as exc:
        raise InvalidInputError(
            f"Cannot move run {ref}: {exc.message}",
            hint="Name the experiment to move it to, e.g. churn-2024.",
        ) from None
    with registry.transaction(f'the move of run {ref} to experiment "{experiment}"') as conn:
        run_id, name, old = _run(registry, ref)
        family = descendants(registry, run_id)
        target = experiment_id(registry, conn, experiment)
        conn.executemany(
            "UPDATE runs SET experiment_id = ? WHERE id = ?", [(target, i) for i in family]
        )
    with_children = f" and its {len(family) - 1} child run(s)" if len(family) > 1 else ""
    message = f'Moved run "{name}" ({run_id}){with_children} from "{old}" to "{experiment}".'
    return RunChange("move", run_id, name, experiment, family, message)


def archive_run(registry: Registry, ref: str) -> RunChange:
    """Archive the run ``ref`` names and its children: hidden from lists until restored."""
    return _set_archived(registry, ref, archived=True)


def restore_run(registry: Registry, ref: str) -> RunChange:
    """Bring an archived run (and its children) back into the lists."""
    return _set_archived(registry, ref, archived=False)


def _set_archived(registry: Registry, ref: str, *, archived: bool) -> RunChange:
    action = "archive" if archived else "restore"
    with registry.transaction(f"the {action} of run {ref}") as conn:
        run_id, name, experiment = _run(registry, ref)
        family = descendants(registry, run_id)
        was = conn.execute("SELECT archived_at FROM runs WHERE id = ?", (run_id,)).fetchone()[0]
        if archived:
            conn.executemany(
                "UPDATE runs SET archived_at = ? WHERE id = ? AND archived_at IS NULL",
                [(time.time(), i) for i in family],
            )
        else:
            conn.executemany(
                "UPDATE runs SET archived_at = NULL WHERE id = ?", [(i,) for i in family]
            )
    with_children = f" and its {len(family) - 1} child run(s)" if len(family) > 1 else ""
    label = f'run "{name}" ({run_id}){with_children}'
    if archived and was is not None:
        message = f'Run "{name}" ({run_id}) was already archived.'
    elif archived:
        message = f"Archived {label}: hidden from lists until restored."
    elif was is not None:
        message = f"Restored {label}."
    else:
        message = f'Run "{name}" ({run_id}) is not archived; nothing to restore.'
    return RunChange(action, run_id, name, experiment, family, message)


def is_archived(registry: Registry, run_id: str) -> bool:
    row = registry.query_one("SELECT archived_at FROM runs WHERE id = ?", (run_id,))
    return row is not None and row[0] is not None


def has_archived(registry: Registry) -> bool:
    """Whether any run is archived: one probe of the partial index ``runs_archived``."""
    return bool(registry.query_tuples("SELECT 1 FROM runs WHERE archived_at IS NOT NULL LIMIT 1"))


def descendants(registry: Registry, run_id: str) -> tuple[str, ...]:
    """``run_id`` and every run below it (children, their children...), the run first."""
    rows = registry.conn.execute(
        "WITH RECURSIVE family(id) AS (SELECT ? UNION SELECT runs.id FROM runs"
        " JOIN family ON runs.parent_run_id = family.id) SELECT id FROM family",
        (run_id,),
    ).fetchall()
    found = [str(row[0]) for row in rows]
    found.remove(run_id)
    return (run_id, *found)


def _run(registry: Registry, ref: str) -> tuple[str, str, str]:
    """(id, name, experiment) of the run ``ref`` names."""
    if not isinstance(ref, str):
        raise InvalidInputError(
            f"A run is named by its id or name, got {type(ref).__name__}",
            hint="See mlops.runs() (or %mlops runs) for the runs recorded.",
        )
    run_id = resolve_run(registry, ref)
    row = registry.conn.execute(
        "SELECT runs.name, experiments.name FROM runs JOIN experiments"
        " ON experiments.id = runs.experiment_id WHERE runs.id = ?",
        (run_id,),
    ).fetchone()
    return run_id, str(row[0]), str(row[1])


def _no_experiment(registry: Registry, experiment: str) -> NotFoundError:
    names = [r[0] for r in registry.query("SELECT name FROM experiments ORDER BY name")]
    return NotFoundError(
        f'No experiment named "{experiment}"',
        hint=f"Experiments: {', '.join(names) or 'none yet'}.",
    )
