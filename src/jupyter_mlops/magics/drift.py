"""``%mlops drift``: check data for drift in the notebook, see why, keep the report.

    %mlops drift train todays_df                       # a snapshot name and a variable
    %mlops drift train_df data/today.parquet --critical amount,age
    %mlops drift cancer@champion batch --model cancer@champion --name nightly

The reference is a DataFrame variable, a stored snapshot (name or id), a model version (its
training snapshot) or a CSV/parquet file; the current data a DataFrame variable, a file, or a
snapshot stored with its data. The report is shown as the drift view and stored, linked to the
active run and to ``--model``. The decision and the figures are in the view; nothing is raised
for drift itself (use ``%mlops gate --drift`` to stop on it).
"""

from __future__ import annotations

import argparse
from typing import Any

from IPython.display import display

from ..tracking import line_commands
from ..tracking.session import recorded_run
from .base import MlopsMagics, arguments, command


def side(magics: MlopsMagics, text: str) -> tuple[Any, str | None]:
    """A variable of the notebook (by name or attribute path) with its name, else the text
    itself, which the core reads (and names) as a file, a snapshot or a model version."""
    head = text.split(".")[0]
    if head.isidentifier() and head in magics.user_ns:
        return magics.value_of(text), text
    return text, None


@command(
    "drift",
    "Check data for drift and store the report: %mlops drift REF CUR [--columns A,B] "
    "[--alpha 0.05] [--critical A,B] [--name N] [--model M@V]",
)
@arguments(line_commands.drift_arguments)
def _drift(magics: MlopsMagics, args: argparse.Namespace, cell: str | None) -> None:
    from ..drift.checks import run_drift_check, split_names
    from ..widgets import DriftView

    registry = magics.registry()
    reference, reference_name = side(magics, args.reference)
    current, current_name = side(magics, args.current)
    active = recorded_run(registry)
    run_id = active.id if active is not None else None
    stored = run_drift_check(
        registry,
        reference,
        current,
        reference_name=reference_name,
        current_name=current_name,
        columns=split_names(args.columns),
        alpha=args.alpha,
        critical=split_names(args.critical) or (),
        name=args.name,
        run_id=run_id,
        model=args.model,
        origin="notebook",
        notebook_path=magics.session.notebook_path(),
    )
    display(DriftView(stored))
