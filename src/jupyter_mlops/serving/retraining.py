"""Retraining on a monitor's decision: the newest ended window that decides retrain runs the
retraining pipeline, once; its gates decide whether the alias moves (``monitor_retrains``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import InvalidInputError, MlopsError
from ..models.versions import aliases_of
from ..registry.connection import Registry
from .window_store import StoredWindow, time_text


@dataclass(frozen=True)
class RetrainOutcome:
    """What a retrain decision started: the pipeline, its run and whether the alias moved."""

    window_start: float
    pipeline_dir: str
    pipeline_run_id: str | None
    status: str
    alias: str | None
    alias_before: str | None
    alias_after: str | None
    message: str

    @property
    def alias_moved(self) -> bool:
        return self.alias_before != self.alias_after


def retrain_if_decided(
    registry: Registry,
    model: str,
    length: float,
    windows: tuple[StoredWindow, ...],
    pipeline_dir: Path,
    alias: str,
    now: float,
    say: Callable[[str], None],
) -> RetrainOutcome | None:
    from ..runner.pipeline import run_pipeline

    if not (pipeline_dir / "pipeline.json").is_file():
        raise InvalidInputError(
            f"--on-retrain {pipeline_dir} is not a pipeline directory (it has no pipeline.json)",
            hint="Give the folder jupyter mlops export wrote for the training notebook.",
        )
    ended = [w for w in windows if w.end <= now and w.decision is not None]
    if not ended or ended[-1].decision != "retrain":
        return None
    deciding = ended[-1]
    done = registry.query_one(
        "SELECT pipeline_run_id, status FROM monitor_retrains"
        " WHERE model = ? AND window_seconds = ? AND window_start = ?",
        (model, length, deciding.start),
    )
    if done is not None:
        return None  # this window started its retraining already
    before = aliases_of(registry, model).get(alias)
    say(
        f"the window of {time_text(deciding.start, length)} decided retrain"
        f" ({', '.join(deciding.retrain_columns)}): running {pipeline_dir}"
    )
    started = time.time()
    try:
        result = run_pipeline(
            pipeline_dir, registry=registry, workdir=pipeline_dir.parent, check=False,
            on_progress=lambda step: say(f"  {step.name} {step.status}"),
        )  # fmt: skip
        run_id, status = result.run_id, result.status
    except MlopsError as exc:
        run_id, status = None, "failed"
        say(f"  the pipeline could not run: {exc.message}")
    after = aliases_of(registry, model).get(alias)
    with registry.transaction("the monitor's retraining") as connection:
        connection.execute(
            "INSERT INTO monitor_retrains (model, window_seconds, window_start, pipeline_dir,"
            " pipeline_run_id, status, alias_before, alias_after, started_at, ended_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (model, length, deciding.start, str(pipeline_dir), run_id, status,
             None if before is None else str(before), None if after is None else str(after),
             started, time.time()),
        )  # fmt: skip
    moved = before != after
    message = f"pipeline {pipeline_dir.name} ran ({status}); {model}@{alias} " + (
        f"moved from version {before} to {after}" if moved else f"stays on version {before}"
    )
    return RetrainOutcome(
        deciding.start,
        str(pipeline_dir),
        run_id,
        status,
        alias,
        None if before is None else str(before),
        None if after is None else str(after),
        message,
    )
