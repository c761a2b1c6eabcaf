"""Migration 0016: the values per group behind a gate line (see
:mod:`jupyter_mlops.gates.groups`).

A fairness rule such as ``demographic_parity_difference(sex) <= 0.05`` keeps, beside its
verdict, each group's rate and row count: ``groups`` is a JSON list of tables, one per
function the rule called, NULL for lines without any.
"""

from __future__ import annotations

from .migration import Migration

GATE_GROUPS = Migration(
    "0016_gate_result_groups",
    """
    ALTER TABLE gate_results ADD COLUMN groups TEXT;  -- JSON: the per-group tables, or NULL
    """,
)
