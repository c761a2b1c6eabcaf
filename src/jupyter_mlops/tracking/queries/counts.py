"""How much a run recorded, counted, and the one line that confirms it.

A ``%%mlops run`` cell and ``%mlops end`` close with this line, so the run's id is at
hand and an empty run shows at a glance::

    counts = run_counts(registry, run.id)
    confirmation(run.id, run.name, counts)
    # 'run 3f2a9c1b7e04 "baseline": 5 params, 3 metrics, 1 snapshot, 2 artifacts'

Metrics are counted by name (a curve is one metric), without the ``system/...`` series
the run samples by itself; a snapshot linked under two roles counts once.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...registry.connection import Registry

SYSTEM_PREFIX = "system/"


@dataclass(frozen=True)
class RunCounts:
    """What one run holds: parameters, metrics (by name), snapshots and artifacts."""

    params: int
    metrics: int
    snapshots: int
    artifacts: int

    def describe(self) -> str:
        """``5 params, 3 metrics, 1 snapshot, 2 artifacts``."""
        return ", ".join(
            _counted(number, word)
            for number, word in (
                (self.params, "param"),
                (self.metrics, "metric"),
                (self.snapshots, "snapshot"),
                (self.artifacts, "artifact"),
            )
        )


def run_counts(registry: Registry, run_id: str) -> RunCounts:
    """What ``run_id`` holds in ``registry``, in one read (indexed by run: microseconds)."""
    row = registry.query_one(
        "SELECT"
        " (SELECT COUNT(*) FROM params WHERE run_id = :run),"
        " (SELECT COUNT(*) FROM metric_summaries WHERE run_id = :run"
        "  AND substr(key, 1, :length) != :system),"
        " (SELECT COUNT(DISTINCT snapshot_id) FROM run_snapshots WHERE run_id = :run),"
        " (SELECT COUNT(*) FROM run_artifacts WHERE run_id = :run)",
        {"run": run_id, "system": SYSTEM_PREFIX, "length": len(SYSTEM_PREFIX)},
    )
    assert row is not None  # an aggregate always answers one row
    return RunCounts(int(row[0]), int(row[1]), int(row[2]), int(row[3]))


def confirmation(run_id: str, name: str, counts: RunCounts | None, status: str = "finished") -> str:
    """The line that confirms a run: its id, name, how it ended when not ``finished``,
    and what it recorded (left out when ``counts`` is None: they could not be read)."""
    line = f'run {run_id} "{name}"'
    if status != "finished":
        line += f" {status}"
    return line if counts is None else f"{line}: {counts.describe()}"


def _counted(number: int, word: str) -> str:
    return f"{number} {word}" if number == 1 else f"{number} {word}s"
