"""The row a run gets in ``runs`` when it starts, in one transaction with the experiment
and environment rows it points at."""

from __future__ import annotations

from typing import Any

from ..registry.connection import Registry
from ..registry.liveness import hostname, process_token
from .capture.git import GitProbe
from .shared_rows import check_parent, environment_id, experiment_id, preceding_run_id


def insert_run_row(
    registry: Registry,
    *,
    run_id: str,
    name: str,
    experiment: str,
    kind: str,
    environment: Any,
    previous_run_id: str | None,
    parent_run_id: str | None,
    notebook_path: str | None,
    cell_id: str | None,
    git: GitProbe,
    now: float,
    pid: int,
) -> None:
    """Insert run ``run_id`` as running; a run without a parent follows the preceding run
    of its notebook cell or name (``previous_run_id``) unless told which."""
    with registry.transaction(f'the start of run "{name}"') as conn:
        experiment_row = experiment_id(registry, conn, experiment)
        environment_row = (
            None if environment is None else environment_id(registry, conn, environment)
        )
        # A child run is one of its parent's runs, not the next try of a sibling:
        # it follows an earlier run only when told to.
        previous = previous_run_id
        if previous is None and parent_run_id is None:
            previous = preceding_run_id(conn, experiment_row, name, notebook_path, cell_id)
        elif parent_run_id is not None:
            check_parent(conn, parent_run_id)
        conn.execute(
            "INSERT INTO runs (id, experiment_id, name, status, kind, previous_run_id,"
            " parent_run_id, started_at, heartbeat_at, host, pid, process_token,"
            " notebook_path, cell_id, git_commit, git_branch, environment_id)"
            " VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                run_id,
                experiment_row,
                name,
                kind,
                previous,
                parent_run_id,
                now,
                now,
                hostname(),
                pid,
                process_token(pid),
                notebook_path,
                cell_id,
                git.commit,
                git.branch,
                environment_row,
            ),
        )
