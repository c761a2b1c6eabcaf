"""Reproductions of past runs in the registry: each attempt, its verdict and the run it
recorded (written by :mod:`jupyter_mlops.reproduce`, read by the views)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..registry.connection import Registry

STATUSES = ("parity", "mismatch", "not_checked", "failed")


@dataclass(frozen=True)
class ReproductionRecord:
    """One attempt to reproduce ``original_run_id``."""

    id: int
    original_run_id: str
    run_id: str | None
    environment: str
    status: str
    summary: str
    report: Mapping[str, Any]
    started_at: float
    ended_at: float


def record_reproduction(
    registry: Registry,
    *,
    original_run_id: str,
    run_id: str | None,
    environment: str,
    status: str,
    summary: str,
    report: Mapping[str, Any],
    started_at: float,
    ended_at: float,
) -> int:
    """Store one reproduction; its id."""
    if status not in STATUSES:
        raise ValueError(f"reproduction status {status!r} is not one of {STATUSES}")
    with registry.transaction(f"the reproduction of run {original_run_id}") as conn:
        cursor = conn.execute(
            "INSERT INTO reproductions (original_run_id, run_id, environment, status, summary,"
            " report, started_at, ended_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                original_run_id,
                run_id,
                environment,
                status,
                summary,
                json.dumps(report, default=str),
                started_at,
                ended_at,
            ),
        )
        return int(cursor.lastrowid or 0)


def reproductions_of(registry: Registry, run_id: str) -> tuple[ReproductionRecord, ...]:
    """The reproductions of run ``run_id``, oldest first, and the one it is the
    reproduction of (if it is one), as records."""
    rows = registry.query(
        "SELECT * FROM reproductions WHERE original_run_id = ? OR run_id = ? ORDER BY started_at",
        (run_id, run_id),
    )
    return tuple(
        ReproductionRecord(
            row["id"],
            row["original_run_id"],
            row["run_id"],
            row["environment"],
            row["status"],
            row["summary"],
            json.loads(row["report"]),
            row["started_at"],
            row["ended_at"],
        )
        for row in rows
    )


def runs_named_since(registry: Registry, name: str, since: float) -> list[str]:
    """The top-level runs named ``name`` that started at ``since`` or later, oldest first:
    the run a reproduction's notebook recorded."""
    rows = registry.query(
        "SELECT id FROM runs WHERE name = ? AND started_at >= ? AND parent_run_id IS NULL"
        " ORDER BY started_at",
        (name, since),
    )
    return [str(row[0]) for row in rows]
