"""``jupyter mlops drift REF CUR``: check data for drift from a shell, a cron job or CI.

The exit status is the decision, so a script can act on it without parsing anything:

======  =====================================================================
status  meaning
======  =====================================================================
0       monitor: nothing changed materially
1       review: some columns changed; a person should look
2       retrain: the data changed significantly and materially
4       the check could not run: a missing file or snapshot, a bad option...
======  =====================================================================

Bad arguments exit with 4 too (not click's usual 2, which would read as "retrain").

    jupyter mlops drift train data/today.csv --critical amount || handle_drift $?
    jupyter mlops drift data/ref.parquet data/cur.parquet --json > report.json
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from ..errors import MlopsError, RegistryNotFoundError
from ..tracking.formatting import figure, percent
from .base import format_table, main, open_registry, registry_option

EXIT_CODES = {"monitor": 0, "review": 1, "retrain": 2}
EXIT_BAD_INPUT = 4

DECISION_WORDS = {
    "monitor": "MONITOR: no column changed materially; keep watching new data.",
    "review": "REVIEW: some columns changed; have a person look before relying on the model.",
    "retrain": "RETRAIN: the data changed significantly and materially; retrain on recent data.",
}


class BadDriftUsage(click.UsageError):
    """A usage error of ``drift``: exits with :data:`EXIT_BAD_INPUT`."""

    exit_code = EXIT_BAD_INPUT


class DriftCommand(click.Command):
    """A command whose usage errors exit with :data:`EXIT_BAD_INPUT`, not click's 2."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as error:
            raise BadDriftUsage(error.format_message(), ctx=error.ctx) from error


def _bad_input(error: MlopsError) -> None:
    click.echo(f"Error: {error.message}", err=True)
    if error.hint:
        click.echo(f"Hint: {error.hint}", err=True)
    sys.exit(EXIT_BAD_INPUT)


def print_report(report: Any, *, reference: str, current: str, report_id: str | None) -> None:
    """The decision in words, what was compared, the column table and the reasons."""
    click.echo(DECISION_WORDS[report.decision])
    click.echo(
        f"{reference} ({report.n_reference:,} rows) -> {current} ({report.n_current:,} rows): "
        + report.summary()
    )
    click.echo()
    rows = []
    for col in report.by_severity():
        nulls = (
            f"{percent(col.null_rate_ref)} -> {percent(col.null_rate_cur)}"
            if col.null_rate_ref or col.null_rate_cur
            else ""
        )
        rows.append(
            [
                col.column + (" *" if col.critical else ""),
                col.decision,
                col.verdict,
                col.test,
                figure(col.statistic),
                figure(col.p_adjusted),
                f"{figure(col.effect)} {col.effect_name}".strip(),
                figure(col.psi),
                nulls,
            ]
        )
    click.echo(
        format_table(
            [
                "column",
                "decision",
                "verdict",
                "test",
                "statistic",
                "p adjusted",
                "effect",
                "PSI",
                "nulls ref -> cur",
            ],
            rows,
        )  # fmt: skip
    )
    flagged = [col for col in report.by_severity() if col.decision != "monitor"]
    if flagged:
        click.echo("\nWhy:")
        for col in flagged:
            click.echo(f"  {col.column}: {col.reason}")
    if report.critical:
        click.echo("\n* critical column: any change fails the drift gate")
    where = f"Stored as drift report {report_id}" if report_id else "Not stored"
    code = EXIT_CODES[report.decision]
    click.echo(f"\n{where}; exit status {code} ({report.decision}).")


@main.command("drift", cls=DriftCommand)
@registry_option
@click.argument("reference", metavar="REF")
@click.argument("current", metavar="CUR")
@click.option("--columns", "-c", default=None, metavar="A,B", help="Compare only these columns.")
@click.option("--alpha", type=float, default=0.05, show_default=True, help="Significance level.")
@click.option(
    "--critical", default=None, metavar="A,B", help="Columns where any drift fails the gate."
)
@click.option("--name", "-n", default=None, help="A label for the stored report.")
@click.option("--model", "-m", default=None, metavar="NAME@VERSION", help="Link to a model.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON instead.")
@click.option("--no-store", is_flag=True, help="Compare only: store nothing, need no registry.")
def drift_command(
    registry_path: str | None,
    reference: str,
    current: str,
    columns: str | None,
    alpha: float,
    critical: str | None,
    name: str | None,
    model: str | None,
    as_json: bool,
    no_store: bool,
) -> None:
    """Check CUR (a CSV/parquet file, or a snapshot stored with its data) for drift against
    REF (a file, a stored snapshot, or a model version's training data: churn@champion).

    Exits 0 (monitor), 1 (review) or 2 (retrain); 4 when the check cannot run.
    """
    from ..drift.checks import (
        compare_sides,
        current_side,
        reference_side,
        split_names,
        store_report,
    )

    try:
        registry = None
        try:
            registry = open_registry(registry_path)
        except RegistryNotFoundError:
            if registry_path is not None or model is not None:
                raise
            if not no_store:
                click.echo(
                    "Note: no registry found, so the report is not stored "
                    "(jupyter mlops init creates one).",
                    err=True,
                )
        ref = reference_side(registry, reference)
        cur = current_side(registry, current)
        report = compare_sides(
            ref,
            cur,
            columns=split_names(columns),
            alpha=alpha,
            critical=split_names(critical) or (),
        )
        report_id = None
        if registry is not None and not no_store:
            report_id = store_report(
                registry, report, ref, cur, name=name, model=model, origin="cli"
            )
    except MlopsError as error:
        _bad_input(error)
        return
    if as_json:
        click.echo(
            json.dumps(
                {
                    "id": report_id,
                    "stored": report_id is not None,
                    "decision": report.decision,
                    "exit_status": EXIT_CODES[report.decision],
                    "reference_name": ref.name,
                    "current_name": cur.name,
                    "summary": report.summary(),
                    "report": report.to_dict(),
                },
                indent=2,
            )
        )
    else:
        print_report(report, reference=ref.name, current=cur.name, report_id=report_id)
    sys.exit(EXIT_CODES[report.decision])
