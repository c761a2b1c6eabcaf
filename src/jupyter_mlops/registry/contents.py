"""What a registry holds, counted: the figures ``init`` and ``status`` report.

counts = count_records(registry)
f"{counts.runs} run(s) in {counts.experiments} experiment(s)"
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .connection import Registry


@dataclass(frozen=True)
class RecordCounts:
    """How many experiments, runs and data snapshots a registry holds."""

    experiments: int
    runs: int
    snapshots: int


def count_records(registry: Registry) -> RecordCounts:
    """The number of experiments, runs and snapshots, in one query.

    Example::

        count_records(Registry.open()).runs      # 42
    """
    row = registry.query_one(
        "SELECT (SELECT COUNT(*) FROM experiments), (SELECT COUNT(*) FROM runs),"
        " (SELECT COUNT(*) FROM snapshots)"
    )
    assert row is not None
    return RecordCounts(experiments=int(row[0]), runs=int(row[1]), snapshots=int(row[2]))
